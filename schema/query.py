"""The Query root."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import strawberry

from editorial.permissions import CanAdmin
from resolvers import admin as ra
from resolvers import catalog as rc
from resolvers import changes as rch
from resolvers import reviews as rr
from resolvers import search as rs
from resolvers.relay import from_global_id
from schema.catalog import Compound, Condition
from schema.changes import ChangeFeed
from schema.common import Connection, Node, ReviewKind, connection
from schema.editorial import ApiToken, AuditEntry, Evidence, Publisher
from schema.locales import LocaleArg
from schema.review import Review
from schema.review_list import After, First, ReviewFilter, ReviewOrder, criteria
from schema.webhooks import WebhookSubscription


@strawberry.enum(description="Orderings of the compound and condition lists.")
class CatalogOrder(enum.Enum):
    NAME_ASC = strawberry.enum_value("NAME_ASC", description="By name, A to Z.")
    SLUG_ASC = strawberry.enum_value("SLUG_ASC", description="By slug, A to Z.")
    UPDATED_AT_DESC = strawberry.enum_value(
        "UPDATED_AT_DESC", description="Most recently changed first."
    )


@strawberry.input(description="Narrows the audit log; all given criteria must hold.")
class AuditFilter:
    actor: str | None = strawberry.field(default=None, description="Token name.")
    action: str | None = strawberry.field(
        default=None, description='Mutation name, e.g. "publishReview".'
    )
    record_type: str | None = strawberry.field(
        default=None, description='Record type, e.g. "Review".'
    )
    record_key: str | None = strawberry.field(default=None, description="Record slug or key.")
    since: datetime | None = strawberry.field(
        default=None, description="Only entries after this instant."
    )


@strawberry.input(description="Narrows the compound list.")
class CompoundFilter:
    name: str | None = strawberry.field(
        default=None, description="Case-insensitive part of the name."
    )
    slugs: list[str] | None = strawberry.field(default=None, description="Exact slugs.")
    drug_class: str | None = strawberry.field(
        default=None, description="Case-insensitive part of the drug class."
    )
    rxnorm: str | None = strawberry.field(
        default=None,
        description="Exact RxNorm concept id (no prefix match; readers match the approved code).",
    )
    mesh: str | None = strawberry.field(
        default=None,
        description="Exact MeSH descriptor id (no prefix match; readers match the approved code).",
    )
    has_unapproved_changes: bool | None = strawberry.field(
        default=None,
        description="Editors' work queue: only compounds whose working facts differ (true) or "
        "do not differ (false) from the approved copy. Readers only ever get approved copies: "
        "true gives them an empty list.",
    )


@strawberry.input(description="Narrows the condition list.")
class ConditionFilter:
    name: str | None = strawberry.field(
        default=None, description="Case-insensitive part of the name."
    )
    slugs: list[str] | None = strawberry.field(default=None, description="Exact slugs.")
    icd10: str | None = strawberry.field(
        default=None,
        description="Exact ICD-10 code (no prefix match; readers match the approved code).",
    )
    mesh: str | None = strawberry.field(
        default=None,
        description="Exact MeSH descriptor id (no prefix match; readers match the approved code).",
    )
    has_unapproved_changes: bool | None = strawberry.field(
        default=None,
        description="Editors' work queue: only conditions whose working facts differ (true) or "
        "do not differ (false) from the approved copy. Readers only ever get approved copies: "
        "true gives them an empty list.",
    )


SearchResult = Annotated[
    Compound | Condition | Review,
    strawberry.union(
        "SearchResult", description="A compound, condition or review found by search."
    ),
]


@strawberry.type(description="One search hit.")
class SearchEdge:
    node: SearchResult = strawberry.field(description="The record found.")
    score: float = strawberry.field(description="Relevance; higher is better.")


@strawberry.type(description="Search results, best first.")
class SearchConnection:
    edges: list[SearchEdge] = strawberry.field(description="The hits, best first.")
    total_count: int = strawberry.field(description="Number of matching records.")


def _node(kind: str, found: Any) -> Node:
    """A node (a record, or a review view) as its GraphQL type."""
    return Evidence(record=found) if kind == "evidence" else _wrap(kind, found)


def _wrap(kind: str, found: Any) -> Compound | Condition | Review:
    """A search hit or node (a record, or a review view) as its GraphQL type."""
    if kind == "review":
        return Review(source=found)
    if kind == "compound":
        return Compound(record=found)
    return Condition(record=found)


@strawberry.type(description="Read the catalog and its reviews.")
class Query:
    @strawberry.field(description="Any object by its global id; null when unknown or not visible.")
    async def node(
        self,
        info: strawberry.Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
    ) -> Node | None:
        parsed = from_global_id(id)
        if parsed is None:
            return None
        kind = parsed[0].lower()
        found = await rs.node(info.context, kind, parsed[1])
        return _node(kind, found) if found is not None else None

    @strawberry.field(description="One compound by slug; null when unknown.")
    async def compound(
        self,
        info: strawberry.Info,
        slug: Annotated[str, strawberry.argument(description="Compound slug.")],
        locale: LocaleArg = None,
    ) -> Compound | None:
        record = await rc.compound(info.context, slug, locale)
        return Compound(record=record) if record is not None else None

    @strawberry.field(description="Compounds, a page at a time.")
    async def compounds(
        self,
        info: strawberry.Info,
        first: First = 20,
        after: After = None,
        filter: Annotated[
            CompoundFilter | None, strawberry.argument(description="Criteria.")
        ] = None,
        order_by: Annotated[
            CatalogOrder, strawberry.argument(description="Ordering.")
        ] = CatalogOrder.NAME_ASC,
        locale: LocaleArg = None,
    ) -> Connection[Compound]:
        f = filter or CompoundFilter()
        page = await rc.compounds_page(
            info.context,
            first,
            after,
            order_by.name,
            f.name,
            f.slugs,
            f.drug_class,
            f.has_unapproved_changes,
            {"rxnorm": f.rxnorm, "mesh": f.mesh},
            locale,
        )
        return connection(page, lambda record: Compound(record=record))

    @strawberry.field(description="One condition by slug; null when unknown.")
    async def condition(
        self,
        info: strawberry.Info,
        slug: Annotated[str, strawberry.argument(description="Condition slug.")],
        locale: LocaleArg = None,
    ) -> Condition | None:
        record = await rc.condition(info.context, slug, locale)
        return Condition(record=record) if record is not None else None

    @strawberry.field(description="Conditions, a page at a time.")
    async def conditions(
        self,
        info: strawberry.Info,
        first: First = 20,
        after: After = None,
        filter: Annotated[
            ConditionFilter | None, strawberry.argument(description="Criteria.")
        ] = None,
        order_by: Annotated[
            CatalogOrder, strawberry.argument(description="Ordering.")
        ] = CatalogOrder.NAME_ASC,
        locale: LocaleArg = None,
    ) -> Connection[Condition]:
        f = filter or ConditionFilter()
        page = await rc.conditions_page(
            info.context,
            first,
            after,
            order_by.name,
            f.name,
            f.slugs,
            f.has_unapproved_changes,
            {"icd10": f.icd10, "mesh": f.mesh},
            locale,
        )
        return connection(page, lambda record: Condition(record=record))

    @strawberry.field(
        description="One review by slug, or by compound and condition slugs; null when unknown "
        "or not visible to you."
    )
    async def review(
        self,
        info: strawberry.Info,
        slug: Annotated[str | None, strawberry.argument(description="Review slug.")] = None,
        compound: Annotated[str | None, strawberry.argument(description="Compound slug.")] = None,
        condition: Annotated[str | None, strawberry.argument(description="Condition slug.")] = None,
        kind: Annotated[
            ReviewKind, strawberry.argument(description="Review kind.")
        ] = ReviewKind.SAFETY,
        locale: LocaleArg = None,
    ) -> Review | None:
        view = await rr.review(info.context, slug, compound, condition, kind.name, locale)
        return Review(source=view) if view is not None else None

    @strawberry.field(description="Reviews, a page at a time (readers see published reviews only).")
    async def reviews(
        self,
        info: strawberry.Info,
        first: First = 20,
        after: After = None,
        filter: Annotated[ReviewFilter | None, strawberry.argument(description="Criteria.")] = None,
        order_by: Annotated[
            ReviewOrder, strawberry.argument(description="Ordering.")
        ] = ReviewOrder.UPDATED_AT_DESC,
        locale: LocaleArg = None,
    ) -> Connection[Review]:
        page = await rr.reviews_page(
            info.context, first, after, order_by.name, criteria(filter), locale
        )
        return connection(page, lambda view: Review(source=view))

    @strawberry.field(
        description="Full-text search over compounds (names and aliases), conditions and reviews, "
        "best first. Any text is accepted: search syntax characters are treated as text; an "
        "accent typed or not matches the same words. With `locale`, each page is found once, "
        "in the first locale of its fallback chain a reviewer approved it in (searched in "
        "that language, with its stemming on PostgreSQL), and compounds and conditions also "
        "by their names approved in the locale."
    )
    async def search(
        self,
        info: strawberry.Info,
        query: Annotated[str, strawberry.argument(description="Words to look for.")],
        first: First = 20,
        locale: LocaleArg = None,
    ) -> SearchConnection:
        hits, total = await rs.search(info.context, query, first, locale)
        return SearchConnection(
            edges=[SearchEdge(node=_wrap(kind, found), score=score) for kind, found, score in hits],
            total_count=total,
        )

    @strawberry.field(description="The publisher named in every byline; null before one is set.")
    async def publisher(self, info: strawberry.Info) -> Publisher | None:
        record = await rc.publisher(info.context)
        return Publisher(record=record) if record is not None else None

    @strawberry.field(
        description="The audit log, newest first (admins only).", permission_classes=[CanAdmin]
    )
    async def audit_log(
        self,
        info: strawberry.Info,
        first: First = 20,
        after: After = None,
        filter: Annotated[AuditFilter | None, strawberry.argument(description="Criteria.")] = None,
    ) -> Connection[AuditEntry]:
        f = filter or AuditFilter()
        page = await ra.audit_page(
            info.context,
            first,
            after,
            ra.AuditCriteria(f.actor, f.action, f.record_type, f.record_key, f.since),
        )
        return connection(page, lambda row: AuditEntry(row=row))

    @strawberry.field(
        description="Every API token, revoked ones included (admins only).",
        permission_classes=[CanAdmin],
    )
    async def api_tokens(self, info: strawberry.Info) -> list[ApiToken]:
        return [ApiToken(row=row) for row in await ra.api_tokens(info.context)]

    @strawberry.field(
        description="Every webhook subscription, oldest first, without its secret (admins only).",
        permission_classes=[CanAdmin],
    )
    async def webhook_subscriptions(self, info: strawberry.Info) -> list[WebhookSubscription]:
        return [WebhookSubscription(row=r) for r in await ra.webhook_subscriptions(info.context)]

    @strawberry.field(
        description="Delta sync of the published catalog (what anonymous readers see, whoever "
        "asks), with deletions: the changes since a cursor, oldest first. Start with `since: "
        "null`, apply each UPSERT and DELETE, keep `cursor` and repeat while `hasMore`."
    )
    async def changes(
        self,
        info: strawberry.Info,
        since: Annotated[
            str | None,
            strawberry.argument(
                description="A `cursor` from an earlier answer; null for the whole catalog."
            ),
        ] = None,
        first: Annotated[
            int, strawberry.argument(description="At most this many changes (at most 100).")
        ] = 100,
        locale: Annotated[
            str | None,
            strawberry.argument(
                description="The feed of this locale (a BCP 47 tag of COMPENDIUM_LOCALES; "
                "default: the default locale): its reviews' changes and every compound's and "
                "condition's. An unknown tag is BAD_USER_INPUT. Cursors are positions in one "
                "log, so a cursor of one locale's feed resumes another's."
            ),
        ] = None,
    ) -> ChangeFeed:
        return ChangeFeed(feed=await rch.changes(info.context, since, first, locale))
