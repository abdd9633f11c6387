"""Looking at the database from outside the processes under test."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from db.engine import is_sqlite, make_engine
from editorial.generation import generate
from tests.conftest import TEMPLATES, load
from tests.server.faults.tools import SEED, wait_until

# --- looking at the database from outside ----------------------------------------------------


class Probe:
    """Looks at the database under test from the test process (never holding a connection
    between calls, so it neither blocks the program under test nor keeps its state)."""

    def __init__(self, url: str):
        self.url = url
        self.sqlite = is_sqlite(url)
        self.path = Path(make_url(url).database or "")
        self.engine = make_engine(url, poolclass=NullPool)

    def close(self) -> None:
        self.engine.dispose()

    def scalar(self, statement: Any, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(statement, params).scalar()

    def count(self, statement: Any) -> int:
        return int(self.scalar(select(func.count()).select_from(statement.subquery())) or 0)

    # Someone else is in the middle of a write transaction.
    def writer_active(self) -> bool:
        if self.sqlite:
            # The write lock: BEGIN IMMEDIATE fails at once while another connection holds it.
            con = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return True
                raise
            else:
                con.execute("ROLLBACK")
                return False
            finally:
                con.close()
        return bool(
            self.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                )
            )
        )

    def wal_size(self) -> int:
        wal = Path(f"{self.path}-wal")
        return wal.stat().st_size if wal.exists() else 0

    def writing_rows_of(self, table: str) -> bool:
        """PostgreSQL: another session holds a row-write lock on ``table`` (it has
        inserted or changed rows there that are not committed)."""
        return bool(
            self.scalar(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = :table AND l.mode = 'RowExclusiveLock' "
                    "AND l.pid <> pg_backend_pid() AND l.granted "
                    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                table=table,
            )
        )

    def other_sessions(self) -> int:
        """PostgreSQL: sessions on this database other than ours (0 on SQLite)."""
        if self.sqlite:
            return 0
        return int(
            self.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            )
            or 0
        )

    def wait_for_dead_sessions(self) -> None:
        """PostgreSQL notices a killed client and rolls its transaction back; wait for it
        (a killed client's session must not linger holding locks)."""
        wait_until(lambda: self.other_sessions() == 0, 30, "the killed client's session to end")

    def snapshot(self) -> dict[str, tuple[int, str]]:
        """Every table (search index included): its row count and a digest of its rows."""
        out: dict[str, tuple[int, str]] = {}
        with self.engine.connect() as conn:
            for table in sorted(inspect(conn).get_table_names()):
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                lines = sorted(repr(tuple(row)) for row in rows)
                out[table] = (len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest())
        return out

    def check_integrity(self) -> None:
        if self.sqlite:
            with self.engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        else:
            # PostgreSQL enforces its constraints; check that nothing dangles all the same.
            orphans = self.scalar(
                text(
                    "SELECT (SELECT count(*) FROM review_section s LEFT JOIN review r "
                    "ON r.id = s.review_id WHERE r.id IS NULL) + (SELECT count(*) FROM "
                    "evidence e LEFT JOIN compound c ON c.id = e.compound_id WHERE c.id IS NULL)"
                )
            )
            assert orphans == 0


def seeded(url: str) -> None:
    """The default templates, the two seed pairs and their generated reviews."""

    engine = make_engine(url)
    try:
        load(engine, TEMPLATES, SEED)
        generate(engine)
    finally:
        engine.dispose()
