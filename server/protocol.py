"""uvicorn's HTTP protocol with a deadline for request headers (slowloris guard).

uvicorn closes idle keep-alive connections, but any byte received cancels that
timer, and nothing bounds how long a new connection may take to send its
headers: a client dribbling a header line every few seconds holds a connection
(and, with `limit_concurrency`, a slot) forever. This protocol gives every
request `COMPENDIUM_HEADER_TIMEOUT_SECONDS` from its first byte (or from the
end of the previous response) to complete its headers, then closes the
connection. Bodies have their own deadline in the GraphQL endpoint.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("compendium.http")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: float | None = None  # set from the settings on first use
    _header_deadline: asyncio.TimerHandle | None = None

    def _timeout(self) -> float:
        cls = type(self)
        if cls.header_timeout is None:
            from config import get_settings

            cls.header_timeout = get_settings().header_timeout_seconds
        return cls.header_timeout

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

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Any) -> None:
        self._disarm()
        super().connection_lost(exc)
