"""Resolvers for the facts: compounds, conditions, evidence and the publisher.

Readers (no token) get the approved copy of a record (``public_*`` with its fact
version) and nothing of a record no reviewer approved; editors get the working
copy, with the approved one beside it (``approved``, ``hasUnapprovedChanges``).
"""

from __future__ import annotations

from typing import Any

from content.facts import citation_facts
from db import public, queries
from resolvers import locales, tags
from resolvers.context import Context
from resolvers.records import CompoundRecord, ConditionRecord, EvidenceRecord, PublisherRecord
from resolvers.relay import Listing, check_first, empty, keyset, listing


def citations(rows: list[Any]) -> list[dict[str, Any]]:
    return [citation_facts(str(c.kind), c.value, c.title) for c in rows]


def seen(ctx: Context, kind: str, record_id: int | None) -> None:
    """Note that the response shows this record's approved copy (or that it is not there),
    for the response cache's invalidation and the Surrogate-Key header."""
    ctx.depends(tags.record(kind, record_id))


# --- compounds and conditions --------------------------------------------------------------


async def compound(ctx: Context, slug: str, locale: str | None = None) -> CompoundRecord | None:
    if ctx.viewer.can_preview:
        row = await ctx.loaders.compound_by_slug.load(slug)
        record = CompoundRecord.working(row) if row is not None else None
    else:
        version = await ctx.loaders.approved_compound_by_slug.load(slug)
        seen(ctx, "compound", version.id if version is not None else None)
        record = CompoundRecord.snapshot(version) if version is not None else None
    if record is None:
        return None
    return (await locales.records_in(ctx, "compound", [record], locale))[0]


async def condition(ctx: Context, slug: str, locale: str | None = None) -> ConditionRecord | None:
    if ctx.viewer.can_preview:
        row = await ctx.loaders.condition_by_slug.load(slug)
        record = ConditionRecord.working(row) if row is not None else None
    else:
        version = await ctx.loaders.approved_condition_by_slug.load(slug)
        seen(ctx, "condition", version.id if version is not None else None)
        record = ConditionRecord.snapshot(version) if version is not None else None
    if record is None:
        return None
    return (await locales.records_in(ctx, "condition", [record], locale))[0]


async def compound_by_id(ctx: Context, record_id: int) -> CompoundRecord | None:
    if ctx.viewer.can_preview:
        row = await ctx.loaders.compound_by_id.load(record_id)
        return CompoundRecord.working(row) if row is not None else None
    return await approved_compound(ctx, record_id)


async def condition_by_id(ctx: Context, record_id: int) -> ConditionRecord | None:
    if ctx.viewer.can_preview:
        row = await ctx.loaders.condition_by_id.load(record_id)
        return ConditionRecord.working(row) if row is not None else None
    return await approved_condition(ctx, record_id)


async def approved_compound(ctx: Context, record_id: int) -> CompoundRecord | None:
    """The compound's approved copy; None when no reviewer approved it yet."""
    version = await ctx.loaders.approved_compound_by_id.load(record_id)
    seen(ctx, "compound", record_id if version is not None else None)
    return CompoundRecord.snapshot(version) if version is not None else None


async def approved_condition(ctx: Context, record_id: int) -> ConditionRecord | None:
    version = await ctx.loaders.approved_condition_by_id.load(record_id)
    seen(ctx, "condition", record_id if version is not None else None)
    return ConditionRecord.snapshot(version) if version is not None else None


async def compound_citations(ctx: Context, record: CompoundRecord) -> list[dict[str, Any]]:
    if record.citations is not None:
        return record.citations
    return citations(await ctx.loaders.citations_by_compound_id.load(record.id))


async def compounds_page(
    ctx: Context,
    first: int,
    after: str | None,
    order: str,
    name: str | None,
    slugs: list[str] | None,
    drug_class: str | None,
    unapproved: bool | None,
    codes: dict[str, str | None],
    locale: str | None = None,
) -> Listing[CompoundRecord]:
    """A page of compounds; ``codes`` (rxnorm, mesh) match exactly: readers the approved
    codes, editors the working copy's."""
    check_first(first, ctx.settings.max_page_size)
    preview = ctx.viewer.can_preview
    spec = (queries.COMPOUND_ORDERS if preview else public.COMPOUND_ORDERS)[order]
    key = keyset(after, order, spec)
    if preview:
        result = await ctx.db(
            queries.list_compounds, name, slugs, drug_class, unapproved, codes, order, first, key
        )
        records = [CompoundRecord.working(row) for row in result.rows]
    else:
        ctx.depends(tags.COMPOUNDS)
        if unapproved:  # readers only ever see approved copies
            return empty()
        result = await ctx.db(
            public.list_compounds, name, slugs, drug_class, codes, order, first, key
        )
        for row in result.rows:
            seen(ctx, "compound", row.id)
        records = [CompoundRecord.snapshot(row) for row in result.rows]
    records = await locales.records_in(ctx, "compound", records, locale)
    return listing(result, order, spec, records)


