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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from json.encoder import encode_basestring as quote  # (a JSON string, as to_json writes it)
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from content.facts import (
    citations_of,
    compound_facts,
    condition_facts,
    content_hash,
    evidence_facts,
    publisher_facts,
)
from db.bulk import insert_ids
from db.engine import RawJSON
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
    PUBLIC_PUBLISHER,
    PUBLIC_REVIEW,
    PUBLISHER,
    REVIEW,
    REVIEW_REVISION,
    REVIEW_SECTION,
)

BATCH = 1000


@dataclass(slots=True)
class Approval:
    """What a publish made public: the reviews, and the facts whose approved copy is new."""

    reviews: list[int] = field(default_factory=list)
    compounds: set[int] = field(default_factory=set)
    conditions: set[int] = field(default_factory=set)
    evidence: set[int] = field(default_factory=set)
    publisher: bool = False

    def add(self, other: Approval) -> None:
        self.reviews += other.reviews
        self.compounds |= other.compounds
        self.conditions |= other.conditions
        self.evidence |= other.evidence
        self.publisher = self.publisher or other.publisher


def publish_reviews(
    session: Session,
    review_ids: Sequence[int],
    approved_by: str,
    now: datetime,
    review_interval: timedelta,
    acknowledged: list[dict[str, Any]] | None = None,
) -> Approval:
    """Publish the given reviews' working copies (and approve their facts)."""
    approval = Approval()
    for start in range(0, len(review_ids), BATCH):
        ids = list(review_ids[start : start + BATCH])
        approval.add(
            _publish_batch(session, ids, approved_by, now, review_interval, acknowledged or [])
        )
    return approval


def _publish_batch(
    session: Session,
    ids: list[int],
    approved_by: str,
    now: datetime,
    interval: timedelta,
    acknowledged: list[dict[str, Any]],
) -> Approval:
    reviews = {
        r.id: r for r in session.execute(select(*PUBLISHED_COLUMNS).where(REVIEW.c.id.in_(ids)))
    }
    if not reviews:
        return Approval()
    ids = sorted(reviews)
    sections = _sections_json(session, ids)
    numbers = dict(
        session.execute(
            select(REVIEW_REVISION.c.review_id, func.max(REVIEW_REVISION.c.number))
            .where(REVIEW_REVISION.c.review_id.in_(ids))
            .group_by(REVIEW_REVISION.c.review_id)
        ).all()
    )
    snapshot = _snapshot_facts(session, list(reviews.values()), now)
    revision_rows = [
        {
            "review_id": rid,
            "number": (numbers.get(rid) or 0) + 1,
            "title": r.title,
            "byline": r.byline,
            "notice": r.notice,
            "description": r.description,
            "sections": sections.get(rid, EMPTY_LIST),
            "fingerprint": r.fingerprint,
            "template_version": r.template_version,
            "research": r.research,
            "approved_by": approved_by,
            "approved_at": now,
            "acknowledged": acknowledged,
            **snapshot.versions_of(r),
        }
        for rid, r in reviews.items()
    ]
    revision_of = insert_ids(session, REVIEW_REVISION, revision_rows, ["review_id"])
    session.execute(
        update(REVIEW)
        .where(REVIEW.c.id == bindparam("rid"))
        .values(
            status=ReviewStatus.PUBLISHED,
            published_revision_id=bindparam("vid"),
            published_fingerprint=REVIEW.c.fingerprint,
            published_at=now,
            last_reviewed_at=now,
            review_due_at=now + interval,
            revision=REVIEW.c.revision + 1,
            updated_at=now,
        ),
        [{"rid": rid, "vid": revision_of[rid]} for rid in ids],
    )
    public_rows = [
        {
            "id": rid,
            "slug": r.slug,
            "kind": r.kind,
            "compound_id": r.compound_id,
            "condition_id": r.condition_id,
            "revision_id": revision_of[rid],
            "number": (numbers.get(rid) or 0) + 1,
            "title": r.title,
            "research": r.research,
            "template_version": r.template_version,
            **snapshot.versions_of(r),
            "published_at": now,
            "last_reviewed_at": now,
            "review_due_at": now + interval,
        }
        for rid, r in reviews.items()
    ]
    # Facts first: the change log then lists a newly approved compound before the pages
    # that show it.
    approval = snapshot.approve(session, now)
    _upsert(session, PUBLIC_REVIEW, public_rows)
    approval.reviews = ids
    return approval


