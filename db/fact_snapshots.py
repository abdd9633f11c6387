"""Fact snapshots: the versions of a review's facts that a publish approves.

Publishing (db/publishing.py) freezes, with each revision, the compound, condition,
evidence and publisher the page was generated from. Each is stored once per content
(``fact_version``, content-addressed: approving unchanged facts reuses the version), and
the approved copies readers get (``public_*``) move to a new version only when an
approval makes newer facts public.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from content.facts import (
    citations_of,
    compound_facts,
    condition_facts,
    content_hash,
    evidence_facts,
    publisher_facts,
    with_translations,
)
from db.bulk import among, send_rows
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
    PUBLISHER,
    REVIEW,
)


@dataclass(slots=True)
class Approval:
    """What a publish made public: the reviews, and the facts whose approved copy is new."""

    reviews: list[int] = field(default_factory=list)
    # Each approved review's locale (what its approval purges is that locale's).
    locales: dict[int, str] = field(default_factory=dict)
    compounds: set[int] = field(default_factory=set)
    conditions: set[int] = field(default_factory=set)
    evidence: set[int] = field(default_factory=set)
    publisher: bool = False

    def add(self, other: Approval) -> None:
        self.reviews += other.reviews
        self.locales |= other.locales
        self.compounds |= other.compounds
        self.conditions |= other.conditions
        self.evidence |= other.evidence
        self.publisher = self.publisher or other.publisher


@dataclass(slots=True)
class Facts:
    """The facts of one record about to be approved: its row and what templates see."""

    row: Any
    facts: dict[str, Any]
    hash: str
    version_id: int = 0


@dataclass(slots=True)
class Snapshot:
    compounds: dict[int, Facts]
    conditions: dict[int, Facts]
    evidence: dict[tuple[int, int], Facts]
    publisher: Facts | None

    def versions_of(self, review: Any) -> dict[str, int | None]:
        pair = (review.compound_id, review.condition_id)
        return {
            "compound_version_id": self.compounds[review.compound_id].version_id,
            "condition_version_id": self.conditions[review.condition_id].version_id,
            "evidence_version_id": self.evidence[pair].version_id,
            "publisher_version_id": self.publisher.version_id if self.publisher else None,
        }

    def facts_of(self, review: Any) -> dict[str, Facts | None]:
        """The four records a review's page was generated from, by fact kind."""
        return {
            "compound": self.compounds[review.compound_id],
            "condition": self.conditions[review.condition_id],
            "evidence": self.evidence[(review.compound_id, review.condition_id)],
            "publisher": self.publisher,
        }

    def approve(self, session: Session, now: datetime, reviews: list[Any]) -> Approval:
        """Point the approved copies of ``reviews``' facts at these versions where they are
        not yet (the default locale's pages: a translation approves only its locale's)."""
        approval = Approval()
        compound_ids = {r.compound_id for r in reviews}
        condition_ids = {r.condition_id for r in reviews}
        pairs = {(r.compound_id, r.condition_id) for r in reviews}
        approval.compounds = _approve(
            session,
            PUBLIC_COMPOUND,
            [f for cid, f in self.compounds.items() if cid in compound_ids],
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
            [f for did, f in self.conditions.items() if did in condition_ids],
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
            [f for pair, f in self.evidence.items() if pair in pairs],
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


def snapshot_facts(session: Session, reviews: list[Any], now: datetime) -> Snapshot:
    """The current facts of the reviews' records, each stored as a version (new or reused)."""
    compound_ids = sorted({r.compound_id for r in reviews})
    condition_ids = sorted({r.condition_id for r in reviews})
    review_ids = [r.id for r in reviews]
    pair = and_(
        EVIDENCE.c.compound_id == REVIEW.c.compound_id,
        EVIDENCE.c.condition_id == REVIEW.c.condition_id,
    )
    # (By id: DISTINCT over the rows would compare JSON columns, which PostgreSQL cannot.)
    of_reviews = (
        select(EVIDENCE.c.id).join(REVIEW, pair).where(among(session, REVIEW.c.id, review_ids))
    )
    evidence_rows = list(session.execute(select(EVIDENCE).where(EVIDENCE.c.id.in_(of_reviews))))
    cites = _citations(session, compound_ids, [e.id for e in evidence_rows])
    compounds = {
        c.id: _facts(c, compound_facts(c, citations_of(cites.get(("compound", c.id), []))))
        for c in session.execute(
            select(COMPOUND).where(among(session, COMPOUND.c.id, compound_ids))
        )
    }
    conditions = {
        d.id: _facts(d, condition_facts(d))
        for d in session.execute(
            select(CONDITION).where(among(session, CONDITION.c.id, condition_ids))
        )
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
    return Snapshot(compounds, conditions, evidence, publisher)


def _facts(row: Any, facts: dict[str, Any]) -> Facts:
    # Translations are reviewed text: a version holds them with the facts (its hash is
    # the row's content_hash), so approving a record approves its translations too.
    facts = with_translations(facts, row.translations)
    return Facts(row, facts, content_hash(facts))


def _citations(
    session: Session, compound_ids: list[int], evidence_ids: list[int]
) -> dict[tuple[str, int], list[Any]]:
    out: dict[tuple[str, int], list[Any]] = {}
    owner = among(session, CITATION.c.compound_id, compound_ids) | among(
        session, CITATION.c.evidence_id, evidence_ids
    )
    for c in session.execute(select(CITATION).where(owner)):
        key = (
            ("compound", c.compound_id)
            if c.compound_id is not None
            else ("evidence", c.evidence_id)
        )
        out.setdefault(key, []).append(c)
    return out


def _store_versions(session: Session, kind: str, items: list[Facts], now: datetime) -> None:
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
        ).where(FACT_VERSION.c.kind == kind, among(session, FACT_VERSION.c.record_id, record_ids))
    )
    for vid, rid, digest, number in rows:
        existing[(rid, digest)] = vid
        latest[rid] = max(latest.get(rid, 0), number)
    new: list[Facts] = []
    for f in items:
        vid = existing.get((f.row.id, f.hash))
        if vid is None:
            new.append(f)
        else:
            f.version_id = vid
    if not new:
        return
    send_rows(
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
    )
    version_of = {
        (rid, digest): vid
        for vid, rid, digest in session.execute(
            select(FACT_VERSION.c.id, FACT_VERSION.c.record_id, FACT_VERSION.c.content_hash).where(
                FACT_VERSION.c.kind == kind,
                among(session, FACT_VERSION.c.record_id, [f.row.id for f in new]),
            )
        )
    }
    for f in new:
        f.version_id = version_of[(f.row.id, f.hash)]


def _approve(
    session: Session, table: Any, items: Iterable[Facts], columns: Any, now: datetime
) -> set[int]:
    """Upsert the approved copies whose version changes; the ids of those records."""
    items = list(items)
    current: dict[int, int] = dict(
        session.execute(
            select(table.c.id, table.c.version_id).where(
                among(session, table.c.id, [f.row.id for f in items])
            )
        ).all()
    )
    changed = [f for f in items if current.get(f.row.id) != f.version_id]
    upsert(
        session,
        table,
        [
            {"id": f.row.id, **columns(f), "version_id": f.version_id, "approved_at": now}
            for f in changed
        ],
    )
    return {f.row.id for f in changed}


def upsert(
    session: Session, table: Any, rows: list[dict[str, Any]], keys: Sequence[str] = ("id",)
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: an update of an approved copy fires the
    change log's and the search index's UPDATE triggers, never a DELETE then INSERT."""
    send_rows(session, table, rows, upsert=True, keys=keys)
