"""Read queries for the API. Every function takes the request's session.

They are plain synchronous functions: the server runs them through
``db.engine.Database.run`` (a worker thread for SQLite, the greenlet bridge of
the asyncpg driver for PostgreSQL), so one code path serves both databases
without blocking the event loop.

Batch functions (``*_by_ids``) back the per-request DataLoaders; list functions
implement keyset pagination: the page query fetches ``first + 1`` rows (to know
whether there is a next page) and the total with a window function, so a page
of any size costs one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Select,
    Text,
    and_,
    case,
    func,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from config import get_settings
from db import translations
from db.engine import key_lookup
from db.graph import pages_by_parent, related_rows
from db.lookups import KeyRead, Lookup, by
from db.pagination import Kind, Order, Page, page
from db.tables import (
    AUDIT_LOG,
    CITATION,
    COMPOUND,
    CONDITION,
    EVIDENCE,
    FACT_VERSION,
    PUBLIC_COMPOUND,
    PUBLIC_CONDITION,
    PUBLISHER,
    REVIEW,
    REVIEW_REVISION,
    REVIEW_SECTION,
    TEMPLATE,
)

# --- batch loads ---------------------------------------------------------------------------


@key_lookup
def rows_by_ids(session: Session, table: Any, ids: Sequence[int]) -> dict[int, Any]:
    result = session.execute(select(table).where(table.c.id.in_(list(ids))))
    return {row.id: row for row in result}


@key_lookup
def compounds_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    return rows_by_ids(session, COMPOUND, ids)


@key_lookup
def conditions_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    return rows_by_ids(session, CONDITION, ids)


@key_lookup
def reviews_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    return rows_by_ids(session, REVIEW, ids)


# Sections come back as JSON text, decoded only if a field needs them: a list of titles
# must not pay for decoding every page body.
_REVISIONS = Lookup(
    select(
        *(c for c in REVIEW_REVISION.c if c.name != "sections"),
        type_coerce(REVIEW_REVISION.c.sections, Text).label("sections_json"),
    ),
    REVIEW_REVISION.c.id,
)


revisions_by_ids = KeyRead(_REVISIONS, by("id"), "Revisions by id (sections as JSON text).")


@key_lookup
def by_slugs(session: Session, table: Any, slugs: Sequence[str]) -> dict[str, Any]:
    result = session.execute(select(table).where(table.c.slug.in_(list(slugs))))
    return {row.slug: row for row in result}


@key_lookup
def sections_by_review_ids(session: Session, ids: Sequence[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {i: [] for i in ids}
    result = session.execute(
        select(REVIEW_SECTION)
        .where(REVIEW_SECTION.c.review_id.in_(list(ids)))
        .order_by(REVIEW_SECTION.c.review_id, REVIEW_SECTION.c.position)
    )
    for row in result:
        out[row.review_id].append(row)
    return out


@key_lookup
def citations_by_owner(session: Session, column: str, ids: Sequence[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {i: [] for i in ids}
    col = CITATION.c[column]
    result = session.execute(
        select(CITATION).where(col.in_(list(ids))).order_by(col, CITATION.c.position)
    )
    for row in result:
        out[getattr(row, column)].append(row)
    return out


@key_lookup
def evidence_by_pairs(
    session: Session, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], Any]:
    compound_ids = {c for c, _ in pairs}
    result = session.execute(select(EVIDENCE).where(EVIDENCE.c.compound_id.in_(compound_ids)))
    wanted = set(pairs)
    return {
        (row.compound_id, row.condition_id): row
        for row in result
        if (row.compound_id, row.condition_id) in wanted
    }


@key_lookup
def reviews_by_slugs(session: Session, slugs: Sequence[str]) -> dict[str, list[Any]]:
    """Each slug's working reviews, one per locale the page has."""
    out: dict[str, list[Any]] = {}
    for row in session.execute(select(REVIEW).where(REVIEW.c.slug.in_(list(slugs)))):
        out.setdefault(row.slug, []).append(row)
    return out


@key_lookup
def review_by_pair(
    session: Session, compound_slug: str, condition_slug: str, kind: str
) -> list[Any]:
    """The pair's working reviews of ``kind``, one per locale."""
    result = session.execute(
        select(REVIEW)
        .join(COMPOUND, COMPOUND.c.id == REVIEW.c.compound_id)
        .join(CONDITION, CONDITION.c.id == REVIEW.c.condition_id)
        .where(
            COMPOUND.c.slug == compound_slug,
            CONDITION.c.slug == condition_slug,
            REVIEW.c.kind == kind,
        )
    )
    return list(result)


