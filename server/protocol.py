"""uvicorn's HTTP protocol with connection-level guards: what no request handler can do.

* **Header deadline** (slowloris): uvicorn closes idle keep-alive connections,
  but any byte received cancels that timer, and nothing bounds how long a new
  connection may take to send its headers. Every request gets
  ``COMPENDIUM_HEADER_TIMEOUT_SECONDS`` from its first byte (or from the end of
  the previous response) to complete its headers, then the connection closes.
* **Header size**: a request's line and headers together may hold
  ``COMPENDIUM_MAX_HEADER_BYTES``. This is enforced as bytes arrive, before the
  parser concatenates a huge header value (httptools and uvicorn grow it one
  chunk at a time, which costs memory and quadratic copying): past the limit
  the client gets 431 and the connection is closed (after a short lingering
  read, so the client sees the answer rather than a reset).
* **Connections per address** (IPv6: per /64): at most
  ``COMPENDIUM_MAX_CONNECTIONS_PER_ADDRESS`` open at once per worker; one more
  is answered 429 with ``Retry-After`` and closed at once, before uvicorn counts
  it towards ``limit_concurrency``, so idle or half-sent connections from
  one address cannot make everyone else get 503. Trusted proxies
  (``FORWARDED_ALLOW_IPS``, explicit addresses or networks) are not capped:
  behind a load balancer every client arrives from its address.

Bodies have their own deadline in the GraphQL endpoint.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from config import get_settings
from server.ratelimit import client_key

log = logging.getLogger("compendium.http")

# How long, and how much, a refused connection is still read (and discarded) after
# its answer, so that the client reads the answer before the close.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1 << 20


def _answer(status: str, message: str, code: str, extra: str = "") -> bytes:
    body = json.dumps(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, separators=(",", ":")
    ).encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class HeadersTooLarge(Exception):
    pass


def _networks(value: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    items = value.split(",") if isinstance(value, str) else list(value or ())
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            continue  # "*" and unix socket paths name no address
    return networks


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    # Set from the settings on first use (one process serves one configuration).
    header_timeout: float | None = None
    max_header_bytes: int = 0
    max_connections: int = 0
    refusal_429: bytes = b""
    refusal_431: bytes = b""
    exempt: list[Any] | None = None
    # Open connections per client key, in this worker.
    open_by_address: dict[str, int] = {}  # noqa: RUF012 - shared by every connection on purpose

    _header_deadline: asyncio.TimerHandle | None = None
    _address: str | None = None
    _refused = False
    _head_open = False
    _head_seen = 0
    _head_size = 0
    _discarded = 0

    def _configure(self) -> None:
        cls = type(self)
        if cls.header_timeout is None:
            settings = get_settings()
            cls.max_header_bytes = settings.max_header_bytes
            cls.max_connections = settings.max_connections_per_address
            cls.refusal_429 = _answer(
                "429 Too Many Requests",
                "too many connections from your address",
                "RATE_LIMITED",
                "retry-after: 1\r\n",
            )
            cls.refusal_431 = _answer(
                "431 Request Header Fields Too Large",
                f"the request's headers are larger than {settings.max_header_bytes} bytes",
                "BAD_USER_INPUT",
            )
            cls.exempt = _networks(getattr(self.config, "forwarded_allow_ips", None))
            cls.header_timeout = settings.header_timeout_seconds

    # --- connections per address --------------------------------------------------------

    def _capped(self, host: str | None) -> bool:
        if not host:
            return False  # a unix socket: no address to count by
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return True
        return not any(address in network for network in self.exempt or ())

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._configure()
        peer = transport.get_extra_info("peername")
        host = peer[0] if isinstance(peer, tuple) and peer else None
        if self.max_connections > 0 and self._capped(host):
            key = client_key(host)
            held = self.open_by_address.get(key, 0)
            if held >= self.max_connections:
                # Refused before uvicorn counts it: the others' slots stay free.
                # (Closed at once: a lingering read would hold a descriptor per refusal.)
                self._refused = True
                self.transport = transport
                transport.write(self.refusal_429)
                transport.close()
                return
            self.open_by_address[key] = held + 1
            self._address = key
        super().connection_made(transport)
        self._arm()

    def _release(self) -> None:
        key = self._address
        if key is not None:
            self._address = None
            left = self.open_by_address.get(key, 1) - 1
            if left > 0:
                self.open_by_address[key] = left
            else:
                self.open_by_address.pop(key, None)

    def _linger(self) -> None:
        """Stop writing, read and discard for a moment, then close."""
        self._disarm()
        transport = self.transport
        if transport.can_write_eof():
            transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self._close)

    def _close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Any) -> None:
        self._disarm()
        self._release()
        super().connection_lost(exc)

    # --- request headers: deadline and size ------------------------------------------------

    def _timeout(self) -> float:
        self._configure()
        assert self.header_timeout is not None
        return self.header_timeout

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(self._timeout(), self._headers_too_slow)

    def _disarm(self) -> None:
        deadline = self._header_deadline
        if deadline is not None:
            deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            log.info("closing a connection that sent no complete request headers in time")
            self.transport.close()

    def _headers_too_large(self) -> None:
        if self._refused:
            return
        self._refused = True
        log.info("refusing a request whose headers pass %d bytes", self.max_header_bytes)
        self.transport.write(self.refusal_431)
        self._linger()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            # Answered already: discard what is still coming, up to a point.
            self._discarded += len(data)
            if self._discarded > LINGER_BYTES:
                self._close()
            return
        super().data_received(data)
        if self._head_open and not self._refused and not self.transport.is_closing():
            self._head_seen += len(data)
            if self._head_seen > self.max_header_bytes:
                self._headers_too_large()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open = True
        self._head_seen = 0
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._head_open = False
        if self._head_size > self.max_header_bytes:
            # Stops the parser; uvicorn answers a parser error with send_400_response.
            raise HeadersTooLarge
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._head_size > self.max_header_bytes:
            self._headers_too_large()
            return
        super().send_400_response(msg)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets the same deadline
