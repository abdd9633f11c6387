"""Resolvers for reviews: lookups, lists, content, SEO and staleness."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from db import queries
from resolvers import document
from resolvers.content import ReviewView, canonical_path, review_views
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.relay import check_first, decode_cursor, order_kind


def visible(ctx: Context, row: Any) -> bool:
    """Anonymous readers only ever see published reviews."""
    if row is None:
        return False
    if ctx.viewer.can_preview:
        return True
    return row.published_revision_id is not None


async def review(
    ctx: Context, slug: str | None, compound: str | None, condition: str | None, kind: str
) -> ReviewView | None:
    if slug is not None:
        if compound is not None or condition is not None:
            raise BadUserInput("give either `slug`, or `compound` and `condition`, not both")
        row = await ctx.loaders.review_by_slug.load(slug)
    elif compound is not None and condition is not None:
        row = await ctx.db(queries.review_by_pair, compound, condition, kind)
    else:
        raise BadUserInput("give `slug`, or both `compound` and `condition`")
    return await view(ctx, row)


async def view(ctx: Context, row: Any) -> ReviewView | None:
    if not visible(ctx, row):
        # "Not there" changes when a review is first published.
        ctx.depends("list:reviews")
        return None
    return (await views(ctx, [row]))[0]


async def views(ctx: Context, rows: list[Any]) -> list[ReviewView]:
    ctx.depends(*(f"review:{r.id}" for r in rows))
    return await review_views(ctx, rows, preview=ctx.viewer.can_preview)


async def reviews_page(
    ctx: Context, first: int, after: str | None, order: str, f: queries.ReviewFilter
) -> tuple[queries.Page, queries.Order, list[ReviewView]]:
    check_first(first, ctx.settings.max_page_size)
    ctx.depends("list:reviews")
    f.published_only = not ctx.viewer.can_preview
    spec = queries.review_orders(f.published_only)[order]
    if f.published_only and f.status is not None:
        if "PUBLISHED" not in f.status:
            # Readers asking for drafts get an empty list, never an error that confirms they exist.
            return queries.Page(rows=[], total=0, has_next=False), spec, []
        f.status = None  # readers see published revisions, whatever the working copy's status
    if f.updated_since is not None:
        f.updated_since = as_utc(f.updated_since, "updatedSince")
    keyset = decode_cursor(after, order, order_kind(spec.column))
    result = await ctx.db(queries.list_reviews, f, order, first, keyset)
    return result, spec, await views(ctx, result.rows)


def as_utc(value: datetime, argument: str) -> datetime:
    """An instant as UTC; the edges of the calendar (year 1 or 9999 in a far time zone)
    have no UTC equivalent and are refused."""
    from datetime import UTC

    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise BadUserInput(
            f"`{argument}` is outside the range of dates this API handles", argument=argument
        ) from None


def text(v: ReviewView, fmt: str) -> str:
    return document.render_page(v.content.page, fmt)


def sections(v: ReviewView) -> list[document.Section]:
    return v.content.page.sections


def section(v: ReviewView, key: str) -> document.Section | None:
    return next((s for s in v.content.page.sections if s.key == key), None)


def faq(v: ReviewView) -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        (b["question"], b["answer"])
        for s in v.content.page.sections
        for b in s.blocks
        if b["type"] == "faq"
    ]


def status(ctx: Context, row: Any) -> str:
    # A reader gets the published revision, whatever is happening to the draft.
    return str(row.status) if ctx.viewer.can_preview else "PUBLISHED"


def updated_at(ctx: Context, row: Any) -> datetime:
    # Readers see the published revision: it changed when it was published.
    if not ctx.viewer.can_preview and row.published_at is not None:
        return row.published_at
    return row.updated_at


def is_stale(ctx: Context, row: Any) -> bool:
    """Whether what the review serves (its published revision; its draft when never
    published) was built from facts or a template that changed since."""
    # The answer moves with the review's inputs, not only with the review.
    ctx.depends(
        f"compound:{row.compound_id}",
        f"condition:{row.condition_id}",
        f"evidence-pair:{row.compound_id}:{row.condition_id}",
        "publisher",
        "templates",
    )
    served = row.published_fingerprint if row.published_revision_id else row.fingerprint
    return bool(served != row.current_fingerprint)


def has_unpublished_changes(row: Any) -> bool:
    return row.published_revision_id is None or str(row.status) != "PUBLISHED"


def seo(v: ReviewView) -> dict[str, Any]:
    row, c = v.row, v.content
    compound, condition = v.compound, v.condition
    page = c.page
    path = canonical_path(row.slug)
    faq_items = [
        {
            "@type": "Question",
            "name": question,
            "acceptedAnswer": {"@type": "Answer", "text": document.spans_text(answer)},
        }
        for question, answer in faq(v)
    ]
    web_page: dict[str, Any] = {
        "@type": "MedicalWebPage",
        "@id": path,
        "url": path,
        "name": page.title,
        "headline": page.title,
        "description": page.description,
        "about": [
            {
                "@type": "Drug",
                "name": compound.name,
                **({"alternateName": list(compound.aliases)} if compound.aliases else {}),
                "drugClass": {"@type": "DrugClass", "name": compound.drug_class},
            },
            {
                "@type": "MedicalCondition",
                "name": condition.full_name or condition.name,
                **({"alternateName": list(condition.aliases)} if condition.aliases else {}),
            },
        ],
    }
    if c.approved_at is not None:
        web_page["lastReviewed"] = c.approved_at.date().isoformat()
        web_page["dateModified"] = c.approved_at.isoformat()
    if row.published_at is not None:
        web_page["datePublished"] = row.published_at.isoformat()
    graph = [web_page]
    if faq_items:
        graph.append({"@type": "FAQPage", "@id": f"{path}#faq", "mainEntity": faq_items})
    return {
        "title": page.title,
        "description": page.description,
        "canonical_path": path,
        "json_ld": {"@context": "https://schema.org", "@graph": graph},
    }
