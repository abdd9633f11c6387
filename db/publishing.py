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

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from config import get_settings
from db import statistics
from db.bulk import among, bulk_settings, db_value, placeholders, send, typed
from db.engine import to_json
from db.fact_snapshots import Approval, Snapshot, snapshot_facts, upsert
from db.models import ReviewStatus
from db.tables import (
    CITATION,
    COMPOUND,
    CONDITION,
    EVIDENCE,
    FACT_VERSION,
    PUBLIC_COMPOUND,
    PUBLIC_CONDITION,
    PUBLIC_EVIDENCE,
    PUBLIC_REVIEW,
    PUBLIC_TRANSLATION,
    REVIEW,
    REVIEW_REVISION,
    REVIEW_SECTION,
)

BATCH = 1000
# What a batch looks up by key: planned from fresh statistics (db/statistics.py).
PUBLISH_READS = (
    REVIEW,
    REVIEW_SECTION,
    REVIEW_REVISION,
    EVIDENCE,
    CITATION,
    COMPOUND,
    CONDITION,
    FACT_VERSION,
    PUBLIC_REVIEW,
    PUBLIC_COMPOUND,
    PUBLIC_CONDITION,
    PUBLIC_EVIDENCE,
    PUBLIC_TRANSLATION,
)


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
    bulk_settings(session)
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
    statistics.refresh(session, PUBLISH_READS)
    reviews = {
        r.id: r
        for r in session.execute(select(*PUBLISHED_COLUMNS).where(among(session, REVIEW.c.id, ids)))
    }
    if not reviews:
        return Approval()
    ids = sorted(reviews)
    snapshot = snapshot_facts(session, [reviews[rid] for rid in ids], now)
    _insert_revisions(
        session, [reviews[rid] for rid in ids], snapshot, approved_by, now, acknowledged
    )
    # The revision just inserted is each review's latest (the highest number).
    latest = (
        select(REVIEW_REVISION.c.id)
        .where(REVIEW_REVISION.c.review_id == REVIEW.c.id)
        .order_by(REVIEW_REVISION.c.number.desc())
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        update(REVIEW)
        .where(among(session, REVIEW.c.id, ids))
        .values(
            status=ReviewStatus.PUBLISHED,
            published_revision_id=latest,
            published_fingerprint=REVIEW.c.fingerprint,
            restored_from=None,  # (a restored draft, once approved, is just the page)
            published_at=now,
            last_reviewed_at=now,
            review_due_at=now + interval,
            revision=REVIEW.c.revision + 1,
            updated_at=now,
        )
    )
    # Facts first: the change log then lists a newly approved compound before the pages
    # that show it.
    originals = [r for r in reviews.values() if r.locale == default_locale]
    approval = snapshot.approve(session, now, originals) if originals else Approval()
    _approve_translations(
        session, [r for r in reviews.values() if r.locale != default_locale], snapshot, now
    )
    _upsert_public_reviews(session, ids, now, interval)
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


def _insert_revisions(
    session: Session,
    reviews: list[Any],
    snapshot: Snapshot,
    approved_by: str,
    now: datetime,
    acknowledged: list[dict[str, Any]],
) -> None:
    """One statement: each review's working copy copied into its next revision, its
    sections' JSON built by the database from the stored blocks (never decoded, never
    read out and sent back), the fact versions of each review sent beside its id."""
    dialect = session.get_bind().dialect
    _, json_ph = placeholders(dialect)
    per_review: list[Any] = []
    for r in reviews:
        v = snapshot.versions_of(r)
        per_review += (
            r.id,
            v["compound_version_id"],
            v["condition_version_id"],
            v["evidence_version_id"],
        )
    integer = typed(dialect, "INTEGER")
    if dialect.name == "postgresql":
        # An array per column: a short statement whatever the batch (parsed once).
        values = "SELECT * FROM unnest(" + ", ".join(["CAST(? AS INTEGER[])"] * 4) + ")"
        sent: tuple[Any, ...] = tuple(per_review[i::4] for i in range(4))
    else:
        row = "(" + ", ".join([integer] * 4) + ")"
        values = f"VALUES {', '.join([row] * len(reviews))}"
        sent = tuple(per_review)
    copied = ", ".join(f"r.{c}" for c in REVISION_COPIES)
    sections = SECTIONS_SQL["sqlite" if dialect.name == "sqlite" else "postgresql"]
    sql = (
        "WITH v (review_id, compound_version_id, condition_version_id, evidence_version_id) "
        f"AS ({values}) "
        f"INSERT INTO {REVIEW_REVISION.name} (review_id, number, {', '.join(REVISION_COPIES)}, "
        "compound_version_id, condition_version_id, evidence_version_id, "
        "publisher_version_id, sections, approved_by, approved_at, acknowledged) "
        f"SELECT r.id, coalesce((SELECT max(x.number) FROM {REVIEW_REVISION.name} x "
        f"WHERE x.review_id = r.id), 0) + 1, {copied}, "
        "v.compound_version_id, v.condition_version_id, v.evidence_version_id, "
        f"{integer}, {sections}, {typed(dialect, 'VARCHAR')}, "
        f"{typed(dialect, 'TIMESTAMP WITH TIME ZONE')}, {json_ph} "
        f"FROM {REVIEW.name} r JOIN v ON v.review_id = r.id ORDER BY r.id"
    )
    publisher = snapshot.publisher.version_id if snapshot.publisher else None
    approved_at = db_value(dialect, REVIEW_REVISION.c.approved_at, now)
    send(session, sql, (*sent, publisher, approved_by, approved_at, to_json(acknowledged)))


