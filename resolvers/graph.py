"""The content graph: a compound's or condition's reviews (hub pages), a review's related
reviews, and the way from a review's evidence back to the review.

Readers get published reviews only (``public_review``, db/public.py), as pending views
like every reader's list; editors get the working copies (db/queries.py). Every relation
is batched (resolvers/loaders.py, ``Batch``): the same field under each item of a list
costs a fixed number of statements, whatever the list's length.
"""

from __future__ import annotations

from db import public, queries
from resolvers import tags
from resolvers.content import working_views
from resolvers.context import Context
from resolvers.loaders import Batch
from resolvers.records import EvidenceRecord
from resolvers.relay import Listing, check_first, empty, keyset, listing
from resolvers.reviews import AnyView, ReviewCriteria, checked, public_views, readers_filter, view

# Review sources of a nested list: the parent's kind ("compound", "condition").
PARENTS = ("compound", "condition")


async def reviews_of(
    ctx: Context,
    parent: str,
    record_id: int,
    first: int,
    after: str | None,
    order: str,
    f: ReviewCriteria,
) -> Listing[AnyView]:
    """One page of the reviews of a compound or condition: the root `reviews` list with
    the parent's own reviews only (same filter, order, cursors and world)."""
    assert parent in PARENTS
    checked(ctx, first, f)
    loaders = ctx.loaders
    if ctx.viewer.can_preview:
        spec = queries.REVIEW_ORDERS[order]
        key = keyset(after, order, spec)
        loader = (
            loaders.reviews_by_compound_id
            if parent == "compound"
            else loaders.reviews_by_condition_id
        )
        page = await loader.load((record_id, Batch.of(f, order, first, key)))
        return listing(page, order, spec, list(await working_views(ctx, page.rows)))
    spec = public.REVIEW_ORDERS[order]
    key = keyset(after, order, spec)
    readers = readers_filter(ctx, f)
    if readers is None:
        return empty()
    public_loader = (
        loaders.public_reviews_by_compound_id
        if parent == "compound"
        else loaders.public_reviews_by_condition_id
    )
    page = await public_loader.load((record_id, Batch.of(readers, order, first, key)))
    return listing(page, order, spec, public_views(ctx, page.rows))


async def related(ctx: Context, review_id: int, first: int) -> list[AnyView]:
    """Published reviews sharing the review's compound or condition, in db/graph.py's order
    (``related_rows``): for editors, their working copies."""
    check_first(first, ctx.settings.max_page_size)
    if ctx.viewer.can_preview:
        rows = await ctx.loaders.related_by_review_id.load((review_id, Batch.of(first)))
        return list(await working_views(ctx, rows))
    ctx.depends(*tags.per_locale(tags.REVIEWS, ctx.settings.default_locale))
    rows = await ctx.loaders.public_related_by_review_id.load((review_id, Batch.of(first)))
    return public_views(ctx, rows)


async def evidence_review(ctx: Context, record: EvidenceRecord) -> AnyView | None:
    """The safety review of the evidence's pair: for readers, its published revision (null
    while none is published); for editors, the working copy."""
    pair = (record.compound_id, record.condition_id)
    if ctx.viewer.can_preview:
        row = await ctx.loaders.review_by_pair.load(pair)
    else:
        row = await ctx.loaders.public_review_by_pair.load(pair)
    return await view(ctx, row)
