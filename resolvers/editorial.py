"""Editorial mutations: who may do what, input checks, and each write as one transaction.

Every mutation here is an async resolver that checks the viewer's role, then
hands a synchronous unit of work to ``Context.mutate``: it runs in its own
transaction, committed when it returns and rolled back when it raises, so a
mutation lands whole or not at all. Units of work call ``db.*`` for their SQL,
record themselves in the audit log, and (for publish, unpublish and archive)
enqueue the webhook events in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from catalog import checks, exporting, importing, loading
from catalog.problems import CatalogInvalid
from content import claims, document
from content.markup import MarkupError, parse_markup
from content.text_safety import clean_text
from db import catalog_sql, queries, tokens
from db import editorial as ed
from db.models import ReviewKind, ReviewStatus, SectionOrigin, utcnow
from db.publishing import Approval, publish_reviews, withdraw
from db.reviews import refresh_fingerprints
from db.tables import COMPOUND, CONDITION, EVIDENCE, PUBLISHER, REVIEW, REVIEW_SECTION
from editorial.generation import GenerationReport, generate_in
from editorial.pages import compose_pair
from resolvers.context import Context
from resolvers.errors import (
    BadUserInput,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
)
from resolvers.relay import to_global_id

T = TypeVar("T")

MAX_SECTION_CHARS = 20_000
MAX_HEADING_CHARS = 300
MAX_CATALOG_CHARS = 5_000_000
MAX_REASON_CHARS = 1_000

_ROLE_NEEDED = {
    "preview": "an editor, reviewer or admin",
    "edit": "an editor, reviewer or admin",
    "publish": "a reviewer",
    "admin": "an admin",
}


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: str
    request_id: str | None

    def audit(self, session: Session, action: str, record_type: str, **kw: Any) -> None:
        ed.audit(
            session,
            actor=self.name,
            role=self.role,
            action=action,
            record_type=record_type,
            request_id=self.request_id,
            **kw,
        )


def require(ctx: Context, permission: str) -> Actor:
    """The acting token, or UNAUTHENTICATED (no token) / FORBIDDEN (a role without it)."""
    viewer = ctx.viewer
    if viewer.role == "anonymous" or viewer.name is None:
        raise UnauthenticatedError("this needs an API token: send `Authorization: Bearer <token>`")
    if not getattr(viewer, f"can_{permission}"):
        raise ForbiddenError(
            f"the {viewer.role} role may not do this; it takes {_ROLE_NEEDED[permission]}",
            role=viewer.role,
        )
    return Actor(viewer.name, viewer.role, ctx.request_id)


async def write(ctx: Context, fn: Callable[..., T], *args: Any) -> T:
    """Run a unit of work in its own transaction, mapping refusals to API errors."""
    try:
        return await ctx.mutate(fn, *args)
    except ed.NotFound as exc:
        raise NotFoundError(str(exc)) from None
    except ed.Conflict as exc:
        raise ConflictError(
            str(exc), expectedRevision=exc.expected, actualRevision=exc.actual
        ) from None
    except ed.Refused as exc:
        raise BadUserInput(str(exc), reason=exc.reason, **exc.details) from None
    except CatalogInvalid as exc:
        raise BadUserInput(
            f"{exc.total} problem(s) in the input; nothing was changed",
            problems=[
                {"path": p.path, "message": p.message, **({"line": p.line} if p.line else {})}
                for p in exc.problems
            ],
            problemCount=exc.total,  # the first MAX_REPORTED_PROBLEMS are listed
        ) from None
    except IntegrityError:
        # A unique key taken by a concurrent write between our check and our insert.
        raise ConflictError("the record was changed concurrently; reload and retry") from None


def _with_snapshot(fn: Callable[..., Any]) -> Callable[..., Any]:
    def unit(session: Session, *args: Any) -> tuple[Any, Any, list[Any]]:
        out = fn(session, *args)
        review_id = out.review_id if isinstance(out, PublishOutcome) else out
        rows = queries.reviews_by_ids(session, [review_id])
        sections = queries.sections_by_review_ids(session, [review_id])
        return out, rows.get(review_id), sections.get(review_id, [])

    return unit


async def write_review(ctx: Context, fn: Callable[..., T], *args: Any) -> T:
    """``write`` for units that change one review: the payload shows the review exactly as
    this mutation left it (read in its own transaction), not as a later writer did; the
    `revision` it reports is the one to pass as `expectedRevision` next."""
    out, row, sections = await write(ctx, _with_snapshot(fn), *args)
    review_id = out.review_id if isinstance(out, PublishOutcome) else out
    ctx.loaders.review_by_id.prime(review_id, row)
    ctx.loaders.sections_by_review_id.prime(review_id, sections)
    return out  # type: ignore[no-any-return]


# --- facts: validation through the catalog's own rules --------------------------------------


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


def _taken(session: Session, table: Any, slug: str, what: str) -> None:
    try:
        ed.row_by_slug(session, table, slug, what)
    except ed.NotFound:
        return
    raise ed.Refused(f"a {what} with slug '{slug}' exists already", "SLUG_TAKEN", path="input.slug")


@dataclass(slots=True)
class FactsResult:
    """What a write of facts did: the record, and the reviews it made stale or regenerated."""

    record_id: int | None
    affected_reviews: int = 0
    regenerated_reviews: int = 0
    stale_reviews: int = 0
    report: importing.ImportReport | None = None
    generation: GenerationReport | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _after_facts(
    session: Session,
    result: FactsResult,
    limit: int,
    compound_ids: list[int] | None = None,
    condition_ids: list[int] | None = None,
) -> FactsResult:
    """Note the new fingerprints and regenerate the affected drafts (up to ``limit``).

    Published pages keep serving their approved revision; their new drafts wait
    for re-review. Past the limit, the rest stay flagged stale for
    ``regenerateStaleReviews`` or ``compendium generate --stale``."""
    result.affected_reviews = refresh_fingerprints(session, compound_ids, condition_ids)
    report = generate_in(
        session,
        stale_only=True,
        compound_ids=compound_ids,
        condition_ids=condition_ids,
        limit=limit,
    )
    result.generation = report
    result.regenerated_reviews = report.created + report.refreshed
    result.stale_reviews = report.remaining
    return result


@dataclass(frozen=True, slots=True)
class CatalogKind:
    """A compound or a condition: the same units of work, on different tables."""

    name: str  # "compound"
    table: Any
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


def create_fact(
    session: Session, actor: Actor, kind: CatalogKind, record: dict[str, Any], limit: int
) -> FactsResult:
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
    return FactsResult(row.id)


def update_fact(
    session: Session,
    actor: Actor,
    kind: CatalogKind,
    slug: str,
    expected: int,
    patch: dict[str, Any],
    limit: int,
) -> FactsResult:
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
) -> FactsResult:
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
    return FactsResult(
        row.id, extra={"deleted_reviews": deleted, "slug": slug, "type": kind.type_name}
    )


def _refuse_if_published(slugs: list[str]) -> None:
    if slugs:
        raise ed.Refused(
            "published reviews depend on this record: unpublish or archive them first",
            "HAS_PUBLISHED_REVIEWS",
            reviews=slugs,
        )


def create_evidence(
    session: Session, actor: Actor, record: dict[str, Any], limit: int
) -> FactsResult:
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
) -> FactsResult:
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
) -> FactsResult:
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
    return FactsResult(
        row.id,
        extra={
            "deleted_reviews": deleted,
            "slug": f"{compound}/{condition}",
            "type": "Evidence",
            "pair": (row.compound_id, row.condition_id),
        },
    )


def set_publisher(
    session: Session, actor: Actor, expected: int | None, record: dict[str, Any], limit: int
) -> FactsResult:
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
    result = FactsResult(row.id, report=report)
    # The byline is on every page: every review is affected.
    return _after_facts(session, result, limit)


def import_catalog(
    session: Session, actor: Actor, content: str, fmt: str, generate: bool, limit: int
) -> FactsResult:
    if len(content) > MAX_CATALOG_CHARS:
        raise ed.Refused(
            f"the catalog is longer than {MAX_CATALOG_CHARS} characters; use `compendium import`",
            "TOO_LARGE",
            path="content",
        )
    data = loading.parse_text(content, "content", fmt)
    report = importing.import_data(session, data, "content")
    actor.audit(
        session,
        "importCatalog",
        "Catalog",
        record_id=None,
        record_key=None,
        before=None,
        after=None,
        detail={
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
        },
    )
    result = FactsResult(None, report=report, affected_reviews=report.affected_reviews)
    if generate:
        result.generation = generate_in(session, stale_only=True, limit=limit)
        result.regenerated_reviews = result.generation.created + result.generation.refreshed
        result.stale_reviews = result.generation.remaining
    return result


# --- reviews ------------------------------------------------------------------------------


def _review(session: Session, slug: str) -> Any:
    return ed.row_by_slug(session, REVIEW, slug, "review")


def _pair_page(session: Session, review: Any) -> document.Page:
    """The page the current facts and template make for a review's pair."""
    kind = ReviewKind(str(review.kind))
    page = compose_pair(session, kind, review.compound_id, review.condition_id)
    if page is None:
        raise ed.Refused("the pair has no evidence any more", "NO_EVIDENCE")
    return page


