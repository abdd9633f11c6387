"""The SQL of editorial writes: optimistic concurrency, workflow state, audit, deletes.

Every mutable record carries a ``revision``. An update first *claims* the
record: ``UPDATE ... WHERE id = :id AND revision = :expected``. The statement
takes the row's write lock (PostgreSQL) or the database's (SQLite, BEGIN
IMMEDIATE), so of two concurrent edits made from the same revision exactly one
matches; the other sees no row and answers CONFLICT instead of overwriting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.orm import Session

from config import get_settings
from db.models import ReviewStatus, utcnow
from db.rows import ReviewRow, SectionRow
from db.tables import (
    AUDIT_LOG,
    COMPOUND,
    CONDITION,
    EVIDENCE,
    REVIEW,
    REVIEW_REVISION,
    REVIEW_SECTION,
)


class EditorialError(Exception):
    """A refused write; the transaction is rolled back, nothing is changed."""


class NotFound(EditorialError):
    def __init__(self, what: str, key: str):
        super().__init__(f"no {what} '{key}'")
        self.what = what
        self.key = key


class Conflict(EditorialError):
    def __init__(self, what: str, key: str, expected: int, actual: int):
        super().__init__(
            f"{what} '{key}' is at revision {actual}, not {expected}: someone changed it "
            "meanwhile; reload it and apply your change again"
        )
        self.what = what
        self.key = key
        self.expected = expected
        self.actual = actual


class Refused(EditorialError):
    """A write the record's state does not allow (with a stable ``reason``)."""

    def __init__(self, message: str, reason: str, **details: Any):
        super().__init__(message)
        self.reason = reason
        self.details = details


# --- optimistic concurrency ----------------------------------------------------------------


