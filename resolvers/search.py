"""Search across compounds, conditions and reviews, and lookups by global id."""

from __future__ import annotations

import asyncio
from typing import Any

from db import search as db_search
from resolvers import catalog, locales, reviews, tags
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.relay import check_first


async def search(
    ctx: Context, text: str, first: int, locale: str | None = None
) -> tuple[list[tuple[str, Any, float]], int]:
    """Hits as (kind, record or review view, score). The index holds approved records only;
    readers get their approved copies, editors their working copies. In a locale other
    than the default, each page is found once, in the first locale of the chain a reviewer
    approved it in, and compounds and conditions also by their names approved in it."""
    asked = locales.requested(ctx, locale)
    check_first(first, ctx.settings.max_page_size)
    if len(text) > 200:
        raise BadUserInput("`query` must be at most 200 characters", argument="query")
    chain = locales.chain(ctx, asked)
    # The answer is built from every locale of the chain (a page not approved in the
    # locale asked for is found in the next one): an approval in any of them moves it.
    ctx.depends(*tags.per_locale(tags.SEARCH, chain))
    searched = None if asked == ctx.settings.default_locale else chain
    hits, total = await ctx.db(db_search.search, text, first, searched)
    # All at once, so each loader batches its keys into one statement.
    nodes = await asyncio.gather(*(node(ctx, hit.kind, hit.ref_id, asked) for hit in hits))
    out = [
        (hit.kind, found, hit.score)
        for hit, found in zip(hits, nodes, strict=True)
        if found is not None
    ]
    return out, total


async def node(ctx: Context, kind: str, pk: int, locale: str | None = None) -> Any:
    """A compound, condition or evidence record, or a review view, as this viewer gets it; None when
    unknown or not visible. ``locale``: the locale asked for (a review's `requestedLocale`)."""
    if kind == "review":
        return await reviews.review_by_id(ctx, pk, locale)
    if kind == "evidence":
        return await catalog.evidence_by_id(ctx, pk)
    if kind == "compound":
        record: Any = await catalog.compound_by_id(ctx, pk)
    else:
        record = await catalog.condition_by_id(ctx, pk)
    if record is None or locale is None:
        return record
    return (await locales.records_in(ctx, kind, [record], locale))[0]