def _working_sections(session: Session, review_id: int) -> list[document.Section]:
    return [
        document.Section(s.key, s.position, s.heading, list(s.blocks), str(s.origin))
        for s in ed.sections(session, review_id)
    ]


def _is_stale_draft(review: Any) -> bool:
    return bool(review.fingerprint != review.current_fingerprint)


def generate_review(
    session: Session, actor: Actor, compound: str, condition: str, kind: str
) -> int:
    c = ed.row_by_slug(session, COMPOUND, compound, "compound")
    d = ed.row_by_slug(session, CONDITION, condition, "condition")
    ed.evidence_row(session, compound, condition)
    report = generate_in(
        session, kind=ReviewKind(kind), stale_only=False, compound_ids=[c.id], condition_ids=[d.id]
    )
    from db.reviews import review_for_pair

    review = review_for_pair(session, compound, condition, ReviewKind(kind))
    assert review is not None and review.id is not None
    actor.audit(
        session,
        "generateReview",
        "Review",
        record_id=review.id,
        record_key=review.slug,
        before=None if report.created else review.revision - 1,
        after=review.revision,
    )
    return review.id


def regenerate_stale(session: Session, actor: Actor, limit: int) -> GenerationReport:
    report = generate_in(session, stale_only=True, limit=limit)
    actor.audit(
        session,
        "regenerateStaleReviews",
        "Review",
        record_id=None,
        record_key=None,
        before=None,
        after=None,
        detail={
            "created": report.created,
            "refreshed": report.refreshed,
            "remaining": report.remaining,
        },
    )
    return report


