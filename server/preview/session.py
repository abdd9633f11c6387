"""Preview sessions: an Authorization header traded for a short-lived, preview-only cookie.

The cookie is not the token: it is a signed, short-lived (``preview_session_seconds``,
1 h), preview-only session naming the token (server/auth.py), checked against the
token on every request, so revoking the token ends it. HttpOnly, SameSite=Strict and
scoped to ``Path=/preview``: only the read-only preview pages accept it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.auth import PREVIEW_COOKIE, Unauthenticated, bearer_token
from server.auth import start_session as new_session
from server.preview.guard import rate_limited
from server.preview.shell import SESSION_PATH, clear_cookie, json_error


async def start_session(request: Request) -> Response:
    """Trade an Authorization header for a preview session (read-only preview pages only)."""
    state = request.app.state.compendium
    settings = state.settings
    challenge = {"WWW-Authenticate": 'Bearer realm="compendium preview"'}
    limited = await rate_limited(request, page=False)
    if limited is not None:
        return limited
    try:
        # Header only: a cookie cannot renew itself, and a cross-site form cannot set headers.
        token = bearer_token(request)
        if token is None:
            return json_error(
                401, "send `Authorization: Bearer <token>`", "UNAUTHENTICATED", **challenge
            )
        viewer, value = await new_session(
            state.database, token, settings.session_secret, settings.preview_session_seconds
        )
    except Unauthenticated as exc:
        return json_error(401, exc.message, "UNAUTHENTICATED", **challenge)
    if not viewer.can_preview:
        return json_error(403, "this token may not preview drafts", "FORBIDDEN")
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    # A signed session naming the token, not the token (HttpOnly: no script can read it).
    # Only GET /preview/{slug} reads it; /graphql takes the Authorization header alone, so
    # a cross-site request riding on this cookie can never mutate anything: no CSRF.
    response.set_cookie(
        PREVIEW_COOKIE,
        value,
        max_age=settings.preview_session_seconds,
        path=SESSION_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def end_session(request: Request) -> Response:
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    clear_cookie(response, request)
    return response


async def session(request: Request) -> Response:
    if request.method == "DELETE":
        return await end_session(request)
    return await start_session(request)
