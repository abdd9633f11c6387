"""History and scheduling mutations: restoring a published revision as the draft, and
scheduling publishes and unpublishes (run by the scheduler, ``editorial/scheduling.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from editorial import history, scheduling
from editorial.permissions import CanEdit, CanPublish
from editorial.refs import ReviewRef
from editorial.transaction import run_review
from resolvers.context import Context
from schema.mutations.common import Expected, PageLocale
from schema.mutations.reviews import ReviewPayload, ReviewSlug, review_payload

At = Annotated[
    datetime,
    strawberry.argument(
        description="When to run it (ISO 8601; without a zone, UTC): in the future, at most "
        "a year ahead."
    ),
]


@strawberry.type
class HistoryMutations:
    @strawberry.mutation(
        description="Make published revision `revision` the review's draft again (editor): its "
        "title, byline and sections (as EDITED, so regeneration keeps them) and the facts "
        "fingerprint it was approved with (`Review.restoredFrom` says whether today's facts "
        "still match). The draft goes through review again; readers keep the published "
        "revision until a reviewer publishes.",
        permission_classes=[CanEdit],
    )
    async def restore_revision(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        revision: Annotated[
            int, strawberry.argument(description="The published revision's number.")
        ],
        expected_revision: Expected,
        locale: PageLocale = None,
    ) -> ReviewPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        change = await run_review(ctx, history.restore_revision, ref, revision, expected_revision)
        return await review_payload(ctx, change)

    @strawberry.mutation(
        description="Schedule the publishing of a review IN_REVIEW (reviewer only). At its "
        "time it passes the same gate as `publishReview`, as you: it publishes only the "
        "revision you scheduled (an edit since makes it fail), with the findings you "
        "acknowledge here. A refusal publishes nothing and shows in `Review.schedule`.",
        permission_classes=[CanPublish],
    )
    async def schedule_publish(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        at: At,
        expected_revision: Expected,
        acknowledge: Annotated[
            list[str] | None,
            strawberry.argument(description="Ids of the content findings you acknowledge."),
        ] = None,
        locale: PageLocale = None,
    ) -> ReviewPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        when = scheduling.check_at(at)
        change = await run_review(
            ctx,
            scheduling.schedule_publish,
            ref,
            when,
            expected_revision,
            list(acknowledge or []),
        )
        return await review_payload(ctx, change)

    @strawberry.mutation(
        description="Schedule taking a published review off the site (reviewer only); it "
        "goes back to DRAFT at its time, as with `unpublishReview`.",
        permission_classes=[CanPublish],
    )
    async def schedule_unpublish(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        at: At,
        expected_revision: Expected,
        locale: PageLocale = None,
    ) -> ReviewPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        when = scheduling.check_at(at)
        change = await run_review(ctx, scheduling.schedule_unpublish, ref, when, expected_revision)
        return await review_payload(ctx, change)

    @strawberry.mutation(
        description="Cancel the review's pending scheduled actions, or only `action` (editor: "
        "anyone who may edit the text may stop its publication).",
        permission_classes=[CanEdit],
    )
    async def cancel_schedule(
        self,
        info: strawberry.Info,
        review: ReviewSlug,
        expected_revision: Expected,
        action: Annotated[
            int | None,
            strawberry.argument(description="The scheduled action's `id`; omit for all."),
        ] = None,
        locale: PageLocale = None,
    ) -> ReviewPayload:
        ctx: Context = info.context
        ref = ReviewRef.of(review, locale)
        change = await run_review(ctx, scheduling.cancel_schedule, ref, expected_revision, action)
        return await review_payload(ctx, change)