def _claim_section(session: Session, slug: str, key: str, expected: int) -> tuple[Any, Any]:
    """The review and its section, the section locked at ``expected`` (or CONFLICT)."""
    review = _review(session, slug)
    if review.status == ReviewStatus.ARCHIVED:
        raise ed.Refused("the review is archived; restore it first", "ARCHIVED")
    section = ed.section_row(session, review.id, key, slug)
    ed.claim(session, REVIEW_SECTION, section.id, expected, "section", f"{slug}/{key}")
    return review, section


def _write_section(
    session: Session,
    actor: Actor,
    action: str,
    review: Any,
    section: Any,
    expected: int,
    blocks: list[dict[str, Any]],
    heading: str | None,
    origin: str,
) -> int:
    now = utcnow()
    after = ed.update_section(session, section.id, now, blocks, heading, origin)
    # The review's own revision moves too: a reviewer approving revision N of the
    # review approves exactly the sections it had then.
    ed.set_review(session, review.id, now, status=ed.draft_status(review.status))
    actor.audit(
        session,
        action,
        "ReviewSection",
        record_id=section.id,
        record_key=f"{review.slug}/{section.key}",
        before=expected,
        after=after,
    )
    return int(review.id)


def update_section(
    session: Session,
    actor: Actor,
    slug: str,
    key: str,
    expected: int,
    blocks: list[dict[str, Any]],
    heading: str | None,
    keep_heading: bool,
) -> int:
    review, section = _claim_section(session, slug, key, expected)
    heading = section.heading if keep_heading else heading
    return _write_section(
        session,
        actor,
        "updateSection",
        review,
        section,
        expected,
        blocks,
        heading,
        SectionOrigin.EDITED,
    )


def reset_section(session: Session, actor: Actor, slug: str, key: str, expected: int) -> int:
    review, section = _claim_section(session, slug, key, expected)
    page = _pair_page(session, review)
    generated = next((s for s in page.sections if s.key == key), None)
    if generated is None:
        raise ed.Refused(f"the current template has no {key} section", "NO_SUCH_SECTION")
    return _write_section(
        session,
        actor,
        "resetSection",
        review,
        section,
        expected,
        generated.blocks,
        generated.heading,
        SectionOrigin.GENERATED,
    )


def _gate_problems(review: Any, sections: list[document.Section]) -> list[dict[str, str]]:
    problems = [
        {"path": f"sections.{key}", "message": f"the {key} section is missing or empty"}
        for key in claims.missing_sections(sections)
    ]
    if _is_stale_draft(review):
        problems.append(
            {
                "path": "review",
                "message": "the facts or template changed since this draft was generated: "
                "regenerate it (generateReview) and check it again",
            }
        )
    return problems


