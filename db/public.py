"""Readers' queries: every statement here reads the published read model only.

Anonymous readers get approved content and nothing else (db/read_model.py), so
their SQL touches ``public_*``, ``fact_version``, ``review_revision``, the search
index and the change log, and never a working table (tests/server/test_approved.py
checks the statements of anonymous requests for exactly that).

Fact records come back as ``fact_version`` rows (``record_id``, ``number``,
``content_hash``, ``facts``, ``created_at``), labelled with the approved copy's
``id`` and the columns its list orders by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from config import get_settings
from db import translations
from db.engine import key_lookup
from db.graph import pages_by_parent, related_rows
from db.lookups import KeyRead, Lookup, by, grouped_by
from db.pagination import Kind, Order, Page, page
from db.tables import (
    FACT_VERSION,
    PUBLIC_COMPOUND,
    PUBLIC_CONDITION,
    PUBLIC_EVIDENCE,
    PUBLIC_PUBLISHER,
    PUBLIC_REVIEW,
    PUBLIC_TRANSLATION,
)

FV = FACT_VERSION
VERSION_COLUMNS = (
    FV.c.id.label("version_id"),
    FV.c.kind,
    FV.c.record_id,
    FV.c.number,
    FV.c.content_hash,
    FV.c.facts,
    FV.c.created_at,
)


_VERSIONS = Lookup(select(*VERSION_COLUMNS), FV.c.id)


fact_versions_by_ids = KeyRead(_VERSIONS, by("version_id"), "Fact versions by id.")


def _approved(table: Any, *extra: Any) -> Select[Any]:
    """The approved copies of a table, each with its fact version."""
    return select(table.c.id, *extra, *VERSION_COLUMNS).join(FV, FV.c.id == table.c.version_id)


_APPROVED_BY_ID = {
    table.name: Lookup(_approved(table), table.c.id)
    for table in (PUBLIC_COMPOUND, PUBLIC_CONDITION)
}
_APPROVED_BY_SLUG = {
    table.name: Lookup(_approved(table, table.c.slug), table.c.slug)
    for table in (PUBLIC_COMPOUND, PUBLIC_CONDITION)
}


approved_by_ids = KeyRead(
    lambda table: _APPROVED_BY_ID[table.name],
    by("id"),
    "(table, ids): a fact table's approved copies by id, each with its fact version.",
)
approved_by_slugs = KeyRead(
    lambda table: _APPROVED_BY_SLUG[table.name],
    by("slug"),
    "(table, slugs): a fact table's approved copies by slug, each with its fact version.",
)


@key_lookup
def approved_evidence_by_pairs(
    session: Session, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], Any]:
    PE = PUBLIC_EVIDENCE
    wanted = set(pairs)
    q = _approved(PE, PE.c.compound_id, PE.c.condition_id).where(
        PE.c.compound_id.in_({c for c, _ in wanted})
    )
    return {
        (row.compound_id, row.condition_id): row
        for row in session.execute(q)
        if (row.compound_id, row.condition_id) in wanted
    }


_APPROVED_EVIDENCE_BY_ID = Lookup(
    _approved(PUBLIC_EVIDENCE, PUBLIC_EVIDENCE.c.compound_id, PUBLIC_EVIDENCE.c.condition_id),
    PUBLIC_EVIDENCE.c.id,
)


approved_evidence_by_ids = KeyRead(
    _APPROVED_EVIDENCE_BY_ID, by("id"), "Approved evidence by id, with its fact version."
)


@key_lookup
def translation_versions(
    session: Session, keys: Sequence[tuple[str, int, str]]
) -> dict[tuple[str, int, str], Any]:
    """For (fact kind, record id, locale), the fact version whose translated fields readers
    of that locale get (public_translation; absent: none approved in that locale)."""
    wanted = set(keys)
    PT = PUBLIC_TRANSLATION
    q = (
        select(PT.c.kind.label("pt_kind"), PT.c.locale, *VERSION_COLUMNS)
        .join(FV, FV.c.id == PT.c.version_id)
        .where(PT.c.record_id.in_({r for _, r, _ in wanted}))
    )
    out = {}
    for row in session.execute(q):
        key = (str(row.pt_kind), row.record_id, row.locale)
        if key in wanted:
            out[key] = row
    return out


@key_lookup
def approved_publisher(session: Session) -> Any:
    q = _approved(PUBLIC_PUBLISHER).order_by(PUBLIC_PUBLISHER.c.id).limit(1)
    return session.execute(q).first()


# --- reviews -------------------------------------------------------------------------------

PR = PUBLIC_REVIEW


_REVIEW_BY_ID = Lookup(select(PR), PR.c.id)
_REVIEW_BY_SLUG = Lookup(select(PR), PR.c.slug)


reviews_by_ids = KeyRead(_REVIEW_BY_ID, by("id"), "Published reviews by id.")
reviews_by_slugs = KeyRead(
    _REVIEW_BY_SLUG,
    grouped_by("slug"),
    "Each slug's published reviews, one per locale approved.",
)


@key_lookup
def review_by_pair(
    session: Session, compound_slug: str, condition_slug: str, kind: str
) -> list[Any]:
    """The pair's published reviews of ``kind``, one per locale approved."""
    q = (
        select(PR)
        .join(PUBLIC_COMPOUND, PUBLIC_COMPOUND.c.id == PR.c.compound_id)
        .join(PUBLIC_CONDITION, PUBLIC_CONDITION.c.id == PR.c.condition_id)
        .where(
            PUBLIC_COMPOUND.c.slug == compound_slug,
            PUBLIC_CONDITION.c.slug == condition_slug,
            PR.c.kind == kind,
        )
    )
    return list(session.execute(q))


