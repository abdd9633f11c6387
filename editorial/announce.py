"""Webhook events: what each says and who hears it.

Every event goes to the configured URL list (``COMPENDIUM_WEBHOOK_URLS``, all events,
as before subscriptions) and to the subscriptions that want it (their events, and their
compound and condition filters matched against the review's), through the outbox in
the caller's transaction (``db.webhooks.enqueue``). Bodies carry only approved data:
slugs, revision numbers and the approved copies' slugs, never working-copy text.

- ``review.published``, ``review.unpublished``, ``review.archived``: by the workflow;
- ``facts.approved``: a publish made newer facts public (their slugs);
- ``review.stale``: that approval left other published pages behind (once per
  published revision);
- ``review.due_for_review``: a published review reached its review date (a periodic
  check, once per due date).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from config import get_settings
from db import subscriptions as subs
from db import webhooks
from db.fact_snapshots import Approval
from resolvers.relay import to_global_id

# How many due reviews one periodic check announces (the next check goes on).
DUE_BATCH = 200


class Event(enum.StrEnum):
    """The events, by the names their bodies and the `Compendium-Event` header carry."""

    REVIEW_PUBLISHED = "review.published"
    REVIEW_UNPUBLISHED = "review.unpublished"
    REVIEW_ARCHIVED = "review.archived"
    FACTS_APPROVED = "facts.approved"
    REVIEW_STALE = "review.stale"
    REVIEW_DUE_FOR_REVIEW = "review.due_for_review"


def _review(
    review_id: int, slug: str, published: int | None, locale: str | None = None, **more: Any
) -> dict[str, Any]:
    """A review in an event's body; a translation's says its locale (the default
    locale's bodies are as they were before locales)."""
    translated = locale is not None and locale != get_settings().default_locale
    return {
        "id": to_global_id("Review", review_id),
        "slug": slug,
        **({"locale": locale} if translated else {}),
        **more,
        "publishedRevision": published,
        "url": f"/reviews/{slug}",
    }


def review_event(
    session: Session,
    urls: list[str],
    event: Event,
    review: Any,
    revision: int,
    actor: str,
) -> bool:
    """A workflow event of one review (its working row); whether any row was queued."""
    audience = subs.audience(session, [review.compound_id], [review.condition_id])
    hearing = audience.subscribers(event, review.compound_id, review.condition_id)
    if not urls and not hearing:
        return False
    published = subs.published_review(session, review.id)
    data = {
        "review": _review(
            review.id,
            review.slug,
            published.number if published else None,
            review.locale,
            revision=revision,
        ),
        "actor": actor,
    }
    return webhooks.enqueue(session, urls, event, data, subscribers=hearing) > 0


def approval(
    session: Session, urls: list[str], approval: Approval, review: Any, actor: str, now: datetime
) -> bool:
    """After a publish: ``facts.approved`` when it made newer facts public, and
    ``review.stale`` for each published page those facts left behind. Whether any row
    was queued."""
    if not (approval.compounds or approval.conditions or approval.evidence or approval.publisher):
        return False
    subscriptions = subs.list_subscriptions(session)
    if not urls and not subscriptions:
        return False  # nobody listens: nothing to find out
    stale = subs.newly_stale(session, approval)
    keys = [(r.id, str(r.revision_id)) for r in stale]
    new = subs.remember(session, Event.REVIEW_STALE, keys, now)  # those not announced yet
    stale = [r for r in stale if (r.id, str(r.revision_id)) in new]
    audience = subs.audience(
        session,
        [review.compound_id, *(r.compound_id for r in stale)],
        [review.condition_id, *(r.condition_id for r in stale)],
        subscriptions,
    )
    facts = subs.approved_facts(session, approval)
    published = subs.published_review(session, review.id)
    queued = webhooks.enqueue(
        session,
        urls,
        Event.FACTS_APPROVED,
        {
            "facts": facts,
            "review": _review(
                review.id, review.slug, published.number if published else None, review.locale
            ),
            "actor": actor,
        },
        now,
        audience.subscribers(Event.FACTS_APPROVED, review.compound_id, review.condition_id),
    )
    queued += webhooks.enqueue_many(
        session,
        urls,
        Event.REVIEW_STALE,
        [
            (
                {"review": _review(r.id, r.slug, r.number, r.locale), "facts": facts},
                audience.subscribers(Event.REVIEW_STALE, r.compound_id, r.condition_id),
            )
            for r in stale
        ],
        now,
    )
    return queued > 0


def due_for_review(session: Session, urls: list[str], now: datetime) -> int:
    """The periodic check: announce each published review that reached its review date,
    once per due date (remembered, so a check that runs again, in this process or
    another, announces nothing new). Returns how many reviews were announced."""
    due = subs.due_reviews(session, Event.REVIEW_DUE_FOR_REVIEW, now, DUE_BATCH)
    if not due:
        return 0
    keys = {r.id: r.review_due_at.isoformat() for r in due}
    new = subs.remember(session, Event.REVIEW_DUE_FOR_REVIEW, list(keys.items()), now)
    due = [r for r in due if (r.id, keys[r.id]) in new]  # another check may have been first
    audience = subs.audience(session, [r.compound_id for r in due], [r.condition_id for r in due])
    webhooks.enqueue_many(
        session,
        urls,
        Event.REVIEW_DUE_FOR_REVIEW,
        [
            (
                {
                    "review": _review(r.id, r.slug, r.number, r.locale),
                    "dueAt": _instant(r.review_due_at),
                },
                audience.subscribers(Event.REVIEW_DUE_FOR_REVIEW, r.compound_id, r.condition_id),
            )
            for r in due
        ],
        now,
    )
    return len(due)


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
