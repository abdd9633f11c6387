"""Facts: compounds, conditions, evidence and the publisher, checked with the catalog's rules.

A write of facts validates the record exactly as a catalog file's row would be, then
upserts it through the catalog's own code, so the API and ``compendium import`` accept
the same records. Changed facts refresh the fingerprints of the reviews built from
them and regenerate their drafts (up to a limit); published pages keep serving their
approved revision until a reviewer approves a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session

from catalog import checks, exporting, importing
from catalog.problems import CatalogInvalid
from db import catalog_sql, queries
from db import editorial as ed
from db.reviews import refresh_fingerprints
from db.tables import COMPOUND, CONDITION, EVIDENCE, PUBLISHER
from editorial.generation import regenerate_stale_in
from editorial.outcome import Done, Outcome, fact_tags
from editorial.permissions import Actor
from resolvers import tags


@dataclass(slots=True)
class FactsResult:
    """What a write of facts did: the record, and the reviews it made stale or regenerated."""

    record_id: int | None
    affected_reviews: int = 0
    regenerated_reviews: int = 0
    stale_reviews: int = 0
    report: importing.ImportReport | None = None


@dataclass(frozen=True, slots=True)
class Deleted:
    """A deleted record, and how many unpublished reviews went with it."""

    type_name: str  # "Compound", "Condition", "Evidence"
    record_id: int
    key: str  # its slug, or compound/condition for evidence
    deleted_reviews: int


@dataclass(frozen=True, slots=True)
class CatalogKind:
    """A compound or a condition: the same units of work, on different tables."""

    name: str  # "compound"
    table: Table
    section: str  # the catalog file's list, e.g. "compounds"

    @property
    def type_name(self) -> str:
        return self.name.capitalize()

    def record(self, session: Session, row: Any) -> dict[str, Any]:
        if self.name == "compound":
            cites = catalog_sql.citations_of_owner(session, "compound", row.id)
            return exporting.compound_record(row, cites)
        return exporting.condition_record(row)

    def scope(self, record_id: int) -> dict[str, list[int]]:
        """The generation scope of the record's reviews."""
        return {f"{self.name}_ids": [record_id]}


COMPOUND_KIND = CatalogKind("compound", COMPOUND, "compounds")
CONDITION_KIND = CatalogKind("condition", CONDITION, "conditions")


# --- validation through the catalog's own rules ----------------------------------------------


def _validated(session: Session, section: str, record: dict[str, Any], prefix: str) -> Any:
    """Check one record with the catalog file's validation; paths are reported from ``prefix``."""
    try:
        return checks.validate({section: [record]}, session, "input")
    except CatalogInvalid as exc:
        head = f"{section}[0]"
        for p in exc.problems:
            p.path = prefix + p.path[len(head) :] if p.path.startswith(head) else prefix
        raise


def _validated_publisher(session: Session, record: dict[str, Any]) -> Any:
    try:
        return checks.validate({"publisher": record}, session, "input")
    except CatalogInvalid as exc:
        for p in exc.problems:
            p.path = (
                "input" + p.path[len("publisher") :] if p.path.startswith("publisher") else p.path
            )
        raise


def _taken(session: Session, table: Table, slug: str, what: str) -> None:
    try:
        ed.row_by_slug(session, table, slug, what)
    except ed.NotFound:
        return
    raise ed.Refused(f"a {what} with slug '{slug}' exists already", "SLUG_TAKEN", path="input.slug")


def _refuse_if_published(slugs: list[str]) -> None:
    if slugs:
        raise ed.Refused(
            "published reviews depend on this record: unpublish or archive them first",
            "HAS_PUBLISHED_REVIEWS",
            reviews=slugs,
        )


def _after_facts(
    session: Session,
    result: FactsResult,
    limit: int,
    compound_ids: list[int] | None = None,
    condition_ids: list[int] | None = None,
) -> Done[FactsResult]:
    """Note the new fingerprints and regenerate the affected drafts (up to ``limit``).

    Published pages keep serving their approved revision; their new drafts wait
    for re-review. Past the limit, the rest stay flagged stale for
    ``regenerateStaleReviews`` or ``compendium generate --stale``."""
    result.affected_reviews = refresh_fingerprints(session, compound_ids, condition_ids)
    report = regenerate_stale_in(
        session, limit=limit, compound_ids=compound_ids, condition_ids=condition_ids
    )
    result.regenerated_reviews = report.created + report.refreshed
    result.stale_reviews = report.remaining
    return Done(result)


# --- compounds and conditions ----------------------------------------------------------------


def create_fact(
    session: Session, actor: Actor, kind: CatalogKind, record: dict[str, Any], limit: int
) -> Done[FactsResult]:
    _taken(session, kind.table, record.get("slug", ""), kind.name)
    catalog = _validated(session, kind.section, record, "input")
    importing.upsert(session, catalog, refresh=False)
    slug = getattr(catalog, kind.section)[0].slug
    row = ed.row_by_slug(session, kind.table, slug, kind.name)
    actor.audit(
        session,
        f"create{kind.type_name}",
        kind.type_name,
        record_id=row.id,
        record_key=row.slug,
        before=None,
        after=row.revision,
    )
    return Done(FactsResult(row.id))


def update_fact(
    session: Session,
    actor: Actor,
    kind: CatalogKind,
    slug: str,
    expected: int,
    patch: dict[str, Any],
    limit: int,
) -> Done[FactsResult]:
    row = ed.row_by_slug(session, kind.table, slug, kind.name)
    ed.claim(session, kind.table, row.id, expected, kind.name, slug)
    record = {**kind.record(session, row), **patch, "slug": slug}
    importing.upsert(session, _validated(session, kind.section, record, "input"), refresh=False)
    actor.audit(
        session,
        f"update{kind.type_name}",
        kind.type_name,
        record_id=row.id,
        record_key=slug,
        before=expected,
        after=ed.revision_of(session, kind.table, row.id),
        detail={"fields": sorted(patch)},
    )
    return _after_facts(session, FactsResult(row.id), limit, **kind.scope(row.id))


