"""The preview routes (mounted by server/app.py)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from server.preview.index import preview_index
from server.preview.review import preview_page
from server.preview.session import session
from server.preview.shell import SESSION_PATH, favicon


def routes() -> list[BaseRoute]:
    # Review slugs always contain "--", so "session" and "favicon.svg" cannot clash with one.
    return [
        Route(f"{SESSION_PATH}/", preview_index, methods=["GET"]),
        Route(SESSION_PATH, preview_index, methods=["GET"]),
        Route(f"{SESSION_PATH}/session", session, methods=["POST", "DELETE"]),
        Route(f"{SESSION_PATH}/favicon.svg", favicon, methods=["GET"]),
        Route(f"{SESSION_PATH}/{{slug}}", preview_page, methods=["GET"]),
    ]
