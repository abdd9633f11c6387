"""reviews per locale: each page has a working copy, revisions and sign-off per locale

README "Locales". A review is now one (compound, condition, kind, locale): the default
locale's pages are the reviews that exist today (``locale`` = COMPENDIUM_LOCALES' first
tag at upgrade time); a translation is another review of the same page, with its own
status, revisions and approvals, that records the default locale's revision it was made
from (``source_revision_id``). Slugs name the page, so they are unique per locale.

* ``review``, ``review_revision``, ``public_review``: ``locale`` and
  ``source_revision_id`` (a translation is stale when its source's approved text
  differs from the text of the revision it was made from, not when that text was merely
  re-approved).
* ``public_translation``: per record and locale, the fact version whose translated
  fields readers of that locale get (written when a reviewer approves a page in that
  locale: a translated fact is reviewed text like the page).

SQLite rebuilds a table to change its constraints, which drops the table's triggers
(the change log and the search index's): they are read before and created again after.

Revision ID: c4f7a9e20012
Revises: b8d2f4a10009
Create Date: 2026-12-03 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from config import get_settings
from db.models import UTCDateTime

revision: str = "c4f7a9e20012"
down_revision: str | None = "b8d2f4a10009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Names for the constraints SQLite reflects without one (the slug's UNIQUE).
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _triggers(table: str) -> list[str]:
    if not _sqlite():
        return []
    rows = op.get_bind().execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": table},
    )
    return [str(r[0]) for r in rows if r[0]]


def _slug_unique(table: str) -> str:
    """The name of the slug's UNIQUE constraint (PostgreSQL's own; SQLite's by NAMING)."""
    return f"uq_{table}_slug" if _sqlite() else f"{table}_slug_key"


def _locale_columns(table: str, default: str, revision_fk: bool) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=35), server_default=default, nullable=False)
        )
        batch_op.add_column(sa.Column("source_revision_id", sa.Integer(), nullable=True))
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(
            "locale", existing_type=sa.String(length=35), server_default=None, nullable=False
        )
        if revision_fk:
            batch_op.create_foreign_key(
                f"fk_{table}_source_revision", "review_revision", ["source_revision_id"], ["id"]
            )


def upgrade() -> None:
    default = get_settings().default_locale
    kept = _triggers("review") + _triggers("public_review") + _triggers("review_revision")
    _locale_columns("review_revision", default, revision_fk=False)
    _locale_columns("review", default, revision_fk=True)
    with op.batch_alter_table("review", schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint("uq_review_pair_kind", type_="unique")
        batch_op.create_unique_constraint(
            "uq_review_pair_kind_locale", ["compound_id", "condition_id", "kind", "locale"]
        )
        batch_op.drop_constraint(_slug_unique("review"), type_="unique")
        batch_op.create_unique_constraint("uq_review_slug_locale", ["slug", "locale"])
    _locale_columns("public_review", default, revision_fk=True)
    with op.batch_alter_table("public_review", schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(_slug_unique("public_review"), type_="unique")
        batch_op.create_unique_constraint("uq_public_review_slug_locale", ["slug", "locale"])
        batch_op.create_index("ix_public_review_pair", ["compound_id", "condition_id", "kind"])
    op.create_table(
        "public_translation",
        sa.Column(
            "kind",
            sa.Enum(
                "compound",
                "condition",
                "evidence",
                "publisher",
                name="fact_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["fact_version.id"]),
        sa.PrimaryKeyConstraint("kind", "record_id", "locale"),
    )
    for sql in kept:
        op.execute(sql)


def downgrade() -> None:
    default = get_settings().default_locale
    bind = op.get_bind()
    kept = _triggers("review") + _triggers("public_review") + _triggers("review_revision")
    op.drop_table("public_translation")
    # Only the default locale's pages existed before.
    bind.execute(sa.text("DELETE FROM public_review WHERE locale != :d"), {"d": default})
    bind.execute(
        sa.text("UPDATE review SET published_revision_id = NULL WHERE locale != :d"),
        {"d": default},
    )
    bind.execute(sa.text("DELETE FROM review WHERE locale != :d"), {"d": default})
    with op.batch_alter_table("public_review", schema=None) as batch_op:
        batch_op.drop_index("ix_public_review_pair")
        batch_op.drop_constraint("uq_public_review_slug_locale", type_="unique")
        batch_op.drop_constraint("fk_public_review_source_revision", type_="foreignkey")
        batch_op.create_unique_constraint(_slug_unique("public_review"), ["slug"])
        batch_op.drop_column("source_revision_id")
        batch_op.drop_column("locale")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_constraint("uq_review_slug_locale", type_="unique")
        batch_op.drop_constraint("uq_review_pair_kind_locale", type_="unique")
        batch_op.drop_constraint("fk_review_source_revision", type_="foreignkey")
        batch_op.create_unique_constraint(_slug_unique("review"), ["slug"])
        batch_op.create_unique_constraint(
            "uq_review_pair_kind", ["compound_id", "condition_id", "kind"]
        )
        batch_op.drop_column("source_revision_id")
        batch_op.drop_column("locale")
    with op.batch_alter_table("review_revision", schema=None) as batch_op:
        batch_op.drop_column("source_revision_id")
        batch_op.drop_column("locale")
    for sql in kept:
        op.execute(sql)
