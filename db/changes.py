"""Reads of the change log: the mobile change feed, and the cache poller's position."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from db.tables import CHANGE_LOG

FEED_ENTITIES = ("review", "compound", "condition")


def changes_after(
    session: Session, position: int, first: int, locale: str
) -> tuple[list[Any], bool]:
    """Up to ``first`` change-log entries of ``locale``'s feed after feed position
    ``position``, oldest first, and whether more follow: that locale's review entries and
    every record entry (records have no locale). One statement, by primary key."""

    # Evidence and publisher entries are for the caches of other processes, not the feed.
    q = select(
        CHANGE_LOG.c.id,
        CHANGE_LOG.c.entity,
        CHANGE_LOG.c.entity_id,
        CHANGE_LOG.c.slug,
        CHANGE_LOG.c.op,
        CHANGE_LOG.c.locale,
    ).where(
        CHANGE_LOG.c.id > position,
        CHANGE_LOG.c.entity.in_(FEED_ENTITIES),
        or_(CHANGE_LOG.c.locale.is_(None), CHANGE_LOG.c.locale == locale),
    )
    rows = list(session.execute(q.order_by(CHANGE_LOG.c.id).limit(first + 1)).all())
    return rows[:first], len(rows) > first


def change_log_after(
    session: Session, last: int | None
) -> tuple[int, list[tuple[str, int, str | None]]]:
    """Change-log entries after ``last`` (the response cache's poller): (new last, entries
    as (entity, id, a review entry's locale)). With ``last`` None, only the current
    position."""

    if last is None:
        return int(
            session.execute(select(func.coalesce(func.max(CHANGE_LOG.c.id), 0))).scalar() or 0
        ), []
    rows = session.execute(
        select(CHANGE_LOG.c.id, CHANGE_LOG.c.entity, CHANGE_LOG.c.entity_id, CHANGE_LOG.c.locale)
        .where(CHANGE_LOG.c.id > last)
        .order_by(CHANGE_LOG.c.id)
        .limit(5000)
    ).all()
    if not rows:
        return last, []
    return int(rows[-1].id), [(str(r.entity), int(r.entity_id), r.locale) for r in rows]