def claim(session: Session, table: Any, record_id: int, expected: int, what: str, key: str) -> None:
    """Lock the record if it is still at ``expected``; raise CONFLICT otherwise."""
    result = session.execute(
        update(table)
        .where(table.c.id == record_id, table.c.revision == expected)
        .values(revision=table.c.revision)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    actual = session.execute(select(table.c.revision).where(table.c.id == record_id)).scalar()
    if actual is None:
        raise NotFound(what, key)
    raise Conflict(what, key, expected, int(actual))


def bump(session: Session, table: Any, record_id: int, now: datetime, **values: Any) -> int:
    """Write ``values``, add one to the revision and return it."""
    result = session.execute(
        update(table)
        .where(table.c.id == record_id)
        .values(revision=table.c.revision + 1, updated_at=now, **values)
        .returning(table.c.revision)
    )
    return int(result.scalar_one())


def revision_of(session: Session, table: Any, record_id: int) -> int:
    return int(
        session.execute(select(table.c.revision).where(table.c.id == record_id)).scalar_one()
    )


# --- lookups for writes --------------------------------------------------------------------


def row_by_slug(session: Session, table: Any, slug: str, what: str) -> Any:
    row = session.execute(select(table).where(table.c.slug == slug)).first()
    if row is None:
        raise NotFound(what, slug)
    return row


def review_by_slug(session: Session, slug: str, locale: str | None = None) -> ReviewRow:
    """The review ``slug`` names in ``locale`` (a configured tag; default: the default
    locale): the same slug names the page in every locale."""
    default = get_settings().default_locale
    locale = locale or default
    row = session.execute(
        select(REVIEW).where(REVIEW.c.slug == slug, REVIEW.c.locale == locale)
    ).first()
    if row is None:
        raise NotFound("review", slug if locale == default else f"{slug} ({locale})")
    return row  # type: ignore[return-value]


def review_slugs_in(
    session: Session, statuses: list[ReviewStatus], locale: str | None = None
) -> list[str]:
    """The slugs of every review of ``locale`` (default: the default locale) in one of
    ``statuses``, in slug order."""
    return list(
        session.execute(
            select(REVIEW.c.slug)
            .where(
                REVIEW.c.status.in_(statuses),
                REVIEW.c.locale == (locale or get_settings().default_locale),
            )
            .order_by(REVIEW.c.slug)
        ).scalars()
    )


def evidence_row(session: Session, compound_slug: str, condition_slug: str) -> Any:
    row = session.execute(
        select(
            EVIDENCE,
            COMPOUND.c.slug.label("compound_slug"),
            CONDITION.c.slug.label("condition_slug"),
        )
        .join(COMPOUND, COMPOUND.c.id == EVIDENCE.c.compound_id)
        .join(CONDITION, CONDITION.c.id == EVIDENCE.c.condition_id)
        .where(COMPOUND.c.slug == compound_slug, CONDITION.c.slug == condition_slug)
    ).first()
    if row is None:
        raise NotFound("evidence", f"{compound_slug} x {condition_slug}")
    return row


def section_row(session: Session, review_id: int, key: str, review_slug: str) -> SectionRow:
    row = session.execute(
        select(REVIEW_SECTION).where(
            REVIEW_SECTION.c.review_id == review_id, REVIEW_SECTION.c.key == key
        )
    ).first()
    if row is None:
        raise NotFound("section", f"{review_slug}/{key}")
    return row


def sections(session: Session, review_id: int) -> list[SectionRow]:
    return list(
        session.execute(
            select(REVIEW_SECTION)
            .where(REVIEW_SECTION.c.review_id == review_id)
            .order_by(REVIEW_SECTION.c.position)
        )
    )


def published_reviews(
    session: Session,
    compound_id: int | None = None,
    condition_id: int | None = None,
) -> list[str]:
    """Slugs of the published reviews of a compound, a condition or a pair."""
    q = select(REVIEW.c.slug).where(REVIEW.c.published_revision_id.is_not(None))
    if compound_id is not None:
        q = q.where(REVIEW.c.compound_id == compound_id)
    if condition_id is not None:
        q = q.where(REVIEW.c.condition_id == condition_id)
    return list(session.execute(q.order_by(REVIEW.c.slug).limit(20)).scalars())


def delete_by_id(session: Session, table: Any, record_id: int) -> None:
    session.execute(delete(table).where(table.c.id == record_id))


def delete_reviews_of(
    session: Session, compound_id: int | None = None, condition_id: int | None = None
) -> int:
    """Delete unpublished reviews (and, by cascade, their sections and revisions)."""
    where: list[ColumnElement[bool]] = [REVIEW.c.published_revision_id.is_(None)]
    if compound_id is not None:
        where.append(REVIEW.c.compound_id == compound_id)
    if condition_id is not None:
        where.append(REVIEW.c.condition_id == condition_id)
    result = session.execute(delete(REVIEW).where(and_(*where)))
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- review state --------------------------------------------------------------------------


def update_section(
    session: Session,
    section_id: int,
    now: datetime,
    blocks: list[dict[str, Any]],
    heading: str | None,
    origin: str,
) -> int:
    return bump(
        session, REVIEW_SECTION, section_id, now, blocks=blocks, heading=heading, origin=origin
    )


def set_review(session: Session, review_id: int, now: datetime, **values: Any) -> int:
    return bump(session, REVIEW, review_id, now, **values)


def draft_status(status: str) -> str:
    """The status after the working copy changed: back to DRAFT unless archived."""
    return ReviewStatus.ARCHIVED if status == ReviewStatus.ARCHIVED else ReviewStatus.DRAFT


# --- audit ---------------------------------------------------------------------------------


def audit(
    session: Session,
    *,
    actor: str,
    role: str,
    action: str,
    record_type: str,
    record_id: int | None,
    record_key: str | None,
    before: int | None,
    after: int | None,
    detail: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> None:
    session.execute(
        AUDIT_LOG.insert().values(
            at=utcnow(),
            actor=actor,
            role=role,
            action=action,
            record_type=record_type,
            record_id=record_id,
            record_key=record_key,
            before_revision=before,
            after_revision=after,
            detail=detail or {},
            request_id=request_id,
        )
    )


def audit_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(AUDIT_LOG)).scalar() or 0)


def published_approval(session: Session, review_id: int) -> tuple[int, str] | None:
    """The number of the revision a review serves and who approved it, or None."""
    row = session.execute(
        select(REVIEW_REVISION.c.number, REVIEW_REVISION.c.approved_by)
        .join(REVIEW, REVIEW.c.published_revision_id == REVIEW_REVISION.c.id)
        .where(REVIEW.c.id == review_id)
    ).first()
    return (int(row.number), str(row.approved_by)) if row is not None else None


def published_number(session: Session, review_id: int) -> int | None:
    """The number of the revision a review serves, or None."""
    return session.execute(
        select(REVIEW_REVISION.c.number)
        .join(REVIEW, REVIEW.c.published_revision_id == REVIEW_REVISION.c.id)
        .where(REVIEW.c.id == review_id)
    ).scalar()
