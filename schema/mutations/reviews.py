"""Review mutations: generating drafts, editing sections, and the workflow (submit,
publish, unpublish, archive, restore)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from editorial import imports, sections, workflow
from editorial.outcome import ReviewChange
from editorial.permissions import CanEdit, CanPublish
from editorial.refs import ReviewRef, check_locale
from editorial.transaction import run, run_review
from resolvers import reviews as rr
from resolvers import revisions as rv
from resolvers.context import Context
from schema.common import ReviewKind, SectionKey
from schema.editorial import ContentFinding
from schema.mutations.common import Expected, PageLocale
from schema.review import Review, ReviewSection

ReviewSlug = Annotated[str, strawberry.argument(description="The review's slug.")]
Reason = Annotated[str | None, strawberry.argument(description="Why (kept in the audit log).")]
SectionRevision = Annotated[
    int, strawberry.argument(description="The section's `revision` you last read.")
]


# --- payloads -------------------------------------------------------------------------------


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


async def _review(ctx: Context, review_id: int) -> Review:
    row = await ctx.loaders.review_by_id.load(review_id)
    view = await rr.view(ctx, row)
    assert view is not None  # editors see every review
    return Review(source=view)


async def review_payload(ctx: Context, change: ReviewChange) -> ReviewPayload:
    review = await _review(ctx, change.review_id)
    findings = change.acknowledged
    if findings is None:
        findings = rv.findings(review.view)
    return ReviewPayload(review=review, findings=[ContentFinding.of(f) for f in findings])


async def _section_payload(ctx: Context, change: ReviewChange, key: str) -> SectionPayload:
    review = await _review(ctx, change.review_id)
    section = rr.section(review.view, key)
    assert section is not None
    return SectionPayload(review=review, section=ReviewSection(section=section))


# --- the mutations --------------------------------------------------------------------------


@strawberry.type
class ReviewMutations:
    @strawberry.mutation(
        description="Generate (or regenerate) the draft of one pair's review from the current "
        "facts and template (editor); sections an editor changed are kept. With a `locale` "
        "other than the default, the pair's translation into it: made from the default "
        "locale's published page with that locale's active template and the facts in that "
        "locale (along its fallback chain); refused (BAD_USER_INPUT, reason NO_SOURCE) while "
        "the default locale's page is not published, or NO_TEMPLATE without an active "
        "template in that locale.",
        permission_classes=[CanEdit],
    )
    async def generate_review(
        self,
        info: strawberry.Info,
        compound: Annotated[str, strawberry.argument(description="Compound slug.")],
        condition: Annotated[str, strawberry.argument(description="Condition slug.")],
        kind: Annotated[
            ReviewKind, strawberry.argument(description="Review kind.")
        ] = ReviewKind.SAFETY,
        locale: PageLocale = None,
    ) -> ReviewPayload:
        ctx: Context = info.context
        tag = check_locale(locale)
        change = await run_review(
            ctx, workflow.generate_review, compound, condition, kind.name, tag
        )
        return await review_payload(ctx, change)

    @strawberry.mutation(
        description="Regenerate the drafts of stale reviews (editor), at most `limit` at a time: "
        "the default locale's, then the translations whose facts, template or source page "
        "changed (a translation's source: the default locale's published revision it was "
        "made from).",
        permission_classes=[CanEdit],
    )
    async def regenerate_stale_reviews(
        self,
        info: strawberry.Info,
        limit: Annotated[
            int, strawberry.argument(description="At most this many (1 to 5000).")
        ] = 1000,
    ) -> GenerationPayload:
        report = await run(
            info.context, imports.regenerate_stale, imports.check_regenerate_limit(limit)
        )
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
        "the review goes back to DRAFT; readers keep the published revision.",
        permission_classes=[CanEdit],
    )
    async def update_section(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        key: Annotated[SectionKey, strawberry.argument(description="The section.")],
        expected_revision: SectionRevision,
        body: Annotated[str, strawberry.argument(description="The new text (light markup).")],
        heading: Annotated[
            str | None,
            strawberry.argument(description="A new heading; omit to keep the current one."),
        ] = strawberry.UNSET,
        locale: PageLocale = None,
    ) -> SectionPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        blocks = sections.section_blocks(body, key.name)
        keep = heading is strawberry.UNSET
        new_heading = None if keep else sections.check_heading(heading)
        change = await run_review(
            ctx,
            sections.update_section,
            ref,
            key.name,
            expected_revision,
            blocks,
            new_heading,
            keep,
        )
        return await _section_payload(ctx, change, key.name)

    @strawberry.mutation(
        description="Put a section back to the text generated from the current facts (editor).",
        permission_classes=[CanEdit],
    )
    async def reset_section(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        key: Annotated[SectionKey, strawberry.argument(description="The section.")],
        expected_revision: SectionRevision,
        locale: PageLocale = None,
    ) -> SectionPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        change = await run_review(ctx, sections.reset_section, ref, key.name, expected_revision)
        return await _section_payload(ctx, change, key.name)

    @strawberry.mutation(
        description="Submit a DRAFT for medical review (editor); refused when a mandatory "
        "section is empty or the draft is stale.",
        permission_classes=[CanEdit],
    )
    async def submit_for_review(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        expected_revision: Expected,
        locale: PageLocale = None,
    ) -> ReviewPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        change = await run_review(ctx, workflow.submit_for_review, ref, expected_revision)
        return await review_payload(ctx, change)

    @strawberry.mutation(
        description="Approve and publish a review IN_REVIEW (reviewer only). The publish gate "
        "requires every mandatory section, a draft built from the current facts, and the "
        "acknowledgement of every content finding in edited text. Stores an immutable revision "
        "of exactly the text approved, which is what readers get from then on.",
        permission_classes=[CanPublish],
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
        locale: PageLocale = None,
    ) -> ReviewPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        change = await run_review(
            ctx,
            workflow.publish_review,
            ref,
            expected_revision,
            list(acknowledge or []),
            ctx.review_interval,
            ctx.settings.webhook_urls,
        )
        return await review_payload(ctx, change)

    @strawberry.mutation(
        description="Take a review off the site (editor); it goes back to DRAFT and its "
        "revisions are kept.",
        permission_classes=[CanEdit],
    )
    async def unpublish_review(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        expected_revision: Expected,
        reason: Reason = None,
        locale: PageLocale = None,
    ) -> ReviewPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        reason = workflow.check_reason(reason)
        urls = ctx.settings.webhook_urls
        change = await run_review(
            ctx, workflow.unpublish_review, ref, expected_revision, reason, urls
        )
        return await review_payload(ctx, change)

    @strawberry.mutation(
        description="Withdraw a review for good (editor): off the site, no longer edited; "
        "`restoreReview` brings it back as a draft.",
        permission_classes=[CanEdit],
    )
    async def archive_review(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        expected_revision: Expected,
        reason: Reason = None,
        locale: PageLocale = None,
    ) -> ReviewPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        reason = workflow.check_reason(reason)
        urls = ctx.settings.webhook_urls
        change = await run_review(
            ctx, workflow.archive_review, ref, expected_revision, reason, urls
        )
        return await review_payload(ctx, change)

    @strawberry.mutation(
        description="Bring an archived review back as a DRAFT (editor).",
        permission_classes=[CanEdit],
    )
    async def restore_review(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        expected_revision: Expected,
        locale: PageLocale = None,
    ) -> ReviewPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        change = await run_review(ctx, workflow.restore_review, ref, expected_revision)
        return await review_payload(ctx, change)
