"""history and scheduling: restored drafts, scheduled publish/unpublish

- ``review.restored_from``: the number of the published revision a draft was restored
  from (``restoreRevision``), so editors see which facts it was approved with.
- ``scheduled_action``: publishes and unpublishes a reviewer scheduled, claimed by one
  runner at their time (with a lease) and kept as their history.

Revision ID: b1d5e3a70009
Revises: b3e9d5a10009
Create Date: 2026-12-03 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "b1d5e3a70009"
down_revision: str | None = "b3e9d5a10009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restored_from", sa.Integer(), nullable=True))

    op.create_table(
        "scheduled_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("action", _enum("schedule_action", "PUBLISH", "UNPUBLISH"), nullable=False),
        sa.Column("at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            _enum("schedule_status", "PENDING", "DONE", "FAILED", "CANCELLED"),
            nullable=False,
        ),
        sa.Column("scheduled_by", sa.String(length=80), nullable=False),
        sa.Column("expected_revision", sa.Integer(), nullable=False),
        sa.Column("acknowledge", sa.JSON(), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("finished_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failure", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scheduled_action", schema=None) as batch_op:
        batch_op.create_index("ix_scheduled_action_due", ["status", "at"], unique=False)
        batch_op.create_index("ix_scheduled_action_review", ["review_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scheduled_action", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_action_review")
        batch_op.drop_index("ix_scheduled_action_due")
    op.drop_table("scheduled_action")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_column("restored_from")
