"""The preview pages' shell: their stylesheet, security headers, favicon and messages.

The pages run no script at all: the policy is ``default-src 'none'`` with the one
inline stylesheet allowed by its hash, and every piece of text is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import html
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from server.auth import PREVIEW_COOKIE

SESSION_PATH = "/preview"

CSS = """\
:root {
  color-scheme: light dark;
  --ink: #1d2433; --muted: #5b6475; --paper: #ffffff; --wash: #f4f6f9; --rule: #dde2ea;
  --accent: #1f5fae; --note: #fff7e0; --note-rule: #e8c65c;
  --draft: #8a5a00; --draft-bg: #ffefc7; --review: #0b4f8a; --review-bg: #d9ebff;
  --published: #16613a; --published-bg: #d6f3e2; --archived: #4a4f57; --archived-bg: #e4e6ea;
  --stale: #9b1c1c; --stale-bg: #fde2e2;
}
@media (prefers-color-scheme: dark) {
  :root {
    --ink: #e6e9ef; --muted: #a4acba; --paper: #14181f; --wash: #1c222b; --rule: #2e3643;
    --accent: #7fb2f0; --note: #2b2612; --note-rule: #7a6420;
    --draft-bg: #4a3500; --draft: #ffd98a; --review-bg: #0f3356; --review: #b3d6ff;
    --published-bg: #0f3d25; --published: #a6e8c2; --archived-bg: #30353d; --archived: #d0d4da;
    --stale-bg: #4d1414; --stale: #ffc2c2;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--wash); color: var(--ink);
  font: 1.0625rem/1.65 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--accent); }
a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.banner {
  position: sticky; top: 0; z-index: 1; background: var(--paper);
  border-bottom: 1px solid var(--rule); box-shadow: 0 1px 3px rgb(0 0 0 / 8%);
  font-size: .9rem; line-height: 1.4;
}
.banner.reader { border-top: 4px solid var(--accent); }
.banner-inner { max-width: 60rem; margin: 0 auto; padding: .6rem 1.25rem; }
.banner-top { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem .7rem; }
.banner .mode { font-weight: 600; }
.banner .facts {
  display: flex; flex-wrap: wrap; gap: .2rem 1.1rem; margin: .35rem 0 0; color: var(--muted);
}
.banner .facts div { display: flex; gap: .3rem; }
.banner .facts dt::after { content: ":"; }
.banner .facts dd { margin: 0; color: var(--ink); font-variant-numeric: tabular-nums; }
.banner .switch { margin-left: auto; font-weight: 600; white-space: nowrap; }
.pill {
  display: inline-block; padding: .12rem .55rem; border-radius: 999px;
  font-size: .78rem; font-weight: 700; letter-spacing: .04em;
}
.status-draft { background: var(--draft-bg); color: var(--draft); }
.status-in_review { background: var(--review-bg); color: var(--review); }
.status-published { background: var(--published-bg); color: var(--published); }
.status-archived { background: var(--archived-bg); color: var(--archived); }
.stale { background: var(--stale-bg); color: var(--stale); }
.fresh { background: var(--published-bg); color: var(--published); }
main {
  max-width: 46rem; margin: 2rem auto 3rem; padding: 2.25rem 2.5rem;
  background: var(--paper); border: 1px solid var(--rule); border-radius: 10px;
}
@media (max-width: 40rem) {
  main { margin: 0; padding: 1.5rem 1.1rem; border: 0; border-radius: 0; }
  .banner { position: static; }
  h1 { font-size: 1.5rem; }
}
h1 { font-size: 1.9rem; line-height: 1.25; margin: 0 0 .75rem; letter-spacing: -.01em; }
h2 { font-size: 1.3rem; line-height: 1.3; margin: 2rem 0 .6rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .3rem; }
p, ul { margin: 0 0 1rem; }
ul { padding-left: 1.3rem; }
li { margin: .35rem 0; }
.byline { color: var(--muted); font-size: .95rem; margin-bottom: .5rem; }
.notice {
  background: var(--note); border-left: 4px solid var(--note-rule);
  padding: .5rem .85rem; border-radius: 4px; font-size: .95rem;
}
section.disclaimer, section.cta {
  border-top: 1px solid var(--rule); padding-top: 1rem; margin-top: 1.5rem;
  color: var(--muted); font-size: .95rem;
}
.faq-item { border-top: 1px solid var(--rule); }
.faq-item:first-of-type { border-top: 0; }
.message h1 { font-size: 1.6rem; }
.message code { background: var(--wash); padding: .1rem .35rem; border-radius: 4px; font-size: .9em; }
.message ol li { margin: .5rem 0; }
.queue h2 .count { color: var(--muted); font-weight: 400; font-size: 1rem; }
.queue ul { list-style: none; padding: 0; }
.queue li { border-top: 1px solid var(--rule); padding: .5rem 0; margin: 0; }
.queue-meta { color: var(--muted); font-size: .9rem; }
footer { text-align: center; color: var(--muted); font-size: .8rem; padding: 0 1rem 2rem; }
"""

_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")

# No script may run (default-src 'none' covers script-src and connect-src); the
# one inline stylesheet is allowed by its hash; the favicon comes from us.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src 'sha256-{_CSS_HASH}'; "
    "img-src 'self'; "
    "frame-ancestors 'none'; "
    "base-uri 'none'; "
    "form-action 'self'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # Drafts must not linger in shared caches, the browser's history cache or search engines.
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#1f5fae"/>'
    '<path d="M9 8h10l4 4v12H9z" fill="#fff"/>'
    '<path d="M12 15h8M12 19h8" stroke="#1f5fae" stroke-width="2"/></svg>'
)

STATUS_LABELS = {
    "DRAFT": "DRAFT",
    "IN_REVIEW": "IN REVIEW",
    "PUBLISHED": "PUBLISHED",
    "ARCHIVED": "ARCHIVED",
}


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


def document_html(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{escape(title)}</title>
<link rel="icon" href="{SESSION_PATH}/favicon.svg" type="image/svg+xml">
<style>{CSS}</style>
</head>
<body>
{body}
<footer>Compendium editor preview · not indexed, not cached</footer>
</body>
</html>
"""


