"""Search across compounds, conditions and reviews, and lookups by global id."""

from __future__ import annotations

import asyncio
from typing import Any

from db import search as db_search
from resolvers import catalog, reviews, tags
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.relay import check_first


async def search(ctx: Context, text: str, first: int) -> tuple[list[tuple[str, Any, float]], int]:
    """Hits as (kind, record or review view, score). The index holds approved records only;
    readers get their approved copies, editors their working copies."""
    check_first(first, ctx.settings.max_page_size)
    if len(text) > 200:
        raise BadUserInput("`query` must be at most 200 characters", argument="query")
    ctx.depends(*tags.per_locale(tags.SEARCH, ctx.settings.default_locale))
    hits, total = await ctx.db(db_search.search, text, first)
    # All at once, so each loader batches its keys into one statement.
    nodes = await asyncio.gather(*(node(ctx, hit.kind, hit.ref_id) for hit in hits))
    out = [
        (hit.kind, found, hit.score)
        for hit, found in zip(hits, nodes, strict=True)
        if found is not None
    ]
    return out, total


async def node(ctx: Context, kind: str, pk: int) -> Any:
    """A compound, condition or evidence record, or a review view, as this viewer gets it; None when
    unknown or not visible."""
    if kind == "review":
        return await reviews.review_by_id(ctx, pk)
    if kind == "compound":
        return await catalog.compound_by_id(ctx, pk)
    if kind == "evidence":
        return await catalog.evidence_by_id(ctx, pk)
    return await catalog.condition_by_id(ctx, pk)