def submit_for_review(session: Session, actor: Actor, slug: str, expected: int) -> int:
    review = _review(session, slug)
    ed.claim(session, REVIEW, review.id, expected, "review", slug)
    if review.status != ReviewStatus.DRAFT:
        raise ed.Refused(
            f"only a DRAFT can be submitted; this review is {review.status}"
            + (" with nothing new to review" if review.status == ReviewStatus.PUBLISHED else ""),
            "INVALID_STATUS",
            status=str(review.status),
        )
    problems = _gate_problems(review, _working_sections(session, review.id))
    if problems:
        raise ed.Refused("the review is not ready for review", "NOT_READY", problems=problems)
    after = ed.set_review(session, review.id, utcnow(), status=ReviewStatus.IN_REVIEW)
    actor.audit(
        session,
        "submitForReview",
        "Review",
        record_id=review.id,
        record_key=slug,
        before=expected,
        after=after,
    )
    return int(review.id)


@dataclass(slots=True)
class PublishOutcome:
    review_id: int
    acknowledged: list[claims.Finding]
    approval: Approval


def publish_review(
    session: Session,
    actor: Actor,
    slug: str,
    expected: int,
    acknowledge: list[str],
    interval: timedelta,
    webhook_urls: list[str],
) -> PublishOutcome:
    review = _review(session, slug)
    ed.claim(session, REVIEW, review.id, expected, "review", slug)
    if review.status != ReviewStatus.IN_REVIEW:
        raise ed.Refused(
            f"only a review IN_REVIEW can be published; this one is {review.status}"
            + (": submit it for review first" if review.status == ReviewStatus.DRAFT else ""),
            "INVALID_STATUS",
            status=str(review.status),
        )
    sections = _working_sections(session, review.id)
    problems = _gate_problems(review, sections)
    if problems:
        raise ed.Refused("the review cannot be published", "NOT_READY", problems=problems)
    findings = claims.check_sections(sections)
    unacknowledged = [f for f in findings if f.id not in set(acknowledge)]
    if unacknowledged:
        raise ed.Refused(
            f"{len(unacknowledged)} content finding(s) need the reviewer's acknowledgement "
            "(pass their ids in `acknowledge`)",
            "UNACKNOWLEDGED_FINDINGS",
            findings=[f.as_json() for f in unacknowledged],
        )
    now = utcnow()
    approval = publish_reviews(
        session, [review.id], actor.name, now, interval, [f.as_json() for f in findings]
    )
    after = ed.revision_of(session, REVIEW, review.id)
    actor.audit(
        session,
        "publishReview",
        "Review",
        record_id=review.id,
        record_key=slug,
        before=expected,
        after=after,
        detail={"acknowledged": [f.id for f in findings]},
    )
    _announce(session, webhook_urls, "review.published", review.id, slug, after, actor)
    return PublishOutcome(int(review.id), findings, approval)


def _announce(
    session: Session,
    urls: list[str],
    event: str,
    review_id: int,
    slug: str,
    revision: int,
    actor: Actor,
) -> None:
    if not urls:
        return
    from db import webhooks

    published = ed.published_number(session, review_id)
    webhooks.enqueue(
        session,
        urls,
        event,
        {
            "review": {
                "id": to_global_id("Review", review_id),
                "slug": slug,
                "revision": revision,
                "publishedRevision": published,
                "url": f"/reviews/{slug}",
            },
            "actor": actor.name,
        },
    )


def unpublish_review(
    session: Session,
    actor: Actor,
    slug: str,
    expected: int,
    reason: str,
    archive: bool,
    webhook_urls: list[str],
) -> int:
    review = _review(session, slug)
    ed.claim(session, REVIEW, review.id, expected, "review", slug)
    if archive:
        if review.status == ReviewStatus.ARCHIVED:
            raise ed.Refused("the review is archived already", "INVALID_STATUS", status="ARCHIVED")
    elif review.published_revision_id is None:
        raise ed.Refused("the review is not published", "INVALID_STATUS", status=str(review.status))
    after = ed.set_review(
        session,
        review.id,
        utcnow(),
        status=ReviewStatus.ARCHIVED if archive else ReviewStatus.DRAFT,
        published_revision_id=None,
        published_fingerprint=None,
        published_at=None,
    )
    withdraw(session, review.id)
    action = "archiveReview" if archive else "unpublishReview"
    actor.audit(
        session,
        action,
        "Review",
        record_id=review.id,
        record_key=slug,
        before=expected,
        after=after,
        detail={"reason": reason} if reason else {},
    )
    _announce(
        session,
        webhook_urls,
        "review.archived" if archive else "review.unpublished",
        review.id,
        slug,
        after,
        actor,
    )
    return int(review.id)