def delete_fact(
    session: Session, actor: Actor, kind: CatalogKind, slug: str, expected: int
) -> Done[Deleted]:
    row = ed.row_by_slug(session, kind.table, slug, kind.name)
    ed.claim(session, kind.table, row.id, expected, kind.name, slug)
    scope = {f"{kind.name}_id": row.id}
    _refuse_if_published(ed.published_reviews(session, **scope))
    deleted = ed.delete_reviews_of(session, **scope)
    ed.delete_by_id(session, kind.table, row.id)
    actor.audit(
        session,
        f"delete{kind.type_name}",
        kind.type_name,
        record_id=row.id,
        record_key=slug,
        before=expected,
        after=None,
        detail={"deletedReviews": deleted},
    )
    # Its approved copy (if any) went with it.
    return Done(
        Deleted(kind.type_name, row.id, slug, deleted),
        Outcome(purge=fact_tags(kind.name, row.id)),
    )


# --- evidence --------------------------------------------------------------------------------


def create_evidence(
    session: Session, actor: Actor, record: dict[str, Any], limit: int
) -> Done[FactsResult]:
    compound, condition = record.get("compound", ""), record.get("condition", "")
    try:
        ed.evidence_row(session, compound, condition)
    except ed.NotFound:
        pass
    else:
        raise ed.Refused(
            f"evidence for {compound} x {condition} exists already; update it instead",
            "EXISTS",
            path="input",
        )
    catalog = _validated(session, "evidence", record, "input")
    importing.upsert(session, catalog, refresh=False)
    row = ed.evidence_row(session, compound, condition)
    actor.audit(
        session,
        "createEvidence",
        "Evidence",
        record_id=row.id,
        record_key=f"{compound}/{condition}",
        before=None,
        after=row.revision,
    )
    # A new pair gets its review as a draft at once.
    return _after_facts(session, FactsResult(row.id), limit, [row.compound_id], [row.condition_id])


def update_evidence(
    session: Session,
    actor: Actor,
    compound: str,
    condition: str,
    expected: int,
    patch: dict[str, Any],
    limit: int,
) -> Done[FactsResult]:
    row = ed.evidence_row(session, compound, condition)
    ed.claim(session, EVIDENCE, row.id, expected, "evidence", f"{compound} x {condition}")
    current = exporting.evidence_record(
        row, compound, condition, catalog_sql.citations_of_owner(session, "evidence", row.id)
    )
    merged = {**current, **patch, "compound": compound, "condition": condition}
    catalog = _validated(session, "evidence", merged, "input")
    importing.upsert(session, catalog, refresh=False)
    after = ed.revision_of(session, EVIDENCE, row.id)
    actor.audit(
        session,
        "updateEvidence",
        "Evidence",
        record_id=row.id,
        record_key=f"{compound}/{condition}",
        before=expected,
        after=after,
        detail={"fields": sorted(patch)},
    )
    return _after_facts(session, FactsResult(row.id), limit, [row.compound_id], [row.condition_id])


def delete_evidence(
    session: Session, actor: Actor, compound: str, condition: str, expected: int
) -> Done[Deleted]:
    row = ed.evidence_row(session, compound, condition)
    ed.claim(session, EVIDENCE, row.id, expected, "evidence", f"{compound} x {condition}")
    _refuse_if_published(
        ed.published_reviews(session, compound_id=row.compound_id, condition_id=row.condition_id)
    )
    deleted = ed.delete_reviews_of(session, row.compound_id, row.condition_id)
    ed.delete_by_id(session, EVIDENCE, row.id)
    actor.audit(
        session,
        "deleteEvidence",
        "Evidence",
        record_id=row.id,
        record_key=f"{compound}/{condition}",
        before=expected,
        after=None,
        detail={"deletedReviews": deleted},
    )
    # Its approved copy (if any) went with it.
    return Done(
        Deleted("Evidence", row.id, f"{compound}/{condition}", deleted),
        Outcome(purge=(tags.record("evidence", row.id),)),
    )


# --- the publisher ---------------------------------------------------------------------------


def set_publisher(
    session: Session, actor: Actor, expected: int | None, record: dict[str, Any], limit: int
) -> Done[FactsResult]:
    row = queries.publisher_row(session)
    if row is None and expected is not None:
        raise ed.NotFound("publisher", "(none yet: omit expectedRevision to create it)")
    if row is not None:
        if expected is None:
            raise ed.Refused(
                "the publisher exists: give expectedRevision to update it",
                "REVISION_REQUIRED",
                path="expectedRevision",
            )
        ed.claim(session, PUBLISHER, row.id, expected, "publisher", row.name)
        current = exporting.publisher_record(row)
        advisor = {**current["medical_advisor"], **record.get("medical_advisor", {})}
        record = {**current, **record, "medical_advisor": advisor}
    catalog = _validated_publisher(session, record)
    report = importing.upsert(session, catalog, refresh=False)
    row = queries.publisher_row(session)
    actor.audit(
        session,
        "updatePublisher",
        "Publisher",
        record_id=row.id,
        record_key=row.name,
        before=expected,
        after=row.revision,
        detail={"fields": sorted(record)},
    )
    # The byline is on every page: every review is affected.
    return _after_facts(session, FactsResult(row.id, report=report), limit)
