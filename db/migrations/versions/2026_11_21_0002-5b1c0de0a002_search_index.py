"""search index (SQLite FTS5), kept in step with writes by triggers

Rowids encode the record: compound id*4+1, condition id*4+2, review id*4+3, so a
trigger replaces one entry by rowid instead of scanning the index.

Revision ID: 5b1c0de0a002
Revises: e2398a6efecc
Create Date: 2026-11-21 23:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b1c0de0a002"
down_revision: str | None = "e2398a6efecc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPOUND = """
INSERT INTO search_index(rowid, kind, ref_id, name, aliases, body)
VALUES (NEW.id * 4 + 1, 'compound', NEW.id, NEW.name,
        (SELECT group_concat(value, ' ') FROM json_each(NEW.aliases)),
        NEW.slug || ' ' || NEW.drug_class)
"""
CONDITION = """
INSERT INTO search_index(rowid, kind, ref_id, name, aliases, body)
VALUES (NEW.id * 4 + 2, 'condition', NEW.id, NEW.name,
        (SELECT group_concat(value, ' ') FROM json_each(NEW.aliases)),
        NEW.slug || ' ' || coalesce(NEW.full_name, ''))
"""
REVIEW = """
INSERT INTO search_index(rowid, kind, ref_id, name, aliases, body)
VALUES (NEW.id * 4 + 3, 'review', NEW.id, NEW.title, '', NEW.slug)
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL full-text search comes with its own migration.
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "kind UNINDEXED, ref_id UNINDEXED, name, aliases, body, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    for table, insert_sql, offset, watched in (
        ("compound", COMPOUND, 1, "name, aliases, slug, drug_class"),
        ("condition", CONDITION, 2, "name, aliases, slug, full_name"),
        ("review", REVIEW, 3, "title, slug"),
    ):
        op.execute(
            f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN {insert_sql}; END"
        )
        op.execute(
            f"CREATE TRIGGER search_{table}_au AFTER UPDATE OF {watched} ON {table} BEGIN "
            f"DELETE FROM search_index WHERE rowid = OLD.id * 4 + {offset}; {insert_sql}; END"
        )
        op.execute(
            f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM search_index WHERE rowid = OLD.id * 4 + {offset}; END"
        )
    # Index whatever existed before this migration.
    op.execute(
        COMPOUND.replace("NEW.", "c.").replace("VALUES (", "SELECT ").rstrip()[:-1]
        + " FROM compound c"
    )
    op.execute(
        CONDITION.replace("NEW.", "c.").replace("VALUES (", "SELECT ").rstrip()[:-1]
        + " FROM condition c"
    )
    op.execute(
        REVIEW.replace("NEW.", "c.").replace("VALUES (", "SELECT ").rstrip()[:-1] + " FROM review c"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in ("compound", "condition", "review"):
        for suffix in ("ai", "au", "ad"):
            op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{suffix}")
    op.execute("DROP TABLE IF EXISTS search_index")
