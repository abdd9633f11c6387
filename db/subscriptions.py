"""Webhook subscriptions (admins, through the API) and the notices that make periodic
events idempotent.

A subscription names a URL, the events it wants and, optionally, the compounds and
conditions (slugs) whose reviews it follows; its deliveries are signed with its own
secret, which must be usable for HMAC signing and so is stored (shown once by the API).
The events themselves go through the same outbox as the configured URL list
(``db.webhooks.enqueue``): same rows, same retries.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.fact_snapshots import Approval
from db.models import utcnow
from db.operations import DeliveryStatus
from db.public import STALE
from db.tables import (
    COMPOUND,
    CONDITION,
    PUBLIC_COMPOUND,
    PUBLIC_CONDITION,
    PUBLIC_EVIDENCE,
    PUBLIC_REVIEW,
    WEBHOOK_DELIVERY,
    WEBHOOK_NOTICE,
    WEBHOOK_SUBSCRIPTION,
)

SECRET_PREFIX = "whsec_"


def create_subscription(
    session: Session,
    url: str,
    events: Sequence[str],
    compounds: Sequence[str],
    conditions: Sequence[str],
    created_by: str,
) -> tuple[str, Any]:
    """Store a new subscription; returns its secret (shown once) and its row."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = session.execute(
        insert(WEBHOOK_SUBSCRIPTION)
        .values(
            url=url,
            events=list(events),
            compounds=list(compounds),
            conditions=list(conditions),
            secret=secret,
            created_by=created_by,
            created_at=utcnow(),
        )
        .returning(*PUBLIC_COLUMNS)
    ).one()
    return secret, row


# Every column but the secret, which only signing reads (``secrets_of``).
PUBLIC_COLUMNS = tuple(c for c in WEBHOOK_SUBSCRIPTION.c if c.name != "secret")


def list_subscriptions(session: Session) -> list[Any]:
    """Every subscription, oldest first, without its secret."""
    return list(session.execute(select(*PUBLIC_COLUMNS).order_by(WEBHOOK_SUBSCRIPTION.c.id)).all())


def has_subscriptions(session: Session) -> bool:
    return session.execute(select(WEBHOOK_SUBSCRIPTION.c.id).limit(1)).first() is not None


def delete_subscription(session: Session, id: int) -> Any | None:
    """Delete a subscription and its undelivered events; its row, or None when unknown.
    Delivered and failed rows stay as history (signed by no one from then on)."""
    row = session.execute(
        delete(WEBHOOK_SUBSCRIPTION)
        .where(WEBHOOK_SUBSCRIPTION.c.id == id)
        .returning(*PUBLIC_COLUMNS)
    ).first()
    if row is not None:
        session.execute(
            delete(WEBHOOK_DELIVERY).where(
                WEBHOOK_DELIVERY.c.subscription_id == id,
                WEBHOOK_DELIVERY.c.status == DeliveryStatus.PENDING,
            )
        )
    return row


def secrets_of(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The signing secrets of these subscriptions (deleted ones are absent)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(WEBHOOK_SUBSCRIPTION.c.id, WEBHOOK_SUBSCRIPTION.c.secret).where(
            WEBHOOK_SUBSCRIPTION.c.id.in_(wanted)
        )
    )
    return {r.id: r.secret for r in rows}


@dataclass(frozen=True, slots=True)
class Audience:
    """Who hears an event: the subscriptions, read once per transaction, matched per
    review by event and by the slugs of its compound and condition."""

    subscriptions: tuple[Any, ...]
    compound_slugs: dict[int, str]
    condition_slugs: dict[int, str]

    def subscribers(self, event: str, compound_id: int, condition_id: int) -> list[tuple[str, int]]:
        """(url, subscription id) of every subscription that wants this event."""
        compound = self.compound_slugs.get(compound_id)
        condition = self.condition_slugs.get(condition_id)
        return [
            (s.url, s.id)
            for s in self.subscriptions
            if event in s.events
            and (not s.compounds or compound in s.compounds)
            and (not s.conditions or condition in s.conditions)
        ]


def audience(
    session: Session,
    compound_ids: Iterable[int],
    condition_ids: Iterable[int],
    subscriptions: Sequence[Any] | None = None,
) -> Audience:
    """The subscriptions (read here unless given), with the slugs of these records (none
    read when there is no subscription)."""
    subs = tuple(list_subscriptions(session) if subscriptions is None else subscriptions)
    if not subs:
        return Audience((), {}, {})
    return Audience(
        subs, _slugs(session, COMPOUND, compound_ids), _slugs(session, CONDITION, condition_ids)
    )


