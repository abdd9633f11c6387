"""The webhook outbox: publish events written with the change they announce,
delivered later (with retries) by ``server.webhooks.WebhookDispatcher``.

Because :func:`enqueue` runs in the publishing transaction, an event exists
if and only if the publish committed. Delivery is at least once: a worker that
dies mid-send leaves its lease to expire and another sends the row again, so
receivers deduplicate on the body's ``id`` (with the URL, one row per event).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from db.models import utcnow
from db.operations import DeliveryStatus
from db.subscriptions import secrets_of
from db.tables import WEBHOOK_DELIVERY

# last_error is for operators, not an archive of responses.
MAX_ERROR_LENGTH = 500


def event_body(event: str, data: dict[str, Any], event_id: str, occurred_at: datetime) -> str:
    """The exact text that is signed and sent. ASCII-only JSON, so its bytes are
    the same whatever a database or client does with text encodings."""
    occurred = occurred_at.astimezone(UTC).isoformat(timespec="milliseconds")
    payload = {
        "id": event_id,
        "event": event,
        "occurredAt": occurred.replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True)


def enqueue(
    session: Session,
    urls: Sequence[str],
    event: str,
    data: dict[str, Any],
    now: datetime | None = None,
    subscribers: Sequence[tuple[str, int]] = (),
) -> int:
    """Queue ``event`` for every URL in the caller's transaction; returns the row count.

    ``urls`` are the configured list (signed with COMPENDIUM_WEBHOOK_SECRET);
    ``subscribers`` are (url, subscription id) pairs, each row signed with its
    subscription's secret. All rows of one event share the body, so its ``id`` names
    the event."""
    return enqueue_many(session, urls, event, [(data, subscribers)], now)


def enqueue_many(
    session: Session,
    urls: Sequence[str],
    event: str,
    items: Sequence[tuple[dict[str, Any], Sequence[tuple[str, int]]]],
    now: datetime | None = None,
) -> int:
    """:func:`enqueue` for several events of one kind (their data and subscribers), in
    one statement; returns the row count."""
    now = now or utcnow()
    rows = []
    for data, subscribers in items:
        targets: list[tuple[str, int | None]] = [(u, None) for u in dict.fromkeys(urls) if u]
        targets += list(dict.fromkeys((u, int(sid)) for u, sid in subscribers if u))
        if not targets:
            continue
        body = event_body(event, data, uuid.uuid4().hex, now)
        rows += [
            {
                "event": event,
                "url": url,
                "body": body,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "locked_until": None,
                "last_error": "",
                "created_at": now,
                "delivered_at": None,
                "subscription_id": subscription,
            }
            for url, subscription in targets
        ]
    if rows:
        session.execute(insert(WEBHOOK_DELIVERY), rows)
    return len(rows)


def _due(now: datetime) -> Any:
    return and_(
        WEBHOOK_DELIVERY.c.status == DeliveryStatus.PENDING,
        WEBHOOK_DELIVERY.c.next_attempt_at <= now,
        or_(WEBHOOK_DELIVERY.c.locked_until.is_(None), WEBHOOK_DELIVERY.c.locked_until < now),
    )


def has_due(session: Session, now: datetime) -> bool:
    """Whether anything is due: a read, so an idle poll never takes a write lock."""
    return (
        session.execute(select(WEBHOOK_DELIVERY.c.id).where(_due(now)).limit(1)).first() is not None
    )


def claim_due(session: Session, now: datetime, limit: int, lease_seconds: float) -> list[Any]:
    """Lease up to ``limit`` due rows to the caller until ``now + lease_seconds``.

    The due rows are selected FOR UPDATE SKIP LOCKED, then leased in the same
    transaction: on PostgreSQL another worker skips the locked rows instead of
    waiting for them or sending them twice; on SQLite (where FOR UPDATE renders
    as nothing) the database's single write lock serialises claims. The UPDATE
    repeats the due condition, so a row leased meanwhile is never taken again.
    Two statements, not UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
    LOCKED): PostgreSQL may rescan that subquery per row and lease more than
    ``limit``.

    ``attempts`` counts attempts started, so it is incremented here: a row
    whose sending crashes the worker still uses up its attempts."""
    ids = list(
        session.execute(
            select(WEBHOOK_DELIVERY.c.id)
            .where(_due(now))
            .order_by(WEBHOOK_DELIVERY.c.next_attempt_at, WEBHOOK_DELIVERY.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not ids:
        return []
    rows = session.execute(
        update(WEBHOOK_DELIVERY)
        .where(WEBHOOK_DELIVERY.c.id.in_(ids), _due(now))
        .values(
            locked_until=now + timedelta(seconds=lease_seconds),
            attempts=WEBHOOK_DELIVERY.c.attempts + 1,
        )
        .returning(*WEBHOOK_DELIVERY.c)
    ).all()
    return sorted(rows, key=lambda r: (r.next_attempt_at, r.id))


def claim_signed(
    session: Session, now: datetime, limit: int, lease_seconds: float
) -> list[tuple[Any, str | None]]:
    """:func:`claim_due`, each row with the secret of its subscription: None for the
    configured URL list (signed with the configured secret) and for a row whose
    subscription is gone (it is not sent)."""
    rows = claim_due(session, now, limit, lease_seconds)
    wanted = [r.subscription_id for r in rows if r.subscription_id is not None]
    keys = secrets_of(session, wanted)
    return [(r, keys.get(r.subscription_id) if r.subscription_id else None) for r in rows]


def mark_delivered(session: Session, id: int, now: datetime) -> bool:
    """Record a 2xx answer; False when the row was no longer pending."""
    result = session.execute(
        update(WEBHOOK_DELIVERY)
        .where(WEBHOOK_DELIVERY.c.id == id, WEBHOOK_DELIVERY.c.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.DELIVERED, delivered_at=now, locked_until=None, last_error="")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_attempt_failed(
    session: Session,
    id: int,
    attempts: int,
    error: str,
    next_attempt_at: datetime | None,
) -> bool:
    """Record a failed attempt: due again at ``next_attempt_at``, or FAILED for good
    when it is None. False when the row was no longer pending."""
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_error": error[:MAX_ERROR_LENGTH],
        # The lease is released so the retry is due at next_attempt_at, not at
        # the end of a lease that may be longer than the backoff.
        "locked_until": None,
    }
    if next_attempt_at is None:
        values["status"] = DeliveryStatus.FAILED
    else:
        values["next_attempt_at"] = next_attempt_at
    result = session.execute(
        update(WEBHOOK_DELIVERY)
        .where(WEBHOOK_DELIVERY.c.id == id, WEBHOOK_DELIVERY.c.status == DeliveryStatus.PENDING)
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def pending_count(session: Session) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(WEBHOOK_DELIVERY)
            .where(WEBHOOK_DELIVERY.c.status == DeliveryStatus.PENDING)
        ).scalar_one()
    )


def deliveries(session: Session, limit: int = 100) -> list[Any]:
    """The most recent deliveries, newest first."""
    return list(
        session.execute(
            select(WEBHOOK_DELIVERY).order_by(WEBHOOK_DELIVERY.c.id.desc()).limit(limit)
        ).all()
    )
