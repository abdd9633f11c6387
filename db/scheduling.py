"""The SQL of scheduled publishes and unpublishes (``scheduled_action``).

An action runs exactly once, whichever runner (app workers, instances, the CLI) gets
to it. A runner first *claims* it: ``UPDATE ... SET claimed_by, claimed_at WHERE id
AND status = 'PENDING' AND (unclaimed OR the claim is older than the lease)``, and only
the runner whose UPDATE matched goes on. It then *finishes* it in the transaction that
publishes: ``UPDATE ... SET status = 'DONE' WHERE id AND status = 'PENDING' AND
claimed_by = <itself>``, so a runner whose lease expired (and whose action another
runner took over) finds no row and rolls its publish back. A runner that crashed
leaves a claim that expires, and the action is retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from db.operations import ScheduleStatus
from db.tables import REVIEW, SCHEDULED_ACTION

PENDING = ScheduleStatus.PENDING


def insert_action(
    session: Session,
    review_id: int,
    action: str,
    at: datetime,
    scheduled_by: str,
    expected_revision: int,
    acknowledge: list[str],
    now: datetime,
) -> int:
    result = session.execute(
        SCHEDULED_ACTION.insert()
        .values(
            review_id=review_id,
            action=action,
            at=at,
            status=PENDING,
            scheduled_by=scheduled_by,
            expected_revision=expected_revision,
            acknowledge=acknowledge,
            created_at=now,
            attempts=0,
        )
        .returning(SCHEDULED_ACTION.c.id)
    )
    return int(result.scalar_one())


def cancel_pending(
    session: Session, review_id: int, action_id: int | None, now: datetime
) -> list[int]:
    """Cancel the review's pending actions (or the one named); the ids cancelled."""
    q = update(SCHEDULED_ACTION).where(
        SCHEDULED_ACTION.c.review_id == review_id, SCHEDULED_ACTION.c.status == PENDING
    )
    if action_id is not None:
        q = q.where(SCHEDULED_ACTION.c.id == action_id)
    result = session.execute(
        q.values(status=ScheduleStatus.CANCELLED, finished_at=now).returning(SCHEDULED_ACTION.c.id)
    )
    return sorted(int(i) for i in result.scalars())


def actions_by_review_ids(session: Session, ids: Sequence[int]) -> dict[int, list[Any]]:
    """Every scheduled action of the reviews (pending, done, failed, cancelled), by time."""
    out: dict[int, list[Any]] = {i: [] for i in ids}
    rows = session.execute(
        select(SCHEDULED_ACTION)
        .where(SCHEDULED_ACTION.c.review_id.in_(list(ids)))
        .order_by(SCHEDULED_ACTION.c.review_id, SCHEDULED_ACTION.c.at, SCHEDULED_ACTION.c.id)
    )
    for row in rows:
        out[row.review_id].append(row)
    return out


def _claimable(now: datetime, lease: timedelta) -> Any:
    return (
        SCHEDULED_ACTION.c.status == PENDING,
        SCHEDULED_ACTION.c.at <= now,
        or_(SCHEDULED_ACTION.c.claimed_at.is_(None), SCHEDULED_ACTION.c.claimed_at < now - lease),
    )


def due_ids(session: Session, now: datetime, lease: timedelta, limit: int) -> list[int]:
    """Actions due and unclaimed (or whose claim expired), the earliest first: a read,
    so an idle poll never takes a write lock."""
    return [
        int(i)
        for i in session.execute(
            select(SCHEDULED_ACTION.c.id)
            .where(*_claimable(now, lease))
            .order_by(SCHEDULED_ACTION.c.at, SCHEDULED_ACTION.c.id)
            .limit(limit)
        ).scalars()
    ]


def claim(session: Session, action_id: int, runner: str, now: datetime, lease: timedelta) -> bool:
    """Take the action for ``runner`` if it is still due and nobody holds it."""
    result = session.execute(
        update(SCHEDULED_ACTION)
        .where(SCHEDULED_ACTION.c.id == action_id, *_claimable(now, lease))
        .values(claimed_by=runner, claimed_at=now, attempts=SCHEDULED_ACTION.c.attempts + 1)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _settle(
    session: Session, action_id: int, runner: str, now: datetime, **values: Any
) -> Any | None:
    """Close the action if ``runner`` still holds its claim: the row (and its review's
    slug, locale and revision), or None when the claim was lost."""
    row = session.execute(
        update(SCHEDULED_ACTION)
        .where(
            SCHEDULED_ACTION.c.id == action_id,
            SCHEDULED_ACTION.c.status == PENDING,
            SCHEDULED_ACTION.c.claimed_by == runner,
        )
        .values(finished_at=now, **values)
        .returning(*SCHEDULED_ACTION.c)
    ).first()
    if row is None:
        return None
    return session.execute(
        select(
            *SCHEDULED_ACTION.c,
            REVIEW.c.slug.label("review_slug"),
            REVIEW.c.locale.label("review_locale"),
            REVIEW.c.revision.label("review_revision"),
        )
        .join(REVIEW, REVIEW.c.id == SCHEDULED_ACTION.c.review_id)
        .where(SCHEDULED_ACTION.c.id == action_id)
    ).first()


def finish(session: Session, action_id: int, runner: str, now: datetime) -> Any | None:
    """Mark the action DONE (in the transaction that carries it out)."""
    return _settle(session, action_id, runner, now, status=ScheduleStatus.DONE)


def fail(
    session: Session, action_id: int, runner: str, now: datetime, failure: dict[str, Any]
) -> Any | None:
    """Mark the action FAILED with why (its review is left as it was)."""
    return _settle(session, action_id, runner, now, status=ScheduleStatus.FAILED, failure=failure)
