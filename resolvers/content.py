"""What a review shows: the published revision for readers, the working copy in preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resolvers.context import Context
from resolvers.document import Page, Section


@dataclass(slots=True)
class ReviewContent:
    page: Page
    approved_by: str | None = None
    approved_at: Any = None


async def review_content(ctx: Context, row: Any, preview: bool) -> ReviewContent:
    if not preview and row.published_revision_id is not None:
        rev = await ctx.loaders.revision_by_id.load(row.published_revision_id)
        if rev is not None:
            sections = [
                Section(
                    s["key"],
                    s["position"],
                    s.get("heading"),
                    s["blocks"],
                    s.get("origin", "GENERATED"),
                )
                for s in rev.sections
            ]
            page = Page(rev.title, rev.byline, rev.notice, sections, rev.description)
            return ReviewContent(page, rev.approved_by, rev.approved_at)
    rows = await ctx.loaders.sections_by_review_id.load(row.id)
    sections = [Section(s.key, s.position, s.heading, s.blocks, str(s.origin)) for s in rows]
    return ReviewContent(Page(row.title, row.byline, row.notice, sections, row.description))


def canonical_path(slug: str) -> str:
    return f"/reviews/{slug}"
