"""Deadlines for reading request bodies: one watchdog for every read in progress.

A slow client must not hold a request open by trickling its body, so every body read
has a deadline (``COMPENDIUM_BODY_TIMEOUT_SECONDS``). ``asyncio.timeout`` would arm and
cancel a timer per request, which is a fifth of what a cache hit costs; here a read
registers its task and deadline in a dict, and one watchdog task, awake only while
reads are in progress, cancels the reads that are overdue (a quarter of a second late
at most). The read turns that cancellation into ``BodyTimeout``; any other
cancellation (a client gone, a shutdown) goes through untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

TICK_SECONDS = 0.25


class BodyTimeout(Exception):
    """The body did not arrive before its deadline."""


class Deadlines:
    def __init__(self, tick: float = TICK_SECONDS):
        self.tick = tick
        self._reads: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._watchdog: asyncio.Task[None] | None = None

    async def read(self, receive: Awaitable[T], deadline: float) -> T:
        """``await receive``, or BodyTimeout once the loop's clock passes ``deadline``."""
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        self._reads[task] = deadline
        loop = asyncio.get_running_loop()
        if self._watchdog is None or self._watchdog.get_loop() is not loop:
            self._watchdog = loop.create_task(self._watch())
        try:
            return await receive
        except asyncio.CancelledError:
            if task in self._expired:
                self._expired.discard(task)
                # Ours (the read was overdue), unless someone else cancelled it too.
                if task.uncancel() <= cancelling:
                    raise BodyTimeout from None
            raise
        finally:
            self._reads.pop(task, None)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._reads:
                await asyncio.sleep(self.tick)
                now = loop.time()
                for task, deadline in list(self._reads.items()):
                    if now >= deadline:
                        # The task is suspended in its read (it registered there and
                        # only waits there), so the cancellation lands inside ``read``.
                        del self._reads[task]
                        self._expired.add(task)
                        task.cancel()
        finally:
            if self._watchdog is asyncio.current_task():
                self._watchdog = None
