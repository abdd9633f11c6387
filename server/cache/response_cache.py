"""The response cache: a store, expiry sweeps and the CDN purge queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from server.cache.entry import Entry
from server.cache.stores import MemoryStore, RedisStore
from server.purge import PurgeHook, PurgeQueue

log = logging.getLogger("compendium.cache")


class ResponseCache:
    """The store, expiry sweeps and CDN purges (lookups are counted in
    ``server.observability``)."""

    def __init__(self, store: MemoryStore | RedisStore, ttl: float, enabled: bool = True):
        self.store = store
        self.ttl = ttl
        self.enabled = enabled
        self.purge_hooks: list[PurgeHook] = []
        self.purges = PurgeQueue(self.purge_hooks)
        # Keys this process purged itself, and when (monotonic): the change-log poller does
        # not purge them again for the same changes (see `invalidate_logged`).
        self._purged_here: dict[str, float] = {}
        self._last_read = float("-inf")
        self._sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Background work: the purge sender, and sweeps of expired entries."""
        self.purges.start()
        if isinstance(self.store, MemoryStore) and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="compendium-cache-sweep")

    async def _sweep(self) -> None:
        assert isinstance(self.store, MemoryStore)
        interval = max(0.25, min(self.ttl / 2, 30.0))
        while True:
            await asyncio.sleep(interval)
            self.store.sweep(time.time())

    async def get(self, key: str) -> Entry | None:
        if not self.enabled:
            return None
        try:
            return await self.store.get(key)
        except Exception:
            log.warning("response cache unavailable (get)", exc_info=True)
            return None

    def link_fast(self, key: str, fast: tuple[bytes, str]) -> None:
        """Let the fast path find an entry by this raw GET query string too."""
        self.store.link_fast(key, fast)

    def get_fast(self, raw: bytes, media: str) -> Entry | None:
        if not self.enabled:
            return None
        return self.store.get_fast(raw, media)

    async def put(
        self, key: str, body: bytes, media: str, tags: Iterable[str], fast: tuple[bytes, str] | None
    ) -> Entry:
        entry = Entry.build(body, media, tags, self.ttl)
        if self.enabled:
            try:
                await self.store.put(key, entry, fast)
            except Exception:
                log.warning("response cache unavailable (put)", exc_info=True)
        return entry

    async def _drop(self, tags: list[str]) -> int:
        try:
            if "*" in tags:  # everything (e.g. a catalog import or a new template)
                await self.store.clear()
                return -1
            return await self.store.invalidate(tags)
        except Exception:
            # Entries would outlive a change: never serve from a cache we could not clean.
            log.error("response cache invalidation failed; clearing the local view", exc_info=True)
            self.enabled = False
            return 0

    async def invalidate(self, tags: Iterable[str], purge: bool = True) -> int:
        """After a change this process made: drop the entries, queue the CDN purge."""
        tags = sorted(set(tags))
        if not tags:
            return 0
        if "*" in tags:
            tags = ["*"]
        dropped = await self._drop(tags)
        if purge:
            now = time.monotonic()
            for tag in tags:
                self._purged_here[tag] = now
            self.purges.enqueue(tags)
        return dropped

    async def invalidate_logged(self, tags: Iterable[str], read_at: float) -> int:
        """Changes read from the change log by a read that started at ``read_at``
        (monotonic). Entries go; the CDN is purged of the keys this process did not purge
        itself since the previous read started (those rows are its own changes, already
        purged after they were committed)."""
        tags = sorted(set(tags))
        dropped = await self._drop(tags) if tags else 0
        since = self._last_read
        self.purges.enqueue([t for t in tags if self._purged_here.get(t, float("-inf")) < since])
        self._last_read = read_at
        # A purge before this read is matched by this read's rows or never: forget it.
        self._purged_here = {t: at for t, at in self._purged_here.items() if at >= read_at}
        return dropped

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        # Shutting down: give pending purges a moment to go out (a CDN that is down keeps
        # its stale copies until their max-age either way).
        with contextlib.suppress(TimeoutError):
            await self.purges.join(timeout=2.0)
        await self.purges.stop()
        await self.store.close()
