"""The review workflow: DRAFT -> IN_REVIEW -> PUBLISHED -> ARCHIVED, and generating a draft.

Submitting and publishing pass the gate (every mandatory section, a draft built from the
current facts); publishing also needs the reviewer's acknowledgement of every content
finding, and stores an immutable revision of exactly the text approved. Publishing,
unpublishing and archiving enqueue their webhook events in the same transaction and
purge what readers may have cached.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from config import get_settings
from content import claims, document
from db import editorial as ed
from db import translations
from db.models import ReviewKind, ReviewStatus, utcnow
from db.publishing import publish_reviews, withdraw
from db.reviews import NoTemplate, review_for_pair
from db.rows import ReviewRow
from db.tables import COMPOUND, CONDITION, REVIEW
from editorial import announce
from editorial.announce import Event
from editorial.generation import generate_in
from editorial.outcome import Done, Outcome, ReviewChange, approval_tags, review_tags
from editorial.permissions import Actor
from editorial.refs import ReviewRef
from resolvers.errors import BadUserInput

MAX_REASON_CHARS = 1_000


def check_reason(reason: str | None) -> str:
    """An unpublishing's reason as recorded, or BAD_USER_INPUT."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_CHARS:
        raise BadUserInput(
            "the reason is too long",
            problems=[{"path": "reason", "message": f"at most {MAX_REASON_CHARS} characters"}],
        )
    return reason


# --- the gate --------------------------------------------------------------------------------


def _working_sections(session: Session, review_id: int) -> list[document.Section]:
    return [
        document.Section(s.key, s.position, s.heading, list(s.blocks), str(s.origin))
        for s in ed.sections(session, review_id)
    ]


def _gate_problems(
    session: Session, review: ReviewRow, sections: list[document.Section]
) -> list[dict[str, str]]:
    problems = [
        {"path": f"sections.{key}", "message": f"the {key} section is missing or empty"}
        for key in claims.missing_sections(sections)
    ]
    if review.fingerprint != review.current_fingerprint:
        problems.append(
            {
                "path": "review",
                "message": "the facts or template changed since this draft was generated: "
                "regenerate it (generateReview) and check it again",
            }
        )
    if review.source_revision_id is not None and translations.behind_by_ids(
        session, "working", [review.id]
    ).get(review.id):
        problems.append(
            {
                "path": "review",
                "message": "the source page was approved with other text since this "
                "translation was made: regenerate it (generateReview with its locale; "
                "edited sections are kept) and check it again",
            }
        )
    return problems


# --- units of work ---------------------------------------------------------------------------


def generate_review(
    session: Session, actor: Actor, compound: str, condition: str, kind: str, locale: str
) -> Done[ReviewChange]:
    """Generate one pair's page in ``locale`` (a configured tag). A translation is made
    from the default locale's published page, with that locale's active template:
    refused (NO_SOURCE, NO_TEMPLATE) without them."""
    c = ed.row_by_slug(session, COMPOUND, compound, "compound")
    d = ed.row_by_slug(session, CONDITION, condition, "condition")
    ed.evidence_row(session, compound, condition)
    review_kind = ReviewKind(kind)
    default = get_settings().default_locale
    if locale != default:
        source = review_for_pair(session, compound, condition, review_kind)
        if source is None or source.published_revision_id is None:
            raise ed.Refused(
                f"the '{default}' page of this pair is not published: a translation is made "
                f"from the published text, so a reviewer publishes the '{default}' page first",
                "NO_SOURCE",
                locale=locale,
            )
    try:
        report = generate_in(
            session,
            kind=review_kind,
            stale_only=False,
            compound_ids=[c.id],
            condition_ids=[d.id],
            locale=locale,
        )
    except NoTemplate as exc:
        raise ed.Refused(str(exc), "NO_TEMPLATE", locale=locale) from None
    review = review_for_pair(session, compound, condition, review_kind, locale)
    assert review is not None and review.id is not None
    actor.audit(
        session,
        "generateReview",
        "Review",
        record_id=review.id,
        record_key=review.slug,
        before=None if report.created else review.revision - 1,
        after=review.revision,
        detail={"locale": locale} if locale != default else {},
    )
    return Done(ReviewChange(review.id))


