"""The cache hit path: answer a repeated anonymous request before Starlette, JSON or GraphQL.

A GET (``/graphql?extensions=...&variables=...``) whose exact query string was
answered before, or a POST whose exact body was, is a dictionary lookup away from
its bytes. This ASGI middleware sits outside every other layer, recognises such
requests from the raw scope and body (no Request object, no routing, no JSON
decoding), counts the request and reads the client's budget (a cached answer costs
no points), and sends the answer that ``server.cached_response`` builds, exactly as
the full path would. Everything else goes down the normal path (a POST with its
body handed on as it came), which fills the cache and links the raw request to it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import MutableMapping
from typing import Any

from server.cache.entry import MAX_LINK_BYTES, Entry, cache_control
from server.cached_response import Answer, admit, answer, cost_tail, rate_limited
from server.deadlines import BodyTimeout, Deadlines
from server.graphql.request import BODY_DEADLINE, GRAPHQL_RESPONSE, JSON
from server.observability import CACHE, REQUESTS, Tally, tick

log = logging.getLogger("compendium.http")

# A hit adds to integers, folded into the Prometheus counters now and then (observability.tick).
FAST = Tally(CACHE.labels("hit_before_parsing"))
HITS = Tally(REQUESTS.labels("(cache hit)", "200"))
NOT_MODIFIED = Tally(REQUESTS.labels("(cache hit)", "304"))
LIMITED = Tally(REQUESTS.labels("(cache hit)", "429"))

Scope = MutableMapping[str, Any]


def _media(accept: bytes | None) -> str | None:
    """The common Accept headers, decided without parsing; None: let the full path decide."""
    if accept is None or accept in (b"*/*", b"application/json"):
        return JSON
    if accept == b"application/graphql-response+json" or accept.startswith(
        b"application/graphql-response+json,"
    ):
        return GRAPHQL_RESPONSE
    return None


# A POST body longer than the links the cache keeps is never looked up here.
MAX_FAST_BODY = MAX_LINK_BYTES


def fast_key(query_string: bytes, body: bytes | None) -> bytes:
    """What the fast path knows a request by: a GET's raw query string, a POST's raw body."""
    return query_string if body is None else b"POST\n" + body


class FastPath:
    def __init__(self, app: Any, state: Any):
        self.app = app
        self.state = state
        self.cors = bool(state.settings.cors_origins)
        self.cache_control = cache_control(state.settings)
        self.body_timeout = state.settings.body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if (method == "GET" and not scope["query_string"]) or method not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        accept = encoding = if_none_match = request_id = content_type = length = None
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
            elif name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
        media = _media(accept)
        cache = getattr(self.state, "cache", None)
        if media is None or cache is None or not cache.enabled:
            await self.app(scope, receive, send)
            return
        body: bytes | None = None
        if method == "POST":
            # One deadline for the body, whoever reads it (the full path keeps this one).
            deadline = asyncio.get_running_loop().time() + self.body_timeout
            scope[BODY_DEADLINE] = deadline
            read = await _small_json_body(
                content_type, length, receive, deadline, self.state.deadlines
            )
            if not isinstance(read, bytes):
                # Not one we could know: the full path reads it, from what came so far.
                await self.app(scope, _replay(read or [], receive), send)
                return
            body = read
        out: Answer | None = None
        try:
            entry = cache.get_fast(fast_key(scope["query_string"], body), media)
            if entry is not None:
                client = scope.get("client")
                out = await self._answer(
                    entry,
                    method,
                    media,
                    client[0] if client else None,
                    request_id,
                    if_none_match,
                    encoding,
                )
        except Exception:
            # Outside the error middleware: a fault here must not cost the request.
            log.exception("cache hit path failed; the request goes down the full path")
        if out is None:
            replayed = [{"type": "http.request", "body": body, "more_body": False}]
            await self.app(scope, _replay(replayed if body is not None else [], receive), send)
            return
        await _send(send, out)
        tick()

    async def _answer(
        self,
        entry: Entry,
        method: str,
        media: str,
        host: str | None,
        request_id: bytes | None,
        if_none_match: bytes | None,
        encoding: bytes | None,
    ) -> Answer:
        rid = _request_id(request_id)
        admission = await admit(self.state, host)
        if admission is not None and not admission.allowed:
            LIMITED.pending += 1
            window = self.state.settings.rate_limit_window_seconds
            return rate_limited(admission, window, media, rid)
        FAST.pending += 1
        out = answer(
            entry,
            get=method == "GET",
            if_none_match=if_none_match,
            accept_encoding=encoding,
            tail=cost_tail(0, admission.status if admission is not None else None),
            request_id=rid,
            hit=True,
            cache_control=self.cache_control,
        )
        (HITS if out.status == 200 else NOT_MODIFIED).pending += 1
        return out


async def _small_json_body(
    content_type: bytes | None,
    length: bytes | None,
    receive: Any,
    deadline: float,
    deadlines: Deadlines,
) -> bytes | list[dict[str, Any]] | None:
    """A JSON body small enough to be a fast link, whole; else the messages received so far
    (a list, to hand on: also when the deadline passes), or None when nothing was read."""
    if content_type is None or content_type.split(b";")[0].strip().lower() != b"application/json":
        return None
    if length is None or not length.isdigit() or int(length) > MAX_FAST_BODY:
        return None
    messages: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            message = await deadlines.read(receive(), deadline)
        except BodyTimeout:
            return messages
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > MAX_FAST_BODY:
            return messages
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(messages: list[dict[str, Any]], receive: Any) -> Any:
    """``receive`` that first hands on the messages already read."""
    pending = list(messages)

    async def replay() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        return await receive()  # type: ignore[no-any-return]

    return replay


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
