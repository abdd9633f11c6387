"""Search across compounds, conditions and reviews."""

from __future__ import annotations

import asyncio
from typing import Any

from db import queries
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.relay import check_first
from resolvers.reviews import visible


async def search(ctx: Context, text: str, first: int) -> tuple[list[tuple[str, Any, float]], int]:
    check_first(first, ctx.settings.max_page_size)
    if len(text) > 200:
        raise BadUserInput("`query` must be at most 200 characters", argument="query")
    ctx.depends("list:search")
    hits, total = await ctx.db(queries.search, text, first, not ctx.viewer.can_preview)
    loaders = {
        "compound": ctx.loaders.compound_by_id,
        "condition": ctx.loaders.condition_by_id,
        "review": ctx.loaders.review_by_id,
    }
    # All at once, so each loader batches its keys into one statement.
    rows = await asyncio.gather(*(loaders[hit.kind].load(hit.ref_id) for hit in hits))
    out = []
    for hit, row in zip(hits, rows, strict=True):
        if row is None or (hit.kind == "review" and not visible(ctx, row)):
            continue
        if hit.kind != "review":  # reviews are noted when their view is built
            ctx.depends(f"{hit.kind}:{row.id}")
        out.append((hit.kind, row, hit.score))
    return out, total


async def node(ctx: Context, type_name: str, pk: int) -> Any:
    loader = {
        "Compound": ctx.loaders.compound_by_id,
        "Condition": ctx.loaders.condition_by_id,
        "Review": ctx.loaders.review_by_id,
    }[type_name]
    row = await loader.load(pk)
    if type_name == "Review" and not visible(ctx, row):
        ctx.depends("list:reviews")
        return None
    if type_name != "Review":
        from resolvers.catalog import seen

        seen(ctx, type_name.lower(), row)
    return row
