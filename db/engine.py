"""Engines and sessions.

One setting, ``COMPENDIUM_DATABASE_URL``, names the database. Synchronous code
(CLI, migrations, generation) and the asynchronous server each get the driver
they need for it: ``sqlite://`` / ``sqlite+aiosqlite://`` and
``postgresql+psycopg://`` / ``postgresql+asyncpg://``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

# SQLModel's AsyncSession runs sync functions on a SQLModel Session (``exec``
# included), the same class the threaded SQLite path uses.
from sqlmodel.ext.asyncio.session import AsyncSession

from config import get_settings
from db.lookups import KeyRead

T = TypeVar("T")
log = logging.getLogger(__name__)
_FAILED = object()  # a driver read that failed (``Database._driver_read``)


# A pooled PostgreSQL connection idle for longer than this is checked (the three round
# trips of asyncpg's ping: BEGIN, an empty query, ROLLBACK) before a request gets it; one that
# was in use a moment ago is not (a busy server would otherwise ping before every request).
PING_IDLE_SECONDS = 1.0

# Marks a readers' session (``Session.info``): it never writes, so a statement of its
# that met a dead connection can run again on a new one.
READS_ONLY = "compendium_reads_only"

KEY_LOOKUP = "__compendium_key_lookup__"
F = TypeVar("F", bound=Callable[..., Any])


def key_lookup(fn: F) -> F:
    """Marks a query function that reads rows by primary or unique key (a few index probes,
    bounded by the number of keys asked for): on SQLite, ``Database.run`` runs it inline
    on the event loop instead of in a worker thread. Lists, counts and searches are not
    key lookups: they stay in a thread, where a long one blocks nobody."""
    setattr(fn, KEY_LOOKUP, True)
    return fn


def sync_url(url: str) -> str:
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        return u.set(drivername="sqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def async_url(url: str) -> str:
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        return u.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    return url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the API) proceed while a writer (generation) commits;
    # foreign keys are off by default in SQLite and must be enforced per connection.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# SQLite: a bulk writer's page cache (KiB; the default is 2 MB), for its transaction only
# (``db.bulk.bulk_settings``): a batch updates a dozen indexes of tables of hundreds of
# thousands of rows, and with 2 MB it read the same index pages again and again (with
# 64 MB: publishing 20,000 reviews 11% faster; at 50,000, regenerating 9% faster and
# publishing the same). The connection gets the default back when it returns to the
# pool, so readers' pooled connections never hold 64 MB each.
BULK_CACHE_KIB = 65536
BULK_CACHE = "compendium_bulk_cache"


def _sqlite_default_cache(dbapi_connection: Any, record: Any) -> None:
    if record is not None and record.info.pop(BULK_CACHE, False):
        dbapi_connection.execute("PRAGMA cache_size=-2000")


class RawJSON(str):
    """A value already encoded as JSON (e.g. by a generation worker process)."""

    __slots__ = ()


def to_json(value: Any) -> str:
    # Compact and UTF-8: review blocks are the bulk of the database.
    if isinstance(value, RawJSON):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = sync_url(url or get_settings().database_url)
    kwargs.setdefault("json_serializer", to_json)
    engine = create_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", _sqlite_default_cache)
    return engine


def make_async_engine(url: str | None = None, **kwargs: Any) -> AsyncEngine:
    url = async_url(url or get_settings().database_url)
    kwargs.setdefault("json_serializer", to_json)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "checkin", _sqlite_default_cache)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat idle: a pooled connection
    unused for ``PING_IDLE_SECONDS`` is pinged when checked out, and one that does not
    answer (the server restarted, a proxy dropped it) is replaced before the request
    uses it (the pool retries the checkout on ``DisconnectionError``)."""

    @event.listens_for(engine, "checkin")
    def idle_since(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        # A connection the driver already knows is gone (the server ended it, a cancelled
        # query's connection was terminated) is replaced at once, ping or no ping.
        driver = getattr(dbapi_connection, "_connection", None)
        if driver is not None and driver.is_closed():
            raise DisconnectionError("the pooled connection is closed")
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("the pooled connection did not answer a ping") from exc


@contextmanager
def session_scope(engine: Engine, immediate: bool = False) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error. ``immediate``: on SQLite,
    take the write lock up front (BEGIN IMMEDIATE, as ``Database.transact`` does), for a
    unit that reads before it writes while a server may be writing too."""
    with Session(engine, expire_on_commit=False) as session:
        if immediate and engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# A query function averaging under this runs on the event loop (SQLite; see Database.run).
INLINE_SECONDS = 0.001


def _timed(fn: Callable[..., T], session: Any, args: tuple[Any, ...]) -> tuple[T, float]:
    """``fn``'s result and the CPU time it took: the work it would put on the event loop.
    Not wall time, which in a worker thread counts the waits for the GIL (each row of a
    result takes it back): a query pushed off the loop would look slower there than it
    is, and never come back."""
    started = time.thread_time()
    result = fn(session, *args)
    return result, time.thread_time() - started


class Database:
    """The server's database: sessions, and a way to run sync query functions without
    blocking the event loop.

    SQLite runs the pysqlite driver in a worker thread, one hop per call (the
    aiosqlite driver hops threads for every cursor operation, several per
    statement). PostgreSQL uses asyncpg through SQLAlchemy's greenlet bridge
    (``AsyncSession.run_sync``): the same sync functions, no threads.
    """

    def __init__(self, url: str, read_url: str | None = None):
        self.url = url
        self.threaded = is_sqlite(url)
        # PostgreSQL readers' key lookups: how many ran through the driver, and how many of
        # those met an error and ran again on the session (see ``_driver_read``).
        self.driver_reads = {"driver": 0, "fallback": 0}
        # Recent duration of each query function (SQLite: where ``run`` runs it).
        self._timings: dict[Callable[..., Any], float] = {}
        # Anonymous reads may go to a replica (``COMPENDIUM_DATABASE_READ_URL``); writes,
        # token lookups and editors' reads always go to the primary.
        self.replica: Database | None = None
        if read_url and read_url != url:
            if is_sqlite(read_url) != self.threaded:
                raise ValueError("the read replica must be the same kind of database")
            self.replica = Database(read_url)
        if self.threaded:
            # Sessions hop between worker threads (never two at once: see Context). Key
            # lookups run on the event loop, so taking a connection must never wait: past
            # the pool's size, a request opens one of its own (SQLite files: cheap).
            self.engine = make_engine(
                url,
                connect_args={"check_same_thread": False},
                poolclass=QueuePool,
                pool_size=16,
                max_overflow=-1,
            )
            self.async_engine: AsyncEngine | None = None
            self._driver_engine: AsyncEngine | None = None
            self._sessions: Any = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        else:
            self.async_engine = make_async_engine(url)
            self.engine = self.async_engine.sync_engine
            _ping_when_idle(self.engine)
            self._sessions = async_sessionmaker(
                self.async_engine, class_=AsyncSession, expire_on_commit=False
            )
            # Readers' sessions run each statement on its own (no BEGIN and ROLLBACK
            # round trips around a request's reads). What they see is the same: under
            # PostgreSQL's READ COMMITTED every statement of a transaction takes its own
            # snapshot anyway, and readers' sessions never write.
            self._driver_engine = self.async_engine.execution_options(isolation_level="AUTOCOMMIT")
            self._read_sessions = async_sessionmaker(
                self._driver_engine,
                class_=AsyncSession,
                expire_on_commit=False,
                info={READS_ONLY: True},
            )

    @property
    def sync_engine(self) -> Engine:
        return self.engine

    def session(self, read: bool = False) -> Any:
        """A session on the primary, or on the replica (if any) for ``read``-only work."""
        if read and self.replica is not None:
            return self.replica.session(read=True)
        if read and not self.threaded:
            return self._read_sessions()
        return self._sessions()

    def needs_session(self, fn: Callable[..., Any], read: bool) -> bool:
        """Whether ``run`` needs a session for ``fn``: a PostgreSQL readers' key lookup
        runs through the driver, on a pooled connection of its own when no session holds
        one (see ``_driver_read``)."""
        return self.threaded or not read or not isinstance(fn, KeyRead)

    async def run(self, session: Any, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)``; ``session`` may be None where ``needs_session``
        says so."""
        if not self.threaded:
            if not self.needs_session(fn, session is None or bool(session.info.get(READS_ONLY))):
                found = await self._driver_read(session, fn, args)
                if found is not _FAILED:
                    return found  # type: ignore[no-any-return]
                # The session path runs the statement again and reports its failure (if
                # any) as it reports any statement's.
                if session is None:
                    session = self.session(read=True)
                    try:
                        return await self._run_async(session, fn, args)
                    finally:
                        await session.close()
            return await self._run_async(session, fn, args)
        # SQLite: a query that takes microseconds costs less on the event loop than a
        # thread hop (and under load, far less than threads fighting over the GIL); WAL
        # readers never wait for a writer. Key lookups always run inline; other queries
        # as long as they have been quick (each function's recent CPU time, measured
        # wherever it ran), in a worker thread once they are not.
        if isinstance(fn, KeyRead) or getattr(fn, KEY_LOOKUP, False):
            return fn(session, *args)
        if self._timings.get(fn, 0.0) < INLINE_SECONDS:
            result, elapsed = _timed(fn, session, args)
        else:
            result, elapsed = await anyio.to_thread.run_sync(_timed, fn, session, args)
        previous = self._timings.get(fn)
        self._timings[fn] = elapsed if previous is None else 0.8 * previous + 0.2 * elapsed
        return result

    async def _run_async(self, session: Any, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            return await session.run_sync(fn, *args)  # type: ignore[no-any-return]
        except DBAPIError as exc:
            # A connection in use a moment ago can still be dead (the server restarted
            # under a busy pool: no ping then). A reader's query wrote nothing: it runs
            # once more, on a new connection (the pool dropped every older one).
            if not (exc.connection_invalidated and session.info.get(READS_ONLY)):
                raise
            await session.rollback()
            return await session.run_sync(fn, *args)  # type: ignore[no-any-return]

    async def _driver_read(self, session: Any, fn: Any, args: tuple[Any, ...]) -> Any:
        """A readers' key lookup through the driver (db/lookups.py), on the connection the
        session holds if it holds one (a request never takes two at once), else on a
        pooled one for this statement alone, checked out as the session's would be (pinged
        when idle; an unreachable database raises here as it would there). ``_FAILED``
        when the statement failed (the connection is then replaced)."""
        self.driver_reads["driver"] += 1
        if session is not None and session.in_transaction():
            try:
                return await fn.fetch(await session.connection(), *args)
            except Exception:
                return self._failed()
        reads = self.replica or self
        assert reads._driver_engine is not None
        async with reads._driver_engine.connect() as connection:
            try:
                return await fn.fetch(connection, *args)
            except BaseException as exc:
                # (Cancelled too: a statement may still be under way on it.)
                await connection.invalidate()
                if not isinstance(exc, Exception):
                    raise
                return self._failed()

    def _failed(self) -> object:
        self.driver_reads["fallback"] += 1
        log.warning("a key lookup failed through the driver", exc_info=True)
        return _FAILED

    async def transact(self, fn: Callable[..., T], *args: Any) -> T:
        """See ``_transact``; a transaction PostgreSQL aborted as a deadlock victim (or a
        serialization failure) is retried whole, a few times."""
        for attempt in range(4):
            try:
                return await self._transact(fn, *args)
            except DBAPIError as exc:
                code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
                if code not in ("40P01", "40001") or attempt == 3:
                    raise
                await anyio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _transact(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` in its own transaction: committed when it returns,
        rolled back when it raises, so a write lands whole or not at all.

        On SQLite the transaction starts with BEGIN IMMEDIATE: it takes the write
        lock up front (waiting up to the busy timeout), where a deferred one that
        read first could fail to upgrade when another writer committed meanwhile."""
        if self.threaded:

            def work() -> T:
                with Session(self.engine, expire_on_commit=False) as session:
                    session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                    try:
                        result = fn(session, *args)
                        session.commit()
                    except BaseException:
                        session.rollback()
                        raise
                    return result

            return await anyio.to_thread.run_sync(work)
        async with self._sessions() as session:
            try:
                result = await session.run_sync(fn, *args)
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            return result  # type: ignore[no-any-return]

    async def commit(self, session: Any) -> None:
        if self.threaded:
            await anyio.to_thread.run_sync(session.commit)
        else:
            await session.commit()

    async def close(self, session: Any) -> None:
        if self.threaded:
            # Ending a read (a rollback of nothing) and returning the connection to the
            # pool: microseconds, on the event loop like a key lookup.
            session.close()
        else:
            await session.close()

    async def dispose(self) -> None:
        if self.replica is not None:
            await self.replica.dispose()
        if self.async_engine is not None:
            await self.async_engine.dispose()
        else:
            await anyio.to_thread.run_sync(self.engine.dispose)
