"""Per-request context: the viewer, one lazily opened database session, the DataLoaders.

The request owns the transaction: resolvers never commit. All database work of a
request goes through ``Context.db`` which serialises it on the request's single
session (DataLoaders of different relations may fire in the same tick, and an
AsyncSession must not run two statements at once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from config import Settings
from db.engine import Database
from resolvers.loaders import Loaders

T = TypeVar("T")
log = logging.getLogger("compendium.db")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: anonymous readers see published content only."""

    role: str = "anonymous"  # anonymous, editor, reviewer or admin
    name: str | None = None

    @property
    def can_preview(self) -> bool:
        """Drafts and the working copy (preview)."""
        return self.role in ("editor", "reviewer", "admin")

    @property
    def can_edit(self) -> bool:
        """Facts, sections, generation, submitting, unpublishing and archiving."""
        return self.role in ("editor", "reviewer", "admin")

    @property
    def can_publish(self) -> bool:
        """Medical sign-off: only a reviewer approves and publishes."""
        return self.role == "reviewer"

    @property
    def can_admin(self) -> bool:
        """Tokens and the audit log."""
        return self.role == "admin"


class Effects(Protocol):
    """What a committed change does outside the database. The server provides it
    (``server/effects.py``); ``editorial.outcome.apply`` drives it after each commit."""

    async def invalidate(self, tags: Sequence[str]) -> None:
        """Drop the cached responses (and CDN copies) tagged with any of these."""

    def wake_webhooks(self) -> None:
        """Deliver the webhook events just enqueued now rather than at the next poll."""


class NoEffects:
    """Outside the server (previews, tests): no response cache, no webhook dispatcher."""

    async def invalidate(self, tags: Sequence[str]) -> None:
        return None

    def wake_webhooks(self) -> None:
        return None


class Context:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        viewer: Viewer | None = None,
        request: Any = None,
        request_id: str | None = None,
        effects: Effects | None = None,
    ):
        self.database = database
        self._session: Any = None
        self._lock = asyncio.Lock()
        self.settings = settings
        self.viewer = viewer or Viewer()
        self.request = request
        self.request_id = request_id
        self.effects: Effects = effects or NoEffects()
        # What the response contains (``review:12``, ``list:reviews``...): the response
        # cache's invalidation tags and the Surrogate-Key header.
        self.tags: set[str] = set()
        self.loaders = Loaders(self.db)
        self._memo: dict[Any, asyncio.Future[Any]] = {}

    def depends(self, *tags: str) -> None:
        self.tags.update(tags)

    @property
    def review_interval(self) -> timedelta:
        return timedelta(days=self.settings.review_interval_days)

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a query function of ``db.queries`` on the request's session."""
        async with self._lock:
            read = not self.viewer.can_preview
            if self._session is None and self.database.needs_session(fn, read):
                # Readers' requests may be served by a replica; editors' never are (they
                # must see their own writes at once).
                self._session = self.database.session(read=read)
            return await self.database.run(self._session, fn, *args)

    async def once(self, key: Any, fn: Callable[..., T], *args: Any) -> T:
        """A per-request memo: the first caller runs the query, the others share its result."""
        future = self._memo.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._memo[key] = future
            try:
                future.set_result(await self.db(fn, *args))
            except BaseException as exc:
                del self._memo[key]
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    # Waiters, if any, get it; with none, it must not be logged as lost.
                    future.exception()
                raise
        return await future  # type: ignore[no-any-return]

    async def mutate(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one mutation's writes in their own transaction (see ``Database.transact``).

        The read session is ended first and the loaders are replaced after, so
        whatever the mutation's payload reads afterwards sees the committed data."""
        async with self._lock:
            await self.close()
            try:
                return await self.database.transact(fn, *args)
            finally:
                self.loaders = Loaders(self.db)
                self._memo.clear()

    async def close(self, commit: bool = False) -> None:
        if self._session is None:
            return
        session, self._session = self._session, None
        try:
            if commit:
                await self.database.commit(session)
        finally:
            await _quietly_close(self.database, session)


async def _quietly_close(database: Database, session: Any) -> None:
    # Closing returns the connection to the pool (rolling back). A connection the
    # driver already dropped after an error must not turn an answer into a 500.
    try:
        await database.close(session)
    except Exception:
        log.warning("discarding a broken database connection", exc_info=True)
