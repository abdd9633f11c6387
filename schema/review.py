"""Reviews: the generated, medically reviewed pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from resolvers import document
from resolvers import reviews as r
from resolvers.content import ReviewView
from resolvers.relay import to_global_id
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

FormatArg = Annotated[TextFormat, strawberry.argument(description="Output format.")]


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
    json_ld: JSON = strawberry.field(
        description="schema.org JSON-LD: a MedicalWebPage about a Drug and a MedicalCondition, and a FAQPage."
    )


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


@strawberry.type(
    description="A review page for one compound x condition x kind. Readers get the version a "
    "medical reviewer approved; editors (preview) get the working copy."
)
class Review(Node):
    view: strawberry.Private[ReviewView]

    @property
    def row(self) -> Any:
        return self.view.row

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Review", self.row.id))

    @strawberry.field(description="URL-safe unique key: `<compound>--<condition>`.")
    def slug(self) -> str:
        return self.row.slug

    @strawberry.field(description="Kind of review.")
    def kind(self) -> ReviewKind:
        return ReviewKind(str(self.row.kind))

    @strawberry.field(description="Editorial status.")
    def status(self) -> ReviewStatus:
        return ReviewStatus(str(self.row.status))

    @strawberry.field(description="Page title (H1).")
    def title(self) -> str:
        return self.view.content.page.title

    @strawberry.field(description="The compound reviewed.")
    def compound(self) -> Compound:
        return Compound(row=self.view.compound)

    @strawberry.field(description="The condition reviewed.")
    def condition(self) -> Condition:
        return Condition(row=self.view.condition)

    @strawberry.field(description="How much condition-specific research exists.")
    def research(self) -> Research:
        return Research(str(self.row.research))

    @strawberry.field(description="Publisher and medical advisor line.")
    def byline(self) -> Byline | None:
        page = self.view.content.page
        return Byline(text=page.byline, notice=page.notice or None) if page.byline else None

    @strawberry.field(description="The sections, in page order.")
    def sections(self) -> list[ReviewSection]:
        return [ReviewSection(section=s) for s in r.sections(self.view)]

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
    def seo(self) -> Seo:
        return Seo(**r.seo(self.view))

    @strawberry.field(
        description="The whole page as a reader sees it. PLAIN: one line per heading, paragraph "
        "and list item (no bullet markers), in page order."
    )
    def text(self, format: FormatArg = TextFormat.MARKDOWN) -> str:
        return r.text(self.view, format.name)

    @strawberry.field(description="When the review was first published.")
    def published_at(self) -> datetime | None:
        return self.row.published_at

    @strawberry.field(description="When the content served to you last changed.")
    def updated_at(self, info: strawberry.Info) -> datetime:
        return r.updated_at(info.context, self.row)

    @strawberry.field(description="When a medical reviewer last approved the page.")
    def last_reviewed_at(self) -> datetime | None:
        return self.row.last_reviewed_at

    @strawberry.field(description="When the page is due for medical re-review.")
    def review_due_at(self) -> datetime | None:
        return self.row.review_due_at

    @strawberry.field(description="Version of the template the page was generated from.")
    def template_version(self) -> str:
        return self.row.template_version

    @strawberry.field(
        description="True when the facts or template changed since this content was generated "
        "(published pages keep serving the approved text until re-reviewed)."
    )
    async def is_stale(self, info: strawberry.Info) -> bool:
        return await r.is_stale(info.context, self.view)
