"""Publishing: freeze a review's working copy, and the facts it was built from, for readers.

What readers get is never the working copy. Publishing a review writes, in the
caller's transaction:

* an immutable revision with exactly what the reviewer approved (title, byline,
  notice, description, every section's blocks) and the four fact versions the page
  was generated from (``fact_version``: compound, condition, evidence, publisher,
  content-addressed, so approving unchanged facts reuses their version);
* the approved copies (``public_*``, see db/read_model.py): the review's, and each
  of its facts' when this approval makes newer facts public.

The publish gate (resolvers) only lets a draft through when it was generated from
the current facts, so the working facts snapshotted here are the ones the page
was built from. Everything is set-based: a batch of reviews costs a fixed number
of statements, whatever its size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from json.encoder import encode_basestring as quote  # (a JSON string, as to_json writes it)
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, select, update
from sqlalchemy.orm import Session

from config import get_settings
from db.bulk import insert_ids
from db.engine import RawJSON
from db.fact_snapshots import Approval, Snapshot, snapshot_facts, upsert
from db.models import ReviewStatus
from db.tables import (
    PUBLIC_REVIEW,
    PUBLIC_TRANSLATION,
    REVIEW,
    REVIEW_REVISION,
    REVIEW_SECTION,
)

BATCH = 1000


def publish_reviews(
    session: Session,
    review_ids: Sequence[int],
    approved_by: str,
    now: datetime,
    review_interval: timedelta,
    acknowledged: list[dict[str, Any]] | None = None,
    default_locale: str | None = None,
) -> Approval:
    """Publish the given reviews' working copies (and approve their facts).

    A translation's approval (a review in another locale than ``default_locale``) makes
    its facts' translated fields public for that locale only (``public_translation``):
    the default locale's approved copies, and so what its readers get, stay as they are."""
    approval = Approval()
    default_locale = default_locale or get_settings().default_locale
    for start in range(0, len(review_ids), BATCH):
        ids = list(review_ids[start : start + BATCH])
        approval.add(
            _publish_batch(
                session, ids, approved_by, now, review_interval, acknowledged or [], default_locale
            )
        )
    return approval


def _publish_batch(
    session: Session,
    ids: list[int],
    approved_by: str,
    now: datetime,
    interval: timedelta,
    acknowledged: list[dict[str, Any]],
    default_locale: str,
) -> Approval:
    reviews = {
        r.id: r for r in session.execute(select(*PUBLISHED_COLUMNS).where(REVIEW.c.id.in_(ids)))
    }
    if not reviews:
        return Approval()
    ids = sorted(reviews)
    numbers = {rid: n + 1 for rid, n in _last_numbers(session, ids).items()}
    snapshot = snapshot_facts(session, list(reviews.values()), now)
    sections = _sections_json(session, ids)
    revision_of = insert_ids(
        session,
        REVIEW_REVISION,
        [
            {
                **_revision_row(r, numbers.get(r.id, 1), snapshot),
                "sections": sections.get(r.id, EMPTY_LIST),
                "text_hash": text_hash(r, sections.get(r.id, EMPTY_LIST)),
                "approved_by": approved_by,
                "approved_at": now,
                "acknowledged": acknowledged,
            }
            for r in reviews.values()
        ],
        ["review_id"],
    )
    session.execute(
        update(REVIEW)
        .where(REVIEW.c.id == bindparam("rid"))
        .values(
            status=ReviewStatus.PUBLISHED,
            published_revision_id=bindparam("vid"),
            published_fingerprint=REVIEW.c.fingerprint,
            restored_from=None,  # (a restored draft, once approved, is just the page)
            published_at=now,
            last_reviewed_at=now,
            review_due_at=now + interval,
            revision=REVIEW.c.revision + 1,
            updated_at=now,
        ),
        [{"rid": rid, "vid": revision_of[rid]} for rid in ids],
    )
    # Facts first: the change log then lists a newly approved compound before the pages
    # that show it.
    originals = [r for r in reviews.values() if r.locale == default_locale]
    approval = snapshot.approve(session, now, originals) if originals else Approval()
    _approve_translations(
        session, [r for r in reviews.values() if r.locale != default_locale], snapshot, now
    )
    upsert(
        session,
        PUBLIC_REVIEW,
        [
            {
                **_public_row(r, numbers.get(r.id, 1), snapshot),
                "revision_id": revision_of[r.id],
                "published_at": now,
                "last_reviewed_at": now,
                "review_due_at": now + interval,
            }
            for r in reviews.values()
        ],
    )
    approval.reviews = ids
    approval.locales = {rid: str(reviews[rid].locale) for rid in ids}
    return approval


