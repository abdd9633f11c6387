"""Resolvers for compounds and conditions."""

from __future__ import annotations

from typing import Any

from db import queries
from db.facts import citation_facts
from resolvers.context import Context
from resolvers.relay import check_first, decode_cursor, encode_cursor, order_kind


def citations(rows: list[Any]) -> list[dict[str, Any]]:
    return [citation_facts(str(c.kind), c.value, c.title) for c in rows]


async def compound_citations(ctx: Context, compound_id: int) -> list[dict[str, Any]]:
    return citations(await ctx.loaders.citations_by_compound_id.load(compound_id))


def seen(ctx: Context, kind: str, row: Any) -> Any:
    """Note that the response shows this record (for cache invalidation) and return it."""
    if row is None:
        ctx.depends(f"list:{kind}s")  # "not there" changes when one is created
    else:
        ctx.depends(f"{kind}:{row.id}")
    return row


async def compound(ctx: Context, slug: str) -> Any:
    return seen(ctx, "compound", await ctx.loaders.compound_by_slug.load(slug))


async def condition(ctx: Context, slug: str) -> Any:
    return seen(ctx, "condition", await ctx.loaders.condition_by_slug.load(slug))


async def compounds_page(
    ctx: Context,
    first: int,
    after: str | None,
    order: str,
    name: str | None,
    slugs: list[str] | None,
    drug_class: str | None,
) -> tuple[queries.Page, queries.Order]:
    check_first(first, ctx.settings.max_page_size)
    spec = queries.COMPOUND_ORDERS[order]
    result = await ctx.db(
        queries.list_compounds,
        name,
        slugs,
        drug_class,
        order,
        first,
        decode_cursor(after, order, order_kind(spec.column)),
    )
    ctx.depends("list:compounds")
    for row in result.rows:
        ctx.loaders.compound_by_id.prime(row.id, row)
        seen(ctx, "compound", row)
    return result, spec


async def conditions_page(
    ctx: Context,
    first: int,
    after: str | None,
    order: str,
    name: str | None,
    slugs: list[str] | None,
) -> tuple[queries.Page, queries.Order]:
    check_first(first, ctx.settings.max_page_size)
    spec = queries.CONDITION_ORDERS[order]
    result = await ctx.db(
        queries.list_conditions,
        name,
        slugs,
        order,
        first,
        decode_cursor(after, order, order_kind(spec.column)),
    )
    ctx.depends("list:conditions")
    for row in result.rows:
        ctx.loaders.condition_by_id.prime(row.id, row)
        seen(ctx, "condition", row)
    return result, spec


def cursor_of(order_name: str, spec: queries.Order, row: Any) -> str:
    value = getattr(row, spec.name)
    if value is None and spec.name == "published_at":
        from datetime import datetime

        value = datetime(1970, 1, 1)
    return encode_cursor(order_name, value, row.id)


async def publisher(ctx: Context) -> Any:
    ctx.depends("publisher")
    return await ctx.once("publisher", queries.publisher_row)