@key_lookup
def reviews_by_pairs(
    session: Session, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], Any]:
    """The published safety review (the default locale's) of each (compound id, condition id)."""
    wanted = set(pairs)
    q = select(PR).where(
        PR.c.compound_id.in_({c for c, _ in wanted}),
        PR.c.kind == "SAFETY",
        PR.c.locale == get_settings().default_locale,
    )
    return {
        (row.compound_id, row.condition_id): row
        for row in session.execute(q)
        if (row.compound_id, row.condition_id) in wanted
    }


REVIEW_ORDERS = {
    # Readers see published revisions: "updated" means "a new revision was published".
    "UPDATED_AT_DESC": Order("published_at", PR.c.published_at, True, Kind.INSTANT),
    "UPDATED_AT_ASC": Order("published_at", PR.c.published_at, False, Kind.INSTANT),
    "PUBLISHED_AT_DESC": Order("published_at", PR.c.published_at, True, Kind.INSTANT),
    "SLUG_ASC": Order("slug", PR.c.slug, False),
    "TITLE_ASC": Order("title", PR.c.title, False),
}


@dataclass(slots=True)
class ReviewFilter:
    """Readers' review filters, matched against what the published revision says."""

    compound: list[str] | None = None
    condition: list[str] | None = None
    research: str | None = None
    kind: str | None = None
    updated_since: datetime | None = None
    stale: bool | None = None
    overdue: bool | None = None
    now: datetime | None = None
    # The locales asked for: a chain (the first wanted, each next one a fallback; see
    # ``in_locales``); None: the default locale's pages only.
    locales: list[str] | None = None


def _slug_ids(table: Any, slugs: list[str]) -> Any:
    # One slug: `= (scalar subquery)`, which PostgreSQL plans as an index range on the
    # list indexes; `IN (SELECT ...)` made it walk the whole published_at index.
    if len(slugs) == 1:
        return select(table.c.id).where(table.c.slug == slugs[0]).scalar_subquery()
    return select(table.c.id).where(table.c.slug.in_(slugs))


def _by_slugs(column: Any, table: Any, slugs: list[str]) -> Any:
    ids = _slug_ids(table, slugs)
    return column == ids if len(slugs) == 1 else column.in_(ids)


# A published page is stale for readers when a reviewer has since approved newer facts
# of its compound, condition, evidence or publisher than those it was approved with.
STALE = or_(
    PR.c.compound_version_id
    != select(PUBLIC_COMPOUND.c.version_id)
    .where(PUBLIC_COMPOUND.c.id == PR.c.compound_id)
    .scalar_subquery(),
    PR.c.condition_version_id
    != select(PUBLIC_CONDITION.c.version_id)
    .where(PUBLIC_CONDITION.c.id == PR.c.condition_id)
    .scalar_subquery(),
    PR.c.evidence_version_id
    != select(PUBLIC_EVIDENCE.c.version_id)
    .where(
        PUBLIC_EVIDENCE.c.compound_id == PR.c.compound_id,
        PUBLIC_EVIDENCE.c.condition_id == PR.c.condition_id,
    )
    .scalar_subquery(),
    PR.c.publisher_version_id.is_distinct_from(
        select(PUBLIC_PUBLISHER.c.version_id)
        .order_by(PUBLIC_PUBLISHER.c.id)
        .limit(1)
        .scalar_subquery()
    ),
)


