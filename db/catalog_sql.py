"""The SQL of catalog imports and exports (catalog/ decides what to write).

Records are upserted by their key (a slug, or a compound x condition pair): new
ones inserted in bulk, changed ones updated (revision and timestamps moved),
unchanged ones left exactly as they are, so importing a file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from db import tables
from db.bulk import insert_ids
from db.models import (
    Citation,
    Compound,
    Condition,
    Evidence,
    Publisher,
    ReviewKind,
    Template,
    utcnow,
)
from db.tables import CITATION


@dataclass(slots=True)
class RecordWrite:
    """One record of a file, ready to write: its key, values, facts hash and citations."""

    key: Any
    values: dict[str, Any]
    hash: str
    citations: list[dict[str, Any]] | None = None  # None: the record has no citations


# The columns of a record's key (RecordWrite.key) in each table written here.
KEYS = {
    tables.COMPOUND.name: ["slug"],
    tables.CONDITION.name: ["slug"],
    tables.EVIDENCE.name: ["compound_id", "condition_id"],
    tables.PUBLISHER.name: ["id"],
}


# --- reads for checks and writes -------------------------------------------------------------


def names(session: Session, model: Any) -> list[tuple[str, str]]:
    """(slug, display name) of every compound or condition."""
    return list(session.exec(select(model.slug, model.name)))


def existing_slugs(session: Session, model: Any, slugs: Iterable[str]) -> set[str]:
    wanted = list(slugs)
    if not wanted:
        return set()
    return set(session.exec(select(model.slug).where(model.slug.in_(wanted))))


def by_slugs(session: Session, model: Any, slugs: Sequence[str]) -> dict[str, Any]:
    return {r.slug: r for r in session.exec(select(model).where(model.slug.in_(list(slugs))))}


def ids_by_slugs(session: Session, model: Any, slugs: Iterable[str]) -> dict[str, int]:
    wanted = list(slugs)
    if not wanted:
        return {}
    return dict(session.exec(select(model.slug, model.id).where(model.slug.in_(wanted))).all())


def publisher(session: Session) -> Publisher | None:
    return session.exec(select(Publisher).order_by(col(Publisher.id))).first()


def evidence_by_pair(session: Session) -> dict[tuple[int, int], Evidence]:
    return {(e.compound_id, e.condition_id): e for e in session.exec(select(Evidence))}


def template(session: Session, kind: str, locale: str, version: str) -> Template | None:
    return session.exec(
        select(Template).where(
            Template.kind == kind, Template.locale == locale, Template.version == version
        )
    ).first()


def citations_of_owner(session: Session, owner: str, owner_id: int) -> list[Citation]:
    col = Citation.compound_id if owner == "compound" else Citation.evidence_id
    return list(session.exec(select(Citation).where(col == owner_id)))


# --- writes ----------------------------------------------------------------------------------


def write_records(
    session: Session,
    model: Any,
    existing: dict[Any, Any],
    records: list[RecordWrite],
    owner: str | None = None,
) -> tuple[dict[Any, int], dict[Any, str]]:
    """Insert new records in bulk, update changed ones, leave unchanged ones alone.

    Returns each key's id and outcome (created, updated or unchanged); ``owner``
    (compound or evidence) replaces the citations of the records written."""
    table = model.__table__
    now = utcnow()
    ids: dict[Any, int] = {}
    outcome: dict[Any, str] = {}
    new: list[RecordWrite] = []
    touched: list[tuple[int, RecordWrite]] = []
    for record in records:
        current = existing.get(record.key)
        if current is None:
            new.append(record)
            continue
        ids[record.key] = current.id
        if current.content_hash == record.hash and all(
            getattr(current, k) == v for k, v in record.values.items()
        ):
            outcome[record.key] = "unchanged"
            continue
        for k, v in record.values.items():
            setattr(current, k, v)
        current.content_hash = record.hash
        current.revision += 1
        current.updated_at = now
        session.add(current)
        touched.append((current.id, record))
        outcome[record.key] = "updated"
    if new:
        values = [
            dict(r.values, content_hash=r.hash, revision=1, created_at=now, updated_at=now)
            for r in new
        ]
        created = insert_ids(session, table, values, KEYS[table.name])
        for r in new:
            ids[r.key] = created[r.key]
            outcome[r.key] = "created"
    session.flush()
    if owner is not None:
        _replace_citations(
            session, owner, touched + [(ids[r.key], r) for r in new], [rid for rid, _ in touched]
        )
    return ids, outcome


def _replace_citations(
    session: Session, owner: str, written: list[tuple[int, RecordWrite]], stale: list[int]
) -> None:
    col = CITATION.c.compound_id if owner == "compound" else CITATION.c.evidence_id
    for chunk in range(0, len(stale), 5000):
        session.execute(delete(CITATION).where(col.in_(stale[chunk : chunk + 5000])))
    cites = [
        {
            "compound_id": rid if owner == "compound" else None,
            "evidence_id": rid if owner == "evidence" else None,
            "position": pos,
            "kind": c["kind"],
            "value": c["value"],
            "title": c["title"],
        }
        for rid, r in written
        for pos, c in enumerate(r.citations or [])
    ]
    if cites:
        session.execute(insert(CITATION), cites)


def has_templates(session: Session, locale: str | None = None) -> bool:
    """Whether any template (of any kind or version; of ``locale`` if given) is stored."""
    q = select(Template.id)
    if locale is not None:
        q = q.where(Template.locale == locale)
    return session.exec(q.limit(1)).first() is not None


def add_template(
    session: Session,
    kind: ReviewKind,
    locale: str,
    version: str,
    source: dict[str, Any],
    digest: str,
) -> None:
    """Store a new template version; it becomes the active one for its kind and locale."""
    for old in session.exec(
        select(Template).where(
            col(Template.kind) == kind,
            col(Template.locale) == locale,
            col(Template.active).is_(True),
        )
    ):
        old.active = False
        session.add(old)
    session.add(
        Template(
            kind=kind,
            locale=locale,
            version=version,
            source=source,
            content_hash=digest,
            active=True,
        )
    )


# --- export ----------------------------------------------------------------------------------


@dataclass(slots=True)
class CatalogRows:
    """Every record of the working catalog, in export order."""

    publisher: Publisher | None
    compounds: list[Compound]
    conditions: list[Condition]
    evidence: list[Evidence]
    citations: list[Citation]
    templates: list[Template]


def catalog_rows(session: Session) -> CatalogRows:
    return CatalogRows(
        publisher=publisher(session),
        compounds=list(session.exec(select(Compound).order_by(Compound.slug))),
        conditions=list(session.exec(select(Condition).order_by(Condition.slug))),
        evidence=list(session.exec(select(Evidence))),
        citations=list(session.exec(select(Citation))),
        templates=list(session.exec(select(Template).order_by(col(Template.id)))),
    )
