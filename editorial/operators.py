"""The operator's sign-off from the command line (`compendium publish` / `unpublish`).

The same units of work as the API's mutations (`workflow.submit_for_review`,
`publish_review`, `unpublish_review`), so the same gate: every mandatory section, a
draft built from the current facts, and every content finding acknowledged by id. What
differs is who acts: not a token but an operator with access to the database, who names
the reviewer signing off; the audit log records that name with the role ``operator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from db import editorial as ed
from db.models import ReviewStatus
from db.tables import REVIEW
from editorial import workflow
from editorial.outcome import Done
from editorial.permissions import Actor
from editorial.refs import ReviewRef

OPERATOR = "operator"
# What `publish --all` signs off: every review with a draft waiting (not archived ones).
WAITING = [ReviewStatus.DRAFT, ReviewStatus.IN_REVIEW]


def operator(name: str) -> Actor:
    """The acting operator as the audit log records it (no request: the command line)."""
    return Actor(name, OPERATOR, None)


@dataclass(frozen=True, slots=True)
class SignOff:
    """What one review's sign-off did: ``published`` (False: it was published already, with
    nothing new to approve), the revision readers now get, and who approved that."""

    slug: str
    published: bool
    number: int | None
    approved_by: str | None


def waiting_slugs(session: Session, locale: str | None = None) -> list[str]:
    """The slugs of the reviews of ``locale`` (default: the default locale) waiting."""
    return ed.review_slugs_in(session, WAITING, locale)


def sign_off(
    session: Session,
    actor: Actor,
    ref: ReviewRef,
    acknowledge: list[str],
    interval: timedelta,
    webhook_urls: list[str],
) -> Done[SignOff]:
    """Publish one review: a DRAFT is submitted first, then it passes the publish gate."""
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    if review.status == ReviewStatus.PUBLISHED:
        return Done(_signed(session, ref.slug, review.id, published=False))
    expected = review.revision
    if review.status == ReviewStatus.DRAFT:
        workflow.submit_for_review(session, actor, ref, expected)
        expected = ed.revision_of(session, REVIEW, review.id)
    done = workflow.publish_review(
        session, actor, ref, expected, acknowledge, interval, webhook_urls
    )
    return Done(_signed(session, ref.slug, review.id, published=True), done.outcome)


def take_down(
    session: Session, actor: Actor, ref: ReviewRef, reason: str, webhook_urls: list[str]
) -> Done[str]:
    """Unpublish one review (back to DRAFT, its revisions kept)."""
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    done = workflow.unpublish_review(session, actor, ref, review.revision, reason, webhook_urls)
    return Done(ref.slug, done.outcome)


def _signed(session: Session, slug: str, review_id: int, published: bool) -> SignOff:
    number, approved_by = ed.published_approval(session, review_id) or (None, None)
    return SignOff(slug, published, number, approved_by)
