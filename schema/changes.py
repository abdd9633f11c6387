"""The change feed for mobile delta sync (`Query.changes`)."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry

from resolvers import changes as r
from schema.catalog import Compound, Condition
from schema.review import Review


@strawberry.enum(description="What happened to a record of the published catalog.")
class ChangeOp(enum.Enum):
    UPSERT = strawberry.enum_value(
        "UPSERT",
        description="The record is new or changed: store `node` in place of what you have "
        "under this `id`.",
    )
    DELETE = strawberry.enum_value(
        "DELETE",
        description="The record left the published catalog (deleted, unpublished or "
        "archived): remove what you have under this `id`.",
    )


@strawberry.enum(description="The kind of record a change is about.")
class ChangeEntity(enum.Enum):
    REVIEW = strawberry.enum_value("REVIEW", description="A published review.")
    COMPOUND = strawberry.enum_value("COMPOUND", description="A compound.")
    CONDITION = strawberry.enum_value("CONDITION", description="A condition.")


ChangeNode = Annotated[
    Review | Compound | Condition,
    strawberry.union(
        "ChangeNode",
        description="The record as anonymous readers get it now (a review: its published "
        "revision).",
    ),
]


@strawberry.type(description="One change of the published catalog.")
class Change:
    change: strawberry.Private[r.Change]

    @strawberry.field(description="UPSERT (store `node`) or DELETE (remove the record).")
    def op(self) -> ChangeOp:
        return ChangeOp[self.change.op]

    @strawberry.field(description="The kind of record.")
    def entity(self) -> ChangeEntity:
        return ChangeEntity[self.change.entity.upper()]

    @strawberry.field(description="The record's global id (as `node(id:)` takes it).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.change.id)

    @strawberry.field(description="The record's slug (slugs never change).")
    def slug(self) -> str:
        return self.change.slug

    @strawberry.field(
        description="A review's locale (the feed's: a review is one page in one locale); "
        "null for compounds and conditions, which are in every locale's feed."
    )
    def locale(self) -> str | None:
        return self.change.locale

    @strawberry.field(
        description="The record as readers get it now; null for DELETE. Related records "
        "(a review's compound) change through their own entries."
    )
    def node(self) -> ChangeNode | None:
        node = self.change.node
        if node is None:
            return None
        if self.change.entity == "review":
            return Review(source=node)
        if self.change.entity == "compound":
            return Compound(record=node)
        return Condition(record=node)

    @strawberry.field(
        description="This entry's position; pass it as `since` to resume right after it."
    )
    def cursor(self) -> str:
        return self.change.cursor


@strawberry.type(
    description="A page of the change feed: what changed in the published catalog since a "
    "cursor, oldest first."
)
class ChangeFeed:
    feed: strawberry.Private[r.Feed]

    @strawberry.field(
        description="The changes in feed order; several changes of one record within the "
        "page come as its last one."
    )
    def changes(self) -> list[Change]:
        return [Change(change=c) for c in self.feed.changes]

    @strawberry.field(
        description="Pass it as `since` next time. It moves past every entry of this page; "
        "with nothing new it is the cursor you sent."
    )
    def cursor(self) -> str:
        return self.feed.cursor

    @strawberry.field(description="Whether more changes follow: ask again at once with `cursor`.")
    def has_more(self) -> bool:
        return self.feed.has_more
