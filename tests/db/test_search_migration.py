"""The search_per_locale migration: filling the index from the approved copies gives the
rows its triggers write (the demo database was indexed by the triggers, page by page),
and it can be undone and done again."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import text

from db.engine import make_engine
from db.migrate import alembic_config, upgrade

BEFORE = "f2c6d8b40013"  # change_log_locale: the last revision without it


def index_rows(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            columns = ["kind", "ref_id", "name", "aliases", "body"]
            present = _columns(conn)
            columns += [c for c in ("locale",) if c in present]
            # (PostgreSQL: the text-search configuration of each row too.)
            columns += ["config::text"] if "config" in present else []
            select = ", ".join(columns)
            rows = conn.execute(text(f"SELECT {select} FROM search_index")).all()
    finally:
        engine.dispose()
    return sorted(tuple(r) for r in rows)


def _columns(conn: Any) -> set[str]:
    if conn.dialect.name == "sqlite":
        return {r[1] for r in conn.execute(text("PRAGMA table_info(search_index)"))}
    return set(
        conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'search_index'"
            )
        ).scalars()
    )


def test_the_index_filled_by_the_migration_is_the_one_its_triggers_keep(demo_url: str) -> None:
    kept = index_rows(demo_url)
    locales = {(row[0], row[5]) for row in kept}
    # The demo's Spanish pages and the Spanish names of its translated records.
    assert {("review", "en"), ("review", "es"), ("compound", ""), ("compound", "es")} <= locales
    assert ("condition", "es") in locales

    command.downgrade(alembic_config(demo_url), BEFORE)
    before = index_rows(demo_url)
    # The shape before: no locale, every published page alike, no translated names.
    assert len(before[0]) == 5
    assert len(before) == len([r for r in kept if r[0] == "review" or r[5] == ""])

    upgrade(demo_url)
    assert index_rows(demo_url) == kept
