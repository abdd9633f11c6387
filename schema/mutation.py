"""The Mutation root: the editorial workflow.

Each field checks the caller's role, then runs as one transaction (all or
nothing). Updates take the `expectedRevision` the caller last read and answer
CONFLICT when the record moved on meanwhile.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any

import strawberry

from db import queries
from db.publishing import Approval
from resolvers import editorial as ed
from resolvers import reviews as rr
from resolvers.context import Context
from resolvers.records import CompoundRecord, ConditionRecord, EvidenceRecord, PublisherRecord
from schema.catalog import Compound, Condition
from schema.common import Research, ReviewKind, SectionKey
from schema.editorial import ApiToken, ContentFinding, Evidence, Publisher, Role
from schema.review import Review, ReviewSection

Expected = Annotated[
    int,
    strawberry.argument(
        description="The record's `revision` you last read; CONFLICT when it has changed since."
    ),
]
ReviewSlug = Annotated[str, strawberry.argument(description="The review's slug.")]


def _record(obj: Any) -> dict[str, Any]:
    """An input object as a catalog record: unset fields left out, nested inputs converted."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is strawberry.UNSET:
            continue
        if isinstance(value, list):
            value = [_record(v) if dataclasses.is_dataclass(v) else v for v in value]
        elif isinstance(value, enum.Enum):
            value = value.name
        out[f.name] = value
    return out


# --- inputs ---------------------------------------------------------------------------------


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
        r = _record(self)
        advisor = {k: r.pop(f"advisor_{k}") for k in ("name", "credentials") if f"advisor_{k}" in r}
        if advisor:
            r["medical_advisor"] = advisor
        return r


@strawberry.enum(description="Format of a catalog file's content.")
class CatalogFormat(enum.Enum):
    YAML = strawberry.enum_value("YAML", description="YAML (as `compendium import` reads).")
    JSON = strawberry.enum_value("JSON", description="JSON.")


# --- payloads -------------------------------------------------------------------------------


@strawberry.type(description="What a change of facts did to the reviews built from them.")
class FactsEffect:
    affected_reviews: int = strawberry.field(
        description="Reviews whose inputs changed (published ones keep serving their approved "
        "revision and are now stale)."
    )
    regenerated_reviews: int = strawberry.field(
        description="Drafts regenerated from the new facts, ready for re-review."
    )
    stale_reviews: int = strawberry.field(
        description="Affected reviews left for `regenerateStaleReviews` (too many to do at once)."
    )


def _effect(r: ed.FactsResult) -> FactsEffect:
    return FactsEffect(
        affected_reviews=r.affected_reviews,
        regenerated_reviews=r.regenerated_reviews,
        stale_reviews=r.stale_reviews,
    )


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


@strawberry.type(description="Counts of one kind of record in an import.")
class ImportCount:
    kind: str = strawberry.field(
        description="publisher, compounds, conditions, evidence, templates."
    )
    created: int = strawberry.field(description="New records.")
    updated: int = strawberry.field(description="Changed records.")
    unchanged: int = strawberry.field(description="Records already as in the file.")


@strawberry.type(description="What an import did.")
class ImportPayload:
    counts: list[ImportCount] = strawberry.field(description="Per kind of record.")
    effect: FactsEffect = strawberry.field(description="What happened to the reviews.")


@strawberry.type(description="What a generation pass did.")
class GenerationPayload:
    total: int = strawberry.field(description="Pairs considered.")
    created: int = strawberry.field(description="New draft reviews.")
    refreshed: int = strawberry.field(description="Drafts regenerated from changed inputs.")
    unchanged: int = strawberry.field(description="Reviews already current.")
    remaining: int = strawberry.field(description="Stale reviews left for another pass.")


@strawberry.type(description="The review after the change.")
class ReviewPayload:
    review: Review = strawberry.field(description="The review (working copy, as editors see it).")
    findings: list[ContentFinding] = strawberry.field(
        description="Content findings in the edited text (acknowledged ones, after publishing)."
    )


@strawberry.type(description="The section after the change.")
class SectionPayload:
    review: Review = strawberry.field(description="The review (working copy).")
    section: ReviewSection = strawberry.field(description="The section as stored now.")


@strawberry.type(description="A new API token. Its secret is shown here once and never again.")
class CreatedApiToken:
    token: str = strawberry.field(description="The secret: send it as `Authorization: Bearer`.")
    api_token: ApiToken = strawberry.field(description="The stored token (without its secret).")


# --- helpers --------------------------------------------------------------------------------


def _ctx(info: strawberry.Info) -> Context:
    return info.context  # type: ignore[no-any-return]


