"""What a review shows: its published revision for readers, the working copy to editors.

A ``ReviewView`` is everything the review's fields read, loaded up front with a
fixed number of batched loads for any number of reviews, so the fields are plain
attribute reads:

* readers (and the change feed, whoever asks): the ``public_review`` row, its
  published revision and the fact versions it was approved with (``published``);
* editors: the working review row, its sections and the working facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from content.document import Page, PageLike, Section
from resolvers.context import Context
from resolvers.records import CompoundRecord, ConditionRecord


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


@dataclass(slots=True)
class ReviewView:
    """One review as this viewer gets it."""

    id: int
    slug: str
    kind: str
    status: str
    # Working copy: the record's revision (for expectedRevision); published: the revision number.
    revision: int
    has_unpublished_changes: bool
    page: PageLike
    research: str
    compound: CompoundRecord
    condition: ConditionRecord
    published_at: datetime | None
    updated_at: datetime
    last_reviewed_at: datetime | None
    review_due_at: datetime | None
    template_version: str
    fingerprint: str  # of the facts and template the shown content was generated from
    approved_by: str | None
    approved_at: datetime | None
    # True: the published read model (what readers get); False: the working copy.
    published: bool
    # The public_review row (published) or the working review row.
    row: Any
    # The page's locale, and the one the request asked for (they differ: a fallback).
    locale: str = ""
    requested_locale: str = ""

    @property
    def compound_id(self) -> int:
        return self.compound.id

    @property
    def condition_id(self) -> int:
        return self.condition.id


@dataclass(slots=True)
class PendingView:
    """A published review whose content (its revision, the fact snapshots) is loaded only
    when a field needs it: an answer taken whole from the subtree cache never does."""

    row: Any  # the public_review row
    published: bool = True
    requested: str | None = None  # the locale asked for (None: the page's own)


async def published_views(
    ctx: Context, rows: list[Any], requested: list[str | None] | None = None
) -> list[ReviewView]:
    """Readers' views of public_review rows: two batched loads (revisions, fact versions)."""
    revisions = await ctx.loaders.revision_by_id.load_many([r.revision_id for r in rows])
    versions = await ctx.loaders.fact_version_by_id.load_many(
        [v for r in rows for v in (r.compound_version_id, r.condition_version_id)]
    )
    asked = requested or [None] * len(rows)
    chains = ctx.settings.locale_chains
    out = []
    for i, (row, rev) in enumerate(zip(rows, revisions, strict=True)):
        chain = chains.get(row.locale)
        out.append(
            ReviewView(
                id=row.id,
                slug=row.slug,
                kind=str(row.kind),
                status="PUBLISHED",
                revision=row.number,
                has_unpublished_changes=False,
                page=RevisionPage(rev),
                research=str(row.research),
                compound=CompoundRecord.snapshot(versions[2 * i], chain),
                condition=ConditionRecord.snapshot(versions[2 * i + 1], chain),
                published_at=row.published_at,
                updated_at=row.published_at,
                last_reviewed_at=row.last_reviewed_at,
                review_due_at=row.review_due_at,
                template_version=row.template_version,
                fingerprint=rev.fingerprint,
                approved_by=rev.approved_by,
                approved_at=rev.approved_at,
                published=True,
                row=row,
                locale=row.locale,
                requested_locale=asked[i] or row.locale,
            )
        )
    return out


async def working_views(
    ctx: Context, rows: list[Any], requested: str | None = None
) -> list[ReviewView]:
    """Editors' views of working review rows: sections, compounds, conditions (batched)."""
    sections = await ctx.loaders.sections_by_review_id.load_many([r.id for r in rows])
    compounds = await ctx.loaders.compound_by_id.load_many([r.compound_id for r in rows])
    conditions = await ctx.loaders.condition_by_id.load_many([r.condition_id for r in rows])
    chains = ctx.settings.locale_chains
    out = []
    for row, section_rows, compound, condition in zip(
        rows, sections, compounds, conditions, strict=True
    ):
        chain = chains.get(row.locale)
        page = Page(
            row.title,
            row.byline,
            row.notice,
            [
                Section(s.key, s.position, s.heading, s.blocks, str(s.origin), s.revision)
                for s in section_rows
            ],
            row.description,
        )
        out.append(
            ReviewView(
                id=row.id,
                slug=row.slug,
                kind=str(row.kind),
                status=str(row.status),
                revision=row.revision,
                has_unpublished_changes=(
                    row.published_revision_id is None or str(row.status) != "PUBLISHED"
                ),
                page=page,
                research=str(row.research),
                compound=CompoundRecord.working(compound, chain),
                condition=ConditionRecord.working(condition, chain),
                published_at=row.published_at,
                updated_at=row.updated_at,
                last_reviewed_at=row.last_reviewed_at,
                review_due_at=row.review_due_at,
                template_version=row.template_version,
                fingerprint=row.fingerprint,
                approved_by=None,
                approved_at=None,
                published=False,
                row=row,
                locale=row.locale,
                requested_locale=requested or row.locale,
            )
        )
    return out


def canonical_path(slug: str, locale: str | None = None, default: str | None = None) -> str:
    """The page's path on the site: ``/reviews/<slug>`` in the default locale, under the
    locale's tag in another (``/es/reviews/<slug>``)."""
    if locale is None or locale == default:
        return f"/reviews/{slug}"
    return f"/{locale}/reviews/{slug}"