def submit_for_review(
    session: Session, actor: Actor, ref: ReviewRef, expected: int
) -> Done[ReviewChange]:
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    ed.claim(session, REVIEW, review.id, expected, "review", str(ref))
    if review.status != ReviewStatus.DRAFT:
        raise ed.Refused(
            f"only a DRAFT can be submitted; this review is {review.status}"
            + (" with nothing new to review" if review.status == ReviewStatus.PUBLISHED else ""),
            "INVALID_STATUS",
            status=str(review.status),
        )
    problems = _gate_problems(session, review, _working_sections(session, review.id))
    if problems:
        raise ed.Refused("the review is not ready for review", "NOT_READY", problems=problems)
    return _move(session, actor, "submitForReview", review, ref, expected, ReviewStatus.IN_REVIEW)


def publish_review(
    session: Session,
    actor: Actor,
    ref: ReviewRef,
    expected: int,
    acknowledge: list[str],
    interval: timedelta,
    webhook_urls: list[str],
) -> Done[ReviewChange]:
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    ed.claim(session, REVIEW, review.id, expected, "review", str(ref))
    if review.status != ReviewStatus.IN_REVIEW:
        raise ed.Refused(
            f"only a review IN_REVIEW can be published; this one is {review.status}"
            + (": submit it for review first" if review.status == ReviewStatus.DRAFT else ""),
            "INVALID_STATUS",
            status=str(review.status),
        )
    sections = _working_sections(session, review.id)
    problems = _gate_problems(session, review, sections)
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
        record_key=ref.slug,
        before=expected,
        after=after,
        detail=ref.detail({"acknowledged": [f.id for f in findings]}),
    )
    announced = announce.review_event(
        session, webhook_urls, Event.REVIEW_PUBLISHED, review, after, actor.name
    )
    announced |= announce.approval(session, webhook_urls, approval, review, actor.name, now)
    return Done(
        ReviewChange(int(review.id), acknowledged=findings),
        Outcome(purge=approval_tags(approval), wake_webhooks=announced),
    )


def unpublish_review(
    session: Session,
    actor: Actor,
    ref: ReviewRef,
    expected: int,
    reason: str,
    webhook_urls: list[str],
) -> Done[ReviewChange]:
    """Off the site, back to DRAFT; its revisions are kept."""
    return _withdraw(session, actor, ref, expected, reason, False, webhook_urls)


def archive_review(
    session: Session,
    actor: Actor,
    ref: ReviewRef,
    expected: int,
    reason: str,
    webhook_urls: list[str],
) -> Done[ReviewChange]:
    """Off the site for good: no longer edited until restored (as a DRAFT)."""
    return _withdraw(session, actor, ref, expected, reason, True, webhook_urls)


def _withdraw(
    session: Session,
    actor: Actor,
    ref: ReviewRef,
    expected: int,
    reason: str,
    archive: bool,
    webhook_urls: list[str],
) -> Done[ReviewChange]:
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    ed.claim(session, REVIEW, review.id, expected, "review", str(ref))
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
        record_key=ref.slug,
        before=expected,
        after=after,
        detail=ref.detail({"reason": reason} if reason else {}),
    )
    event = Event.REVIEW_ARCHIVED if archive else Event.REVIEW_UNPUBLISHED
    announced = announce.review_event(session, webhook_urls, event, review, after, actor.name)
    return Done(
        ReviewChange(int(review.id)),
        Outcome(purge=review_tags(review.id, review.locale), wake_webhooks=announced),
    )


def restore_review(
    session: Session, actor: Actor, ref: ReviewRef, expected: int
) -> Done[ReviewChange]:
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    ed.claim(session, REVIEW, review.id, expected, "review", str(ref))
    if review.status != ReviewStatus.ARCHIVED:
        raise ed.Refused(
            "only an archived review can be restored", "INVALID_STATUS", status=str(review.status)
        )
    return _move(session, actor, "restoreReview", review, ref, expected, ReviewStatus.DRAFT)


def _move(
    session: Session,
    actor: Actor,
    action: str,
    review: ReviewRow,
    ref: ReviewRef,
    expected: int,
    status: ReviewStatus,
) -> Done[ReviewChange]:
    """A review's move to ``status`` alone (no page change), audited as ``action``."""
    after = ed.set_review(session, review.id, utcnow(), status=status)
    actor.audit(
        session,
        action,
        "Review",
        record_id=review.id,
        record_key=ref.slug,
        before=expected,
        after=after,
        detail=ref.detail(),
    )
    return Done(ReviewChange(int(review.id)))
