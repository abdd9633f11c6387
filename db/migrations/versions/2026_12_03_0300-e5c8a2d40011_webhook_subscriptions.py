"""webhook subscriptions: receivers admins subscribe through the API

- ``webhook_subscription``: a URL, the events it wants, compound and condition
  filters (slugs; empty: all) and the secret its deliveries are signed with.
- ``webhook_delivery.subscription_id``: which subscription's secret signs a row
  (NULL: the configured URL list, signed with COMPENDIUM_WEBHOOK_SECRET).
- ``webhook_notice``: events announced once per state (a revision turning stale, a
  review due for review on a date), so they are never announced twice.

Revision ID: e5c8a2d40011
Revises: b1d5e3a70009
Create Date: 2026-12-03 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "e5c8a2d40011"
down_revision: str | None = "b1d5e3a70009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("compounds", sa.JSON(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "webhook_notice",
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("review_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event", "review_id", "key"),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subscription_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_webhook_delivery_subscription_id", ["subscription_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_delivery_subscription_id")
        batch_op.drop_column("subscription_id")
    op.drop_table("webhook_notice")
    op.drop_table("webhook_subscription")
