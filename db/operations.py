"""Tables of the service's own operation: tokens, the audit log, the webhook outbox and
subscriptions, the change log and trusted documents (the catalog and its reviews are in db/models.py)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from db.models import _enum, _ts


class Role(enum.StrEnum):
    """What an API token may do (see the README's editorial workflow)."""

    EDITOR = "EDITOR"
    REVIEWER = "REVIEWER"
    ADMIN = "ADMIN"


class DeliveryStatus(enum.StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class ScheduleAction(enum.StrEnum):
    PUBLISH = "PUBLISH"
    UNPUBLISH = "UNPUBLISH"


class ScheduleStatus(enum.StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class ApiToken(SQLModel, table=True):
    """A bearer token; only the SHA-256 of the secret is stored (it is shown once)."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    role: Role = Field(sa_column=Column(_enum(Role, "role"), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    # The first characters of the token, so an operator can tell tokens apart.
    prefix: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)


class AuditEntry(SQLModel, table=True):
    """Who changed what, and when: one row per successful mutation."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_record", "record_type", "record_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str = Field(sa_column=Column(String(80), nullable=False, index=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    action: str = Field(sa_column=Column(String(60), nullable=False, index=True))
    record_type: str = Field(sa_column=Column(String(40), nullable=False))
    record_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    record_key: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    before_revision: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    after_revision: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class WebhookDelivery(SQLModel, table=True):
    """An outbox row: written in the same transaction as the publish it announces,
    delivered (with retries) by a background task, so no event is lost or invented."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(sa_column=Column(String(40), nullable=False))
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    # The exact bytes that are signed and sent.
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING,
        sa_column=Column(_enum(DeliveryStatus, "delivery_status"), nullable=False),
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = _ts()
    # Set while a worker is sending, so several processes never send one row twice.
    locked_until: datetime | None = _ts(nullable=True)
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts()
    delivered_at: datetime | None = _ts(nullable=True)
    # The subscription whose secret signs the row; NULL for the configured URL list
    # (signed with COMPENDIUM_WEBHOOK_SECRET). No foreign key: deleting a subscription
    # deletes its pending rows and leaves the delivered ones as history.
    subscription_id: int | None = Field(
        default=None, sa_column=Column(Integer, nullable=True, index=True)
    )


class WebhookSubscription(SQLModel, table=True):
    """A receiver an admin subscribed through the API: which events, for which compounds
    and conditions (empty: all), and the secret its deliveries are signed with. The
    secret must be usable for HMAC signing, so it is stored; the API shows it once."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    # Event names as the bodies carry them ("review.published", ...).
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    compounds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    conditions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(sa_column=Column(String(100), nullable=False))
    created_by: str = Field(sa_column=Column(String(80), nullable=False))
    created_at: datetime = _ts()


class WebhookNotice(SQLModel, table=True):
    """Events announced once per state (a revision turning stale, a review due on a
    date): the key remembers it, so a periodic check or a retried publish never
    announces it twice."""

    __tablename__ = "webhook_notice"

    event: str = Field(sa_column=Column(String(40), primary_key=True))
    review_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    key: str = Field(sa_column=Column(String(64), primary_key=True))
    created_at: datetime = _ts()


class ScheduledAction(SQLModel, table=True):
    """A publish or unpublish a reviewer scheduled: run once at ``at`` by whichever
    runner claims it first (``db/scheduling.py``); kept afterwards as its history."""

    __tablename__ = "scheduled_action"
    __table_args__ = (
        Index("ix_scheduled_action_due", "status", "at"),
        Index("ix_scheduled_action_review", "review_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(
        sa_column=Column(Integer, ForeignKey("review.id", ondelete="CASCADE"), nullable=False)
    )
    action: ScheduleAction = Field(
        sa_column=Column(_enum(ScheduleAction, "schedule_action"), nullable=False)
    )
    at: datetime = _ts()
    status: ScheduleStatus = Field(
        default=ScheduleStatus.PENDING,
        sa_column=Column(_enum(ScheduleStatus, "schedule_status"), nullable=False),
    )
    # The reviewer's token that scheduled it: the approver when it runs.
    scheduled_by: str = Field(sa_column=Column(String(80), nullable=False))
    # A publish publishes the review only if it is still at this revision.
    expected_revision: int = Field(sa_column=Column(Integer, nullable=False))
    acknowledge: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()
    # The runner that claimed it and when: a claim older than the lease is taken over.
    claimed_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))
    claimed_at: datetime | None = _ts(nullable=True)
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    finished_at: datetime | None = _ts(nullable=True)
    # Why it did not run ({"code", "reason", "message", ...}), when FAILED.
    failure: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class ChangeEntity(enum.StrEnum):
    REVIEW = "review"
    COMPOUND = "compound"
    CONDITION = "condition"
    # Not in the public feed (its contract names the three above); logged so that every
    # process drops cached answers containing the approved evidence or publisher.
    EVIDENCE = "evidence"
    PUBLISHER = "publisher"


class ChangeOp(enum.StrEnum):
    UPSERT = "UPSERT"
    DELETE = "DELETE"


class ChangeLog(SQLModel, table=True):
    """What changed in the published catalog, in order: the feed of mobile delta sync.

    Written only by database triggers on the read model's ``public_*`` tables (see the
    change_log and published_read_model migrations), in the same transaction as the
    approval, so every write path is captured and working-copy edits log nothing. The id is the feed
    position; on SQLite AUTOINCREMENT guarantees it is never reused."""

    __tablename__ = "change_log"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    entity: ChangeEntity = Field(
        sa_column=Column(_enum(ChangeEntity, "change_entity"), nullable=False)
    )
    entity_id: int = Field(sa_column=Column(Integer, nullable=False))
    slug: str = Field(sa_column=Column(String(200), nullable=False))
    op: ChangeOp = Field(sa_column=Column(_enum(ChangeOp, "change_op"), nullable=False))
    # A review entry's page locale (the change feed is per locale); None for records,
    # whose approved copies every locale's readers read.
    locale: str | None = Field(default=None, sa_column=Column(String(35), nullable=True))


class PersistedDocument(SQLModel, table=True):
    """A trusted GraphQL document (`compendium persisted add`), by the SHA-256 of its text."""

    __tablename__ = "persisted_document"

    sha256: str = Field(sa_column=Column(String(64), primary_key=True))
    document: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(default="", sa_column=Column(String(300), nullable=False))
    created_at: datetime = _ts()
