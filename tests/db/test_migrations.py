"""Migrations build the schema the models describe; SQLite runs with WAL and foreign keys."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from db.engine import session_scope
from db.migrate import check


def test_models_match_migrations(db_url: str) -> None:
    check(db_url)  # raises when a model change has no migration


def test_sqlite_pragmas(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas (this run is on PostgreSQL)")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_foreign_keys_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.execute(
            text(
                "INSERT INTO evidence (compound_id, condition_id, research, notes, content_hash, revision, created_at, updated_at) VALUES (999, 999, 'LIMITED', '', 'x', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
