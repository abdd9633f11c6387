"""What a unit of work returns, and what it leaves to do after its commit.

A unit of work returns ``Done(result, outcome)``. The ``Outcome`` names the cache tags
to purge and whether it enqueued webhook events; ``apply`` carries it out after the
commit, through the server's ``Effects`` (``resolvers/context.py``).

What readers see changes only with approvals (publishing) and withdrawals (unpublishing,
archiving, deleting a record): those purge the cached responses that contain the records
(and the lists they may enter or leave). Working-copy edits (facts, sections,
generation, submission, imports) change nothing readers get and purge nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from config import get_settings
from content import claims
from db.publishing import Approval
from resolvers import tags
from resolvers.context import Effects

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome:
    purge: tuple[str, ...] = ()  # cache tags (duplicates allowed: the cache dedupes)
    wake_webhooks: bool = False  # events were enqueued in the transaction


NOTHING = Outcome()


@dataclass(frozen=True, slots=True)
class Done(Generic[T]):
    """A unit of work's result and its outcome."""

    result: T
    outcome: Outcome = NOTHING


@dataclass(frozen=True, slots=True)
class ReviewChange:
    """The result of a unit that changed one review. ``acknowledged``: the findings a
    publication approved, shown in its payload instead of a fresh check."""

    review_id: int
    acknowledged: list[claims.Finding] | None = None


def fact_tags(kind: str, record_id: int) -> tuple[str, ...]:
    """A compound's or condition's approved copy changed (resolvers/tags.py)."""
    return tags.of_record(kind, record_id, get_settings().locales)


def review_tags(review_id: int, locale: str) -> tuple[str, ...]:
    """A review (a page in ``locale``) was approved or withdrawn: its locale's entries only."""
    return tags.of_review(review_id, locale, get_settings().default_locale)


def approval_tags(approval: Approval) -> tuple[str, ...]:
    default = get_settings().default_locale
    out = [
        t for rid in approval.reviews for t in review_tags(rid, approval.locales.get(rid, default))
    ]
    out += [t for cid in approval.compounds for t in fact_tags("compound", cid)]
    out += [t for did in approval.conditions for t in fact_tags("condition", did)]
    out += [tags.record("evidence", eid) for eid in approval.evidence]
    if approval.publisher:
        out.append(tags.PUBLISHER)
    return tuple(out)


async def apply(outcome: Outcome, effects: Effects) -> None:
    """After the commit: the dispatcher first (the events are due now), then the purge."""
    if outcome.wake_webhooks:
        effects.wake_webhooks()
    if outcome.purge:
        await effects.invalidate(outcome.purge)
