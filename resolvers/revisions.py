"""Published revisions of a review, section-level diffs, and the content check of a draft.

Editors-only reads: their fields name the permission (``editorial.permissions.CanPreview``)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from content import claims, document
from db.rows import RevisionRow as RevisionRow  # re-exported: the rows these reads give
from resolvers.content import ReviewView
from resolvers.context import Context
from resolvers.errors import BadUserInput


def revision_sections(rev: RevisionRow) -> list[document.Section]:
    return sorted(
        (
            document.Section(
                s["key"], s["position"], s.get("heading"), s["blocks"], s.get("origin", "GENERATED")
            )
            for s in rev.sections
        ),
        key=lambda s: s.position,
    )


async def revisions(ctx: Context, review_id: int) -> list[RevisionRow]:
    return list(await ctx.loaders.revisions_by_review_id.load(review_id))


@dataclass(slots=True)
class SectionDiff:
    key: str
    change: str  # ADDED, REMOVED, CHANGED, UNCHANGED
    before: document.Section | None
    after: document.Section | None

    def unified(self) -> str:
        a = _lines(self.before)
        b = _lines(self.after)
        return "\n".join(difflib.unified_diff(a, b, "before", "after", lineterm="", n=1))


def _lines(section: document.Section | None) -> list[str]:
    if section is None:
        return []
    head = [section.heading] if section.heading else []
    return head + [line for b in section.blocks for line in document.block_lines(b)]


def _same(a: document.Section, b: document.Section) -> bool:
    return a.heading == b.heading and a.blocks == b.blocks


def diff_sections(
    before: list[document.Section], after: list[document.Section]
) -> list[SectionDiff]:
    """Section by section, in the order of ``after`` (removed sections last)."""
    old = {s.key: s for s in before}
    new = {s.key: s for s in after}
    out = []
    for s in after:
        prev = old.get(s.key)
        if prev is None:
            out.append(SectionDiff(s.key, "ADDED", None, s))
        else:
            out.append(SectionDiff(s.key, "UNCHANGED" if _same(prev, s) else "CHANGED", prev, s))
    out.extend(SectionDiff(s.key, "REMOVED", s, None) for s in before if s.key not in new)
    return out


async def diff(ctx: Context, view: ReviewView, from_: int, to: int | None) -> list[SectionDiff]:
    """Revision ``from_`` against revision ``to``, or against the working copy when omitted."""
    revs = {r.number: r for r in await ctx.loaders.revisions_by_review_id.load(view.id)}
    missing = [n for n in (from_, to) if n is not None and n not in revs]
    if missing:
        raise BadUserInput(
            f"the review has no revision {missing[0]} (it has {sorted(revs) or 'none'})",
            argument="from" if missing[0] == from_ else "to",
        )
    before = revision_sections(revs[from_])
    if to is not None:
        after = revision_sections(revs[to])
    else:
        sections = await ctx.loaders.sections_by_review_id.load(view.id)
        after = [
            document.Section(s.key, s.position, s.heading, s.blocks, str(s.origin), s.revision)
            for s in sections
        ]
    return diff_sections(before, after)


def findings(view: ReviewView) -> list[claims.Finding]:
    """What the publish gate would ask a reviewer to acknowledge in the content served to you."""
    return claims.check_sections(view.page.sections)
