"""`make check`: migrations upgrade a fresh database to head and match the models
(`alembic check`), on SQLite and on PostgreSQL, so a model change without a
migration fails. Run as ``python -m tests.check_migrations``.

The PostgreSQL half needs the server of ``COMPENDIUM_TEST_POSTGRES_URL``; without
it, it is skipped with a message on a laptop and fails under CI.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from db.migrate import check, upgrade
from tests.databases import POSTGRES_URL, PostgresDatabases, SQLiteDatabases


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SQLiteDatabases(Path(tmp))
        url = sqlite.create("check")
        upgrade(url)
        check(url)
        print(f"migrations OK on SQLite ({url})")
    try:
        postgres = PostgresDatabases(POSTGRES_URL)
    except Exception as exc:
        message = f"PostgreSQL unreachable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            print(f"error: {message}; CI must check migrations on PostgreSQL", file=sys.stderr)
            return 1
        print(f"skipped the PostgreSQL migration check: {message}")
        return 0
    try:
        url = postgres.create("check")
        upgrade(url)
        check(url)
        print("migrations OK on PostgreSQL")
    finally:
        postgres.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