async def _review(ctx: Context, review_id: int) -> Review:
    row = await ctx.loaders.review_by_id.load(review_id)
    view = await rr.view(ctx, row)
    assert view is not None  # editors see every review
    return Review(view=view)


async def _review_payload(
    ctx: Context, review_id: int, findings: list[Any] | None = None
) -> ReviewPayload:
    review = await _review(ctx, review_id)
    if findings is None:
        from resolvers.revisions import findings as check

        findings = check(ctx, review.view)
    return ReviewPayload(review=review, findings=[ContentFinding.of(f) for f in findings])


async def _section_payload(ctx: Context, review_id: int, key: str) -> SectionPayload:
    review = await _review(ctx, review_id)
    section = rr.section(review.view, key)
    assert section is not None
    return SectionPayload(review=review, section=ReviewSection(section=section))


def _deleted(r: ed.FactsResult) -> DeletePayload:
    from resolvers.relay import to_global_id

    return DeletePayload(
        deleted_id=strawberry.ID(to_global_id(r.extra["type"], r.record_id or 0)),
        key=r.extra["slug"],
        deleted_reviews=r.extra["deleted_reviews"],
    )


# What readers see changes only with approvals (publishing) and withdrawals (unpublishing,
# archiving, deleting a record): those invalidate the cached responses that contain the
# records (and the lists they may enter or leave). Working-copy edits (facts, sections,
# generation, submission, imports) change nothing readers get and invalidate nothing.


def _fact_tags(kind: str, record_id: int | None) -> list[str]:
    return [f"{kind}:{record_id}", f"list:{kind}s", "list:search", "changes"]


def _review_tags(review_id: int) -> list[str]:
    return [f"review:{review_id}", "list:reviews", "list:search", "changes"]


def _approval_tags(approval: Approval) -> list[str]:
    tags = [t for rid in approval.reviews for t in _review_tags(rid)]
    tags += [t for cid in approval.compounds for t in _fact_tags("compound", cid)]
    tags += [t for did in approval.conditions for t in _fact_tags("condition", did)]
    tags += [f"evidence:{eid}" for eid in approval.evidence]
    if approval.publisher:
        tags.append("publisher")
    return tags


async def _write_fact(
    info: strawberry.Info, unit: Any, kind: ed.CatalogKind, *args: Any
) -> tuple[Any, FactsEffect]:
    """Create or update a compound or condition; its working copy as stored now and the effect."""
    ctx = _ctx(info)
    actor = ed.require(ctx, "edit")
    limit = ctx.settings.inline_regeneration_limit
    r = await ed.write(ctx, unit, actor, kind, *args, limit)
    loader = ctx.loaders.compound_by_id if kind is ed.COMPOUND_KIND else ctx.loaders.condition_by_id
    return await loader.load(r.record_id), _effect(r)


async def _delete_fact(
    info: strawberry.Info, kind: ed.CatalogKind, slug: str, expected: int
) -> DeletePayload:
    ctx = _ctx(info)
    actor = ed.require(ctx, "edit")
    r = await ed.write(ctx, ed.delete_fact, actor, kind, slug, expected)
    # Its approved copy (if any) went with it.
    await ctx.invalidate(*_fact_tags(kind.name, r.record_id))
    return _deleted(r)


def _wake_webhooks(ctx: Context) -> None:
    dispatcher = getattr(ctx.app_state, "webhooks", None)
    if dispatcher is not None:
        dispatcher.wake()


# --- the root -------------------------------------------------------------------------------


