"""Generation's batched writes: a batch of composed pages stored in a fixed number of
statements, sent to the driver as they are (``db/bulk.py``), because generation writes
tens of thousands of reviews at a time and per-row ORM or SQLAlchemy bookkeeping would
dominate the run time. A refresh keeps the sections an editor changed (EDITED) and the
generated ones composed again unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session

from db import statistics
from db.bulk import (
    among,
    bulk_settings,
    db_value,
    fetch,
    insert_ids,
    placeholders,
    send,
    send_plain_rows,
)
from db.engine import RawJSON, to_json
from db.models import ReviewKind, ReviewStatus, SectionOrigin, Template
from db.reviews import PairRow
from db.tables import REVIEW, REVIEW_SECTION

# A generated section's row, as ``write_batch`` sends it.
SECTION_COLUMNS = (
    "review_id",
    "key",
    "position",
    "heading",
    "blocks",
    "origin",
    "revision",
    "updated_at",
)


@dataclass(slots=True)
class ReviewWrite:
    """One composed page to store for a compound x condition pair."""

    pair: PairRow
    slug: str
    title: str
    byline: str
    notice: str
    description: str
    fingerprint: str
    sections: list[dict[str, Any]]  # key, position, heading, blocks


def write_batch(
    session: Session,
    writes: Sequence[ReviewWrite],
    template: Template,
    kind: ReviewKind,
    now: datetime,
) -> tuple[int, int]:
    """Insert new reviews and refresh existing ones (in the template's locale); EDITED
    sections are kept as they are."""
    bulk_settings(session)
    statistics.refresh(session, (REVIEW, REVIEW_SECTION))
    new = [w for w in writes if w.pair.review_id is None]
    old = [w for w in writes if w.pair.review_id is not None]
    if new:
        _insert_reviews(session, new, template, kind, now)
    kept: set[tuple[int, str]] = set()
    if old:
        _refresh_reviews(session, old, template, now)
        kept = _drop_changed_sections(session, old)
    # Sent to the driver as they are: blocks encoded once (by a worker, or here), the
    # clock processed once.
    dialect = session.get_bind().dialect
    stamp = db_value(dialect, REVIEW_SECTION.c.updated_at, now)
    section_rows = [
        (
            w.pair.review_id,
            s["key"],
            s["position"],
            s["heading"],
            to_json(s["blocks"]),
            SectionOrigin.GENERATED.value,
            1,
            stamp,
        )
        for w in writes
        for s in w.sections
        if (w.pair.review_id, s["key"]) not in kept
    ]
    send_plain_rows(session, REVIEW_SECTION, SECTION_COLUMNS, section_rows)
    return len(new), len(old)


def _insert_reviews(
    session: Session, new: list[ReviewWrite], template: Template, kind: ReviewKind, now: datetime
) -> None:
    """Insert the drafts of pairs that have no review yet (their ids noted on each pair)."""
    rows = [
        {
            "slug": w.slug,
            "kind": kind,
            "locale": template.locale,
            "source_revision_id": w.pair.source_revision_id,
            "compound_id": w.pair.compound_id,
            "condition_id": w.pair.condition_id,
            "status": "DRAFT",
            "research": w.pair.research,
            "title": w.title,
            "byline": w.byline,
            "notice": w.notice,
            "description": w.description,
            "template_id": template.id,
            "template_version": template.version,
            "fingerprint": w.fingerprint,
            "current_fingerprint": w.fingerprint,
            "revision": 1,
            "created_at": now,
            "updated_at": now,
            "generated_at": now,
        }
        for w in new
    ]
    created = insert_ids(session, REVIEW, rows, ["slug"])
    for w in new:
        w.pair.review_id = created[w.slug]


def _refresh_reviews(
    session: Session, old: list[ReviewWrite], template: Template, now: datetime
) -> None:
    """Rewrite the working copies of existing reviews with their newly composed text.

    One statement for the batch, its rows sent to the driver as they are (the clock and
    the template processed once, not once per row)."""
    dialect = session.get_bind().dialect
    ph, _ = placeholders(dialect)
    # New facts make a new draft: a published page keeps serving its approved revision
    # until a reviewer approves the new one; a submitted one goes back.
    back_to_draft = (
        f"CASE WHEN {ph} AND status IN ('{ReviewStatus.PUBLISHED.value}', "
        f"'{ReviewStatus.IN_REVIEW.value}') THEN '{ReviewStatus.DRAFT.value}' ELSE status END"
    )
    sql = (
        f"UPDATE {REVIEW.name} SET research = {ph}, title = {ph}, byline = {ph}, "
        f"notice = {ph}, description = {ph}, template_id = {ph}, template_version = {ph}, "
        f"fingerprint = {ph}, current_fingerprint = {ph}, source_revision_id = {ph}, "
        f"status = {back_to_draft}, "
        f"revision = revision + 1, updated_at = {ph}, generated_at = {ph} WHERE id = {ph}"
    )
    stamp = db_value(dialect, REVIEW.c.updated_at, now)
    send(
        session,
        sql,
        [
            (
                str(w.pair.research),
                w.title,
                w.byline,
                w.notice,
                w.description,
                template.id,
                template.version,
                w.fingerprint,
                w.fingerprint,
                w.pair.source_revision_id,
                # (a translation also when its source changed)
                w.fingerprint != w.pair.fingerprint
                or w.pair.source_revision_id != w.pair.review_source_revision_id,
                stamp,
                stamp,
                w.pair.review_id,
            )
            for w in old
        ],
    )


def _drop_changed_sections(session: Session, old: list[ReviewWrite]) -> set[tuple[int, str]]:
    """Delete the reviews' GENERATED sections that the new composition changes (or no
    longer has); the (review, key) of the sections kept as they are: the EDITED ones, and
    the GENERATED ones whose position, heading and blocks are what was just composed
    (at revision 1, as a rewrite would leave them), so a new template version that
    changes no text rewrites no section."""
    composed: dict[tuple[int, str], dict[str, Any]] = {}
    for w in old:
        for s in w.sections:
            if not isinstance(s["blocks"], RawJSON):  # (encoded once, compared and stored)
                s["blocks"] = RawJSON(to_json(s["blocks"]))
            composed[(w.pair.review_id or 0, s["key"])] = s
    ids = sorted({w.pair.review_id for w in old if w.pair.review_id is not None})
    kept: set[tuple[int, str]] = set()
    gone: list[int] = []
    # Read through the driver as they are (160,000 rows for 20,000 reviews): the stored
    # JSON text, not decoded; on PostgreSQL its SHA-256 (compared with the composed
    # text's): the sections' blocks are most of what a batch would read back.
    postgres = session.get_bind().dialect.name == "postgresql"
    stored = (
        "sha256(convert_to(CAST(blocks AS TEXT), 'UTF8'))" if postgres else "CAST(blocks AS TEXT)"
    )
    edited = SectionOrigin.EDITED.value
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        among_ids, params = (
            ("review_id = ANY(?)", [part])
            if postgres
            else (f"review_id IN ({', '.join('?' * len(part))})", part)
        )
        rows = fetch(
            session,
            f"SELECT id, review_id, key, position, heading, {stored}, origin, revision "
            f"FROM {REVIEW_SECTION.name} WHERE {among_ids}",
            params,
        )
        for sid, rid, key, position, heading, blocks, origin, revision in rows:
            if origin == edited:
                kept.add((rid, key))
                continue
            new = composed.get((rid, key))
            if (
                new is not None
                and revision == 1
                and position == new["position"]
                and heading == new["heading"]
                and blocks == (_sha256(new["blocks"]) if postgres else new["blocks"])
            ):
                kept.add((rid, key))
            else:
                gone.append(sid)
    for start in range(0, len(gone), 5000):
        session.execute(
            delete(REVIEW_SECTION).where(
                among(session, REVIEW_SECTION.c.id, gone[start : start + 5000])
            )
        )
    return kept


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()
