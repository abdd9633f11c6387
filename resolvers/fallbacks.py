"""Which of a page's facts fell back to another locale than the page's own.

A translation is composed from its facts localized along its locale's chain (generation,
content/locales.py): a field without a translation in the page's locale takes the next
locale's value. Readers' answer is read off the facts the page was approved with (its
revision's fact versions hold their translations); editors' off the working facts.
"""

from __future__ import annotations

from typing import Any

from content.facts import compound_facts, condition_facts, evidence_facts, publisher_facts
from content.locales import localize_facts
from db import queries
from resolvers.content import ReviewView
from resolvers.context import Context

KINDS = ("compound", "condition", "evidence", "publisher")
# The API's names of the translatable fields (camelCase, as the types have them).
API_NAMES = {
    "drug_class": "drugClass",
    "safety_profile": "safetyProfile",
    "regulatory_status": "regulatoryStatus",
    "evidence_level": "evidenceLevel",
    "full_name": "fullName",
    "advisor_credentials": "advisorCredentials",
}


async def fallback_fields(ctx: Context, v: ReviewView) -> list[str]:
    """``kind.field`` of each translatable fact the page shows in a later locale of its
    chain than its own (empty for the default locale's pages)."""
    chain = ctx.settings.locale_chains.get(v.locale, [v.locale])
    if len(chain) < 2:
        return []
    facts = await (_approved(ctx, v) if v.published else _working(ctx, v))
    out: list[str] = []
    for kind in KINDS:
        given = facts.get(kind)
        if given is None:
            continue
        values, translations = given
        for name in localize_facts(kind, values, translations, chain).fell_back:
            out.append(f"{kind}.{API_NAMES.get(name, name)}")
    return out


async def _approved(ctx: Context, v: ReviewView) -> dict[str, Any]:
    row = v.row
    ids = [
        row.compound_version_id,
        row.condition_version_id,
        row.evidence_version_id,
        row.publisher_version_id,
    ]
    versions = await ctx.loaders.fact_version_by_id.load_many([i or 0 for i in ids])
    out: dict[str, Any] = {}
    for kind, version in zip(KINDS, versions, strict=True):
        if version is not None:
            facts = dict(version.facts)
            out[kind] = (facts, facts.pop("translations", None))
    return out


async def _working(ctx: Context, v: ReviewView) -> dict[str, Any]:
    compound = await ctx.loaders.compound_by_id.load(v.compound_id)
    condition = await ctx.loaders.condition_by_id.load(v.condition_id)
    evidence = await ctx.loaders.evidence_by_pair.load((v.compound_id, v.condition_id))
    publisher = await ctx.once("publisher", queries.publisher_row)
    out: dict[str, Any] = {}
    for kind, row, facts in (
        ("compound", compound, compound_facts),
        ("condition", condition, condition_facts),
        ("evidence", evidence, evidence_facts),
        ("publisher", publisher, publisher_facts),
    ):
        if row is not None:
            out[kind] = (facts(row), row.translations)
    return out
