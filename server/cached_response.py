"""One answer for a cached response, whichever path serves it.

Both the fast path (``server.fastpath``: a repeated GET, from the raw query
string) and the full path (``server/graphql/endpoint.py``: after parsing the request, and for
the miss that fills the cache) build their answers here, so they answer the
same request identically:

* ``admit``: an anonymous request's rate-limit count and cost budget (one call
  to the limiter; a limiter that is down lets the request through, logged), and
  ``refusal``, the 429 when it is over;
* ``answer``: ETag and ``If-None-Match`` (a list of tags, weak comparison, ``*``),
  304s that carry the cache headers a 200 would (Cache-Control, ETag, Vary,
  Surrogate-Key), Cache-Control / Vary / Surrogate-Key, gzip negotiation
  (q-values: ``gzip;q=0`` refuses it) and the answer's own ``extensions.cost``
  (``actual``, the client's ``throttleStatus``) spliced into the stored bytes.

Answers are (status, raw headers, body); the full path sends them unchanged
(``NegotiatedGZip`` leaves responses that negotiated their encoding alone).
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from typing import Any

from starlette.middleware.gzip import GZipMiddleware, GZipResponder, IdentityResponder
from starlette.types import Message, Receive, Scope, Send

from server.cache.entry import SPLICE_TAIL, Entry, surrogate_keys
from server.observability import count_errors
from server.ratelimit import Admission, ThrottleStatus, address_key, client_key

log = logging.getLogger("compendium.http")

VARY = b"Accept, Accept-Encoding, Authorization"
_PREPARED = {(g, h): f"{g:d}{h:d}" for g in (False, True) for h in (False, True)}
Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Headers
    body: bytes


def _q(params: list[str]) -> float:
    for param in params:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def accepts_gzip(header: str | bytes | None) -> bool:
    """Whether an Accept-Encoding header accepts gzip (``gzip;q=0`` does not; ``*``
    stands for codings not listed)."""
    if not header:
        return False
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    gzip_q: float | None = None
    star_q: float | None = None
    for part in header.split(","):
        coding, *params = part.split(";")
        coding = coding.strip().lower()
        if coding in ("gzip", "x-gzip"):
            gzip_q = max(gzip_q or 0.0, _q(params))
        elif coding == "*":
            star_q = _q(params)
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


def etag_matches(header: str | bytes | None, etag: str) -> bool:
    """If-None-Match: ``*`` matches any current answer; otherwise any listed tag, compared
    weakly (RFC 9110 §13.1.2)."""
    if not header:
        return False
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def cost_tail(actual: int, status: ThrottleStatus | None) -> bytes:
    """What goes into the stored ``"cost":{"requested":N`` before its closing braces."""
    tail = b',"actual":%d' % actual
    if status is not None:
        tail += b',"throttleStatus":' + status.as_bytes()
    return tail


def _body(entry: Entry, tail: bytes) -> bytes:
    return entry.body[:-SPLICE_TAIL] + tail + entry.body[-SPLICE_TAIL:]


def _gzip(entry: Entry, tail: bytes) -> bytes:
    """The gzip stream of ``_body(entry, tail)``: the stored prefix (compressed once, sync
    flushed), the rest as one final stored block, then CRC-32 and length."""
    entry.compress()
    assert entry.gz_head is not None
    rest = tail + entry.body[-SPLICE_TAIL:]
    n = len(rest)
    block = b"\x01" + n.to_bytes(2, "little") + (n ^ 0xFFFF).to_bytes(2, "little") + rest
    crc = zlib.crc32(rest, entry.gz_crc)
    size = (len(entry.body) - SPLICE_TAIL + n) & 0xFFFFFFFF
    return entry.gz_head + block + crc.to_bytes(4, "little") + size.to_bytes(4, "little")


def answer(
    entry: Entry,
    *,
    get: bool,
    if_none_match: str | bytes | None,
    accept_encoding: str | bytes | None,
    tail: bytes,
    request_id: str,
    hit: bool,
    cache_control: str,
) -> Answer:
    # What is the same for every answer of this entry is prepared once (entries are
    # immutable: a new answer is a new entry).
    prepared = _PREPARED[get, hit]
    fixed = entry.headers.get(prepared)
    if fixed is None:
        fixed = entry.headers[prepared] = [
            (b"etag", entry.etag.encode()),
            (b"cache-control", cache_control.encode() if get else b"no-store"),
            (b"vary", VARY),
            (b"surrogate-key", surrogate_keys(entry.tags).encode()),
            (b"x-cache", b"HIT" if hit else b"MISS"),
        ]
    headers: Headers = [*fixed, (b"x-request-id", request_id.encode())]
    if get and if_none_match is not None and etag_matches(if_none_match, entry.etag):
        return Answer(304, headers, b"")
    if accepts_gzip(accept_encoding) and _compressible(entry):
        body = _gzip(entry, tail)
        headers.append((b"content-encoding", b"gzip"))
    else:
        body = _body(entry, tail)
    headers.append((b"content-type", entry.media.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    return Answer(200, headers, body)


def _compressible(entry: Entry) -> bool:
    entry.compress()
    return entry.gz_head is not None


# --- admission ------------------------------------------------------------------------------


async def admit(state: Any, host: str | None) -> Admission | None:
    """An anonymous request: one count against its address and a look at its budget.
    None when the limiter is unavailable (the request goes through; logged)."""
    settings = state.settings
    key = address_key(client_key(host))
    try:
        return await state.rate_limiter.admit(  # type: ignore[no-any-return]
            key, settings.rate_limit_anonymous, key, state.policies[0]
        )
    except Exception:
        # A rate-limit store that is down must not take the API down with it.
        log.warning("rate limiter unavailable; request let through", exc_info=True)
        return None


def refusal(
    code: str,
    message: str,
    retry_after: int,
    media: str,
    request_id: str,
    cost: dict[str, Any] | None = None,
) -> Answer:
    """429: too many requests (RATE_LIMITED) or not enough budget (THROTTLED)."""
    payload: dict[str, Any] = {
        "errors": [
            {
                "message": message,
                "extensions": {"code": code, "retryAfter": retry_after, "requestId": request_id},
            }
        ]
    }
    if cost is not None:
        payload["extensions"] = {"cost": cost}
    count_errors(payload)
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers: Headers = [
        (b"retry-after", str(retry_after).encode()),
        (b"cache-control", b"no-store"),
        (b"x-request-id", request_id.encode()),
        (b"content-type", media.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return Answer(429, headers, body)


def rate_limited(admission: Admission, window: int, media: str, request_id: str) -> Answer:
    return refusal(
        "RATE_LIMITED",
        f"too many requests: at most {admission.limit} per {window} s; "
        f"retry after {admission.retry_after} s",
        admission.retry_after,
        media,
        request_id,
        {"throttleStatus": admission.status.as_json()},
    )


# --- compression of everything else ------------------------------------------------------------


class NegotiatedGZip(GZipMiddleware):
    """Starlette's gzip, negotiated by q-value (``gzip;q=0`` gets identity), and leaving
    alone responses that negotiated their encoding themselves (they vary on
    Accept-Encoding already: the cached answers above)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # pragma: no cover
            await self.app(scope, receive, send)
            return
        encoding = next((v for k, v in scope["headers"] if k == b"accept-encoding"), None)
        responder: IdentityResponder
        if accepts_gzip(encoding):
            responder = _GZip(
                self.app,
                self.minimum_size,
                compresslevel=self.compresslevel,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types,
            )
        else:
            responder = _Identity(
                self.app, self.minimum_size, exclude_content_types=self.exclude_content_types
            )
        await responder(scope, receive, send)


def _negotiated(message: Message) -> bool:
    for name, value in message.get("headers", ()):
        if name.lower() == b"vary" and b"accept-encoding" in value.lower():
            return True
    return False


class _Passthrough(IdentityResponder):
    bypass = False

    async def send_with_compression(self, message: Message) -> None:
        if message["type"] == "http.response.start" and _negotiated(message):
            self.bypass = True
        if self.bypass:
            await self.send(message)
            return
        await super().send_with_compression(message)


class _Identity(_Passthrough):
    pass


class _GZip(_Passthrough, GZipResponder):
    pass
