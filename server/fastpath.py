"""The cache hit path: answer a repeated anonymous GET before Starlette, JSON or GraphQL.

A persisted-query GET (``/graphql?extensions=...&variables=...``) whose exact
query string was answered before is a dictionary lookup away from its bytes.
This ASGI middleware sits outside every other layer, recognises such requests
from the raw scope (no Request object, no routing), applies the rate limit, and
sends the stored response (gzip-compressed when accepted, 304 on a matching
If-None-Match). Everything else goes down the normal path, which fills the
cache.
"""

from __future__ import annotations

import os
from typing import Any

from server.cache import Entry, cache_control, surrogate_keys
from server.http import GRAPHQL_RESPONSE, JSON
from server.limits import rate_key
from server.observability import CACHE, REQUESTS

# Bound once: a hit pays for two counter increments, not for label lookups.
CACHE_FAST = CACHE.labels("hit_before_parsing")
REQUESTS_FAST = REQUESTS.labels("(cache hit)", "200")

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

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] != "/graphql"
            or not scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        accept = encoding = if_none_match = None
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
        media = _media(accept)
        cache = getattr(self.state, "cache", None)
        entry = cache.get_fast(scope["query_string"], media) if media and cache else None
        if entry is None:
            await self.app(scope, receive, send)
            return
        limiter = self.state.rate_limiter
        client = scope.get("client")
        decision = await limiter.hit(
            rate_key("addr", client[0] if client else "unknown"),
            self.state.settings.rate_limit_anonymous,
        )
        if not decision.allowed:
            await self.app(scope, receive, send)  # the full path answers RATE_LIMITED
            return
        CACHE_FAST.inc()
        REQUESTS_FAST.inc()
        await self._send(entry, encoding, if_none_match, send)

    def _headers(self, entry: Entry, gz: bool) -> list[tuple[bytes, bytes]]:
        # Prepared once per entry (entries are immutable; a new answer is a new entry).
        key = "gzip" if gz else "identity"
        headers = entry.headers.get(key)
        if headers is None:
            settings = self.state.settings
            body = entry.gzipped if gz and entry.gzipped is not None else entry.body
            headers = [
                (b"content-type", entry.media.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"etag", entry.etag.encode()),
                (b"cache-control", cache_control(settings).encode()),
                (b"vary", b"Accept, Accept-Encoding, Authorization"),
                (b"surrogate-key", surrogate_keys(entry.tags).encode()),
                (b"x-cache", b"HIT"),
            ]
            if gz and entry.gzipped is not None:
                headers.append((b"content-encoding", b"gzip"))
            entry.headers[key] = headers
        return headers

    async def _send(
        self, entry: Entry, encoding: bytes | None, if_none_match: bytes | None, send: Any
    ) -> None:
        request_id = os.urandom(8).hex().encode()
        if if_none_match is not None and entry.etag.encode() in if_none_match:
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [
                        (b"etag", entry.etag.encode()),
                        (b"x-request-id", request_id),
                        (b"x-cache", b"HIT"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        gz = encoding is not None and b"gzip" in encoding and entry.gzipped is not None
        headers = [*self._headers(entry, gz), (b"x-request-id", request_id)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": entry.gzipped if gz else entry.body}  # type: ignore[dict-item]
        )
