"""Scheduled publishing: a reviewer schedules a publish or unpublish; a runner carries
it out at its time, exactly once, through the same units of work as the mutations.

Scheduling checks what it can now (the reviewer's role, the review's revision and
status, the time); the run passes the whole gate again at its time: the scheduling
reviewer's token must still be an active reviewer, and a publish publishes only the
revision that was scheduled (an edit since makes it fail with CONFLICT: a reviewer
approves a text, not whatever the draft becomes), with the findings acknowledged when
scheduling. A failed run publishes nothing; its failure is kept on the action
(``Review.schedule``) and in the audit log.

Runners (``server/scheduler.py`` in every app process, ``compendium schedule run-due``)
claim each due action in the database (``db/scheduling.py``), then run it in one
transaction that also marks it DONE only if they still hold the claim, and apply the
unit's ``Outcome`` after the commit, exactly as a manual publish does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from db import editorial as ed
from db import scheduling as sched
from db.engine import Database
from db.models import ReviewStatus, utcnow
from db.operations import ScheduleAction
from db.tables import REVIEW
from db.tokens import token_by_name
from editorial import workflow
from editorial.outcome import Done, ReviewChange, apply
from editorial.permissions import Actor
from editorial.refs import ReviewRef
from resolvers.context import Effects
from resolvers.errors import BadUserInput

MAX_AHEAD = timedelta(days=365)


def check_at(at: datetime, now: datetime | None = None) -> datetime:
    """When to run, in UTC (a time without zone counts as UTC), or BAD_USER_INPUT."""
    now = now or utcnow()
    try:
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except OverflowError:  # (year 1 or 9999 with an offset)
        raise BadUserInput("`at` is out of range", argument="at") from None
    if at <= now:
        raise BadUserInput("`at` is in the past", argument="at")
    if at > now + MAX_AHEAD:
        raise BadUserInput("`at` is more than a year ahead", argument="at")
    return at


# --- scheduling (mutations) ------------------------------------------------------------------


def schedule_publish(
    session: Session,
    actor: Actor,
    ref: ReviewRef,
    at: datetime,
    expected: int,
    acknowledge: list[str],
) -> Done[ReviewChange]:
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    ed.claim(session, REVIEW, review.id, expected, "review", str(ref))
    if review.status != ReviewStatus.IN_REVIEW:
        raise ed.Refused(
            f"only a review IN_REVIEW can be scheduled for publishing; this one is {review.status}",
            "INVALID_STATUS",
            status=str(review.status),
        )
    return _schedule(session, actor, ref, review, ScheduleAction.PUBLISH, at, expected, acknowledge)


def schedule_unpublish(
    session: Session, actor: Actor, ref: ReviewRef, at: datetime, expected: int
) -> Done[ReviewChange]:
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    ed.claim(session, REVIEW, review.id, expected, "review", str(ref))
    if review.published_revision_id is None:
        raise ed.Refused("the review is not published", "INVALID_STATUS", status=str(review.status))
    return _schedule(session, actor, ref, review, ScheduleAction.UNPUBLISH, at, expected, [])


def _schedule(
    session: Session,
    actor: Actor,
    ref: ReviewRef,
    review: Any,
    action: ScheduleAction,
    at: datetime,
    expected: int,
    acknowledge: list[str],
) -> Done[ReviewChange]:
    action_id = sched.insert_action(
        session, review.id, action, at, actor.name, expected, acknowledge, utcnow()
    )
    actor.audit(
        session,
        "schedulePublish" if action == ScheduleAction.PUBLISH else "scheduleUnpublish",
        "Review",
        record_id=review.id,
        record_key=review.slug,
        before=expected,
        after=expected,
        detail=ref.detail({"schedule": action_id, "at": at.isoformat()}),
    )
    return Done(ReviewChange(int(review.id)))


def cancel_schedule(
    session: Session, actor: Actor, ref: ReviewRef, expected: int, action_id: int | None
) -> Done[ReviewChange]:
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    ed.claim(session, REVIEW, review.id, expected, "review", str(ref))
    cancelled = sched.cancel_pending(session, review.id, action_id, utcnow())
    if not cancelled:
        if action_id is not None:
            raise ed.NotFound("pending scheduled action", f"{ref} #{action_id}")
        raise ed.Refused("nothing is scheduled for this review", "NOTHING_SCHEDULED")
    actor.audit(
        session,
        "cancelSchedule",
        "Review",
        record_id=review.id,
        record_key=ref.slug,
        before=expected,
        after=expected,
        detail=ref.detail({"cancelled": cancelled}),
    )
    return Done(ReviewChange(int(review.id)))


# --- running (the runner) --------------------------------------------------------------------


def _approver(session: Session, name: str) -> Actor:
    """The scheduling reviewer, if their token still may publish."""
    token = token_by_name(session, name)
    if token is None or token.revoked_at is not None or str(token.role).upper() != "REVIEWER":
        raise ed.Refused(
            f"the token '{name}' that scheduled this is no longer an active reviewer",
            "APPROVER_INVALID",
        )
    return Actor(name, "reviewer", None)


def execute(
    session: Session, action_id: int, runner: str, interval: timedelta, urls: list[str]
) -> Done[ReviewChange | None]:
    """Carry out a claimed action, marked DONE in the same transaction; None (nothing
    done) when this runner's claim was lost to another runner."""
    row = sched.finish(session, action_id, runner, utcnow())
    if row is None:
        return Done(None)
    actor = _approver(session, row.scheduled_by)
    ref = ReviewRef(row.review_slug, row.review_locale)
    if row.action == ScheduleAction.PUBLISH:
        done = workflow.publish_review(
            session, actor, ref, row.expected_revision, list(row.acknowledge), interval, urls
        )
    else:
        reason = f"scheduled unpublish #{action_id}"
        done = workflow.unpublish_review(session, actor, ref, row.review_revision, reason, urls)
    actor.audit(
        session,
        "scheduled" + str(row.action).title(),
        "Review",
        record_id=row.review_id,
        record_key=ref.slug,
        before=None,
        after=ed.revision_of(session, REVIEW, row.review_id),
        detail=ref.detail({"schedule": action_id, "runner": runner}),
    )
    return Done(done.result, done.outcome)


