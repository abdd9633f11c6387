"""Editors' reads of a review's history and schedule: where a restored draft came from,
and the publishes and unpublishes scheduled for it. Readers get null for both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.rows import RevisionRow
from resolvers.content import ReviewView
from resolvers.context import Context


@dataclass(frozen=True, slots=True)
class RestoredFrom:
    revision: RevisionRow
    # Whether the facts (and template) the revision was approved with are today's.
    facts_current: bool


async def restored_from(ctx: Context, view: ReviewView) -> RestoredFrom | None:
    number = None if view.published else getattr(view.row, "restored_from", None)
    if number is None:
        return None
    revisions = await ctx.loaders.revisions_by_review_id.load(view.id)
    revision = next((r for r in revisions if r.number == number), None)
    if revision is None:
        return None
    return RestoredFrom(revision, revision.fingerprint == view.row.current_fingerprint)


async def schedule(ctx: Context, view: ReviewView) -> list[Any] | None:
    """The review's scheduled actions, by time (editors); None for readers."""
    if view.published or not ctx.viewer.can_preview:
        return None
    return list(await ctx.loaders.scheduled_actions_by_review_id.load(view.id))
