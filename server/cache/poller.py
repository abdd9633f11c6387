"""Changes made by other processes (the CLI, other workers or instances) reach this
process's cache through the database's change log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from config import get_settings
from db.changes import change_log_after
from resolvers import tags
from server.cache.response_cache import ResponseCache

log = logging.getLogger("compendium.cache")


class ChangePoller:
    """Reads the database's change log (written by triggers, whoever made the change) and
    invalidates what changed, so entries made stale by the CLI or by another worker or
    instance live at most `cache_poll_seconds` in this process."""

    def __init__(
        self,
        database: Any,
        cache: ResponseCache,
        interval: float,
        locales: list[str] | None = None,
    ):
        self.database = database
        # (Entries name the locale of a review; a record's change is every locale's.)
        self.locales = locales or get_settings().locales
        self.cache = cache
        self.interval = interval
        self.last: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="compendium-change-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def poll(self) -> int:
        # From the replica when there is one: an entry is dropped once the change can be
        # read where readers' answers come from (an answer cached from a lagging replica
        # is dropped again when the change arrives there).
        read_at = time.monotonic()
        session = self.database.session(read=True)
        try:
            last, rows = await self.database.run(session, change_log_after, self.last)
        finally:
            await self.database.close(session)
        if self.last is None:
            self.last = last  # start from now: the cache starts empty
            await self.cache.invalidate_logged((), read_at)
            return 0
        self.last = last
        purged = {
            t
            for entity, entity_id, locale in rows
            for t in tags.of_change(entity, entity_id, locale, self.locales)
        }
        await self.cache.invalidate_logged(purged, read_at)
        return len(rows)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("change log poll failed", exc_info=True)
