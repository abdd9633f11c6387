"""Alembic environment: the URL comes from the config (tests, CLI) or the settings."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel

import db.models
import db.operations
import db.read_model  # noqa: F401
from db.engine import is_sqlite, make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url") or None
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _include_name(name: str | None, type_: Any, _parents: Any) -> bool:
    # The full-text search index (an FTS5 virtual table and its shadow tables)
    # is managed by hand-written migrations, not by the models.
    return not (type_ == "table" and name is not None and name.startswith("search_index"))


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    sqlite = is_sqlite(str(connection.engine.url))
    if sqlite:
        # Batch mode copies a table and drops the original, which SQLite refuses while
        # foreign keys are enforced and other tables reference it (review -> template):
        # off for the migration (it cannot change inside a transaction), checked after.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        _migrate(connection)
    finally:
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
            if broken:
                raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        include_name=_include_name,
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place: batch mode copies the table.
        render_as_batch=is_sqlite(str(connection.engine.url)),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `compendium db upgrade`")
run_migrations()
