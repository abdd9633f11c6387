"""search index on PostgreSQL: a tsvector per record with a GIN index, kept by triggers

The same shape as the SQLite FTS5 index (kind, ref_id, name, aliases, body);
``document`` is a generated column weighting the name (A) over aliases (B) and
the rest (C). The 'simple' configuration (no stemming, no stop words) matches
names and aliases as written, like FTS5's unicode61 tokenizer.

Revision ID: 9c4d2e7f0004
Revises: 7a3e0c1d0003
Create Date: 2026-11-22 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9c4d2e7f0004"
down_revision: str | None = "7a3e0c1d0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALIASES = (
    "coalesce((SELECT string_agg(value, ' ') FROM json_array_elements_text({}::json) AS value), '')"
)
SOURCES = {
    # table: (kind, name, aliases, body, watched columns)
    "compound": (
        "compound",
        "{r}.name",
        ALIASES.format("{r}.aliases"),
        "{r}.slug || ' ' || {r}.drug_class",
        "name, aliases, slug, drug_class",
    ),
    "condition": (
        "condition",
        "{r}.name",
        ALIASES.format("{r}.aliases"),
        "{r}.slug || ' ' || coalesce({r}.full_name, '')",
        "name, aliases, slug, full_name",
    ),
    "review": ("review", "{r}.title", "''", "{r}.slug", "title, slug"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has its FTS5 index (migration 0002).
    op.execute(
        "CREATE TABLE search_index ("
        "kind varchar(16) NOT NULL, ref_id integer NOT NULL, "
        "name text NOT NULL, aliases text NOT NULL, body text NOT NULL, "
        "document tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('simple', name), 'A') || "
        "setweight(to_tsvector('simple', aliases), 'B') || "
        "setweight(to_tsvector('simple', body), 'C')) STORED, "
        "PRIMARY KEY (kind, ref_id))"
    )
    op.execute("CREATE INDEX ix_search_index_document ON search_index USING GIN (document)")
    for table, (kind, name, aliases, body, watched) in SOURCES.items():
        new = {
            k: v.format(r="NEW") for k, v in (("name", name), ("aliases", aliases), ("body", body))
        }
        op.execute(
            f"""
CREATE FUNCTION search_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM search_index WHERE kind = '{kind}' AND ref_id = OLD.id;
    RETURN OLD;
  END IF;
  INSERT INTO search_index (kind, ref_id, name, aliases, body)
  VALUES ('{kind}', NEW.id, {new["name"]}, {new["aliases"]}, {new["body"]})
  ON CONFLICT (kind, ref_id) DO UPDATE
    SET name = EXCLUDED.name, aliases = EXCLUDED.aliases, body = EXCLUDED.body;
  RETURN NEW;
END $$"""
        )
        op.execute(
            f"CREATE TRIGGER search_{table} AFTER INSERT OR DELETE OR UPDATE OF {watched} "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION search_{table}()"
        )
        old = {
            k: v.format(r="t") for k, v in (("name", name), ("aliases", aliases), ("body", body))
        }
        op.execute(
            f"INSERT INTO search_index (kind, ref_id, name, aliases, body) "
            f"SELECT '{kind}', t.id, {old['name']}, {old['aliases']}, {old['body']} FROM {table} t"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in SOURCES:
        op.execute(f"DROP TRIGGER IF EXISTS search_{table} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS search_{table}()")
    op.execute("DROP TABLE IF EXISTS search_index")