def _approve_translations(
    session: Session, translations: list[Any], snapshot: Snapshot, now: datetime
) -> None:
    """Readers of a translation's locale get the translated fields of the facts its
    reviewer approved (one row per record and locale, moved by each approval)."""
    rows: dict[tuple[str, int, str], dict[str, Any]] = {}
    for r in translations:
        for kind, facts in snapshot.facts_of(r).items():
            if facts is not None:
                rows[(kind, facts.row.id, r.locale)] = {
                    "kind": kind,
                    "record_id": facts.row.id,
                    "locale": r.locale,
                    "version_id": facts.version_id,
                    "approved_at": now,
                }
    upsert(session, PUBLIC_TRANSLATION, list(rows.values()), ["kind", "record_id", "locale"])


def text_hash(r: Any, sections: RawJSON) -> str:
    """The approved text of a revision hashed: what a translation is made from."""
    blob = "\x1f".join((r.title, r.byline, r.notice, r.description, str(sections)))
    return hashlib.sha256(blob.encode()).hexdigest()


def _last_numbers(session: Session, ids: list[int]) -> dict[int, int]:
    """Each review's latest revision number (reviews never published are absent)."""
    return dict(
        session.execute(
            select(REVIEW_REVISION.c.review_id, func.max(REVIEW_REVISION.c.number))
            .where(REVIEW_REVISION.c.review_id.in_(ids))
            .group_by(REVIEW_REVISION.c.review_id)
        ).all()
    )


def _revision_row(r: Any, number: int, snapshot: Snapshot) -> dict[str, Any]:
    """The immutable revision of a review's working copy (its sections apart)."""
    return {
        "review_id": r.id,
        "number": number,
        "locale": r.locale,
        "source_revision_id": r.source_revision_id,
        "title": r.title,
        "byline": r.byline,
        "notice": r.notice,
        "description": r.description,
        "fingerprint": r.fingerprint,
        "template_version": r.template_version,
        "research": r.research,
        **snapshot.versions_of(r),
    }


def _public_row(r: Any, number: int, snapshot: Snapshot) -> dict[str, Any]:
    """The review's approved copy, pointing at the revision (its id and dates apart)."""
    return {
        "id": r.id,
        "slug": r.slug,
        "kind": r.kind,
        "locale": r.locale,
        "source_revision_id": r.source_revision_id,
        "compound_id": r.compound_id,
        "condition_id": r.condition_id,
        "number": number,
        "title": r.title,
        "research": r.research,
        "template_version": r.template_version,
        **snapshot.versions_of(r),
    }


# What publishing reads of a review (its sections apart).
PUBLISHED_COLUMNS = [
    REVIEW.c[name]
    for name in (
        "id",
        "slug",
        "kind",
        "locale",
        "source_revision_id",
        "compound_id",
        "condition_id",
        "title",
        "byline",
        "notice",
        "description",
        "fingerprint",
        "template_version",
        "research",
    )
]
EMPTY_LIST = RawJSON("[]")


def _sections_json(session: Session, ids: list[int]) -> dict[int, RawJSON]:
    """Each review's sections as the revision stores them (key, position, heading, blocks,
    origin), encoded as JSON around the stored blocks: a copy, never decoded."""
    parts: dict[int, list[str]] = {}
    rows = session.execute(
        select(
            REVIEW_SECTION.c.review_id,
            REVIEW_SECTION.c.key,
            REVIEW_SECTION.c.position,
            REVIEW_SECTION.c.heading,
            cast(REVIEW_SECTION.c.blocks, Text),  # (the stored JSON text, not decoded)
            REVIEW_SECTION.c.origin,
        )
        .where(REVIEW_SECTION.c.review_id.in_(ids))
        .order_by(REVIEW_SECTION.c.review_id, REVIEW_SECTION.c.position)
    )
    for review_id, key, position, heading, blocks, origin in rows:
        parts.setdefault(review_id, []).append(
            f'{{"key":{quote(str(key))},"position":{int(position)},'
            f'"heading":{quote(heading) if heading is not None else "null"},"blocks":{blocks},"origin":{quote(str(origin))}}}'
        )
    return {rid: RawJSON("[" + ",".join(items) + "]") for rid, items in parts.items()}


def withdraw(session: Session, review_id: int) -> None:
    """Readers no longer get the review (unpublish, archive); its revisions stay."""
    session.execute(delete(PUBLIC_REVIEW).where(PUBLIC_REVIEW.c.id == review_id))


def unpublished_review_ids(
    session: Session, slugs: Sequence[str], locale: str | None = None
) -> list[int]:
    """Reviews among ``slugs`` (in ``locale``; default: the default one) never published."""
    locale = locale or get_settings().default_locale
    out: list[int] = []
    for start in range(0, len(slugs), 500):
        out.extend(
            session.execute(
                select(REVIEW.c.id).where(
                    REVIEW.c.published_revision_id.is_(None),
                    REVIEW.c.slug.in_(slugs[start : start + 500]),
                    REVIEW.c.locale == locale,
                )
            ).scalars()
        )
    return out
