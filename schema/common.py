"""Shared GraphQL types: the Node interface, Relay connections, enums and blocks."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from resolvers.relay import Listing

T = TypeVar("T")


@strawberry.interface(description="An object with a global id, fetchable with `node(id:)`.")
class Node:
    @strawberry.field(description="Global, opaque and stable identifier.")
    def id(self) -> strawberry.ID:
        raise NotImplementedError  # every implementing type resolves its own id


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of this page; pass it as `after` for the next page."
    )


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque cursor of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    total_count: int = strawberry.field(description="Number of items in the whole filtered list.")


def connection(page: Listing[Any], node: Callable[[Any], Any]) -> Any:
    """The connection of a listing, each item made a GraphQL node by ``node``."""
    edges = [Edge(cursor=cursor, node=node(item)) for cursor, item in page.edges]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=page.total,
    )


@strawberry.enum(description="How much condition-specific research exists for a pair.")
class Research(enum.Enum):
    SPECIFIC = strawberry.enum_value(
        "SPECIFIC", description="Condition-specific published research exists."
    )
    LIMITED = strawberry.enum_value(
        "LIMITED", description="Little condition-specific research; general safety data only."
    )


@strawberry.enum(description="The kind of review page.")
class ReviewKind(enum.Enum):
    SAFETY = strawberry.enum_value(
        "SAFETY", description="Is this compound safe for patients with this condition?"
    )


@strawberry.enum(description="Editorial status of a review.")
class ReviewStatus(enum.Enum):
    DRAFT = strawberry.enum_value("DRAFT", description="Generated or being edited; not public.")
    IN_REVIEW = strawberry.enum_value("IN_REVIEW", description="Submitted for medical review.")
    PUBLISHED = strawberry.enum_value(
        "PUBLISHED", description="Approved by a medical reviewer and public."
    )
    ARCHIVED = strawberry.enum_value("ARCHIVED", description="Withdrawn; no longer public.")


@strawberry.enum(description="The sections of a review page, in page order.")
class SectionKey(enum.Enum):
    INTRO = strawberry.enum_value(
        "INTRO", description="Introduction: the question and its context."
    )
    SAFETY_PROFILE = strawberry.enum_value(
        "SAFETY_PROFILE", description="General safety profile of the compound."
    )
    CONSIDERATIONS = strawberry.enum_value(
        "CONSIDERATIONS", description="Safety considerations specific to the condition."
    )
    LITERATURE = strawberry.enum_value(
        "LITERATURE", description="What the published literature shows."
    )
    BOTTOM_LINE = strawberry.enum_value("BOTTOM_LINE", description="Bottom line on safety.")
    DISCLAIMER = strawberry.enum_value(
        "DISCLAIMER", description="Medical disclaimer (never missing)."
    )
    CTA = strawberry.enum_value("CTA", description="The publisher's call to action.")
    FAQ = strawberry.enum_value("FAQ", description="Frequently asked questions.")


@strawberry.enum(description="Where a section's text comes from.")
class SectionOrigin(enum.Enum):
    GENERATED = strawberry.enum_value(
        "GENERATED", description="Rendered from the template and the facts."
    )
    EDITED = strawberry.enum_value(
        "EDITED", description="Written by an editor; kept across regeneration."
    )


@strawberry.enum(description="Output format of rendered text.")
class TextFormat(enum.Enum):
    MARKDOWN = strawberry.enum_value("MARKDOWN", description="CommonMark; facts are escaped.")
    HTML = strawberry.enum_value("HTML", description="HTML fragment; every fact is escaped.")
    PLAIN = strawberry.enum_value(
        "PLAIN", description="Plain text, one line per heading, paragraph and list item."
    )


@strawberry.enum(description="Kind of a citation identifier.")
class CitationKind(enum.Enum):
    PMID = strawberry.enum_value("PMID", description="PubMed identifier.")
    DOI = strawberry.enum_value("DOI", description="Digital Object Identifier.")
    NCT = strawberry.enum_value("NCT", description="ClinicalTrials.gov identifier.")
    URL = strawberry.enum_value("URL", description="A web address.")


@strawberry.type(description="A reference supporting a fact.")
class Citation:
    kind: CitationKind = strawberry.field(description="Kind of identifier.")
    value: str = strawberry.field(description="The identifier (e.g. a PMID) or URL.")
    title: str = strawberry.field(description="Title of the cited work, when known.")
    url: str = strawberry.field(description="Where to read it.")


@strawberry.type(description="A run of text in a block.")
class Span:
    text: str = strawberry.field(description="The text.")
    bold: bool = strawberry.field(description="Whether it is emphasised (e.g. a list lead-in).")


@strawberry.type(description="A paragraph.")
class ParagraphBlock:
    spans: list[Span] = strawberry.field(description="The paragraph's text runs.")
    text: str = strawberry.field(description="The paragraph as plain text.")


@strawberry.type(description="One list item.")
class ListItem:
    spans: list[Span] = strawberry.field(
        description="The item's text runs (a bold lead-in first, if any)."
    )
    text: str = strawberry.field(description="The item as plain text.")


@strawberry.type(description="A bulleted list.")
class ListBlock:
    items: list[ListItem] = strawberry.field(description="The list items, in order.")


@strawberry.type(description="A question and its answer.")
class FaqBlock:
    question: str = strawberry.field(description="The question.")
    answer: list[Span] = strawberry.field(description="The answer's text runs.")
    answer_text: str = strawberry.field(description="The answer as plain text.")


Block = Annotated[
    ParagraphBlock | ListBlock | FaqBlock,
    strawberry.union("Block", description="A structural block of a section's body."),
]
