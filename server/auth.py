"""Who is asking: bearer tokens (``Authorization: Bearer <token>``) and preview sessions.

No credentials: an anonymous reader. A credential that is malformed, unknown
or revoked is refused outright (401 ``UNAUTHENTICATED``) rather than served as
anonymous, so a client with a broken token finds out at once. Failed attempts
count against the client's address at the anonymous request rate, and past it
are refused before the database is asked (``checked_viewer``).

A **preview session** (the cookie of ``/preview``) is not the token: it is
``<token id>.<expiry>.<signature>``, an HMAC-SHA256 over the id, the expiry and
the scope ``preview``, keyed by ``COMPENDIUM_SESSION_SECRET`` (when set) and the
token's stored hash. No new table is needed, every worker and instance can
check it, it survives restarts, and it names its token: each preview request
looks the token up again, so revoking the token ends its sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db.tokens import active_token, identify
from resolvers.context import Viewer
from server.ratelimit import client_key, rate_key

log = logging.getLogger("compendium.http")

# Set by POST /preview/session for the preview pages only (Path=/preview): it is
# never accepted by /graphql, so it cannot be used to forge a mutation (CSRF).
PREVIEW_COOKIE = "compendium_preview"
SESSION_SCOPE = "preview"


class Unauthenticated(Exception):
    """The request carried a credential that is not a valid, active token."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TooManyFailures(Exception):
    """The address sent too many bad credentials in this window."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many bad credentials; retry after {retry_after} s")
        self.retry_after = retry_after


def bearer_token(request: Request) -> str | None:
    """The token of the Authorization header; None when there is no header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be `Bearer <token>`")
    return token.strip()


async def viewer_for(database: Any, token: str | None) -> Viewer:
    """The viewer a token stands for (anonymous without one)."""
    if token is None:
        return Viewer()
    session = database.session()
    try:
        identity = await database.run(session, identify, token)
    finally:
        await database.close(session)
    if identity is None:
        raise Unauthenticated("the token is unknown or revoked")
    return Viewer(role=identity.role.value.lower(), name=identity.name)


async def guarded(state: Any, address: str, check: Any) -> Viewer:
    """Run ``check`` (a credential lookup) unless the address is over its failures; count a
    failure when it raises Unauthenticated."""
    limiter = state.rate_limiter
    key = rate_key("authfail", address)
    limit = state.settings.rate_limit_anonymous
    try:
        count, reset = await limiter.count(key)
    except Exception:
        log.warning("rate limiter unavailable; credential check let through", exc_info=True)
        count, reset = 0, 0
    if count >= limit:
        raise TooManyFailures(reset)
    try:
        return await check()  # type: ignore[no-any-return]
    except Unauthenticated:
        try:
            await limiter.hit(key, limit)
        except Exception:
            log.warning("rate limiter unavailable (failure not counted)", exc_info=True)
        raise


async def checked_viewer(state: Any, request: Request) -> Viewer:
    """The viewer of the request's Authorization header, failures rate-limited."""
    token = bearer_token(request)
    address = client_key(request.client.host if request.client else None)
    return await guarded(state, address, lambda: viewer_for(state.database, token))


# --- preview sessions ---------------------------------------------------------------------


def _signature(secret: str, token_hash: str, token_id: int, expires: int) -> str:
    key = f"{secret}\n{token_hash}".encode()
    message = f"{token_id}.{expires}.{SESSION_SCOPE}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


async def start_session(database: Any, token: str, secret: str, seconds: int) -> tuple[Viewer, str]:
    """The viewer of a bearer token and a preview session for it (the cookie's value)."""
    session = database.session()
    try:
        identity = await database.run(session, identify, token)
        found = await database.run(session, active_token, identity.id) if identity else None
    finally:
        await database.close(session)
    if identity is None or found is None:
        raise Unauthenticated("the token is unknown or revoked")
    expires = int(time.time()) + seconds
    value = f"{identity.id}.{expires}.{_signature(secret, found[1], identity.id, expires)}"
    return Viewer(role=identity.role.value.lower(), name=identity.name), value


async def session_viewer(database: Any, value: str, secret: str) -> Viewer:
    """The viewer of a preview session, checked against its token as it is now."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 18:
        raise Unauthenticated("the preview session is not valid: sign in again")
    token_id, expires = int(parts[0]), int(parts[1])
    if expires < time.time():
        raise Unauthenticated("the preview session expired: sign in again")
    session = database.session()
    try:
        found = await database.run(session, active_token, token_id)
    finally:
        await database.close(session)
    if found is None:
        raise Unauthenticated("the token of this preview session is unknown or revoked")
    identity, token_hash = found
    if not hmac.compare_digest(parts[2], _signature(secret, token_hash, token_id, expires)):
        raise Unauthenticated("the preview session is not valid: sign in again")
    return Viewer(role=identity.role.value.lower(), name=identity.name)


async def request_viewer(
    request: Request, database: Any, cookie: bool = False, secret: str = ""
) -> Viewer:
    """The viewer of the Authorization header, or (``cookie``) of the preview session."""
    token = bearer_token(request)
    if token is None and cookie:
        value = request.cookies.get(PREVIEW_COOKIE)
        if value:
            return await session_viewer(database, value, secret)
    return await viewer_for(database, token)


# --- /metrics -----------------------------------------------------------------------------


def _allowed_address(host: str | None, allow: list[str]) -> bool:
    if not host or not allow:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for entry in allow:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _refused(status: int, message: str, code: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="compendium metrics"'
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers=headers,
    )


async def metrics_access(request: Request, state: Any) -> Response | None:
    """None when the request may read /metrics: from an allowed address, with the metrics
    token (``COMPENDIUM_METRICS_TOKEN``), or with an admin's API token."""
    settings = state.settings
    if _allowed_address(request.client.host if request.client else None, settings.metrics_allow):
        return None
    try:
        token = bearer_token(request)
        if token is None:
            return _refused(401, "metrics need `Authorization: Bearer <token>`", "UNAUTHENTICATED")
        if settings.metrics_token and hmac.compare_digest(
            token.encode(), settings.metrics_token.encode()
        ):
            return None
        viewer = await checked_viewer(state, request)
    except Unauthenticated as exc:
        return _refused(401, exc.message, "UNAUTHENTICATED")
    except TooManyFailures as exc:
        response = _refused(429, str(exc), "RATE_LIMITED")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if not viewer.can_admin:
        return _refused(403, "metrics are for admins and the metrics token", "FORBIDDEN")
    return None
