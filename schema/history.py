"""Editors' view of a review's history and schedule (``Review.restoredFrom``,
``Review.schedule``): what a restored draft was approved with, and the publishes and
unpublishes scheduled for it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from resolvers.history import RestoredFrom as RestoredFromRecord


@strawberry.type(
    description="The published revision a draft was restored from (`restoreRevision`), and "
    "whether the facts it was approved with are still today's."
)
class RestoredFrom:
    record: strawberry.Private[RestoredFromRecord]

    @strawberry.field(description="The number of the revision restored.")
    def revision(self) -> int:
        return self.record.revision.number

    @strawberry.field(description="Name of the reviewer's token that approved that revision.")
    def approved_by(self) -> str:
        return self.record.revision.approved_by

    @strawberry.field(description="When that revision was approved.")
    def approved_at(self) -> datetime:
        return self.record.revision.approved_at

    @strawberry.field(
        description="True when the facts (and template) that revision was approved with are "
        "the current ones: the restored draft can then be published as it is. False: the "
        "facts changed since; publishing is refused until the draft is regenerated "
        "(`generateReview`, which keeps the restored sections) and checked again."
    )
    def facts_current(self) -> bool:
        return self.record.facts_current


@strawberry.enum(description="What a scheduled action does.")
class ScheduledActionKind(enum.Enum):
    PUBLISH = strawberry.enum_value("PUBLISH", description="Approve and publish the review.")
    UNPUBLISH = strawberry.enum_value("UNPUBLISH", description="Take the review off the site.")


@strawberry.enum(description="Where a scheduled action stands.")
class ScheduleStatus(enum.Enum):
    PENDING = strawberry.enum_value("PENDING", description="Waiting for its time.")
    DONE = strawberry.enum_value("DONE", description="Carried out at its time.")
    FAILED = strawberry.enum_value(
        "FAILED", description="Refused at its time (see `failure`); nothing was changed."
    )
    CANCELLED = strawberry.enum_value("CANCELLED", description="Cancelled before its time.")


@strawberry.type(description="Why a scheduled action was refused at its time.")
class ScheduleFailure:
    data: strawberry.Private[dict[str, Any]]

    @strawberry.field(
        description="The error code the same mutation would have answered "
        "(CONFLICT, NOT_FOUND, BAD_USER_INPUT)."
    )
    def code(self) -> str:
        return str(self.data.get("code", "BAD_USER_INPUT"))

    @strawberry.field(
        description="A stable reason: CONFLICT (the review changed since it was scheduled), "
        "NOT_READY, UNACKNOWLEDGED_FINDINGS, INVALID_STATUS, APPROVER_INVALID..."
    )
    def reason(self) -> str:
        return str(self.data.get("reason", ""))

    @strawberry.field(description="What went wrong, for people.")
    def message(self) -> str:
        return str(self.data.get("message", ""))

    @strawberry.field(description="Everything recorded (problems, findings, revisions).")
    def details(self) -> JSON:
        return cast(JSON, self.data)


@strawberry.type(
    description="A publish or unpublish scheduled by a reviewer, run once at its time with "
    "the same gate as the mutation (editors, reviewers and admins only)."
)
class ScheduledAction:
    row: strawberry.Private[Any]

    @strawberry.field(description="The action's number (pass it to `cancelSchedule`).")
    def id(self) -> int:
        return int(self.row.id)

    @strawberry.field(description="What it does.")
    def action(self) -> ScheduledActionKind:
        return ScheduledActionKind(str(self.row.action))

    @strawberry.field(description="When it runs (or ran).")
    def at(self) -> datetime:
        return self.row.at  # type: ignore[no-any-return]

    @strawberry.field(description="Where it stands.")
    def status(self) -> ScheduleStatus:
        return ScheduleStatus(str(self.row.status))

    @strawberry.field(description="The reviewer's token that scheduled it: the approver.")
    def scheduled_by(self) -> str:
        return str(self.row.scheduled_by)

    @strawberry.field(
        description="The review's revision it was scheduled at: a publish publishes only "
        "that revision (an edit since makes it fail with CONFLICT)."
    )
    def expected_revision(self) -> int:
        return int(self.row.expected_revision)

    @strawberry.field(description="When it was scheduled.")
    def created_at(self) -> datetime:
        return self.row.created_at  # type: ignore[no-any-return]

    @strawberry.field(description="When it was carried out, refused or cancelled.")
    def finished_at(self) -> datetime | None:
        return self.row.finished_at  # type: ignore[no-any-return]

    @strawberry.field(description="Why it was refused at its time (FAILED only).")
    def failure(self) -> ScheduleFailure | None:
        return ScheduleFailure(data=self.row.failure) if self.row.failure else None
