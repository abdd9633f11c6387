"""The response cache: executed results of anonymous queries, invalidated precisely.

What is cached: the exact bytes of successful anonymous query responses (no
errors, no token), keyed by the document's SHA-256, the operation name, the
variables and the media type. Each entry carries the *tags* of the records it
contains (``review:12``, ``compound:3``, ``list:reviews``...), collected while
the query executed; a change invalidates exactly the entries tagged with what it
changed. The same tags are the ``Surrogate-Key`` header a CDN purges by, and
every invalidation is handed to the purge hooks (e.g. a CDN's purge API).

Two stores:

* ``MemoryStore`` (default): a bounded LRU in this process, plus a *fast map*
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
import gzip
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("compendium.cache")

PurgeHook = Callable[[list[str]], Awaitable[None]]
GZIP_MIN = 1024


def document_hash(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


def cache_key(doc_hash: str, operation: str | None, variables: Any, media: str) -> str:
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    blob = f"{doc_hash}\n{operation or ''}\n{canonical}\n{media}"
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class Entry:
    """One cached response, with everything needed to send it again."""

    body: bytes
    media: str
    tags: frozenset[str]
    etag: str
    expires: float  # time.time() after which it is no longer served
    gzipped: bytes | None = None
    headers: dict[str, list[tuple[bytes, bytes]]] = field(default_factory=dict)

    @staticmethod
    def build(body: bytes, media: str, tags: Iterable[str], ttl: float) -> Entry:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        gz = gzip.compress(body, 6, mtime=0) if len(body) >= GZIP_MIN else None
        return Entry(body, media, frozenset(tags), etag, time.time() + ttl, gz)

    def to_bytes(self) -> bytes:
        head = json.dumps(
            {"m": self.media, "t": sorted(self.tags), "e": self.etag, "x": self.expires}
        ).encode()
        return len(head).to_bytes(4, "big") + head + self.body

    @staticmethod
    def from_bytes(raw: bytes) -> Entry:
        n = int.from_bytes(raw[:4], "big")
        head = json.loads(raw[4 : 4 + n])
        # No gzip copy: only the in-process fast path serves one (Redis entries go through
        # the normal path, whose middleware compresses).
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
    """A bounded LRU of entries with a tag index, for one process."""

    shared = False

    def __init__(self, max_entries: int = 10_000):
        self.max_entries = max_entries
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.by_tag: dict[str, set[str]] = {}
        # Raw GET query string + media -> entry key (the fast path's lookup).
        self.fast: dict[tuple[bytes, str], str] = {}
        self.fast_of: dict[str, set[tuple[bytes, str]]] = {}

    async def get(self, key: str) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry.expires < time.time():
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
        if key in self.entries:
            self._drop(key)
        self.entries[key] = entry
        for tag in entry.tags:
            self.by_tag.setdefault(tag, set()).add(key)
        if fast is not None:
            self.fast[fast] = key
            self.fast_of.setdefault(key, set()).add(fast)
        while len(self.entries) > self.max_entries:
            self._drop(next(iter(self.entries)))

    def _drop(self, key: str) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            for tag in entry.tags:
                keys = self.by_tag.get(tag)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self.by_tag[tag]
        for fast in self.fast_of.pop(key, ()):
            self.fast.pop(fast, None)

    def link_fast(self, key: str, fast: tuple[bytes, str]) -> None:
        if key in self.entries:
            self.fast[fast] = key
            self.fast_of.setdefault(key, set()).add(fast)

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
        return f"{self.prefix}e:{key}"

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
    """The store and the purge hooks (lookups are counted in ``server.observability``)."""

    def __init__(self, store: MemoryStore | RedisStore, ttl: float, enabled: bool = True):
        self.store = store
        self.ttl = ttl
        self.enabled = enabled
        self.purge_hooks: list[PurgeHook] = []

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

    async def invalidate(self, tags: Iterable[str], purge: bool = True) -> int:
        tags = sorted(set(tags))
        if not tags:
            return 0
        try:
            if "*" in tags:  # everything (e.g. a catalog import or a new template)
                tags = ["*"]
                await self.store.clear()
                dropped = -1
            else:
                dropped = await self.store.invalidate(tags)
        except Exception:
            # Entries would outlive a change: never serve from a cache we could not clean.
            log.error("response cache invalidation failed; clearing the local view", exc_info=True)
            self.enabled = False
            dropped = 0
        if purge:
            for hook in self.purge_hooks:
                try:
                    await hook(tags)
                except Exception:
                    log.warning("purge hook failed", exc_info=True)
        return dropped

    async def close(self) -> None:
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
        session = self.database.session(read=True)
        try:
            last, rows = await self.database.run(session, change_log_after, self.last)
        finally:
            await self.database.close(session)
        if self.last is None:
            self.last = last  # start from now: the cache starts empty
            return 0
        self.last = last
        tags = {
            t.format(id=entity_id) for entity, entity_id in rows for t in TAGS_OF_CHANGE[entity]
        }
        if tags:
            await self.cache.invalidate(tags)
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


def http_purge_hook(url: str, secret: str) -> PurgeHook:
    """POST the surrogate keys to a CDN purge endpoint (signed like the webhooks)."""

    async def purge(keys: list[str]) -> None:
        import httpx

        from server.webhooks import SIGNATURE_HEADER, signature_header

        body = json.dumps({"surrogateKeys": keys}, separators=(",", ":"))
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SIGNATURE_HEADER] = signature_header(secret, int(time.time()), body)
        async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
            response.raise_for_status()

    return purge
