"""change log per locale: a review entry carries its page's locale

README "Locales". The change feed is per locale (``changes(locale:)``): a locale's feed
lists that locale's review entries and every record entry. ``change_log.locale`` is the
``public_review`` row's locale for review entries and NULL for the others (records have
no locale: their approved copies are every locale's). Existing review entries get their
review's locale, or the default locale (``COMPENDIUM_LOCALES``' first tag at upgrade
time) for reviews deleted since.

The triggers writing review entries (on ``public_review``, see the published_read_model
migration) write it: on SQLite they are created again; on PostgreSQL the shared trigger
function takes ``locale`` from the row (NULL for tables without one). The column is
added in place (SQLite's ADD COLUMN keeps the table, its AUTOINCREMENT position and the
other tables' triggers).

Revision ID: f2c6d8b40013
Revises: c4f7a9e20012
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from config import get_settings

revision: str = "f2c6d8b40013"
down_revision: str | None = "c4f7a9e20012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANGE_LOG_LOCK = 4_281_936_507  # the same key as the change_log migration's
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def _sqlite_review_triggers(with_locale: bool) -> list[str]:
    """The triggers of ``public_review`` that log review entries (as published_read_model
    made them, with or without the locale)."""
    columns = "at, entity, entity_id, slug, op" + (", locale" if with_locale else "")

    def insert(row: str, op_: str) -> str:
        locale = f", {row}.locale" if with_locale else ""
        return (
            f"INSERT INTO change_log ({columns}) "
            f"VALUES ({SQLITE_NOW}, 'review', {row}.id, {row}.slug, '{op_}'{locale})"
        )

    return [
        *(f"DROP TRIGGER IF EXISTS change_log_public_review_{s}" for s in ("ai", "au", "ad")),
        "CREATE TRIGGER change_log_public_review_ai AFTER INSERT ON public_review BEGIN "
        f"{insert('NEW', 'UPSERT')}; END",
        "CREATE TRIGGER change_log_public_review_au AFTER UPDATE OF revision_id ON public_review "
        f"WHEN OLD.revision_id IS NOT NEW.revision_id BEGIN {insert('NEW', 'UPSERT')}; END",
        "CREATE TRIGGER change_log_public_review_ad AFTER DELETE ON public_review BEGIN "
        f"{insert('OLD', 'DELETE')}; END",
    ]


def _postgres_function(with_locale: bool) -> str:
    columns = "at, entity, entity_id, slug, op" + (", locale" if with_locale else "")
    locale = ", rec->>'locale'" if with_locale else ""
    return f"""
CREATE OR REPLACE FUNCTION change_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rec jsonb;
BEGIN
  IF TG_OP = 'DELETE' THEN rec := to_jsonb(OLD); ELSE rec := to_jsonb(NEW); END IF;
  -- Serialize the log's writers until commit, so ids become visible in order.
  PERFORM pg_advisory_xact_lock({CHANGE_LOG_LOCK});
  INSERT INTO change_log ({columns})
  VALUES (now(), TG_ARGV[0], (rec->>'id')::integer,
          coalesce(rec->>'slug', (rec->>'compound_id') || ':' || (rec->>'condition_id'),
                   TG_ARGV[0]),
          TG_ARGV[1]{locale});
  RETURN NULL;
END $$"""


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("change_log", sa.Column("locale", sa.String(length=35), nullable=True))
    op.get_bind().execute(
        sa.text(
            "UPDATE change_log SET locale = coalesce((SELECT review.locale FROM review "
            "WHERE review.id = change_log.entity_id), :default) WHERE entity = 'review'"
        ),
        {"default": get_settings().default_locale},
    )
    if sqlite:
        for sql in _sqlite_review_triggers(with_locale=True):
            op.execute(sql)
    else:
        op.execute(_postgres_function(with_locale=True))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for sql in _sqlite_review_triggers(with_locale=False):
            op.execute(sql)
    else:
        op.execute(_postgres_function(with_locale=False))
    op.drop_column("change_log", "locale")