@strawberry.type(
    description="Change facts and reviews (editorial workflow). Every mutation needs an API "
    "token; each runs in one transaction, all or nothing, and is recorded in the audit log."
)
class Mutation:
    @strawberry.mutation(description="Create a compound (editor).")
    async def create_compound(
        self,
        info: strawberry.Info,
        input: Annotated[CompoundInput, strawberry.argument(description="The compound.")],
    ) -> CompoundPayload:
        row, effect = await _write_fact(info, ed.create_fact, ed.COMPOUND_KIND, _record(input))
        return CompoundPayload(compound=Compound(record=CompoundRecord.working(row)), effect=effect)

    @strawberry.mutation(
        description="Change a compound's facts (editor). Its published reviews keep serving the "
        "approved text, turn stale, and get fresh drafts for re-review."
    )
    async def update_compound(
        self,
        info: strawberry.Info,
        slug: Annotated[str, strawberry.argument(description="Compound slug.")],
        expected_revision: Expected,
        input: Annotated[CompoundPatch, strawberry.argument(description="The changes.")],
    ) -> CompoundPayload:
        row, effect = await _write_fact(
            info, ed.update_fact, ed.COMPOUND_KIND, slug, expected_revision, _record(input)
        )
        return CompoundPayload(compound=Compound(record=CompoundRecord.working(row)), effect=effect)

    @strawberry.mutation(
        description="Delete a compound with its evidence and unpublished reviews (editor); "
        "refused while any of its reviews is published."
    )
    async def delete_compound(
        self,
        info: strawberry.Info,
        slug: Annotated[str, strawberry.argument(description="Compound slug.")],
        expected_revision: Expected,
    ) -> DeletePayload:
        return await _delete_fact(info, ed.COMPOUND_KIND, slug, expected_revision)

    @strawberry.mutation(description="Create a condition (editor).")
    async def create_condition(
        self,
        info: strawberry.Info,
        input: Annotated[ConditionInput, strawberry.argument(description="The condition.")],
    ) -> ConditionPayload:
        row, effect = await _write_fact(info, ed.create_fact, ed.CONDITION_KIND, _record(input))
        return ConditionPayload(
            condition=Condition(record=ConditionRecord.working(row)), effect=effect
        )

    @strawberry.mutation(
        description="Change a condition's facts (editor); its reviews are handled as for "
        "`updateCompound`."
    )
    async def update_condition(
        self,
        info: strawberry.Info,
        slug: Annotated[str, strawberry.argument(description="Condition slug.")],
        expected_revision: Expected,
        input: Annotated[ConditionPatch, strawberry.argument(description="The changes.")],
    ) -> ConditionPayload:
        row, effect = await _write_fact(
            info, ed.update_fact, ed.CONDITION_KIND, slug, expected_revision, _record(input)
        )
        return ConditionPayload(
            condition=Condition(record=ConditionRecord.working(row)), effect=effect
        )

    @strawberry.mutation(
        description="Delete a condition with its evidence and unpublished reviews (editor); "
        "refused while any of its reviews is published."
    )
    async def delete_condition(
        self,
        info: strawberry.Info,
        slug: Annotated[str, strawberry.argument(description="Condition slug.")],
        expected_revision: Expected,
    ) -> DeletePayload:
        return await _delete_fact(info, ed.CONDITION_KIND, slug, expected_revision)

    @strawberry.mutation(
        description="Link a compound and a condition with evidence (editor); the pair's review "
        "is generated as a draft."
    )
    async def create_evidence(
        self,
        info: strawberry.Info,
        input: Annotated[EvidenceInput, strawberry.argument(description="The evidence.")],
    ) -> EvidencePayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        r = await ed.write(
            ctx, ed.create_evidence, actor, _record(input), ctx.settings.inline_regeneration_limit
        )
        row = await ctx.loaders.evidence_by_id.load(r.record_id)
        return EvidencePayload(
            evidence=Evidence(record=EvidenceRecord.working(row)), effect=_effect(r)
        )

    @strawberry.mutation(description="Change the evidence of a pair (editor).")
    async def update_evidence(
        self,
        info: strawberry.Info,
        compound: Annotated[str, strawberry.argument(description="Compound slug.")],
        condition: Annotated[str, strawberry.argument(description="Condition slug.")],
        expected_revision: Expected,
        input: Annotated[EvidencePatch, strawberry.argument(description="The changes.")],
    ) -> EvidencePayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        r = await ed.write(
            ctx,
            ed.update_evidence,
            actor,
            compound,
            condition,
            expected_revision,
            _record(input),
            ctx.settings.inline_regeneration_limit,
        )
        row = await ctx.loaders.evidence_by_id.load(r.record_id)
        return EvidencePayload(
            evidence=Evidence(record=EvidenceRecord.working(row)), effect=_effect(r)
        )

    @strawberry.mutation(
        description="Delete the evidence of a pair and its unpublished review (editor); refused "
        "while the review is published."
    )
    async def delete_evidence(
        self,
        info: strawberry.Info,
        compound: Annotated[str, strawberry.argument(description="Compound slug.")],
        condition: Annotated[str, strawberry.argument(description="Condition slug.")],
        expected_revision: Expected,
    ) -> DeletePayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        r = await ed.write(ctx, ed.delete_evidence, actor, compound, condition, expected_revision)
        # Its approved copy (if any) went with it.
        await ctx.invalidate(f"evidence:{r.record_id}")
        return _deleted(r)

    @strawberry.mutation(
        description="Create or change the publisher (editor). It is on every page: every "
        "review's draft is regenerated (up to the configured limit) and flagged for re-review."
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
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        r = await ed.write(
            ctx,
            ed.set_publisher,
            actor,
            expected_revision,
            input.record(),
            ctx.settings.inline_regeneration_limit,
        )
        row = await ctx.db(queries.publisher_row)
        return PublisherPayload(
            publisher=Publisher(record=PublisherRecord.working(row)), effect=_effect(r)
        )

    @strawberry.mutation(
        description="Import a catalog file's content (editor): validated as a whole first, "
        "every problem reported with its path, then upserted by slug; nothing is written when "
        "anything is wrong."
    )
    async def import_catalog(
        self,
        info: strawberry.Info,
        content: Annotated[str, strawberry.argument(description="The file's text.")],
        format: Annotated[
            CatalogFormat, strawberry.argument(description="YAML or JSON.")
        ] = CatalogFormat.YAML,
        generate: Annotated[
            bool,
            strawberry.argument(
                description="Generate drafts for new and changed pairs (up to the limit)."
            ),
        ] = True,
    ) -> ImportPayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        r = await ed.write(
            ctx,
            ed.import_catalog,
            actor,
            content,
            format.name.lower(),
            generate,
            ctx.settings.inline_regeneration_limit,
        )
        report = r.report
        assert report is not None
        kinds = ["publisher", "compounds", "conditions", "evidence", "templates"]
        return ImportPayload(
            counts=[
                ImportCount(
                    kind=k,
                    created=report.created.get(k, 0),
                    updated=report.updated.get(k, 0),
                    unchanged=report.unchanged.get(k, 0),
                )
                for k in kinds
            ],
            effect=_effect(r),
        )

    @strawberry.mutation(
        description="Generate (or regenerate) the draft of one pair's review from the current "
        "facts and template (editor); sections an editor changed are kept."
    )
    async def generate_review(
        self,
        info: strawberry.Info,
        compound: Annotated[str, strawberry.argument(description="Compound slug.")],
        condition: Annotated[str, strawberry.argument(description="Condition slug.")],
        kind: Annotated[
            ReviewKind, strawberry.argument(description="Review kind.")
        ] = ReviewKind.SAFETY,
    ) -> ReviewPayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        review_id = await ed.write_review(
            ctx, ed.generate_review, actor, compound, condition, kind.name
        )
        return await _review_payload(ctx, review_id)

    @strawberry.mutation(
        description="Regenerate the drafts of stale reviews (editor), at most `limit` at a time."
    )
    async def regenerate_stale_reviews(
        self,
        info: strawberry.Info,
        limit: Annotated[
            int, strawberry.argument(description="At most this many (1 to 5000).")
        ] = 1000,
    ) -> GenerationPayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        if not 1 <= limit <= 5000:
            from resolvers.errors import BadUserInput

            raise BadUserInput("`limit` must be between 1 and 5000", argument="limit")
        report = await ed.write(ctx, ed.regenerate_stale, actor, limit)
        return GenerationPayload(
            total=report.total,
            created=report.created,
            refreshed=report.refreshed,
            unchanged=report.skipped,
            remaining=report.remaining,
        )

    @strawberry.mutation(
        description="Replace a section's text (editor). The body uses the templates' light "
        'markup: blank lines separate paragraphs, "- " starts a list item, **...** is bold, '
        '"Q:"/"A:" lines are FAQ pairs. The section becomes EDITED (kept by regeneration) and '
        "the review goes back to DRAFT; readers keep the published revision."
    )
    async def update_section(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        key: Annotated[SectionKey, strawberry.argument(description="The section.")],
        expected_revision: Annotated[
            int, strawberry.argument(description="The section's `revision` you last read.")
        ],
        body: Annotated[str, strawberry.argument(description="The new text (light markup).")],
        heading: Annotated[
            str | None,
            strawberry.argument(description="A new heading; omit to keep the current one."),
        ] = strawberry.UNSET,
    ) -> SectionPayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        blocks = ed.section_blocks(body, key.name)
        keep = heading is strawberry.UNSET
        heading = ed.check_heading(None if keep else heading)
        review_id = await ed.write_review(
            ctx,
            ed.update_section,
            actor,
            review,
            key.name,
            expected_revision,
            blocks,
            None if keep else heading,
            keep,
        )
        return await _section_payload(ctx, review_id, key.name)

    @strawberry.mutation(
        description="Put a section back to the text generated from the current facts (editor)."
    )
    async def reset_section(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        key: Annotated[SectionKey, strawberry.argument(description="The section.")],
        expected_revision: Annotated[
            int, strawberry.argument(description="The section's `revision` you last read.")
        ],
    ) -> SectionPayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        review_id = await ed.write_review(
            ctx, ed.reset_section, actor, review, key.name, expected_revision
        )
        return await _section_payload(ctx, review_id, key.name)

    @strawberry.mutation(
        description="Submit a DRAFT for medical review (editor); refused when a mandatory "
        "section is empty or the draft is stale."
    )
    async def submit_for_review(
        self, info: strawberry.Info, review: ReviewSlug, expected_revision: Expected
    ) -> ReviewPayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        review_id = await ed.write_review(
            ctx, ed.submit_for_review, actor, review, expected_revision
        )
        return await _review_payload(ctx, review_id)

    @strawberry.mutation(
        description="Approve and publish a review IN_REVIEW (reviewer only). The publish gate "
        "requires every mandatory section, a draft built from the current facts, and the "
        "acknowledgement of every content finding in edited text. Stores an immutable revision "
        "of exactly the text approved, which is what readers get from then on."
    )
    async def publish_review(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        expected_revision: Expected,
        acknowledge: Annotated[
            list[str] | None,
            strawberry.argument(description="Ids of the content findings you acknowledge."),
        ] = None,
    ) -> ReviewPayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "publish")
        outcome = await ed.write_review(
            ctx,
            ed.publish_review,
            actor,
            review,
            expected_revision,
            list(acknowledge or []),
            ctx.review_interval,
            ctx.settings.webhook_urls,
        )
        _wake_webhooks(ctx)
        await ctx.invalidate(*_approval_tags(outcome.approval))
        return await _review_payload(ctx, outcome.review_id, outcome.acknowledged)

    @strawberry.mutation(
        description="Take a review off the site (editor); it goes back to DRAFT and its "
        "revisions are kept."
    )
    async def unpublish_review(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        expected_revision: Expected,
        reason: Annotated[
            str | None, strawberry.argument(description="Why (kept in the audit log).")
        ] = None,
    ) -> ReviewPayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        review_id = await ed.write_review(
            ctx,
            ed.unpublish_review,
            actor,
            review,
            expected_revision,
            ed.check_reason(reason),
            False,
            ctx.settings.webhook_urls,
        )
        _wake_webhooks(ctx)
        await ctx.invalidate(*_review_tags(review_id))
        return await _review_payload(ctx, review_id)

    @strawberry.mutation(
        description="Withdraw a review for good (editor): off the site, no longer edited; "
        "`restoreReview` brings it back as a draft."
    )
    async def archive_review(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        expected_revision: Expected,
        reason: Annotated[
            str | None, strawberry.argument(description="Why (kept in the audit log).")
        ] = None,
    ) -> ReviewPayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        review_id = await ed.write_review(
            ctx,
            ed.unpublish_review,
            actor,
            review,
            expected_revision,
            ed.check_reason(reason),
            True,
            ctx.settings.webhook_urls,
        )
        _wake_webhooks(ctx)
        await ctx.invalidate(*_review_tags(review_id))
        return await _review_payload(ctx, review_id)

    @strawberry.mutation(description="Bring an archived review back as a DRAFT (editor).")
    async def restore_review(
        self, info: strawberry.Info, review: ReviewSlug, expected_revision: Expected
    ) -> ReviewPayload:
        ctx = _ctx(info)
        actor = ed.require(ctx, "edit")
        review_id = await ed.write_review(ctx, ed.restore_review, actor, review, expected_revision)
        return await _review_payload(ctx, review_id)

    @strawberry.mutation(
        description="Create an EDITOR or ADMIN API token (admin); its secret is shown once. "
        "REVIEWER tokens publish (medical sign-off), which admins may not: they are created "
        "only by an operator with `compendium token create --role reviewer`, and asking for "
        "one here is FORBIDDEN."
    )
    async def create_api_token(
        self,
        info: strawberry.Info,
        name: Annotated[str, strawberry.argument(description="Unique name (1-80 characters).")],
        role: Annotated[Role, strawberry.argument(description="What it may do: EDITOR or ADMIN.")],
    ) -> CreatedApiToken:
        ctx = _ctx(info)
        actor = ed.require(ctx, "admin")
        ed.check_mintable_role(role.name)
        ed.check_token_name(name)
        secret, row = await ed.write(ctx, ed.create_token, actor, name, role.name)
        return CreatedApiToken(token=secret, api_token=ApiToken(row=row))

    @strawberry.mutation(description="Revoke an API token (admin); it stops working at once.")
    async def revoke_api_token(
        self,
        info: strawberry.Info,
        name: Annotated[str, strawberry.argument(description="The token's name.")],
    ) -> ApiToken:
        ctx = _ctx(info)
        actor = ed.require(ctx, "admin")
        return ApiToken(row=await ed.write(ctx, ed.revoke_token, actor, name))
