"""The after-commit effects of mutations (``resolvers.context.Effects``) over the app's
response cache (which also purges the CDN) and webhook dispatcher."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class AppEffects:
    """Reads the cache and the dispatcher when used: the app's lifespan creates them after
    the app (and this) is built."""

    def __init__(self, state: Any):
        self._state = state

    async def invalidate(self, tags: Sequence[str]) -> None:
        cache = getattr(self._state, "cache", None)
        if cache is not None and tags:
            await cache.invalidate(tags)

    def wake_webhooks(self) -> None:
        dispatcher = getattr(self._state, "webhooks", None)
        if dispatcher is not None:
            dispatcher.wake()