@key_lookup
def reviews_by_pairs(
    session: Session, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], Any]:
    """The working safety review (the default locale's) of each (compound id, condition id)."""
    wanted = set(pairs)
    q = select(REVIEW).where(
        REVIEW.c.compound_id.in_({c for c, _ in wanted}),
        REVIEW.c.kind == "SAFETY",
        REVIEW.c.locale == get_settings().default_locale,
    )
    return {
        (row.compound_id, row.condition_id): row
        for row in session.execute(q)
        if (row.compound_id, row.condition_id) in wanted
    }


@key_lookup
def publisher_row(session: Session) -> Any:
    return (session.execute(select(PUBLISHER).order_by(PUBLISHER.c.id).limit(1))).first()


def ping(session: Session) -> bool:
    return (session.execute(text("SELECT 1"))).scalar() == 1


# --- lists with keyset pagination ----------------------------------------------------------


PUBLISHED_AT_OR_EPOCH = func.coalesce(REVIEW.c.published_at, datetime(1970, 1, 1))
# Editors' review list (the working copies); readers' is in db/public.py.
REVIEW_ORDERS = {
    "UPDATED_AT_DESC": Order("updated_at", REVIEW.c.updated_at, True, Kind.INSTANT),
    "UPDATED_AT_ASC": Order("updated_at", REVIEW.c.updated_at, False, Kind.INSTANT),
    # Never-published reviews sort last, not out of the keyset.
    "PUBLISHED_AT_DESC": Order("published_at_or_epoch", PUBLISHED_AT_OR_EPOCH, True, Kind.INSTANT),
    "SLUG_ASC": Order("slug", REVIEW.c.slug, False),
    "TITLE_ASC": Order("title", REVIEW.c.title, False),
}
COMPOUND_ORDERS = {
    "NAME_ASC": Order("name", COMPOUND.c.name, False),
    "SLUG_ASC": Order("slug", COMPOUND.c.slug, False),
    "UPDATED_AT_DESC": Order("updated_at", COMPOUND.c.updated_at, True, Kind.INSTANT),
}
CONDITION_ORDERS = {
    "NAME_ASC": Order("name", CONDITION.c.name, False),
    "SLUG_ASC": Order("slug", CONDITION.c.slug, False),
    "UPDATED_AT_DESC": Order("updated_at", CONDITION.c.updated_at, True, Kind.INSTANT),
}


@dataclass(slots=True)
class ReviewFilter:
    compound: list[str] | None = None
    condition: list[str] | None = None
    research: str | None = None
    status: list[str] | None = None
    kind: str | None = None
    updated_since: datetime | None = None
    stale: bool | None = None
    overdue: bool | None = None
    now: datetime | None = None
    # The locale of the reviews listed (None: the default locale's).
    locale: str | None = None


# What a review serves (its published revision, or its draft when never published)
# was built from other facts or another template than the current ones.
SERVED_FINGERPRINT = case(
    (REVIEW.c.published_revision_id.is_not(None), REVIEW.c.published_fingerprint),
    else_=REVIEW.c.fingerprint,
)


def is_stale() -> Any:
    """Stale: built from other facts or another template than the current ones, or (a
    translation) made from a source whose text changed since."""
    return or_(REVIEW.c.current_fingerprint != SERVED_FINGERPRINT, translations.behind("working"))


def _by_slugs(column: Any, table: Any, slugs: list[str]) -> Any:
    return column.in_(select(table.c.id).where(table.c.slug.in_(slugs)))


def review_query(f: ReviewFilter) -> Select[Any]:
    """Editors' review list: the working copies, whatever their status."""
    q = select(REVIEW, PUBLISHED_AT_OR_EPOCH.label("published_at_or_epoch")).where(
        REVIEW.c.locale == (f.locale or get_settings().default_locale)
    )
    if f.compound:
        q = q.where(_by_slugs(REVIEW.c.compound_id, COMPOUND, f.compound))
    if f.condition:
        q = q.where(_by_slugs(REVIEW.c.condition_id, CONDITION, f.condition))
    if f.research:
        q = q.where(REVIEW.c.research == f.research)
    if f.kind:
        q = q.where(REVIEW.c.kind == f.kind)
    if f.status:
        q = q.where(REVIEW.c.status.in_(f.status))
    if f.updated_since is not None:
        q = q.where(REVIEW.c.updated_at > f.updated_since)
    if f.stale is not None:
        stale = is_stale()
        q = q.where(stale if f.stale else ~stale)
    if f.overdue is not None:
        overdue = and_(
            REVIEW.c.published_revision_id.is_not(None),
            REVIEW.c.review_due_at < (f.now or datetime.now(UTC)),
        )
        q = q.where(overdue if f.overdue else ~overdue)
    return q


def list_reviews(
    session: Session, f: ReviewFilter, order: str, first: int, after: list[Any] | None
) -> Page:
    return page(session, review_query(f), REVIEW_ORDERS[order], REVIEW.c.id, first, after)


# The parents of a nested review list (`Compound.reviews`, `Condition.reviews`).
REVIEW_PARENTS = {"compound": REVIEW.c.compound_id, "condition": REVIEW.c.condition_id}


