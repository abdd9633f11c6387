"""Fresh databases for tests, on SQLite (files) or PostgreSQL (one database per test).

``COMPENDIUM_TEST_BACKEND`` picks the backend: ``sqlite`` (the default) or
``postgresql``. The PostgreSQL server is ``COMPENDIUM_TEST_POSTGRES_URL``
(default: the CI machine's, ``postgres@127.0.0.1:5432``). Every test gets its
own database, copied from a migrated template (``CREATE DATABASE ... TEMPLATE``
on PostgreSQL, a file copy on SQLite), so tests never see each other's data.

Without a reachable PostgreSQL server the PostgreSQL run skips with the reason
on a laptop, and fails under CI (``CI=true``): CI must test both databases.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BACKEND = os.environ.get("COMPENDIUM_TEST_BACKEND", "sqlite").lower()
POSTGRES_URL = os.environ.get(
    "COMPENDIUM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
# Each pytest process names its databases with its own prefix, so two runs on one
# server (or a crashed earlier run) never collide.
RUN = f"cmpt_{uuid.uuid4().hex[:8]}"


def is_postgres() -> bool:
    return BACKEND in ("postgresql", "postgres", "pg")


class SQLiteDatabases:
    name = "sqlite"

    def __init__(self, root: Path):
        self.root = root

    def url(self, name: str) -> str:
        return f"sqlite:///{self.root / name}.db"

    def create(self, name: str | None = None, template: str | None = None) -> str:
        url = self.url(name or uuid.uuid4().hex[:12])
        if template is not None:
            source = Path(make_url(template).database or "")
            target = Path(make_url(url).database or "")
            shutil.copy(source, target)
        return url

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresDatabases:
    name = "postgresql"

    def __init__(self, server_url: str):
        self.server = make_url(server_url)
        admin = self.server.set(drivername="postgresql+psycopg")
        # AUTOCOMMIT: CREATE/DROP DATABASE cannot run in a transaction.
        self.admin = create_engine(admin, isolation_level="AUTOCOMMIT", pool_size=1)
        with self.admin.connect() as conn:
            conn.execute(text("SELECT 1"))
        self.created: list[str] = []

    def url(self, name: str) -> str:
        return self.server.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str | None = None, template: str | None = None) -> str:
        name = f"{RUN}_{name or uuid.uuid4().hex[:12]}"
        sql = f'CREATE DATABASE "{name}"'
        if template is not None:
            sql += f' TEMPLATE "{make_url(template).database}"'
        with self.admin.connect() as conn:
            conn.execute(text(sql))
        self.created.append(name)
        return self.url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name in self.created:
            try:
                with self.admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception:  # pragma: no cover - best effort at the end of the run
                pass
        self.admin.dispose()


def open_backend(root: Path) -> SQLiteDatabases | PostgresDatabases:
    if not is_postgres():
        return SQLiteDatabases(root)
    try:
        return PostgresDatabases(POSTGRES_URL)
    except Exception as exc:
        reason = f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()} is unreachable: {exc}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason + " (CI must run the suite on PostgreSQL)", pytrace=False)
        pytest.skip(reason)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, host: str, port: int) -> None:
    """Skip (on a laptop) or fail (under CI) when a service the test needs is not listening."""

    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError as exc:
        reason = f"{name} at {host}:{port} is unreachable ({exc})"
        if in_ci():
            pytest.fail(reason + "; CI must run this test", pytrace=False)
        pytest.skip(reason)