def _slugs(session: Session, table: Any, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(table.c.id, table.c.slug).where(table.c.id.in_(wanted)))
    return {r.id: r.slug for r in rows}


def remember(
    session: Session, event: str, keys: Sequence[tuple[int, str]], now: datetime
) -> set[tuple[int, str]]:
    """Remember that ``event`` is announced for these (review id, state key) pairs;
    returns the pairs new here. A pair remembered already (by an earlier check, or by a
    concurrent one in another process, which PostgreSQL makes this wait for) is left
    out, so its event is announced exactly once."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    new: set[tuple[int, str]] = set()
    pairs = list(dict.fromkeys(keys))
    for start in range(0, len(pairs), 1000):
        rows = session.execute(
            dialect.insert(WEBHOOK_NOTICE)
            .values(
                [
                    {"event": event, "review_id": r, "key": k, "created_at": now}
                    for r, k in pairs[start : start + 1000]
                ]
            )
            .on_conflict_do_nothing()
            .returning(WEBHOOK_NOTICE.c.review_id, WEBHOOK_NOTICE.c.key)
        )
        new.update((r.review_id, r.key) for r in rows)
    return new


# --- what events say, from the read model only ------------------------------------------

PR = PUBLIC_REVIEW
PUBLISHED_REVIEW = (
    PR.c.id,
    PR.c.slug,
    PR.c.locale,
    PR.c.number,
    PR.c.revision_id,
    PR.c.compound_id,
    PR.c.condition_id,
    PR.c.review_due_at,
)


def newly_stale(session: Session, approval: Approval) -> list[Any]:
    """Published reviews an approval left stale (``db.public.STALE``): those showing a
    compound, condition, evidence or publisher whose approved copy it moved, except the
    reviews it published."""
    touched: list[Any] = []
    if approval.compounds:
        touched.append(PR.c.compound_id.in_(sorted(approval.compounds)))
    if approval.conditions:
        touched.append(PR.c.condition_id.in_(sorted(approval.conditions)))
    if approval.evidence:
        touched.append(
            exists().where(
                PUBLIC_EVIDENCE.c.id.in_(sorted(approval.evidence)),
                PUBLIC_EVIDENCE.c.compound_id == PR.c.compound_id,
                PUBLIC_EVIDENCE.c.condition_id == PR.c.condition_id,
            )
        )
    if not touched:
        return []
    q = select(*PUBLISHED_REVIEW).where(STALE, PR.c.id.not_in(approval.reviews or [0]))
    if not approval.publisher:  # the publisher is on every page
        q = q.where(or_(*touched))
    return list(session.execute(q.order_by(PR.c.id)).all())


def due_reviews(session: Session, event: str, now: datetime, limit: int) -> list[Any]:
    """Published reviews due for review by ``now`` and not announced since they fell due."""
    announced = exists().where(
        WEBHOOK_NOTICE.c.event == event,
        WEBHOOK_NOTICE.c.review_id == PR.c.id,
        WEBHOOK_NOTICE.c.created_at >= PR.c.review_due_at,
    )
    return list(
        session.execute(
            select(*PUBLISHED_REVIEW)
            .where(PR.c.review_due_at <= now, ~announced)
            .order_by(PR.c.review_due_at, PR.c.id)
            .limit(limit)
        ).all()
    )


def published_review(session: Session, review_id: int) -> Any | None:
    return session.execute(select(*PUBLISHED_REVIEW).where(PR.c.id == review_id)).first()


def approved_facts(session: Session, approval: Approval) -> dict[str, Any]:
    """What an approval made public, by the approved copies' slugs."""
    compounds = _slugs(session, PUBLIC_COMPOUND, approval.compounds)
    conditions = _slugs(session, PUBLIC_CONDITION, approval.conditions)
    evidence = []
    if approval.evidence:
        pc, pd = PUBLIC_COMPOUND.alias(), PUBLIC_CONDITION.alias()
        evidence = [
            {"compound": r.compound, "condition": r.condition}
            for r in session.execute(
                select(pc.c.slug.label("compound"), pd.c.slug.label("condition"))
                .select_from(PUBLIC_EVIDENCE)
                .join(pc, pc.c.id == PUBLIC_EVIDENCE.c.compound_id)
                .join(pd, pd.c.id == PUBLIC_EVIDENCE.c.condition_id)
                .where(PUBLIC_EVIDENCE.c.id.in_(sorted(approval.evidence)))
                .order_by(pc.c.slug, pd.c.slug)
            )
        ]
    return {
        "compounds": sorted(compounds.values()),
        "conditions": sorted(conditions.values()),
        "evidence": evidence,
        "publisher": approval.publisher,
    }
