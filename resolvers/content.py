"""What a review shows: the published revision for readers, the working copy in preview."""

from __future__ import annotations

import json
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
    research: str | None = None  # of the approved revision (None: the working copy's)


@dataclass(slots=True)
class ReviewView:
    """A review row with the content this viewer gets (loaded once, up front)."""

    row: Any
    content: ReviewContent
    compound: Any = None
    condition: Any = None


class RevisionPage:
    """A published revision as a page; its sections are decoded on first use."""

    __slots__ = ("_raw", "_sections", "byline", "description", "notice", "title")

    def __init__(self, rev: Any):
        self.title = rev.title
        self.byline = rev.byline
        self.notice = rev.notice
        self.description = rev.description
        self._raw = rev.sections_json
        self._sections: list[Section] | None = None

    @property
    def sections(self) -> list[Section]:
        if self._sections is None:
            raw = json.loads(self._raw) if isinstance(self._raw, str) else self._raw
            self._sections = sorted(
                (
                    Section(
                        s["key"],
                        s["position"],
                        s.get("heading"),
                        s["blocks"],
                        s.get("origin", "GENERATED"),
                    )
                    for s in raw
                ),
                key=lambda s: s.position,
            )
        return self._sections


def _from_revision(rev: Any) -> ReviewContent:
    page: Any = RevisionPage(rev)
    research = str(rev.research) if rev.research is not None else None
    return ReviewContent(page, rev.fingerprint, rev.approved_by, rev.approved_at, research)


def _from_working_copy(row: Any, rows: list[Any]) -> ReviewContent:
    sections = [
        Section(s.key, s.position, s.heading, s.blocks, str(s.origin), s.revision) for s in rows
    ]
    page = Page(row.title, row.byline, row.notice, sections, row.description)
    return ReviewContent(page, row.fingerprint)


async def review_views(ctx: Context, rows: list[Any], preview: bool) -> list[ReviewView]:
    """Content, compound and condition of many reviews, each with one batched load.

    Loading them up front (rather than in each field) keeps the review's fields
    synchronous, which spares the executor a task per field per review."""
    if preview:
        sections = await ctx.loaders.sections_by_review_id.load_many([r.id for r in rows])
        contents = [_from_working_copy(r, s) for r, s in zip(rows, sections, strict=True)]
    else:
        revisions = await ctx.loaders.revision_by_id.load_many(
            [r.published_revision_id for r in rows]
        )
        contents = [_from_revision(v) for v in revisions]
    compounds = await ctx.loaders.compound_by_id.load_many([r.compound_id for r in rows])
    conditions = await ctx.loaders.condition_by_id.load_many([r.condition_id for r in rows])
    return [
        ReviewView(r, c, compound, condition)
        for r, c, compound, condition in zip(rows, contents, compounds, conditions, strict=True)
    ]


def canonical_path(slug: str) -> str:
    return f"/reviews/{slug}"