def review_query(f: ReviewFilter) -> Select[Any]:
    q = select(PR).where(translations.in_locales(PR, f.locales or [get_settings().default_locale]))
    if f.compound:
        q = q.where(_by_slugs(PR.c.compound_id, PUBLIC_COMPOUND, f.compound))
    if f.condition:
        q = q.where(_by_slugs(PR.c.condition_id, PUBLIC_CONDITION, f.condition))
    if f.research:
        q = q.where(PR.c.research == f.research)
    if f.kind:
        q = q.where(PR.c.kind == f.kind)
    if f.updated_since is not None:
        q = q.where(PR.c.published_at > f.updated_since)
    if f.stale is not None:
        stale = or_(STALE, translations.behind("public"))
        q = q.where(stale if f.stale else ~stale)
    if f.overdue is not None:
        overdue = PR.c.review_due_at < (f.now or datetime.now(UTC))
        q = q.where(overdue if f.overdue else ~overdue)
    return q


def list_reviews(
    session: Session, f: ReviewFilter, order: str, first: int, after: list[Any] | None
) -> Page:
    return page(session, review_query(f), REVIEW_ORDERS[order], PR.c.id, first, after)


# The parents of a nested review list (`Compound.reviews`, `Condition.reviews`).
REVIEW_PARENTS = {"compound": PR.c.compound_id, "condition": PR.c.condition_id}


def reviews_by_parents(
    session: Session,
    parent: str,
    f: ReviewFilter,
    order: str,
    first: int,
    after: list[Any] | None,
    ids: Sequence[int],
) -> dict[int, Page]:
    """The same page of published reviews for each compound (or condition): two statements."""
    spec = REVIEW_ORDERS[order]
    q = review_query(f)
    return pages_by_parent(session, q, spec, PR.c.id, REVIEW_PARENTS[parent], ids, first, after)


def related_reviews(session: Session, first: int, ids: Sequence[int]) -> dict[int, list[Any]]:
    """Published reviews sharing each review's compound or condition (db/graph.py's order)."""
    return related_rows(session, PR, ids, first)


# --- compounds and conditions --------------------------------------------------------------

PC = PUBLIC_COMPOUND
PD = PUBLIC_CONDITION
# Readers' "updated" is when the approved copy last changed.
COMPOUND_ORDERS = {
    "NAME_ASC": Order("name", PC.c.name, False),
    "SLUG_ASC": Order("slug", PC.c.slug, False),
    "UPDATED_AT_DESC": Order("approved_at", PC.c.approved_at, True, Kind.INSTANT),
}
CONDITION_ORDERS = {
    "NAME_ASC": Order("name", PD.c.name, False),
    "SLUG_ASC": Order("slug", PD.c.slug, False),
    "UPDATED_AT_DESC": Order("approved_at", PD.c.approved_at, True, Kind.INSTANT),
}


def _catalog_query(
    table: Any, name: str | None, slugs: list[str] | None, codes: dict[str, str | None]
) -> Select[Any]:
    q = _approved(table, table.c.slug, table.c.name, table.c.approved_at)
    for column, code in codes.items():
        if code is not None:  # exact (indexed): the approved copy's code
            q = q.where(table.c[column] == code)
    if slugs:
        q = q.where(table.c.slug.in_(slugs))
    if name:
        q = q.where(func.lower(table.c.name).contains(name.lower(), autoescape=True))
    return q


def list_compounds(
    session: Session,
    name: str | None,
    slugs: list[str] | None,
    drug_class: str | None,
    codes: dict[str, str | None],
    order: str,
    first: int,
    after: list[Any] | None,
) -> Page:
    q = _catalog_query(PC, name, slugs, codes)
    if drug_class:
        q = q.where(func.lower(PC.c.drug_class).contains(drug_class.lower(), autoescape=True))
    return page(session, q, COMPOUND_ORDERS[order], PC.c.id, first, after)


def list_conditions(
    session: Session,
    name: str | None,
    slugs: list[str] | None,
    codes: dict[str, str | None],
    order: str,
    first: int,
    after: list[Any] | None,
) -> Page:
    q = _catalog_query(PD, name, slugs, codes)
    return page(session, q, CONDITION_ORDERS[order], PD.c.id, first, after)


def pair_filter(compound_id: int, condition_id: int) -> Any:
    return and_(PR.c.compound_id == compound_id, PR.c.condition_id == condition_id)