def reviews_by_parents(
    session: Session,
    parent: str,
    f: ReviewFilter,
    order: str,
    first: int,
    after: list[Any] | None,
    ids: Sequence[int],
) -> dict[int, Page]:
    """The same page of working reviews for each compound (or condition): two statements."""
    spec = REVIEW_ORDERS[order]
    q = review_query(f)
    return pages_by_parent(session, q, spec, REVIEW.c.id, REVIEW_PARENTS[parent], ids, first, after)


def related_reviews(session: Session, first: int, ids: Sequence[int]) -> dict[int, list[Any]]:
    """Published reviews (their working copies) sharing each review's compound or condition."""
    published = REVIEW.c.published_revision_id.is_not(None)
    return related_rows(session, REVIEW, ids, first, published)


def _name_filter(
    table: Any,
    public: Any,
    name: str | None,
    slugs: list[str] | None,
    unapproved: bool | None,
    codes: dict[str, str | None],
) -> Select[Any]:
    q = select(table)
    for column, code in codes.items():
        if code is not None:  # exact (indexed): the working copy's code
            q = q.where(table.c[column] == code)
    if slugs:
        q = q.where(table.c.slug.in_(slugs))
    if name:
        q = q.where(func.lower(table.c.name).contains(name.lower(), autoescape=True))
    if unapproved is not None:
        # The working facts differ from the approved copy's (or none was ever approved).
        approved_hash = (
            select(FACT_VERSION.c.content_hash)
            .join(public, public.c.version_id == FACT_VERSION.c.id)
            .where(public.c.id == table.c.id)
            .scalar_subquery()
        )
        pending = or_(approved_hash.is_(None), approved_hash != table.c.content_hash)
        q = q.where(pending if unapproved else ~pending)
    return q


def list_compounds(
    session: Session,
    name: str | None,
    slugs: list[str] | None,
    drug_class: str | None,
    unapproved: bool | None,
    codes: dict[str, str | None],
    order: str,
    first: int,
    after: list[Any] | None,
) -> Page:
    q = _name_filter(COMPOUND, PUBLIC_COMPOUND, name, slugs, unapproved, codes)
    if drug_class:
        q = q.where(func.lower(COMPOUND.c.drug_class).contains(drug_class.lower(), autoescape=True))
    return page(session, q, COMPOUND_ORDERS[order], COMPOUND.c.id, first, after)


def list_conditions(
    session: Session,
    name: str | None,
    slugs: list[str] | None,
    unapproved: bool | None,
    codes: dict[str, str | None],
    order: str,
    first: int,
    after: list[Any] | None,
) -> Page:
    q = _name_filter(CONDITION, PUBLIC_CONDITION, name, slugs, unapproved, codes)
    return page(session, q, CONDITION_ORDERS[order], CONDITION.c.id, first, after)


def active_template_version(session: Session, kind: str) -> str | None:

    result = session.execute(
        select(TEMPLATE.c.version)
        .where(
            TEMPLATE.c.kind == kind,
            TEMPLATE.c.locale == get_settings().default_locale,
            TEMPLATE.c.active.is_(True),
        )
        .order_by(TEMPLATE.c.id.desc())
    )
    return result.scalars().first()


# --- editorial reads -----------------------------------------------------------------------


@key_lookup
def revisions_by_review_ids(session: Session, ids: Sequence[int]) -> dict[int, list[Any]]:
    """Every published revision of the reviews, oldest first."""
    out: dict[int, list[Any]] = {i: [] for i in ids}
    result = session.execute(
        select(REVIEW_REVISION)
        .where(REVIEW_REVISION.c.review_id.in_(list(ids)))
        .order_by(REVIEW_REVISION.c.review_id, REVIEW_REVISION.c.number)
    )
    for row in result:
        out[row.review_id].append(row)
    return out


@key_lookup
def evidence_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    return rows_by_ids(session, EVIDENCE, ids)


AUDIT_ORDER = Order("id", AUDIT_LOG.c.id, True, Kind.INT)


@dataclass(slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    record_type: str | None = None
    record_key: str | None = None
    since: datetime | None = None


def list_audit(session: Session, f: AuditFilter, first: int, after: list[Any] | None) -> Page:
    q = select(AUDIT_LOG)
    if f.actor:
        q = q.where(AUDIT_LOG.c.actor == f.actor)
    if f.action:
        q = q.where(AUDIT_LOG.c.action == f.action)
    if f.record_type:
        q = q.where(AUDIT_LOG.c.record_type == f.record_type)
    if f.record_key:
        q = q.where(AUDIT_LOG.c.record_key == f.record_key)
    if f.since is not None:
        q = q.where(AUDIT_LOG.c.at > f.since)
    return page(session, q, AUDIT_ORDER, AUDIT_LOG.c.id, first, after)