# What publishing reads of a review (its sections apart).
PUBLISHED_COLUMNS = [
    REVIEW.c[name]
    for name in (
        "id",
        "slug",
        "kind",
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


# --- fact snapshots ------------------------------------------------------------------------


@dataclass(slots=True)
class _Facts:
    """The facts of one record about to be approved: its row and what templates see."""

    row: Any
    facts: dict[str, Any]
    hash: str
    version_id: int = 0


@dataclass(slots=True)
class _Snapshot:
    compounds: dict[int, _Facts]
    conditions: dict[int, _Facts]
    evidence: dict[tuple[int, int], _Facts]
    publisher: _Facts | None

    def versions_of(self, review: Any) -> dict[str, int | None]:
        pair = (review.compound_id, review.condition_id)
        return {
            "compound_version_id": self.compounds[review.compound_id].version_id,
            "condition_version_id": self.conditions[review.condition_id].version_id,
            "evidence_version_id": self.evidence[pair].version_id,
            "publisher_version_id": self.publisher.version_id if self.publisher else None,
        }

    def approve(self, session: Session, now: datetime) -> Approval:
        """Point the approved copies at these versions where they are not yet."""
        approval = Approval()
        approval.compounds = _approve(
            session,
            PUBLIC_COMPOUND,
            self.compounds.values(),
            lambda f: {
                "slug": f.facts["slug"],
                "name": f.facts["name"],
                "aliases": f.facts["aliases"],
                "drug_class": f.facts["drug_class"],
                "rxnorm": f.facts["rxnorm"],
                "mesh": f.facts["mesh"],
            },
            now,
        )
        approval.conditions = _approve(
            session,
            PUBLIC_CONDITION,
            self.conditions.values(),
            lambda f: {
                "slug": f.facts["slug"],
                "name": f.facts["name"],
                "full_name": f.facts["full_name"],
                "aliases": f.facts["aliases"],
                "icd10": f.facts["icd10"],
                "mesh": f.facts["mesh"],
            },
            now,
        )
        approval.evidence = _approve(
            session,
            PUBLIC_EVIDENCE,
            self.evidence.values(),
            lambda f: {
                "compound_id": f.row.compound_id,
                "condition_id": f.row.condition_id,
                "research": f.facts["research"],
            },
            now,
        )
        if self.publisher is not None:
            approval.publisher = bool(
                _approve(session, PUBLIC_PUBLISHER, [self.publisher], lambda f: {}, now)
            )
        return approval


def _snapshot_facts(session: Session, reviews: list[Any], now: datetime) -> _Snapshot:
    """The current facts of the reviews' records, each stored as a version (new or reused)."""
    compound_ids = sorted({r.compound_id for r in reviews})
    condition_ids = sorted({r.condition_id for r in reviews})
    review_ids = [r.id for r in reviews]
    pair = and_(
        EVIDENCE.c.compound_id == REVIEW.c.compound_id,
        EVIDENCE.c.condition_id == REVIEW.c.condition_id,
    )
    evidence_rows = list(
        session.execute(
            select(EVIDENCE).join(REVIEW, pair).where(REVIEW.c.id.in_(review_ids)).distinct()
        )
    )
    cites = _citations(session, compound_ids, [e.id for e in evidence_rows])
    compounds = {
        c.id: _facts(c, compound_facts(c, citations_of(cites.get(("compound", c.id), []))))
        for c in session.execute(select(COMPOUND).where(COMPOUND.c.id.in_(compound_ids)))
    }
    conditions = {
        d.id: _facts(d, condition_facts(d))
        for d in session.execute(select(CONDITION).where(CONDITION.c.id.in_(condition_ids)))
    }
    evidence = {
        (e.compound_id, e.condition_id): _facts(
            e, evidence_facts(e, citations_of(cites.get(("evidence", e.id), [])))
        )
        for e in evidence_rows
    }
    missing = [r.slug for r in reviews if (r.compound_id, r.condition_id) not in evidence]
    if missing:
        raise LookupError(f"no evidence for {', '.join(missing[:5])}: nothing to approve")
    pub_row = session.execute(select(PUBLISHER).order_by(PUBLISHER.c.id).limit(1)).first()
    publisher = _facts(pub_row, publisher_facts(pub_row)) if pub_row is not None else None
    for kind, items in (
        ("compound", list(compounds.values())),
        ("condition", list(conditions.values())),
        ("evidence", list(evidence.values())),
        ("publisher", [publisher] if publisher else []),
    ):
        _store_versions(session, kind, items, now)
    return _Snapshot(compounds, conditions, evidence, publisher)


def _facts(row: Any, facts: dict[str, Any]) -> _Facts:
    return _Facts(row, facts, content_hash(facts))


def _citations(
    session: Session, compound_ids: list[int], evidence_ids: list[int]
) -> dict[tuple[str, int], list[Any]]:
    out: dict[tuple[str, int], list[Any]] = {}
    owner = (CITATION.c.compound_id.in_(compound_ids)) | (CITATION.c.evidence_id.in_(evidence_ids))
    for c in session.execute(select(CITATION).where(owner)):
        key = (
            ("compound", c.compound_id)
            if c.compound_id is not None
            else ("evidence", c.evidence_id)
        )
        out.setdefault(key, []).append(c)
    return out


def _store_versions(session: Session, kind: str, items: list[_Facts], now: datetime) -> None:
    """Find or create the version of each record's facts (content-addressed)."""
    if not items:
        return
    record_ids = [f.row.id for f in items]
    existing: dict[tuple[int, str], int] = {}
    latest: dict[int, int] = {}
    rows = session.execute(
        select(
            FACT_VERSION.c.id,
            FACT_VERSION.c.record_id,
            FACT_VERSION.c.content_hash,
            FACT_VERSION.c.number,
        ).where(FACT_VERSION.c.kind == kind, FACT_VERSION.c.record_id.in_(record_ids))
    )
    for vid, rid, digest, number in rows:
        existing[(rid, digest)] = vid
        latest[rid] = max(latest.get(rid, 0), number)
    new: list[_Facts] = []
    for f in items:
        vid = existing.get((f.row.id, f.hash))
        if vid is None:
            new.append(f)
        else:
            f.version_id = vid
    if not new:
        return
    version_of = insert_ids(
        session,
        FACT_VERSION,
        [
            {
                "kind": kind,
                "record_id": f.row.id,
                "number": latest.get(f.row.id, 0) + 1,
                "content_hash": f.hash,
                "facts": f.facts,
                "created_at": now,
            }
            for f in new
        ],
        ["record_id"],
    )
    for f in new:
        f.version_id = version_of[f.row.id]


def _approve(
    session: Session, table: Any, items: Iterable[_Facts], columns: Any, now: datetime
) -> set[int]:
    """Upsert the approved copies whose version changes; the ids of those records."""
    items = list(items)
    current: dict[int, int] = dict(
        session.execute(
            select(table.c.id, table.c.version_id).where(table.c.id.in_([f.row.id for f in items]))
        ).all()
    )
    changed = [f for f in items if current.get(f.row.id) != f.version_id]
    _upsert(
        session,
        table,
        [
            {"id": f.row.id, **columns(f), "version_id": f.version_id, "approved_at": now}
            for f in changed
        ],
    )
    return {f.row.id for f in changed}


def _upsert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (id) DO UPDATE: an update of an approved copy fires the
    change log's and the search index's UPDATE triggers, never a DELETE then INSERT."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt: Any = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={k: stmt.excluded[k] for k in rows[0] if k != "id"},
    )
    session.execute(stmt, rows)


def unpublished_review_ids(session: Session, slugs: Sequence[str]) -> list[int]:
    """Reviews among ``slugs`` that have never been published."""
    out: list[int] = []
    for start in range(0, len(slugs), 500):
        out.extend(
            session.execute(
                select(REVIEW.c.id).where(
                    REVIEW.c.published_revision_id.is_(None),
                    REVIEW.c.slug.in_(slugs[start : start + 500]),
                )
            ).scalars()
        )
    return out
