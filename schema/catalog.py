"""Compounds and conditions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from resolvers import catalog as r
from resolvers.relay import to_global_id
from schema.common import Citation, CitationKind, Node


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
    row: strawberry.Private[Any]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Compound", self.row.id))

    @strawberry.field(description="URL-safe unique key, e.g. `ketamine`.")
    def slug(self) -> str:
        return self.row.slug

    @strawberry.field(description='Display name, e.g. "Ketamine (IV / Esketamine)".')
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Other names (brands, synonyms).")
    def aliases(self) -> list[str]:
        return list(self.row.aliases)

    @strawberry.field(description='Pharmacological class, e.g. "NMDA Antagonist / Anesthetic".')
    def drug_class(self) -> str:
        return self.row.drug_class

    @strawberry.field(description="Known safety characteristics from the literature.")
    def safety_profile(self) -> list[str]:
        return list(self.row.safety_profile)

    @strawberry.field(description="Regulatory status (e.g. FDA approvals).")
    def regulatory_status(self) -> str:
        return self.row.regulatory_status

    @strawberry.field(description="Strength of the evidence base.")
    def evidence_level(self) -> str:
        return self.row.evidence_level

    @strawberry.field(description="Mechanisms of action.")
    def mechanisms(self) -> list[str]:
        return list(self.row.mechanisms)

    @strawberry.field(description="Standard codes (RxNorm, MeSH).")
    def codes(self) -> CompoundCodes:
        return CompoundCodes(rxnorm=self.row.rxnorm, mesh=self.row.mesh)

    @strawberry.field(description="References about the compound.")
    async def citations(self, info: strawberry.Info) -> list[Citation]:
        return [_citation(c) for c in await r.compound_citations(info.context, self.row.id)]

    @strawberry.field(description="Revision, for `expectedRevision` in updates.")
    def revision(self) -> int:
        return self.row.revision

    @strawberry.field(description="When the compound's facts last changed.")
    def updated_at(self) -> datetime:
        return self.row.updated_at


@strawberry.type(description="A medical condition that reviews are about.")
class Condition(Node):
    row: strawberry.Private[Any]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Condition", self.row.id))

    @strawberry.field(description="URL-safe unique key, e.g. `als`.")
    def slug(self) -> str:
        return self.row.slug

    @strawberry.field(description='Short name used in running text, e.g. "ALS".')
    def name(self) -> str:
        return self.row.name

    @strawberry.field(
        description='Full name, e.g. "ALS (Amyotrophic Lateral Sclerosis)"; the name when not set.'
    )
    def full_name(self) -> str:
        return self.row.full_name or self.row.name

    @strawberry.field(
        description='Who patients should consult, e.g. "neurologist or ALS specialist".'
    )
    def specialist(self) -> str:
        return self.row.specialist

    @strawberry.field(description="Other names.")
    def aliases(self) -> list[str]:
        return list(self.row.aliases)

    @strawberry.field(description="Standard codes (ICD-10, MeSH).")
    def codes(self) -> ConditionCodes:
        return ConditionCodes(icd10=self.row.icd10, mesh=self.row.mesh)

    @strawberry.field(description="Revision, for `expectedRevision` in updates.")
    def revision(self) -> int:
        return self.row.revision

    @strawberry.field(description="When the condition's facts last changed.")
    def updated_at(self) -> datetime:
        return self.row.updated_at
