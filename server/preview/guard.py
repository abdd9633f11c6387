"""Every preview request (each a database lookup) counts against the client's address at
the anonymous request rate, with /graphql's limiter."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from server.preview.shell import escape, json_error, message
from server.ratelimit import client_key, rate_key

log = logging.getLogger("compendium.preview")


async def rate_limited(request: Request, page: bool) -> Response | None:
    """Counts the request against its address at the anonymous rate; the refusal, if over."""
    state = request.app.state.compendium
    address = client_key(request.client.host if request.client else None)
    try:
        allowed, retry = await state.rate_limiter.hit(
            rate_key("addr", address), state.settings.rate_limit_anonymous
        )
    except Exception:
        log.warning("rate limiter unavailable; preview request let through", exc_info=True)
        return None
    if allowed:
        return None
    text = f"Too many requests from your address; retry after {retry} s."
    if page:
        return message(
            429, "Slow down", [f"<p>{escape(text)}</p>"], headers={"Retry-After": str(retry)}
        )
    return json_error(429, text, "RATE_LIMITED", **{"Retry-After": str(retry)})
