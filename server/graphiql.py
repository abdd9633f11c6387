"""The GraphiQL page served at ``GET /graphql`` to browsers, and its static assets.

The assets (GraphiQL 5, the explorer plugin, Monaco and its web workers) are
bundled by ``npm ci && npm run build`` (web/build.mjs) into
``server/static/graphiql/`` and served from ``/graphiql/static/``. The page
loads nothing from another origin, so it works under :data:`CONTENT_SECURITY_POLICY`.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from server.editor_tabs import REVIEW_PAGE, REVISION_QUERY, editorial_tabs_config

ASSETS_DIR = Path(__file__).parent / "static" / "graphiql"
ASSETS_URL = "/graphiql/static"

TITLE = "Compendium GraphiQL"

# The first tab: a reader's page query (the editorial tabs follow, server/editor_tabs.py).
DEFAULT_QUERY = REVIEW_PAGE.query

DEFAULT_VARIABLES = '{\n  "slug": "ketamine--als"\n}'

# Editors paste {"Authorization": "Bearer <token>"} in the headers tab.
DEFAULT_HEADERS = ""

# A policy the page works under: everything from this origin, no inline script.
# Monaco injects <style> elements, hence 'unsafe-inline' for styles only; the
# CSS embeds some fonts as data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; "
    "script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; "
    "img-src 'self' data:; "
    "worker-src 'self'; "
    "connect-src 'self'; "
    "object-src 'none'; "
    "base-uri 'none'; "
    "form-action 'none'; "
    "frame-ancestors 'none'"
)

ENTRY_FILES = ("graphiql.js", "graphiql.css")


def _json_for_script(value: object) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(value, ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def graphiql_html(
    endpoint: str = "/graphql",
    default_query: str = DEFAULT_QUERY,
    default_variables: str = DEFAULT_VARIABLES,
    default_headers: str = DEFAULT_HEADERS,
) -> str:
    """The complete GraphiQL page for ``endpoint``."""
    config = _json_for_script(
        {
            "endpoint": endpoint,
            "defaultQuery": default_query,
            "defaultVariables": default_variables,
            "defaultHeaders": default_headers,
            # The editorial jobs, one tab each, after the default query's tab.
            "tabs": editorial_tabs_config(),
            "revisionQuery": REVISION_QUERY,
        }
    )
    css = html.escape(f"{ASSETS_URL}/graphiql.css", quote=True)
    js = html.escape(f"{ASSETS_URL}/graphiql.js", quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{TITLE}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{css}">
<script type="module" src="{js}"></script>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script type="application/json" id="graphiql-config">{config}</script>
<noscript>GraphiQL needs JavaScript. The API itself is at {html.escape(endpoint)} (POST application/json).</noscript>
</body>
</html>
"""


def assets_built() -> bool:
    """Whether ``npm run build`` has produced the bundle this page loads."""
    return all((ASSETS_DIR / name).is_file() for name in ENTRY_FILES)


class _AssetFiles(StaticFiles):
    """Static files with cache headers: content-hashed files forever, the rest revalidated."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        path = str(scope.get("path", ""))
        if "/chunks/" in path or "/assets/" in path:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def routes() -> list[BaseRoute]:
    """The routes serving the bundled assets under ``/graphiql/static``."""
    return [
        Mount(
            ASSETS_URL,
            app=_AssetFiles(directory=ASSETS_DIR, check_dir=False),
            name="graphiql-static",
        )
    ]
