"""change log for mobile delta sync, written by triggers; backfilled with the current catalog

``change_log`` is the ordered feed behind ``Query.changes``: one row per change of
what anonymous readers see, its id being the feed position. Triggers write it, so
every path (CLI import, GraphQL mutations, demo publishing, raw SQL) is captured in
the same transaction as the change itself, and a rolled-back change leaves nothing.

- compound, condition: INSERT -> UPSERT; an UPDATE that changes the row -> UPSERT
  (the editorial ``claim`` is a no-op UPDATE and must not log anything); DELETE ->
  DELETE (a tombstone). Slugs never change, so an entry's slug names the record.
- review: readers see the published revision only, so only a change of
  ``published_revision_id`` counts: set or replaced -> UPSERT, cleared (unpublish,
  archive) -> DELETE, a published review deleted -> DELETE (also when a compound or
  condition delete cascades to it). Draft edits and regenerations log nothing.

Ordering on PostgreSQL: ids come from a sequence, and without care two concurrent
transactions could commit them out of order (B takes id 8 and commits while A, with
id 7, is still running). A client reading between the two commits would move its
cursor to 8 and never see 7. So the trigger function takes a transaction-level
advisory lock, ``pg_advisory_xact_lock(CHANGE_LOG_LOCK)``, *before* drawing an id:
writers of the log serialize, the lock is held until commit (or rollback) and
released only after the commit is visible, so the committed ids always form a
prefix of the sequence (rolled-back ids leave gaps, which are harmless to readers
that page with ``id > cursor``). Readers take no lock. The cost: transactions that
change the published catalog run one at a time from their first logged change to
their commit, which suits an editorial workload (SQLite serializes every writer
anyway). A transaction that locks catalog rows first and logs later can deadlock
with one that holds the log lock and waits for those rows; PostgreSQL detects it
and aborts one of them whole (nothing half-written), and the client retries.

The backfill gives every existing compound, condition and published review an
UPSERT entry, so a client syncing from the start gets the whole current catalog.

Revision ID: 3f6a8b1c0005
Revises: 9c4d2e7f0004
Create Date: 2026-11-22 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "3f6a8b1c0005"
down_revision: str | None = "9c4d2e7f0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An arbitrary key, private to this application, for the advisory lock that orders
# the log's ids on PostgreSQL (advisory lock keys are per database).
CHANGE_LOG_LOCK = 4_281_936_507

# The columns as of this migration; an UPDATE changing none of them changes nothing
# readers see (every real write also moves `revision` or `content_hash`). SQLite has
# no whole-row comparison, PostgreSQL compares the whole row.
COLUMNS = {
    "compound": [
        "slug",
        "name",
        "aliases",
        "drug_class",
        "safety_profile",
        "regulatory_status",
        "evidence_level",
        "mechanisms",
        "rxnorm",
        "mesh",
        "content_hash",
        "revision",
        "created_at",
        "updated_at",
    ],
    "condition": [
        "slug",
        "name",
        "full_name",
        "specialist",
        "aliases",
        "icd10",
        "mesh",
        "content_hash",
        "revision",
        "created_at",
        "updated_at",
    ],
}
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
UPSERT, DELETE = "'UPSERT'", "'DELETE'"


def _sqlite_insert(entity: str, row: str, op_sql: str) -> str:
    return (
        "INSERT INTO change_log (at, entity, entity_id, slug, op) "
        f"VALUES ({SQLITE_NOW}, '{entity}', {row}.id, {row}.slug, {op_sql})"
    )


def _sqlite_triggers() -> list[str]:
    out = []
    for table, columns in COLUMNS.items():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        out += [
            f"CREATE TRIGGER change_log_{table}_ai AFTER INSERT ON {table} BEGIN "
            f"{_sqlite_insert(table, 'NEW', UPSERT)}; END",
            f"CREATE TRIGGER change_log_{table}_au AFTER UPDATE ON {table} WHEN {changed} BEGIN "
            f"{_sqlite_insert(table, 'NEW', UPSERT)}; END",
            f"CREATE TRIGGER change_log_{table}_ad AFTER DELETE ON {table} BEGIN "
            f"{_sqlite_insert(table, 'OLD', DELETE)}; END",
        ]
    published = "CASE WHEN NEW.published_revision_id IS NULL THEN 'DELETE' ELSE 'UPSERT' END"
    out += [
        "CREATE TRIGGER change_log_review_ai AFTER INSERT ON review "
        "WHEN NEW.published_revision_id IS NOT NULL BEGIN "
        f"{_sqlite_insert('review', 'NEW', UPSERT)}; END",
        "CREATE TRIGGER change_log_review_au AFTER UPDATE OF published_revision_id ON review "
        "WHEN OLD.published_revision_id IS NOT NEW.published_revision_id BEGIN "
        f"{_sqlite_insert('review', 'NEW', published)}; END",
        "CREATE TRIGGER change_log_review_ad AFTER DELETE ON review "
        "WHEN OLD.published_revision_id IS NOT NULL BEGIN "
        f"{_sqlite_insert('review', 'OLD', DELETE)}; END",
    ]
    return out


# (trigger, timing and event, WHEN condition or None, function arguments)
POSTGRES_TRIGGERS = [
    *(
        trigger
        for table in COLUMNS
        for trigger in (
            (f"{table}_ai", f"INSERT ON {table}", None, f"'{table}', 'UPSERT'"),
            # json columns have no equality operator: compare the rows' text forms.
            (
                f"{table}_au",
                f"UPDATE ON {table}",
                "OLD::text IS DISTINCT FROM NEW::text",
                f"'{table}', 'UPSERT'",
            ),
            (f"{table}_ad", f"DELETE ON {table}", None, f"'{table}', 'DELETE'"),
        )
    ),
    (
        "review_ai",
        "INSERT ON review",
        "NEW.published_revision_id IS NOT NULL",
        "'review', 'UPSERT'",
    ),
    (
        "review_au_upsert",
        "UPDATE OF published_revision_id ON review",
        "OLD.published_revision_id IS DISTINCT FROM NEW.published_revision_id "
        "AND NEW.published_revision_id IS NOT NULL",
        "'review', 'UPSERT'",
    ),
    (
        "review_au_delete",
        "UPDATE OF published_revision_id ON review",
        "OLD.published_revision_id IS NOT NULL AND NEW.published_revision_id IS NULL",
        "'review', 'DELETE'",
    ),
    (
        "review_ad",
        "DELETE ON review",
        "OLD.published_revision_id IS NOT NULL",
        "'review', 'DELETE'",
    ),
]
POSTGRES_FUNCTION = f"""
CREATE FUNCTION change_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rec record;
BEGIN
  IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
  -- Serialize the log's writers until commit, so ids become visible in order.
  PERFORM pg_advisory_xact_lock({CHANGE_LOG_LOCK});
  INSERT INTO change_log (at, entity, entity_id, slug, op)
  VALUES (now(), TG_ARGV[0], rec.id, rec.slug, TG_ARGV[1]);
  RETURN NULL;
