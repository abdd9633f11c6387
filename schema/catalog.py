"""Compounds and conditions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types.lazy_type import LazyType

from resolvers import catalog as r
from resolvers import graph as rg
from resolvers.records import CompoundRecord, ConditionRecord
from resolvers.relay import to_global_id
from schema.common import Citation, CitationKind, Connection, Node, connection
from schema.review_list import After, First, ReviewFilter, ReviewOrder, criteria

if TYPE_CHECKING:
    from schema.review import Review

# schema/review.py imports this module (a review's compound and condition): the Review
# type is named lazily here, and resolved when a page of reviews is first wrapped.
ReviewType = Annotated["Review", strawberry.lazy("schema.review")]
LAZY_REVIEW: LazyType[str, str] = LazyType("Review", "schema.review")
REVIEWS = (
    "Its reviews, a page at a time: the root `reviews` list narrowed to this {0} (the same "
    "`filter`, `orderBy` and cursors; readers get published reviews only, editors the "
    "working copies). Batched: the same field under every {0} of a list costs two "
    "statements in all."
)
FilterArg = Annotated[ReviewFilter | None, strawberry.argument(description="Criteria.")]
OrderArg = Annotated[ReviewOrder, strawberry.argument(description="Ordering.")]


async def _reviews(
    info: strawberry.Info,
    parent: str,
    record_id: int,
    first: int,
    after: str | None,
    filter: ReviewFilter | None,
    order_by: ReviewOrder,
) -> Connection[ReviewType]:
    """A compound's or condition's page of reviews as a connection of Review nodes."""
    page = await rg.reviews_of(
        info.context, parent, record_id, first, after, order_by.name, criteria(filter)
    )
    review = LAZY_REVIEW.resolve_type()
    return connection(page, lambda view: review(source=view))  # type: ignore[no-any-return]


APPROVED = (
    "The approved copy readers get: the facts as a medical reviewer last approved them "
    "(by publishing a review built from them); null when no reviewer has approved this "
    "record yet. For readers, the record itself."
)
UNAPPROVED = (
    "Whether the working copy differs from the approved copy readers get (always false for "
    "readers, who only ever get approved copies)."
)
REVISION = (
    "Editors: the working copy's revision, for `expectedRevision` in updates. Readers: the "
    "number of the approved version they get (it moves only when a reviewer approves)."
)
UPDATED_AT = (
    "Editors: when the working copy's facts last changed. Readers: when the facts they get "
    "were approved."
)


# The versioning fields every fact type has (compound, condition, evidence, publisher):
# one resolver each, shared; `approved` stays on each type, which it returns.
def _revision(root: Any) -> int:
    return int(root.record.revision)


def _updated_at(root: Any) -> datetime:
    return root.record.updated_at  # type: ignore[no-any-return]


async def _has_unapproved_changes(root: Any, info: strawberry.Info) -> bool:
    return await r.has_unapproved_changes(info.context, root.record)


def revision_field() -> Any:
    return strawberry.field(resolver=_revision, description=REVISION)


def updated_at_field() -> Any:
    return strawberry.field(resolver=_updated_at, description=UPDATED_AT)


def unapproved_field() -> Any:
    return strawberry.field(resolver=_has_unapproved_changes, description=UNAPPROVED)


@strawberry.type(description="Standard codes identifying a compound.")
class CompoundCodes:
    rxnorm: str | None = strawberry.field(description="RxNorm concept id.")
    mesh: str | None = strawberry.field(description="MeSH descriptor id.")


@strawberry.type(description="Standard codes identifying a condition.")
class ConditionCodes:
    icd10: str | None = strawberry.field(description="ICD-10 code.")
    mesh: str | None = strawberry.field(description="MeSH descriptor id.")


def _citation(c: dict[str, Any]) -> Citation:
    return Citation(kind=CitationKind(c["kind"]), value=c["value"], title=c["title"], url=c["url"])


@strawberry.type(description="A drug, supplement or other compound that reviews are about.")
class Compound(Node):
    record: strawberry.Private[CompoundRecord]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Compound", self.record.id))

    @strawberry.field(description="URL-safe unique key, e.g. `ketamine`.")
    def slug(self) -> str:
        return self.record.slug

    @strawberry.field(description='Display name, e.g. "Ketamine (IV / Esketamine)".')
    def name(self) -> str:
        return self.record.name

    @strawberry.field(description="Other names (brands, synonyms).")
    def aliases(self) -> list[str]:
        return self.record.aliases

    @strawberry.field(description='Pharmacological class, e.g. "NMDA Antagonist / Anesthetic".')
    def drug_class(self) -> str:
        return self.record.drug_class

    @strawberry.field(description="Known safety characteristics from the literature.")
    def safety_profile(self) -> list[str]:
        return self.record.safety_profile

    @strawberry.field(description="Regulatory status (e.g. FDA approvals).")
    def regulatory_status(self) -> str:
        return self.record.regulatory_status

    @strawberry.field(description="Strength of the evidence base.")
    def evidence_level(self) -> str:
        return self.record.evidence_level

    @strawberry.field(description="Mechanisms of action.")
    def mechanisms(self) -> list[str]:
        return self.record.mechanisms

    @strawberry.field(description="Standard codes (RxNorm, MeSH).")
    def codes(self) -> CompoundCodes:
        return CompoundCodes(rxnorm=self.record.rxnorm, mesh=self.record.mesh)

    @strawberry.field(description=REVIEWS.format("compound"))
    async def reviews(
        self,
        info: strawberry.Info,
        first: First = 20,
        after: After = None,
        filter: FilterArg = None,
        order_by: OrderArg = ReviewOrder.UPDATED_AT_DESC,
    ) -> Connection[ReviewType]:
        return await _reviews(info, "compound", self.record.id, first, after, filter, order_by)

    @strawberry.field(description="References about the compound.")
    async def citations(self, info: strawberry.Info) -> list[Citation]:
        return [_citation(c) for c in await r.compound_citations(info.context, self.record)]

    revision = revision_field()

    updated_at = updated_at_field()

    @strawberry.field(description=APPROVED)
    async def approved(self, info: strawberry.Info) -> Compound | None:
        record = await r.approved_of(info.context, self.record)
        return Compound(record=record) if record is not None else None

    has_unapproved_changes = unapproved_field()


@strawberry.type(description="A medical condition that reviews are about.")
class Condition(Node):
    record: strawberry.Private[ConditionRecord]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Condition", self.record.id))

    @strawberry.field(description="URL-safe unique key, e.g. `als`.")
    def slug(self) -> str:
        return self.record.slug

    @strawberry.field(description='Short name used in running text, e.g. "ALS".')
    def name(self) -> str:
        return self.record.name

    @strawberry.field(
        description='Full name, e.g. "ALS (Amyotrophic Lateral Sclerosis)"; the name when not set.'
    )
    def full_name(self) -> str:
        return self.record.full_name

    @strawberry.field(
        description='Who patients should consult, e.g. "neurologist or ALS specialist".'
    )
    def specialist(self) -> str:
        return self.record.specialist

    @strawberry.field(description="Other names.")
    def aliases(self) -> list[str]:
        return self.record.aliases

    @strawberry.field(description="Standard codes (ICD-10, MeSH).")
    def codes(self) -> ConditionCodes:
        return ConditionCodes(icd10=self.record.icd10, mesh=self.record.mesh)

    @strawberry.field(description=REVIEWS.format("condition"))
    async def reviews(
        self,
        info: strawberry.Info,
        first: First = 20,
        after: After = None,
        filter: FilterArg = None,
        order_by: OrderArg = ReviewOrder.UPDATED_AT_DESC,
    ) -> Connection[ReviewType]:
        return await _reviews(info, "condition", self.record.id, first, after, filter, order_by)

    revision = revision_field()

    updated_at = updated_at_field()

    @strawberry.field(description=APPROVED)
    async def approved(self, info: strawberry.Info) -> Condition | None:
        record = await r.approved_of(info.context, self.record)
        return Condition(record=record) if record is not None else None

    has_unapproved_changes = unapproved_field()
