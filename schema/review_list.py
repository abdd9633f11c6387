"""The review list's arguments, shared by the root `reviews` and the nested
`Compound.reviews` and `Condition.reviews`: page size, cursor, ordering, filter."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry

from resolvers.reviews import ReviewCriteria
from schema.common import Research, ReviewKind, ReviewStatus

First = Annotated[int, strawberry.argument(description="Page size (at most 100).")]
After = Annotated[
    str | None, strawberry.argument(description="Cursor after which the page starts (`endCursor`).")
]


@strawberry.enum(description="Orderings of the review list.")
class ReviewOrder(enum.Enum):
    UPDATED_AT_DESC = strawberry.enum_value(
        "UPDATED_AT_DESC", description="Most recently changed first."
    )
    UPDATED_AT_ASC = strawberry.enum_value(
        "UPDATED_AT_ASC", description="Least recently changed first (for sync)."
    )
    PUBLISHED_AT_DESC = strawberry.enum_value(
        "PUBLISHED_AT_DESC", description="Most recently published first."
    )
    SLUG_ASC = strawberry.enum_value("SLUG_ASC", description="By slug, A to Z.")
    TITLE_ASC = strawberry.enum_value("TITLE_ASC", description="By title, A to Z.")


@strawberry.input(description="Narrows the review list; all given criteria must hold.")
class ReviewFilter:
    compound: list[str] | None = strawberry.field(default=None, description="Compound slugs.")
    condition: list[str] | None = strawberry.field(default=None, description="Condition slugs.")
    research: Research | None = strawberry.field(default=None, description="Research level.")
    status: list[ReviewStatus] | None = strawberry.field(
        default=None, description="Statuses (readers only ever see PUBLISHED)."
    )
    kind: ReviewKind | None = strawberry.field(default=None, description="Review kind.")
    updated_since: datetime | None = strawberry.field(
        default=None,
        description="Only reviews changed after this instant (for readers: published after it).",
    )
    stale: bool | None = strawberry.field(
        default=None,
        description="Only reviews whose served content is (true) or is not (false) stale "
        "(see `Review.isStale`): for editors, the re-review work queue.",
    )
    overdue: bool | None = strawberry.field(
        default=None,
        description="Only published reviews past (true) or not past (false) their `reviewDueAt`.",
    )


def criteria(f: ReviewFilter | None) -> ReviewCriteria:
    """The resolvers' criteria of a `ReviewFilter` (none given: every review)."""
    f = f or ReviewFilter()
    return ReviewCriteria(
        compound=f.compound,
        condition=f.condition,
        research=f.research.name if f.research else None,
        status=[s.name for s in f.status] if f.status else None,
        kind=f.kind.name if f.kind else None,
        updated_since=f.updated_since,
        stale=f.stale,
        overdue=f.overdue,
    )