END $$"""

BACKFILL = [
    ("compound", "SELECT {now}, 'compound', id, slug, 'UPSERT' FROM compound ORDER BY id"),
    ("condition", "SELECT {now}, 'condition', id, slug, 'UPSERT' FROM condition ORDER BY id"),
    (
        "review",
        "SELECT {now}, 'review', id, slug, 'UPSERT' FROM review "
        "WHERE published_revision_id IS NOT NULL ORDER BY id",
    ),
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "change_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "entity",
            sa.Enum(
                "review",
                "compound",
                "condition",
                name="change_entity",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column(
            "op",
            sa.Enum(
                "UPSERT",
                "DELETE",
                name="change_op",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        # Ids are feed positions: never reuse one, even after the newest row is deleted.
        sqlite_autoincrement=True,
    )
    # The feed reads by id only (the primary key): no other index to maintain on writes.
    now = SQLITE_NOW if dialect == "sqlite" else "now()"
    for _, select in BACKFILL:
        op.execute(
            "INSERT INTO change_log (at, entity, entity_id, slug, op) " + select.format(now=now)
        )
    if dialect == "sqlite":
        for sql in _sqlite_triggers():
            op.execute(sql)
    elif dialect == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for name, event, when, args in POSTGRES_TRIGGERS:
            condition = f" WHEN ({when})" if when else ""
            op.execute(
                f"CREATE TRIGGER change_log_{name} AFTER {event} FOR EACH ROW{condition} "
                f"EXECUTE FUNCTION change_log_write({args})"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in ("compound", "condition", "review"):
            for suffix in ("ai", "au", "ad"):
                op.execute(f"DROP TRIGGER IF EXISTS change_log_{table}_{suffix}")
    elif dialect == "postgresql":
        for name, event, _, _ in POSTGRES_TRIGGERS:
            table = event.rsplit(" ", 1)[1]
            op.execute(f"DROP TRIGGER IF EXISTS change_log_{name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS change_log_write()")
    op.drop_table("change_log")
