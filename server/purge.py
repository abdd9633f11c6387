"""CDN purges, sent in the background: bounded, coalesced by key, retried with backoff.

A change (a mutation, or a change another process made, read from the change
log) hands its surrogate keys to ``PurgeQueue.enqueue``, which returns at once:
nothing the CDN does can slow a mutation down. A background task sends what is
pending, up to ``batch`` keys a request, to every purge hook; a key enqueued
again while pending is sent once. When a send fails, the keys go back to the
queue and the task waits 1 s, 2 s, 4 s... (capped, with jitter) before trying
again, for as long as it takes: purges are delivered at least once. The queue
holds at most ``max_keys`` keys; past that it purges everything (``*``) instead,
which covers whatever was pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable

import httpx

from server.webhooks import SIGNATURE_HEADER, signature_header

log = logging.getLogger("compendium.cache")

PurgeHook = Callable[[list[str]], Awaitable[None]]
EVERYTHING = "*"


class PurgeQueue:
    def __init__(
        self,
        hooks: list[PurgeHook],
        max_keys: int = 10_000,
        batch: int = 500,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
    ):
        self.hooks = hooks  # read at each send: hooks added later are used too
        self.max_keys = max_keys
        self.batch = batch
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.pending: dict[str, None] = {}  # an ordered set
        self.failures = 0
        self._sending = False
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def enqueue(self, keys: list[str]) -> None:
        if not self.hooks or not keys:
            return
        if EVERYTHING in keys or EVERYTHING in self.pending:
            self.pending = {EVERYTHING: None}
        else:
            self.pending.update(dict.fromkeys(keys))
            if len(self.pending) > self.max_keys:
                log.warning(
                    "more than %d surrogate keys to purge: purging everything", self.max_keys
                )
                self.pending = {EVERYTHING: None}
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="compendium-cdn-purge")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def join(self, timeout: float = 30.0) -> None:
        """Wait until everything enqueued has been sent (tests, shutdown)."""
        async with asyncio.timeout(timeout):
            await self._idle.wait()

    def _take(self) -> list[str]:
        keys = list(self.pending)[: self.batch]
        for key in keys:
            del self.pending[key]
        return keys

    async def _send(self, keys: list[str]) -> None:
        for hook in list(self.hooks):
            await hook(keys)

    async def _run(self) -> None:
        delay = self.base_delay
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.pending:
                keys = self._take()
                try:
                    await self._send(keys)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.failures += 1
                    log.warning("CDN purge failed; retrying in %.1f s", delay, exc_info=True)
                    if EVERYTHING in self.pending or EVERYTHING in keys:
                        self.pending = {EVERYTHING: None}
                    else:
                        self.pending = {**dict.fromkeys(keys), **self.pending}
                    await asyncio.sleep(delay * (1 + random.random() / 10))
                    delay = min(self.max_delay, delay * 2)
                else:
                    delay = self.base_delay
            if not self.pending:
                self._idle.set()


def http_purge_hook(url: str, secret: str, timeout: float = 5.0) -> PurgeHook:
    """POST the surrogate keys to a CDN purge endpoint (signed like the webhooks); any
    non-2xx answer is a failure (retried by the queue)."""

    async def purge(keys: list[str]) -> None:
        body = json.dumps({"surrogateKeys": keys}, separators=(",", ":"))
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SIGNATURE_HEADER] = signature_header(secret, int(time.time()), body)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
            response.raise_for_status()

    return purge
