"""Where the server runs SQLite queries: on the event loop while they are quick, in a
worker thread once they are not (db.engine.Database.run)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from db.engine import Database, key_lookup
from db.queries import ping


def busy(seconds: float) -> None:
    """Work the CPU (as a long count or search at scale does) for ``seconds``."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


async def test_sqlite_queries_leave_the_event_loop_once_they_are_slow(tmp_path: Path) -> None:
    # SQLite only, on either backend's run: PostgreSQL runs every query through asyncpg.
    database = Database(f"sqlite:///{tmp_path / 'engine.db'}")
    assert database.threaded
    ran_in: list[threading.Thread] = []

    def quick(session: Any) -> bool:
        ran_in.append(threading.current_thread())
        return ping(session)

    def slow(session: Any) -> bool:
        ran_in.append(threading.current_thread())
        busy(0.02)
        return ping(session)

    @key_lookup
    def by_key(session: Any) -> bool:
        busy(0.002)
        ran_in.append(threading.current_thread())
        return ping(session)

    main = threading.current_thread()
    session = database.session()
    try:
        await database.run(session, ping)  # (opening the connection is not a query's cost)
        for _ in range(3):
            assert await database.run(session, quick)
        assert ran_in == [main] * 3
        ran_in.clear()
        for _ in range(3):
            assert await database.run(session, slow)
        # Unknown at first (run inline, found slow), then in a worker thread.
        assert ran_in[0] is main and all(t is not main for t in ran_in[1:])
        ran_in.clear()
        for _ in range(3):
            assert await database.run(session, by_key)
        assert ran_in == [main] * 3  # key lookups always run inline
    finally:
        await database.close(session)
        await database.dispose()