async def conditions_page(
    ctx: Context,
    first: int,
    after: str | None,
    order: str,
    name: str | None,
    slugs: list[str] | None,
    unapproved: bool | None,
    codes: dict[str, str | None],
    locale: str | None = None,
) -> Listing[ConditionRecord]:
    """A page of conditions; ``codes`` (icd10, mesh) match exactly, as for compounds."""
    check_first(first, ctx.settings.max_page_size)
    preview = ctx.viewer.can_preview
    spec = (queries.CONDITION_ORDERS if preview else public.CONDITION_ORDERS)[order]
    key = keyset(after, order, spec)
    if preview:
        result = await ctx.db(
            queries.list_conditions, name, slugs, unapproved, codes, order, first, key
        )
        records = [ConditionRecord.working(r) for r in result.rows]
    else:
        ctx.depends(tags.CONDITIONS)
        if unapproved:
            return empty()
        result = await ctx.db(public.list_conditions, name, slugs, codes, order, first, key)
        for row in result.rows:
            seen(ctx, "condition", row.id)
        records = [ConditionRecord.snapshot(row) for row in result.rows]
    records = await locales.records_in(ctx, "condition", records, locale)
    return listing(result, order, spec, records)


# --- evidence ------------------------------------------------------------------------------


async def evidence_of_pair(
    ctx: Context, compound_id: int, condition_id: int
) -> EvidenceRecord | None:
    if ctx.viewer.can_preview:
        row = await ctx.loaders.evidence_by_pair.load((compound_id, condition_id))
        return EvidenceRecord.working(row) if row is not None else None
    return await approved_evidence(ctx, compound_id, condition_id)


async def evidence_by_id(ctx: Context, record_id: int) -> EvidenceRecord | None:
    """Evidence by its id (`node`): readers, its approved copy (None when never approved);
    editors, the working copy."""
    if ctx.viewer.can_preview:
        row = await ctx.loaders.evidence_by_id.load(record_id)
        return EvidenceRecord.working(row) if row is not None else None
    version = await ctx.loaders.approved_evidence_by_id.load(record_id)
    if version is None:
        # It appears when a review built from it is published.
        ctx.depends(*tags.per_locale(tags.REVIEWS, ctx.settings.default_locale))
        return None
    ctx.depends(tags.record("evidence", record_id))
    return EvidenceRecord.snapshot(version, version.compound_id, version.condition_id)


async def approved_evidence(
    ctx: Context, compound_id: int, condition_id: int
) -> EvidenceRecord | None:
    version = await ctx.loaders.approved_evidence_by_pair.load((compound_id, condition_id))
    if version is None:
        return None
    ctx.depends(tags.record("evidence", version.id))
    return EvidenceRecord.snapshot(version, compound_id, condition_id)


async def evidence_citations(ctx: Context, record: EvidenceRecord) -> list[dict[str, Any]]:
    if record.citations is not None:
        return record.citations
    return citations(await ctx.loaders.citations_by_evidence_id.load(record.id))


async def evidence_compound(ctx: Context, record: EvidenceRecord) -> CompoundRecord | None:
    if record.compound is not None:
        return record.compound
    return await compound_by_id(ctx, record.compound_id)


async def evidence_condition(ctx: Context, record: EvidenceRecord) -> ConditionRecord | None:
    if record.condition is not None:
        return record.condition
    return await condition_by_id(ctx, record.condition_id)


# --- the publisher -------------------------------------------------------------------------


async def publisher(ctx: Context) -> PublisherRecord | None:
    if ctx.viewer.can_preview:
        row = await ctx.once("publisher", queries.publisher_row)
        return PublisherRecord.working(row) if row is not None else None
    return await approved_publisher(ctx)


async def approved_publisher(ctx: Context) -> PublisherRecord | None:
    ctx.depends(tags.PUBLISHER)
    version = await ctx.once("approved-publisher", public.approved_publisher)
    return PublisherRecord.snapshot(version) if version is not None else None


# --- what an editor is about to make public --------------------------------------------------


async def approved_of(ctx: Context, record: Any) -> Any:
    """The approved copy of a working record (None when never approved); a snapshot is its
    own approved copy."""
    if record.approved:
        return record
    if isinstance(record, CompoundRecord):
        return await approved_compound(ctx, record.id)
    if isinstance(record, ConditionRecord):
        return await approved_condition(ctx, record.id)
    if isinstance(record, EvidenceRecord):
        return await approved_evidence(ctx, record.compound_id, record.condition_id)
    return await approved_publisher(ctx)


async def has_unapproved_changes(ctx: Context, record: Any) -> bool:
    """Whether the working copy's facts differ from what readers get."""
    if record.approved:
        return False
    approved = await approved_of(ctx, record)
    return approved is None or approved.content_hash != record.content_hash