def page(status: int, title: str, body: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(
        document_html(title, body), status_code=status, headers={**HEADERS, **(headers or {})}
    )


def message(status: int, heading: str, paragraphs: list[str], **kw: Any) -> HTMLResponse:
    """An error page; ``paragraphs`` are HTML fragments (escape what goes in them)."""
    inner = "\n".join(paragraphs)
    body = f'<main class="message" id="message">\n<h1>{escape(heading)}</h1>\n{inner}\n</main>'
    return page(status, f"{heading} · Compendium preview", body, **kw)


def sign_in_help() -> list[str]:
    return [
        "<p>Previews show drafts, so they need an editor's API token "
        "(<code>compendium token create --name NAME --role editor</code>). Either:</p>",
        "<ol>"
        "<li>send it with each request: <code>Authorization: Bearer &lt;token&gt;</code>, or</li>"
        '<li>sign in from <a href="/graphql">GraphiQL</a>: put '
        "<code>{&quot;Authorization&quot;: &quot;Bearer &lt;token&gt;&quot;}</code> in the "
        "<em>Headers</em> tab, then use the <em>Preview</em> button in the toolbar. It stores "
        "the token in a cookie for these preview pages only.</li>"
        "</ol>",
    ]


def unauthenticated(request: Request, reason: str) -> HTMLResponse:
    response = message(
        401,
        "Sign in to preview",
        [f"<p>{escape(reason)}</p>", *sign_in_help()],
        headers={"WWW-Authenticate": 'Bearer realm="compendium preview"'},
    )
    if request.headers.get("authorization") is None and PREVIEW_COOKIE in request.cookies:
        # The cookie's token was revoked: drop it, so the next visit starts clean.
        clear_cookie(response, request)
    return response


def json_error(status: int, message: str, code: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers={"Cache-Control": "no-store", **headers},
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        PREVIEW_COOKIE,
        path=SESSION_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


async def favicon(_request: Request) -> Response:
    return Response(
        FAVICON,
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "public, max-age=86400",
            "Content-Security-Policy": "default-src 'none'",
            "X-Content-Type-Options": "nosniff",
        },
    )
