"""locales foundation: translations on the facts tables, a locale on templates

README "Locales": compounds, conditions, evidence and the publisher get a
JSON ``translations`` column (per locale tag, the translated fields; ``{}`` when none),
hashed with their facts and snapshotted with them when a reviewer approves. Templates
get a ``locale`` (existing ones are the default locale's, ``COMPENDIUM_LOCALES``' first
tag at upgrade time), and versions are unique per kind and locale.

Revision ID: b8d2f4a10009
Revises: e5c8a2d40011
Create Date: 2026-12-03 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from config import get_settings

revision: str = "b8d2f4a10009"
down_revision: str | None = "e5c8a2d40011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = ("publisher", "compound", "condition", "evidence")


def upgrade() -> None:
    for table in FACT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("translations", sa.JSON(), server_default="{}", nullable=False)
            )
    with op.batch_alter_table("template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=35), nullable=True))
    op.get_bind().execute(
        sa.text("UPDATE template SET locale = :tag"), {"tag": get_settings().default_locale}
    )
    with op.batch_alter_table("template", schema=None) as batch_op:
        batch_op.alter_column("locale", existing_type=sa.String(length=35), nullable=False)
        batch_op.drop_constraint("uq_template_kind_version", type_="unique")
        batch_op.create_unique_constraint(
            "uq_template_kind_locale_version", ["kind", "locale", "version"]
        )


def downgrade() -> None:
    with op.batch_alter_table("template", schema=None) as batch_op:
        batch_op.drop_constraint("uq_template_kind_locale_version", type_="unique")
        batch_op.create_unique_constraint("uq_template_kind_version", ["kind", "version"])
        batch_op.drop_column("locale")
    for table in reversed(FACT_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("translations")
