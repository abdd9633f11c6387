"""Who is asking: bearer tokens (``Authorization: Bearer <token>``) and the preview cookie.

No credentials: an anonymous reader. A credential that is malformed, unknown
or revoked is refused outright (401 ``UNAUTHENTICATED``) rather than served as
anonymous, so a client with a broken token finds out at once.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from db.tokens import identify
from resolvers.context import Viewer

# Set by POST /preview/session for the preview pages only (Path=/preview): it is
# never accepted by /graphql, so it cannot be used to forge a mutation (CSRF).
PREVIEW_COOKIE = "compendium_preview"


class Unauthenticated(Exception):
    """The request carried a credential that is not a valid, active token."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


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


async def request_viewer(request: Request, database: Any, cookie: bool = False) -> Viewer:
    token = bearer_token(request)
    if token is None and cookie:
        token = request.cookies.get(PREVIEW_COOKIE) or None
    return await viewer_for(database, token)
