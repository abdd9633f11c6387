"""Facts mutations: compounds, conditions, evidence and the publisher (editors).

Records are checked with the catalog file's rules (``editorial/facts.py``); a change
regenerates the drafts of the reviews built from the facts, up to the configured limit.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from editorial import facts
from editorial.permissions import CanEdit
from editorial.transaction import run
from resolvers import catalog as rc
from resolvers.context import Context
from resolvers.records import CompoundRecord, ConditionRecord, EvidenceRecord
from resolvers.relay import to_global_id
from schema.catalog import Compound, Condition
from schema.editorial import Evidence, Publisher
from schema.mutations.common import Expected, FactsEffect, as_record
from schema.mutations.fact_inputs import (
    CompoundInput,
    CompoundPatch,
    ConditionInput,
    ConditionPatch,
    EvidenceInput,
    EvidencePatch,
    PublisherInput,
)

CompoundSlug = Annotated[str, strawberry.argument(description="Compound slug.")]
ConditionSlug = Annotated[str, strawberry.argument(description="Condition slug.")]


# --- payloads -------------------------------------------------------------------------------


@strawberry.type(description="The compound after the change.")
class CompoundPayload:
    compound: Compound = strawberry.field(description="The compound as stored now.")
    effect: FactsEffect = strawberry.field(description="What happened to its reviews.")


@strawberry.type(description="The condition after the change.")
class ConditionPayload:
    condition: Condition = strawberry.field(description="The condition as stored now.")
    effect: FactsEffect = strawberry.field(description="What happened to its reviews.")


@strawberry.type(description="The evidence after the change.")
class EvidencePayload:
    evidence: Evidence = strawberry.field(description="The evidence as stored now.")
    effect: FactsEffect = strawberry.field(description="What happened to the pair's review.")


@strawberry.type(description="The publisher after the change.")
class PublisherPayload:
    publisher: Publisher = strawberry.field(description="The publisher as stored now.")
    effect: FactsEffect = strawberry.field(description="What happened to the reviews.")


@strawberry.type(description="A deleted record.")
class DeletePayload:
    deleted_id: strawberry.ID = strawberry.field(description="Global id of the deleted record.")
    key: str = strawberry.field(description="Its slug (or compound/condition for evidence).")
    deleted_reviews: int = strawberry.field(
        description="Unpublished reviews deleted with it (a record with published reviews "
        "cannot be deleted)."
    )


def _limit(ctx: Context) -> int:
    """How many drafts a change of facts regenerates at once (the rest stay stale)."""
    return ctx.settings.inline_regeneration_limit


async def _compound(ctx: Context, r: facts.FactsResult) -> CompoundPayload:
    row = await ctx.loaders.compound_by_id.load(r.record_id)
    return CompoundPayload(
        compound=Compound(record=CompoundRecord.working(row)), effect=FactsEffect.of(r)
    )


async def _condition(ctx: Context, r: facts.FactsResult) -> ConditionPayload:
    row = await ctx.loaders.condition_by_id.load(r.record_id)
    return ConditionPayload(
        condition=Condition(record=ConditionRecord.working(row)), effect=FactsEffect.of(r)
    )


async def _evidence(ctx: Context, r: facts.FactsResult) -> EvidencePayload:
    row = await ctx.loaders.evidence_by_id.load(r.record_id)
    return EvidencePayload(
        evidence=Evidence(record=EvidenceRecord.working(row)), effect=FactsEffect.of(r)
    )


def _deleted(d: facts.Deleted) -> DeletePayload:
    return DeletePayload(
        deleted_id=strawberry.ID(to_global_id(d.type_name, d.record_id)),
        key=d.key,
        deleted_reviews=d.deleted_reviews,
    )


# --- the mutations --------------------------------------------------------------------------


@strawberry.type
class FactMutations:
    @strawberry.mutation(description="Create a compound (editor).", permission_classes=[CanEdit])
    async def create_compound(
        self,
        info: strawberry.Info,
        input: Annotated[CompoundInput, strawberry.argument(description="The compound.")],
    ) -> CompoundPayload:
        ctx: Context = info.context
        r = await run(ctx, facts.create_fact, facts.COMPOUND_KIND, as_record(input), _limit(ctx))
        return await _compound(ctx, r)

    @strawberry.mutation(
        description="Change a compound's facts (editor). Its published reviews keep serving the "
        "approved text, turn stale, and get fresh drafts for re-review.",
        permission_classes=[CanEdit],
    )
    async def update_compound(
        self,
        info: strawberry.Info,
        slug: CompoundSlug,
        expected_revision: Expected,
        input: Annotated[CompoundPatch, strawberry.argument(description="The changes.")],
    ) -> CompoundPayload:
        ctx: Context = info.context
        r = await run(
            ctx,
            facts.update_fact,
            facts.COMPOUND_KIND,
            slug,
            expected_revision,
            as_record(input),
            _limit(ctx),
        )
        return await _compound(ctx, r)

    @strawberry.mutation(
        description="Delete a compound with its evidence and unpublished reviews (editor); "
        "refused while any of its reviews is published.",
        permission_classes=[CanEdit],
    )
    async def delete_compound(
        self, info: strawberry.Info, slug: CompoundSlug, expected_revision: Expected
    ) -> DeletePayload:
        return _deleted(
            await run(info.context, facts.delete_fact, facts.COMPOUND_KIND, slug, expected_revision)
        )

    @strawberry.mutation(description="Create a condition (editor).", permission_classes=[CanEdit])
    async def create_condition(
        self,
        info: strawberry.Info,
        input: Annotated[ConditionInput, strawberry.argument(description="The condition.")],
    ) -> ConditionPayload:
        ctx: Context = info.context
        r = await run(ctx, facts.create_fact, facts.CONDITION_KIND, as_record(input), _limit(ctx))
        return await _condition(ctx, r)

    @strawberry.mutation(
        description="Change a condition's facts (editor); its reviews are handled as for "
        "`updateCompound`.",
        permission_classes=[CanEdit],
    )
    async def update_condition(
        self,
        info: strawberry.Info,
        slug: ConditionSlug,
        expected_revision: Expected,
        input: Annotated[ConditionPatch, strawberry.argument(description="The changes.")],
    ) -> ConditionPayload:
        ctx: Context = info.context
        r = await run(
            ctx,
            facts.update_fact,
            facts.CONDITION_KIND,
            slug,
            expected_revision,
            as_record(input),
            _limit(ctx),
        )
        return await _condition(ctx, r)

    @strawberry.mutation(
        description="Delete a condition with its evidence and unpublished reviews (editor); "
        "refused while any of its reviews is published.",
        permission_classes=[CanEdit],
    )
    async def delete_condition(
        self, info: strawberry.Info, slug: ConditionSlug, expected_revision: Expected
    ) -> DeletePayload:
        return _deleted(
            await run(
                info.context, facts.delete_fact, facts.CONDITION_KIND, slug, expected_revision
            )
        )

    @strawberry.mutation(
        description="Link a compound and a condition with evidence (editor); the pair's review "
        "is generated as a draft.",
        permission_classes=[CanEdit],
    )
    async def create_evidence(
        self,
        info: strawberry.Info,
        input: Annotated[EvidenceInput, strawberry.argument(description="The evidence.")],
    ) -> EvidencePayload:
        ctx: Context = info.context
        return await _evidence(
            ctx, await run(ctx, facts.create_evidence, as_record(input), _limit(ctx))
        )

    @strawberry.mutation(
        description="Change the evidence of a pair (editor).", permission_classes=[CanEdit]
    )
    async def update_evidence(
        self,
        info: strawberry.Info,
        compound: CompoundSlug,
        condition: ConditionSlug,
        expected_revision: Expected,
        input: Annotated[EvidencePatch, strawberry.argument(description="The changes.")],
    ) -> EvidencePayload:
        ctx: Context = info.context
        patch = as_record(input)
        r = await run(
            ctx, facts.update_evidence, compound, condition, expected_revision, patch, _limit(ctx)
        )
        return await _evidence(ctx, r)

    @strawberry.mutation(
        description="Delete the evidence of a pair and its unpublished review (editor); refused "
        "while the review is published.",
        permission_classes=[CanEdit],
    )
    async def delete_evidence(
        self,
        info: strawberry.Info,
        compound: CompoundSlug,
        condition: ConditionSlug,
        expected_revision: Expected,
    ) -> DeletePayload:
        return _deleted(
            await run(info.context, facts.delete_evidence, compound, condition, expected_revision)
        )

    @strawberry.mutation(
        description="Create or change the publisher (editor). It is on every page: every "
        "review's draft is regenerated (up to the configured limit) and flagged for re-review.",
        permission_classes=[CanEdit],
    )
    async def update_publisher(
        self,
        info: strawberry.Info,
        input: Annotated[PublisherInput, strawberry.argument(description="The changes.")],
        expected_revision: Annotated[
            int | None,
            strawberry.argument(
                description="The publisher's `revision` you last read; omit only to create it."
            ),
        ] = None,
    ) -> PublisherPayload:
        ctx: Context = info.context
        r = await run(ctx, facts.set_publisher, expected_revision, input.record(), _limit(ctx))
        publisher = await rc.publisher(ctx)  # the working copy, as stored now
        assert publisher is not None
        return PublisherPayload(publisher=Publisher(record=publisher), effect=FactsEffect.of(r))