def failure_of(exc: ed.EditorialError) -> dict[str, Any]:
    """What a refused run records (the same codes a mutation would answer)."""
    if isinstance(exc, ed.Conflict):
        return {
            "code": "CONFLICT",
            "reason": "CONFLICT",
            "message": str(exc),
            "expectedRevision": exc.expected,
            "actualRevision": exc.actual,
        }
    if isinstance(exc, ed.NotFound):
        return {"code": "NOT_FOUND", "reason": "NOT_FOUND", "message": str(exc)}
    if isinstance(exc, ed.Refused):
        return {"code": "BAD_USER_INPUT", "reason": exc.reason, "message": str(exc), **exc.details}
    return {"code": "BAD_USER_INPUT", "reason": "REFUSED", "message": str(exc)}


def record_failure(session: Session, action_id: int, runner: str, failure: dict[str, Any]) -> bool:
    """Mark the action FAILED and audit it; False when the claim was lost."""
    row = sched.fail(session, action_id, runner, utcnow(), failure)
    if row is None:
        return False
    Actor(row.scheduled_by, "reviewer", None).audit(
        session,
        "scheduled" + str(row.action).title() + "Failed",
        "Review",
        record_id=row.review_id,
        record_key=row.review_slug,
        before=row.expected_revision,
        after=row.review_revision,
        detail=ReviewRef(row.review_slug, row.review_locale).detail(
            {"schedule": action_id, "runner": runner, **failure}
        ),
    )
    return True


@dataclass(slots=True)
class RunReport:
    done: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


async def run_due(
    database: Database,
    effects: Effects,
    runner: str,
    *,
    interval: timedelta,
    webhook_urls: list[str],
    lease: timedelta,
    now: datetime | None = None,
    limit: int = 50,
) -> RunReport:
    """One pass: claim each due action, run it, then apply its outcome after the commit."""
    report = RunReport()
    now = now or utcnow()
    session = database.session()
    try:
        ids = await database.run(session, sched.due_ids, now, lease, limit)
    finally:
        await database.close(session)
    for action_id in ids:
        if not await database.transact(sched.claim, action_id, runner, now, lease):
            continue  # another runner has it
        try:
            done = await database.transact(execute, action_id, runner, interval, webhook_urls)
        except ed.EditorialError as exc:
            # The run was rolled back whole; record why, in a transaction of its own.
            if await database.transact(record_failure, action_id, runner, failure_of(exc)):
                report.failed.append(action_id)
            continue
        if done.result is not None:
            await apply(done.outcome, effects)
            report.done.append(action_id)
    return report
