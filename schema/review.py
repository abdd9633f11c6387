"""Reviews: the generated, medically reviewed pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from content import document
from editorial.permissions import CanPreview
from resolvers import fallbacks as rf
from resolvers import graph as rg
from resolvers import history as rh
from resolvers import reviews as r
from resolvers import revisions as rv
from resolvers.content import PendingView, ReviewView
from resolvers.context import Context
from resolvers.relay import to_global_id
from resolvers.reviews import AnyView
from resolvers.reviews import evidence as rr_evidence
from schema.catalog import Compound, Condition
from schema.common import (
    Block,
    FaqBlock,
    ListBlock,
    ListItem,
    Node,
    ParagraphBlock,
    Research,
    ReviewKind,
    ReviewStatus,
    SectionKey,
    SectionOrigin,
    Span,
    TextFormat,
)
from schema.editorial import ContentFinding, Evidence, ReviewRevision, SectionDiff
from schema.history import RestoredFrom, ScheduledAction
from schema.locales import Alternate, Translation

FormatArg = Annotated[TextFormat, strawberry.argument(description="Output format.")]
RELATED = (
    "Published reviews sharing this review's compound or its condition (this one left out), "
    "in a stable order: those about the same compound first, then those about the same "
    "condition; within each, condition-specific research (SPECIFIC) before LIMITED, then "
    "the most recently published first, then the oldest review first. Readers get their "
    "published revisions, editors the working copies of the same reviews."
)


def _spans(spans: list[dict[str, Any]]) -> list[Span]:
    return [Span(text=s["text"], bold=bool(s.get("bold"))) for s in spans]


def _block(b: dict[str, Any]) -> ParagraphBlock | ListBlock | FaqBlock:
    if b["type"] == "paragraph":
        return ParagraphBlock(spans=_spans(b["spans"]), text=document.spans_text(b["spans"]))
    if b["type"] == "list":
        return ListBlock(
            items=[ListItem(spans=_spans(i), text=document.spans_text(i)) for i in b["items"]]
        )
    return FaqBlock(
        question=b["question"],
        answer=_spans(b["answer"]),
        answer_text=document.spans_text(b["answer"]),
    )


@strawberry.type(description="Who stands behind a page.")
class Byline:
    text: str = strawberry.field(
        description='The byline as shown, e.g. "By ..., Medical Advisor: ...".'
    )
    notice: str | None = strawberry.field(
        description="A notice shown under the byline (e.g. demo content)."
    )


@strawberry.type(description="A frequently asked question and its answer.")
class FaqItem:
    question: str = strawberry.field(description="The question.")
    answer_spans: strawberry.Private[list[dict[str, Any]]]

    @strawberry.field(description="The answer in the requested format.")
    def answer(self, format: FormatArg = TextFormat.PLAIN) -> str:
        return document.render_body(
            [{"type": "paragraph", "spans": self.answer_spans}], format.name
        )


@strawberry.type(description="Search-engine metadata, built from the same record as the page.")
class Seo:
    title: str = strawberry.field(description="Page title (`<title>`).")
    description: str = strawberry.field(description="Meta description.")
    canonical_path: str = strawberry.field(description="Canonical path of the page on the site.")
    in_language: str = strawberry.field(
        description="The page's language (BCP 47 tag): `<html lang>` and, for a page in "
        "another locale than the default one, the JSON-LD's `inLanguage`."
    )
    json_ld: JSON = strawberry.field(
        description="schema.org JSON-LD: a MedicalWebPage about a Drug and a MedicalCondition "
        "(each with its clinical codes as `code`, MedicalCode with `codingSystem` RxNorm, MeSH "
        "or ICD-10, when it has any), and a FAQPage. As a JSON value it is not safe to print "
        "into HTML: embed `jsonLdScript`."
    )

    @strawberry.field(
        description="The same JSON-LD serialized for embedding as it is inside "
        '`<script type="application/ld+json">...</script>`: `<`, `>`, `&`, U+2028 and U+2029 '
        "are written as `\\u003c`, `\\u003e`, `\\u0026`, `\\u2028` and `\\u2029`, so no "
        "text of a fact, a FAQ or a title can close the script element or open a comment."
    )
    def json_ld_script(self) -> str:
        return document.script_safe_json(self.json_ld)

    page: strawberry.Private[ReviewView]

    @strawberry.field(
        description="The page in every locale a reviewer approved it in, this one included "
        '(`<link rel="alternate" hreflang="...">`); readers get approved translations only.'
    )
    async def alternates(self, info: strawberry.Info) -> list[Alternate]:
        return [Alternate(**a) for a in await r.alternates(info.context, self.page)]


@strawberry.type(description="One section of a review page.")
class ReviewSection:
    section: strawberry.Private[document.Section]

    @strawberry.field(description="Which section this is.")
    def key(self) -> SectionKey:
        return SectionKey(self.section.key)

    @strawberry.field(
        description="The section heading (none for the disclaimer and call to action)."
    )
    def heading(self) -> str | None:
        return self.section.heading

    @strawberry.field(description="Position in the page, from 0.")
    def position(self) -> int:
        return self.section.position

    @strawberry.field(description="The section body rendered in the requested format.")
    def body(self, format: FormatArg = TextFormat.MARKDOWN) -> str:
        return document.render_body(self.section.blocks, format.name)

    @strawberry.field(description="The section body as structured blocks.")
    def blocks(self) -> list[Block]:
        return [_block(b) for b in self.section.blocks]

    @strawberry.field(description="Whether the text was generated or written by an editor.")
    def origin(self) -> SectionOrigin:
        return SectionOrigin(self.section.origin)

    @strawberry.field(
        description="Revision of the working copy's section, for `updateSection`'s "
        "`expectedRevision` (null in published content)."
    )
    def revision(self) -> int | None:
        return self.section.revision


@strawberry.type(
    description="A review page for one compound x condition x kind. Readers get the version a "
    "medical reviewer approved; editors (preview) get the working copy."
)
class Review(Node):
    source: strawberry.Private[AnyView]

    @property
    def view(self) -> ReviewView:
        assert isinstance(self.source, ReviewView), "a pending review is prepared first"
        return self.source

    @property
    def subtree_key(self) -> int | tuple[int, str] | None:
        """What readers get is an immutable revision: its id keys the subtree cache
        (server/subtrees.py). An editor's working copy has none."""
        if not self.source.published:
            return None
        row = self.source.row
        asked = (
            self.source.requested
            if isinstance(self.source, PendingView)
            else self.source.requested_locale
        )
        # A fallback answer says so (`requestedLocale`, `isFallback`): keyed apart.
        return row.revision_id if asked in (None, row.locale) else (row.revision_id, asked)

    @property
    def pending(self) -> bool:
        """Whether the content is still to be loaded (``prepare``) before a field reads it."""
        return isinstance(self.source, PendingView)

    async def prepare(self, context: Context) -> None:
        self.source = await r.prepare(context, self.source)

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Review", self.view.id))

    @strawberry.field(description="URL-safe unique key: `<compound>--<condition>`.")
    def slug(self) -> str:
        return self.view.slug

    @strawberry.field(description="Kind of review.")
    def kind(self) -> ReviewKind:
        return ReviewKind(self.view.kind)

    @strawberry.field(
        description="The locale of the page served (BCP 47 tag): the one asked for, or the "
        "next locale of its fallback chain when the page has none in it."
    )
    def locale(self) -> str:
        return self.view.locale

    @strawberry.field(description="The locale the request asked for (default: the default one).")
    def requested_locale(self) -> str:
        return self.view.requested_locale

    @strawberry.field(
        description="True when the page is served in another locale than the one asked for "
        "(no translation approved in it yet): show the reader a notice."
    )
    def is_fallback(self) -> bool:
        return self.view.locale != self.view.requested_locale

    @strawberry.field(
        description="The translatable facts this page shows in another locale than its own, "
        "as `kind.field` (e.g. `compound.regulatoryStatus`): their translation was missing "
        "when the page was made, so the next locale of its chain gave them (readers: as "
        "approved with the page). Empty for the default locale's pages."
    )
    async def fallback_fields(self, info: strawberry.Info) -> list[str]:
        return await rf.fallback_fields(info.context, self.view)

    @strawberry.field(
        description="The page's locales: readers get the translations a reviewer approved "
        "(the default locale's page included); editors every working copy, whatever its "
        "status. `isStale` of a translation is also true when its source page was approved "
        "with other text since it was made."
    )
    async def translations(self, info: strawberry.Info) -> list[Translation]:
        return [Translation(**t) for t in await r.translations(info.context, self.view)]

    @strawberry.field(
        description="Editorial status of the working copy (readers, who only ever get the "
        "published revision, always see PUBLISHED)."
    )
    def status(self) -> ReviewStatus:
        return ReviewStatus(self.view.status)

    @strawberry.field(
        description="Editors: revision of the review record; pass it as `expectedRevision` to "
        "the workflow mutations (it moves with every change, section edits included). "
        "Readers: the number of the published revision they get."
    )
    def revision(self) -> int:
        return self.view.revision

    @strawberry.field(
        description="Whether the working copy differs from what readers get (a draft or "
        "submission pending, or nothing published); always false for readers."
    )
    def has_unpublished_changes(self) -> bool:
        return self.view.has_unpublished_changes

    @strawberry.field(description="Page title (H1).")
    def title(self) -> str:
        return self.view.page.title

    @strawberry.field(
        description="The compound reviewed: for readers, its facts as approved with this page."
    )
    def compound(self) -> Compound:
        return Compound(record=self.view.compound)

    @strawberry.field(
        description="The condition reviewed: for readers, its facts as approved with this page."
    )
    def condition(self) -> Condition:
        return Condition(record=self.view.condition)

    @strawberry.field(description="How much condition-specific research exists.")
    def research(self) -> Research:
        return Research(self.view.research)

    @strawberry.field(description="Publisher and medical advisor line.")
    def byline(self) -> Byline | None:
        page = self.view.page
        return Byline(text=page.byline, notice=page.notice or None) if page.byline else None

    @strawberry.field(description="The sections, in page order.")
    def sections(self) -> list[ReviewSection]:
        return [ReviewSection(section=s) for s in self.view.page.sections]

    @strawberry.field(description="One section by key, or null when the page has none.")
    def section(
        self,
        key: Annotated[SectionKey, strawberry.argument(description="The section wanted.")],
    ) -> ReviewSection | None:
        s = r.section(self.view, key.name)
        return ReviewSection(section=s) if s is not None else None

    @strawberry.field(description="Frequently asked questions, in order.")
    def faq(self) -> list[FaqItem]:
        return [FaqItem(question=q, answer_spans=a) for q, a in r.faq(self.view)]

    @strawberry.field(description="Search-engine metadata and JSON-LD.")
    def seo(self, info: strawberry.Info) -> Seo:
        ctx: Context = info.context
        return Seo(**r.seo(self.view, ctx.settings.default_locale), page=self.view)

    @strawberry.field(
        description="The whole page as a reader sees it. PLAIN: one line per heading, paragraph "
        "and list item (no bullet markers), in page order."
    )
    def text(self, format: FormatArg = TextFormat.MARKDOWN) -> str:
        return r.text(self.view, format.name)

    @strawberry.field(
        description="When the revision readers get was published (null when none is)."
    )
    def published_at(self) -> datetime | None:
        return self.view.published_at

    @strawberry.field(description="When the content served to you last changed.")
    def updated_at(self) -> datetime:
        return self.view.updated_at

    @strawberry.field(description="When a medical reviewer last approved the page.")
    def last_reviewed_at(self) -> datetime | None:
        return self.view.last_reviewed_at

    @strawberry.field(description="When the page is due for medical re-review.")
    def review_due_at(self) -> datetime | None:
        return self.view.review_due_at

    @strawberry.field(
        description="Version of the template the content served to you was generated from."
    )
    def template_version(self) -> str:
        return self.view.template_version

    @strawberry.field(
        description="Editors: true when what the review serves (its published revision; its "
        "draft when never published) was built from facts or a template that changed since. "
        "Readers: true when a reviewer has since approved newer facts of its compound, "
        "condition, evidence or publisher than those this page was approved with. A stale "
        "published page keeps serving the approved text until a new revision is approved."
    )
    async def is_stale(self, info: strawberry.Info) -> bool:
        return await r.is_stale(info.context, self.view)

    @strawberry.field(
        description="The evidence linking the compound and the condition (for readers: as "
        "approved with this page)."
    )
    async def evidence(self, info: strawberry.Info) -> Evidence:
        record = await rr_evidence(info.context, self.view)
        assert record is not None  # a review is deleted with its evidence
        return Evidence(record=record)

    @strawberry.field(description=RELATED)
    async def related(
        self,
        info: strawberry.Info,
        first: Annotated[
            int, strawberry.argument(description="At most this many reviews (at most 100).")
        ] = 6,
    ) -> list[Review]:
        return [Review(source=v) for v in await rg.related(info.context, self.view.id, first)]

    @strawberry.field(
        description="Published revisions, oldest first: exactly what each reviewer approved "
        "(editors, reviewers and admins only).",
        permission_classes=[CanPreview],
    )
    async def revisions(self, info: strawberry.Info) -> list[ReviewRevision]:
        return [ReviewRevision(row=v) for v in await rv.revisions(info.context, self.view.id)]

    @strawberry.field(
        description="Section-by-section differences between revision `from` and revision `to`, "
        "or the working copy when `to` is omitted (editors, reviewers and admins only).",
        permission_classes=[CanPreview],
    )
    async def diff(
        self,
        info: strawberry.Info,
        from_: Annotated[
            int, strawberry.argument(name="from", description="The older revision's number.")
        ],
        to: Annotated[
            int | None,
            strawberry.argument(description="The newer revision's number; omit for the draft."),
        ] = None,
    ) -> list[SectionDiff]:
        return [SectionDiff(d=d) for d in await rv.diff(info.context, self.view, from_, to)]

    @strawberry.field(
        description="Content findings (absolute claims, dosing) in the edited sections of the "
        "text you see; publishing needs each acknowledged (editors, reviewers and admins only).",
        permission_classes=[CanPreview],
    )
    def findings(self) -> list[ContentFinding]:
        return [ContentFinding.of(f) for f in rv.findings(self.view)]

    @strawberry.field(
        description="Editors: the published revision this draft was restored from "
        "(`restoreRevision`) until it is published again; null otherwise and for readers."
    )
    async def restored_from(self, info: strawberry.Info) -> RestoredFrom | None:
        record = await rh.restored_from(info.context, self.view)
        return RestoredFrom(record=record) if record is not None else None

    @strawberry.field(
        description="Editors: the publishes and unpublishes scheduled for this review "
        "(pending, done, failed, cancelled), by time. Readers: null."
    )
    async def schedule(self, info: strawberry.Info) -> list[ScheduledAction] | None:
        rows = await rh.schedule(info.context, self.view)
        return None if rows is None else [ScheduledAction(row=row) for row in rows]
