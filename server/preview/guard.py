"""Every preview request (each a database lookup) counts against the client's address at
the anonymous request rate, with /graphql's limiter; every page needs an editor who may
preview drafts (a token, or a preview session)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from resolvers.context import Viewer
from server.auth import Unauthenticated, request_viewer
from server.preview.shell import escape, json_error, message, unauthenticated
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


async def editor_viewer(request: Request) -> Viewer | Response:
    """The editor asking (by token or preview session), or the page refusing them."""
    state = request.app.state.compendium
    try:
        viewer = await request_viewer(
            request, state.database, cookie=True, secret=state.settings.session_secret
        )
    except Unauthenticated as exc:
        return unauthenticated(request, f"Your credentials were refused: {exc.message}.")
    if viewer.role == "anonymous":
        return unauthenticated(request, "This page is for editors.")
    if not viewer.can_preview:
        return message(
            403,
            "Not allowed to preview",
            [f"<p>The token '{escape(viewer.name or '?')}' may not preview drafts.</p>"],
        )
    return viewer
