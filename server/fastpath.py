"""The cache hit path: answer a repeated anonymous GET before Starlette, JSON or GraphQL.

A persisted-query GET (``/graphql?extensions=...&variables=...``) whose exact
query string was answered before is a dictionary lookup away from its bytes.
This ASGI middleware sits outside every other layer, recognises such requests
from the raw scope (no Request object, no routing), counts the request and
reads the client's budget (a cached answer costs no points), and sends the
answer that ``server.cached_response`` builds, exactly as the full path would.
Everything else goes down the normal path, which fills the cache.
"""

from __future__ import annotations

import os
from typing import Any

from server.cache.entry import cache_control
from server.cached_response import Answer, admit, answer, cost_tail, rate_limited
from server.graphql.request import GRAPHQL_RESPONSE, JSON
from server.observability import CACHE, REQUESTS

# Bound once: a hit pays for two counter increments, not for label lookups.
CACHE_FAST = CACHE.labels("hit_before_parsing")
REQUESTS_FAST = REQUESTS.labels("(cache hit)", "200")
REQUESTS_FAST_304 = REQUESTS.labels("(cache hit)", "304")
REQUESTS_LIMITED = REQUESTS.labels("(cache hit)", "429")

Scope = dict[str, Any]


def _media(accept: bytes | None) -> str | None:
    """The common Accept headers, decided without parsing; None: let the full path decide."""
    if accept is None or accept in (b"*/*", b"application/json"):
        return JSON
    if accept == b"application/graphql-response+json" or accept.startswith(
        b"application/graphql-response+json,"
    ):
        return GRAPHQL_RESPONSE
    return None


class FastPath:
    def __init__(self, app: Any, state: Any):
        self.app = app
        self.state = state
        self.cors = bool(state.settings.cors_origins)
        self.cache_control = cache_control(state.settings)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] != "/graphql"
            or not scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        accept = encoding = if_none_match = request_id = None
        for name, value in scope["headers"]:
            if name == b"authorization" or (name == b"origin" and self.cors):
                await self.app(scope, receive, send)
                return
            if name == b"accept":
                accept = value
            elif name == b"accept-encoding":
                encoding = value
            elif name == b"if-none-match":
                if_none_match = value
            elif name == b"x-request-id":
                request_id = value
        media = _media(accept)
        cache = getattr(self.state, "cache", None)
        entry = cache.get_fast(scope["query_string"], media) if media and cache else None
        if entry is None:
            await self.app(scope, receive, send)
            return
        assert media is not None
        client = scope.get("client")
        rid = _request_id(request_id)
        admission = await admit(self.state, client[0] if client else None)
        if admission is not None and not admission.allowed:
            REQUESTS_LIMITED.inc()
            window = self.state.settings.rate_limit_window_seconds
            await _send(send, rate_limited(admission, window, media, rid))
            return
        CACHE_FAST.inc()
        out = answer(
            entry,
            get=True,
            if_none_match=if_none_match,
            accept_encoding=encoding,
            tail=cost_tail(0, admission.status if admission is not None else None),
            request_id=rid,
            hit=True,
            cache_control=self.cache_control,
        )
        (REQUESTS_FAST if out.status == 200 else REQUESTS_FAST_304).inc()
        await _send(send, out)


def _request_id(given: bytes | None) -> str:
    """The client's X-Request-Id when it is a sane token, as the full path does."""
    if given is not None and 0 < len(given) <= 64:
        text = given.decode("latin-1")
        if all(c.isascii() and (c.isalnum() or c in "._-") for c in text):
            return text
    return os.urandom(16).hex()


async def _send(send: Any, out: Answer) -> None:
    await send({"type": "http.response.start", "status": out.status, "headers": out.headers})
    await send({"type": "http.response.body", "body": out.body})