def restore_review(session: Session, actor: Actor, slug: str, expected: int) -> int:
    review = _review(session, slug)
    ed.claim(session, REVIEW, review.id, expected, "review", slug)
    if review.status != ReviewStatus.ARCHIVED:
        raise ed.Refused(
            "only an archived review can be restored", "INVALID_STATUS", status=str(review.status)
        )
    after = ed.set_review(session, review.id, utcnow(), status=ReviewStatus.DRAFT)
    actor.audit(
        session,
        "restoreReview",
        "Review",
        record_id=review.id,
        record_key=slug,
        before=expected,
        after=after,
    )
    return int(review.id)


# --- tokens (admins) -----------------------------------------------------------------------


def create_token(session: Session, actor: Actor, name: str, role: str) -> tuple[str, Any]:
    try:
        secret, row = tokens.create_token(session, name, role)
    except tokens.TokenNameTaken as exc:
        raise ed.Refused(str(exc), "NAME_TAKEN", path="name") from None
    actor.audit(
        session,
        "createApiToken",
        "ApiToken",
        record_id=row.id,
        record_key=name,
        before=None,
        after=None,
        detail={"role": role},
    )
    return secret, row


def revoke_token(session: Session, actor: Actor, name: str) -> Any:
    if not tokens.revoke_token(session, name):
        raise ed.NotFound("active token", name)
    row = tokens.token_by_name(session, name)
    actor.audit(
        session,
        "revokeApiToken",
        "ApiToken",
        record_id=row.id,
        record_key=name,
        before=None,
        after=None,
    )
    return row


# --- input checks that need no database ------------------------------------------------------


def section_blocks(body: str, key: str, path: str = "body") -> list[dict[str, Any]]:
    """An editor's section text (the templates' light markup) as blocks, or BAD_USER_INPUT.

    Stored as read: invisible characters dropped and NFC (``text_safety.clean_text``),
    so readers get exactly the text the content check read."""
    problems = []
    # (NFC may turn a few characters into two: the limit holds for what is stored too.)
    if len(body) > MAX_SECTION_CHARS or len(body := clean_text(body)) > MAX_SECTION_CHARS:
        problems.append({"path": path, "message": f"longer than {MAX_SECTION_CHARS} characters"})
    elif any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in body):
        problems.append({"path": path, "message": "must not contain control characters"})
    blocks: list[dict[str, Any]] = []
    if not problems:
        try:
            blocks = parse_markup(body.replace("\r\n", "\n"))
        except MarkupError as exc:
            problems.append({"path": path, "message": str(exc)})
    if not problems and document.is_empty(blocks) and key.lower() in claims.MANDATORY:
        problems.append({"path": path, "message": f"the {key} section may not be empty"})
    if problems:
        raise BadUserInput("the section text is not valid", problems=problems)
    return blocks


def check_heading(heading: str | None) -> str | None:
    """The heading as stored (cleaned like section text), or BAD_USER_INPUT."""
    if heading is None:
        return None
    if len(heading) <= MAX_HEADING_CHARS:
        heading = clean_text(heading)
    if len(heading) > MAX_HEADING_CHARS or any(ord(ch) < 32 or ord(ch) == 127 for ch in heading):
        raise BadUserInput(
            "the heading is not valid",
            problems=[
                {
                    "path": "heading",
                    "message": f"one line of at most {MAX_HEADING_CHARS} characters",
                }
            ],
        )
    return heading


def check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_CHARS:
        raise BadUserInput(
            "the reason is too long",
            problems=[{"path": "reason", "message": f"at most {MAX_REASON_CHARS} characters"}],
        )
    return reason


def check_mintable_role(role: str) -> None:
    """Separation of duties: an admin may not publish, so may not mint a token that can.
    Reviewer tokens (medical sign-off) come from the CLI, i.e. an operator with access to
    the database and its configuration."""
    if role.upper() == "REVIEWER":
        raise ForbiddenError(
            "reviewer tokens carry medical sign-off: an operator creates them with "
            "`compendium token create --role reviewer`; admins may create editor and admin "
            "tokens",
            role="REVIEWER",
        )


_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,79}$")


def check_token_name(name: str) -> None:
    if not _TOKEN_NAME.match(name):
        raise BadUserInput(
            "the token name is not valid",
            problems=[
                {
                    "path": "name",
                    "message": "1-80 letters, digits, spaces or . _ @ -, starting with a "
                    "letter or digit",
                }
            ],
        )
