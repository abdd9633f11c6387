"""Where cached answers live: in this process (bounded), or in Redis (shared)."""

from __future__ import annotations

import heapq
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from server.cache.entry import LINK_OVERHEAD, MAX_LINK_BYTES, MAX_LINKS, Entry


class MemoryStore:
    """An LRU of entries with a tag index, for one process, bounded in entries and bytes.

    Expired entries are freed by ``sweep`` (on every put and lookup, and periodically by
    ``ResponseCache``) in expiry order, whether their key is asked for again or not. The
    fast path's links (raw GET query string -> entry) count towards the bytes, are at
    most ``MAX_LINKS`` per entry (and only for query strings up to ``MAX_LINK_BYTES``),
    and go with their entry.
    """

    shared = False

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.by_tag: dict[str, set[str]] = {}
        # Raw GET query string + media -> entry key (the fast path's lookup).
        self.fast: dict[tuple[bytes, str], str] = {}
        self.fast_of: dict[str, list[tuple[bytes, str]]] = {}
        self._expiry: list[tuple[float, int, str]] = []  # a heap: (expires, seq, key)
        self._seq = 0

    async def get(self, key: str) -> Entry | None:
        now = time.time()
        self.sweep(now)
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry.expires < now:
            self._drop(key)
            return None
        self.entries.move_to_end(key)
        return entry

    def get_fast(self, raw: bytes, media: str) -> Entry | None:
        key = self.fast.get((raw, media))
        if key is None:
            return None
        entry = self.entries.get(key)
        if entry is None or entry.expires < time.time():
            if entry is not None:
                self._drop(key)
            return None
        return entry

    async def put(self, key: str, entry: Entry, fast: tuple[bytes, str] | None = None) -> None:
        self.sweep(time.time())
        if key in self.entries:
            self._drop(key)
        if entry.size > self.max_bytes // 4:
            return  # one answer may not crowd out the others
        self.entries[key] = entry
        self.bytes += entry.size
        for tag in entry.tags:
            self.by_tag.setdefault(tag, set()).add(key)
        self._seq += 1
        heapq.heappush(self._expiry, (entry.expires, self._seq, key))
        if fast is not None:
            self.link_fast(key, fast)
        self._evict()

    def _evict(self) -> None:
        while self.entries and (
            len(self.entries) > self.max_entries or self.bytes > self.max_bytes
        ):
            self._drop(next(iter(self.entries)))

    def sweep(self, now: float) -> int:
        """Free every entry expired by ``now``; returns how many."""
        heap = self._expiry
        dropped = 0
        while heap and heap[0][0] < now:
            expires, _, key = heapq.heappop(heap)
            entry = self.entries.get(key)
            if entry is not None and entry.expires == expires:
                self._drop(key)
                dropped += 1
        if len(heap) > 2 * len(self.entries) + 1024:
            # Replaced and invalidated entries leave their heap items behind: rebuild.
            self._expiry = [(e.expires, i, k) for i, (k, e) in enumerate(self.entries.items())]
            heapq.heapify(self._expiry)
        return dropped

    def _drop(self, key: str) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.size
            for tag in entry.tags:
                keys = self.by_tag.get(tag)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self.by_tag[tag]
        for fast in self.fast_of.pop(key, ()):
            if self.fast.get(fast) == key:
                del self.fast[fast]
                self.bytes -= len(fast[0]) + LINK_OVERHEAD

    def link_fast(self, key: str, fast: tuple[bytes, str]) -> None:
        if key not in self.entries or len(fast[0]) > MAX_LINK_BYTES or fast in self.fast:
            return
        links = self.fast_of.setdefault(key, [])
        if len(links) >= MAX_LINKS:
            old = links.pop(0)
            if self.fast.pop(old, None) is not None:
                self.bytes -= len(old[0]) + LINK_OVERHEAD
        links.append(fast)
        self.fast[fast] = key
        self.bytes += len(fast[0]) + LINK_OVERHEAD
        self._evict()

    async def invalidate(self, tags: Iterable[str]) -> int:
        keys = set()
        for tag in tags:
            keys |= self.by_tag.get(tag, set())
        for key in keys:
            self._drop(key)
        return len(keys)

    async def clear(self) -> None:
        self.entries.clear()
        self.by_tag.clear()
        self.fast.clear()
        self.fast_of.clear()
        self._expiry.clear()
        self.bytes = 0

    async def close(self) -> None:
        pass


class RedisStore:
    """Entries and tag sets in Redis: every worker and instance sees the same cache."""

    shared = True

    def __init__(self, client: Any, prefix: str, ttl: float):
        self.client = client
        self.prefix = prefix
        self.ttl = ttl

    def _k(self, key: str) -> str:
        # e2: entries end with the splice point of each answer's cost (older ones do not).
        return f"{self.prefix}e2:{key}"

    def _t(self, tag: str) -> str:
        return f"{self.prefix}t:{tag}"

    def get_fast(self, raw: bytes, media: str) -> Entry | None:
        return None  # shared entries are only read after the request is parsed

    def link_fast(self, key: str, fast: tuple[bytes, str]) -> None:
        pass

    async def get(self, key: str) -> Entry | None:
        raw = await self.client.get(self._k(key))
        if raw is None:
            return None
        entry = Entry.from_bytes(raw)
        return entry if entry.expires >= time.time() else None

    async def put(self, key: str, entry: Entry, fast: tuple[bytes, str] | None = None) -> None:
        ttl = max(1, int(entry.expires - time.time()))
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self._k(key), entry.to_bytes(), ex=ttl)
        for tag in entry.tags:
            pipe.sadd(self._t(tag), key)
            pipe.expire(self._t(tag), ttl + 60)
        await pipe.execute()

    async def invalidate(self, tags: Iterable[str]) -> int:
        tags = list(tags)
        if not tags:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for tag in tags:
            pipe.smembers(self._t(tag))
        members = await pipe.execute()
        keys = {m.decode() if isinstance(m, bytes) else m for group in members for m in group}
        pipe = self.client.pipeline(transaction=True)
        for key in keys:
            pipe.delete(self._k(key))
        for tag in tags:
            pipe.delete(self._t(tag))
        await pipe.execute()
        return len(keys)

    async def clear(self) -> None:
        async for name in self.client.scan_iter(match=f"{self.prefix}*", count=1000):
            await self.client.delete(name)

    async def close(self) -> None:
        await self.client.aclose()