def _upsert_public_reviews(
    session: Session, ids: list[int], now: datetime, interval: timedelta
) -> None:
    """One statement: each review's approved copy from its (new) published revision.
    INSERT ... ON CONFLICT DO UPDATE, as ``upsert``: an update of a reader's row fires the
    change log's and the search index's UPDATE triggers, never a DELETE then INSERT."""
    dialect = session.get_bind().dialect.name
    revision = REVIEW_REVISION.c.id == REVIEW.c.published_revision_id
    rr: Any = REVIEW_REVISION
    if dialect == "postgresql":
        # Each review's revision looked up by its primary key, whatever the statistics
        # say: OFFSET 0 keeps the planner from flattening the lateral subquery into a
        # join it may order the other way round. (Planned from a ``review_revision`` its
        # statistics called empty, the join scanned every revision for each review: 7.6 s
        # for the 1,000 reviews after the first 7,000.)
        copied = [REVIEW_REVISION.c[name] for name in APPROVED_COPIES]
        rr = select(*copied).where(revision).offset(0).lateral("rr")
        revision = true()
    columns = {
        "id": REVIEW.c.id,
        "slug": REVIEW.c.slug,
        "kind": REVIEW.c.kind,
        "locale": REVIEW.c.locale,
        "source_revision_id": REVIEW.c.source_revision_id,
        "compound_id": REVIEW.c.compound_id,
        "condition_id": REVIEW.c.condition_id,
        "number": rr.c.number,
        "title": rr.c.title,
        "research": rr.c.research,
        "template_version": rr.c.template_version,
        "compound_version_id": rr.c.compound_version_id,
        "condition_version_id": rr.c.condition_version_id,
        "evidence_version_id": rr.c.evidence_version_id,
        "publisher_version_id": rr.c.publisher_version_id,
        "revision_id": rr.c.id,
        "published_at": literal(now, PUBLIC_REVIEW.c.published_at.type),
        "last_reviewed_at": literal(now, PUBLIC_REVIEW.c.last_reviewed_at.type),
        "review_due_at": literal(now + interval, PUBLIC_REVIEW.c.review_due_at.type),
    }
    source = (
        select(*columns.values())
        .select_from(REVIEW.join(rr, revision))
        .where(among(session, REVIEW.c.id, ids))
        .order_by(REVIEW.c.id)
    )
    stmt: Any = (postgresql if dialect == "postgresql" else sqlite).insert(PUBLIC_REVIEW)
    stmt = stmt.from_select(list(columns), source).on_conflict_do_update(
        index_elements=[PUBLIC_REVIEW.c.id],
        set_={k: stmt.excluded[k] for k in columns if k != "id"},
    )
    session.execute(stmt)


# What a review's approved copy takes from its published revision.
APPROVED_COPIES = (
    "id",
    "number",
    "title",
    "research",
    "template_version",
    "compound_version_id",
    "condition_version_id",
    "evidence_version_id",
    "publisher_version_id",
)
# What a revision copies of the review's working copy, as it is.
REVISION_COPIES = (
    "title",
    "byline",
    "notice",
    "description",
    "fingerprint",
    "template_version",
    "research",
    # Which locale's page was approved, and (a translation) made from which source.
    "locale",
    "source_revision_id",
)


# What publishing reads of a review (the rest is copied by the statements themselves).
PUBLISHED_COLUMNS = [
    REVIEW.c[name] for name in ("id", "slug", "locale", "compound_id", "condition_id")
]
# A review's sections as a revision stores them (key, position, heading, blocks, origin;
# in position order), written by the database around the stored blocks. SQLite: the
# ordered subquery feeds the aggregate in its order (it is not flattened into an
# aggregate); PostgreSQL: string_agg ... ORDER BY. Both write compact JSON, as to_json.
SECTIONS_SQL = {
    "sqlite": (
        "coalesce((SELECT '[' || group_concat(json_object('key', s.key, 'position', "
        "s.position, 'heading', s.heading, 'blocks', json(s.blocks), 'origin', s.origin), "
        "',') || ']' FROM (SELECT * FROM review_section WHERE review_id = r.id "
        "ORDER BY position) s), '[]')"
    ),
    "postgresql": (
        "CAST(coalesce((SELECT '[' || string_agg('{\"key\":' || to_json(s.key)::text || "
        "',\"position\":' || s.position || ',\"heading\":' || "
        "coalesce(to_json(s.heading)::text, 'null') || ',\"blocks\":' || s.blocks::text || "
        "',\"origin\":' || to_json(s.origin)::text || '}', ',' ORDER BY s.position) || ']' "
        "FROM review_section s WHERE s.review_id = r.id), '[]') AS JSON)"
    ),
}


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
