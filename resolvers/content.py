"""What a review shows: the published revision for readers, the working copy in preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resolvers.context import Context
from resolvers.document import Page, Section


@dataclass(slots=True)
class ReviewContent:
    page: Page
    fingerprint: str
    approved_by: str | None = None
    approved_at: Any = None


@dataclass(slots=True)
class ReviewView:
    """A review row with the content this viewer gets (loaded once, up front)."""

    row: Any
    content: ReviewContent


def _from_revision(rev: Any) -> ReviewContent:
    sections = [
        Section(
            s["key"], s["position"], s.get("heading"), s["blocks"], s.get("origin", "GENERATED")
        )
        for s in rev.sections
    ]
    sections.sort(key=lambda s: s.position)
    page = Page(rev.title, rev.byline, rev.notice, sections, rev.description)
    return ReviewContent(page, rev.fingerprint, rev.approved_by, rev.approved_at)


def _from_working_copy(row: Any, rows: list[Any]) -> ReviewContent:
    sections = [Section(s.key, s.position, s.heading, s.blocks, str(s.origin)) for s in rows]
    page = Page(row.title, row.byline, row.notice, sections, row.description)
    return ReviewContent(page, row.fingerprint)


async def review_views(ctx: Context, rows: list[Any], preview: bool) -> list[ReviewView]:
    """Content for many reviews with one batched load (revisions, or sections in preview)."""
    if preview:
        sections = await ctx.loaders.sections_by_review_id.load_many([r.id for r in rows])
        return [
            ReviewView(r, _from_working_copy(r, s)) for r, s in zip(rows, sections, strict=True)
        ]
    revisions = await ctx.loaders.revision_by_id.load_many([r.published_revision_id for r in rows])
    return [ReviewView(r, _from_revision(v)) for r, v in zip(rows, revisions, strict=True)]


def canonical_path(slug: str) -> str:
    return f"/reviews/{slug}"
