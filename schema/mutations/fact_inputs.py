"""The facts mutations' inputs: the catalog file's fields, all given (create) or only those
that change (patch)."""

from __future__ import annotations

from typing import Any

import strawberry

from schema.common import Research
from schema.mutations.common import as_record


@strawberry.input(description="A reference: exactly one of pmid, doi, nct or url.")
class CitationInput:
    pmid: str | None = strawberry.field(default=strawberry.UNSET, description="PubMed id.")
    doi: str | None = strawberry.field(default=strawberry.UNSET, description="DOI, e.g. 10.1000/x.")
    nct: str | None = strawberry.field(
        default=strawberry.UNSET, description="ClinicalTrials.gov id, e.g. NCT01234567."
    )
    url: str | None = strawberry.field(default=strawberry.UNSET, description="An http(s) URL.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="Title of the work.")


@strawberry.input(description="A new compound (the catalog file's fields).")
class CompoundInput:
    slug: str = strawberry.field(description="Lowercase words joined by hyphens; never changes.")
    name: str = strawberry.field(description="Display name.")
    drug_class: str = strawberry.field(description="Pharmacological class.")
    safety_profile: list[str] = strawberry.field(description="Known safety characteristics.")
    regulatory_status: str = strawberry.field(description="Regulatory status.")
    evidence_level: str = strawberry.field(description="Strength of the evidence base.")
    mechanisms: list[str] = strawberry.field(description="Mechanisms of action.")
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Other names."
    )
    rxnorm: str | None = strawberry.field(default=strawberry.UNSET, description="RxNorm id.")
    mesh: str | None = strawberry.field(default=strawberry.UNSET, description="MeSH id.")
    citations: list[CitationInput] | None = strawberry.field(
        default=strawberry.UNSET, description="References."
    )


@strawberry.input(description="Changes to a compound: only the fields given change.")
class CompoundPatch:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
    drug_class: str | None = strawberry.field(
        default=strawberry.UNSET, description="Pharmacological class."
    )
    safety_profile: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Known safety characteristics (replaces the list)."
    )
    regulatory_status: str | None = strawberry.field(
        default=strawberry.UNSET, description="Regulatory status."
    )
    evidence_level: str | None = strawberry.field(
        default=strawberry.UNSET, description="Strength of the evidence base."
    )
    mechanisms: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Mechanisms of action (replaces the list)."
    )
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Other names (replaces the list)."
    )
    rxnorm: str | None = strawberry.field(
        default=strawberry.UNSET, description="RxNorm id; null clears it."
    )
    mesh: str | None = strawberry.field(
        default=strawberry.UNSET, description="MeSH id; null clears it."
    )
    citations: list[CitationInput] | None = strawberry.field(
        default=strawberry.UNSET, description="References (replaces the list)."
    )


@strawberry.input(description="A new condition (the catalog file's fields).")
class ConditionInput:
    slug: str = strawberry.field(description="Lowercase words joined by hyphens; never changes.")
    name: str = strawberry.field(description="Short name used in running text.")
    specialist: str = strawberry.field(description="Who patients should consult.")
    full_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Full name; the name when not given."
    )
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Other names."
    )
    icd10: str | None = strawberry.field(default=strawberry.UNSET, description="ICD-10 code.")
    mesh: str | None = strawberry.field(default=strawberry.UNSET, description="MeSH id.")


@strawberry.input(description="Changes to a condition: only the fields given change.")
class ConditionPatch:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Short name.")
    specialist: str | None = strawberry.field(
        default=strawberry.UNSET, description="Who patients should consult."
    )
    full_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Full name; null clears it."
    )
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Other names (replaces the list)."
    )
    icd10: str | None = strawberry.field(
        default=strawberry.UNSET, description="ICD-10 code; null clears it."
    )
    mesh: str | None = strawberry.field(
        default=strawberry.UNSET, description="MeSH id; null clears it."
    )


@strawberry.input(description="New evidence linking a compound and a condition.")
class EvidenceInput:
    compound: str = strawberry.field(description="Compound slug.")
    condition: str = strawberry.field(description="Condition slug.")
    research: Research = strawberry.field(
        description="How much condition-specific research exists."
    )
    notes: str | None = strawberry.field(default=strawberry.UNSET, description="Editorial notes.")
    citations: list[CitationInput] | None = strawberry.field(
        default=strawberry.UNSET, description="References."
    )


@strawberry.input(description="Changes to evidence: only the fields given change.")
class EvidencePatch:
    research: Research | None = strawberry.field(
        default=strawberry.UNSET, description="How much condition-specific research exists."
    )
    notes: str | None = strawberry.field(default=strawberry.UNSET, description="Editorial notes.")
    citations: list[CitationInput] | None = strawberry.field(
        default=strawberry.UNSET, description="References (replaces the list)."
    )


@strawberry.input(description="The publisher: only the fields given change.")
class PublisherInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Organisation name.")
    advisor_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Medical advisor's name."
    )
    advisor_credentials: str | None = strawberry.field(
        default=strawberry.UNSET, description="Medical advisor's credentials."
    )
    cta: str | None = strawberry.field(default=strawberry.UNSET, description="Call to action.")
    notice: str | None = strawberry.field(
        default=strawberry.UNSET, description="Notice under every byline."
    )

    def record(self) -> dict[str, Any]:
        r = as_record(self)
        advisor = {k: r.pop(f"advisor_{k}") for k in ("name", "credentials") if f"advisor_{k}" in r}
        if advisor:
            r["medical_advisor"] = advisor
        return r
