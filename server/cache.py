"""The response cache: executed results of anonymous queries, invalidated precisely.

What is cached: the exact bytes of successful anonymous query responses (no
errors, no token), keyed by the document's SHA-256, the operation name, the
variables and the media type. Each entry carries the *tags* of the records it
contains (``review:12``, ``compound:3``, ``list:reviews``...), collected while
the query executed; a change invalidates exactly the entries tagged with what it
changed. The same tags are the ``Surrogate-Key`` header a CDN purges by, and
every invalidation is queued for the purge hooks (e.g. a CDN's purge API), which
a background task calls (server/purge.py): once per change and process.

Two stores:

* ``MemoryStore`` (default): an LRU in this process bounded in entries and bytes,
  with expired entries swept in expiry order, plus a *fast map*
  from the raw GET query string to the entry, so a persisted-query GET is
  answered before any JSON decoding or GraphQL parsing (``FastPath``).
* ``RedisStore`` (``COMPENDIUM_REDIS_URL``): entries and tag sets in Redis,
  shared by every worker and instance; invalidation deletes them for everyone.

Changes made by other processes (the CLI, other workers or instances) reach
the in-process store through the database's change log (``ChangePoller``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import json
import logging
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from server.purge import PurgeHook, PurgeQueue

log = logging.getLogger("compendium.cache")

GZIP_MIN = 1024
# A gzip member header: deflate, no name, mtime 0, unknown OS.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# The stored body ends with the closing braces of `cost`, `extensions` and the answer.
SPLICE_TAIL = 3
# What an entry and a fast link cost besides their bytes (dicts, sets, tuples, strings).
ENTRY_OVERHEAD = 600
LINK_OVERHEAD = 200
MAX_LINKS = 8
MAX_LINK_BYTES = 8192


def document_hash(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


def cache_key(doc_hash: str, operation: str | None, variables: Any, media: str) -> str:
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    blob = f"{doc_hash}\n{operation or ''}\n{canonical}\n{media}"
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class Entry:
    """One cached response, with everything needed to send it again.

    ``body`` is the answer as stored, ending in ``"cost":{"requested":N}}}``: each
    answer splices in what is its own (``"actual"`` and the client's
    ``"throttleStatus"``, see server/cached_response.py) before the closing braces.
    ``gz_head`` is the gzip stream of everything before that point, ended with a
    sync flush, so a compressed answer is this prefix, one stored block with the
    spliced tail, and the trailer: no compression per request.
    """

    body: bytes
    media: str
    tags: frozenset[str]
    etag: str
    expires: float  # time.time() after which it is no longer served
    gz_head: bytes | None = None
    gz_crc: int = 0
    headers: dict[str, list[tuple[bytes, bytes]]] = field(default_factory=dict)

    @staticmethod
    def build(body: bytes, media: str, tags: Iterable[str], ttl: float) -> Entry:
        # Weak: the bytes sent differ per client in `extensions.cost` only.
        etag = 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        entry = Entry(body, media, frozenset(tags), etag, time.time() + ttl)
        entry.compress()
        return entry

    @property
    def head(self) -> bytes:
        """The body up to where each answer's own cost goes."""
        return self.body[:-SPLICE_TAIL]

    def compress(self) -> None:
        if self.gz_head is None and len(self.body) >= GZIP_MIN:
            head = self.head
            deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            self.gz_head = GZIP_HEADER + deflate.compress(head) + deflate.flush(zlib.Z_SYNC_FLUSH)
            self.gz_crc = zlib.crc32(head)

    @property
    def size(self) -> int:
        """Bytes this entry holds (body, gzip copy, tags, prepared headers), roughly."""
        return (
            len(self.body)
            + len(self.gz_head or b"")
            + sum(len(t) + 64 for t in self.tags)
            + ENTRY_OVERHEAD
        )

    def to_bytes(self) -> bytes:
        head = json.dumps(
            {"m": self.media, "t": sorted(self.tags), "e": self.etag, "x": self.expires}
        ).encode()
        return len(head).to_bytes(4, "big") + head + self.body

    @staticmethod
    def from_bytes(raw: bytes) -> Entry:
        n = int.from_bytes(raw[:4], "big")
        head = json.loads(raw[4 : 4 + n])
        # No gzip copy stored: it is made when an answer asks for it (server/cached_response).
        return Entry(raw[4 + n :], head["m"], frozenset(head["t"]), head["e"], head["x"])


def cache_control(settings: Any) -> str:
    """Cache-Control of anonymous GET answers (browsers and CDNs)."""
    return (
        f"public, max-age={settings.cache_max_age}, "
        f"stale-while-revalidate={settings.cache_stale_while_revalidate}"
    )


def surrogate_keys(tags: Iterable[str]) -> str:
    return " ".join(sorted(tags))


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


# --- changes made by other processes -------------------------------------------------------

TAGS_OF_CHANGE = {
    "review": ("review:{id}", "list:reviews", "list:search", "changes"),
    "compound": ("compound:{id}", "list:compounds", "list:search", "changes"),
    "condition": ("condition:{id}", "list:conditions", "list:search", "changes"),
    "evidence": ("evidence:{id}",),
    "publisher": ("publisher",),
}


class ChangePoller:
    """Reads the database's change log (written by triggers, whoever made the change) and
    invalidates what changed, so entries made stale by the CLI or by another worker or
    instance live at most `cache_poll_seconds` in this process."""

    def __init__(self, database: Any, cache: ResponseCache, interval: float):
        self.database = database
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
        from db.changes import change_log_after

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
        tags = {
            t.format(id=entity_id) for entity, entity_id in rows for t in TAGS_OF_CHANGE[entity]
        }
        await self.cache.invalidate_logged(tags, read_at)
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
