"""Editor preview: a review rendered as a reader would see it, behind a token.

``GET /preview/{slug}`` renders the working copy (drafts included) as a complete,
self-contained HTML page under a status banner; ``?as=reader`` renders what an
anonymous reader gets instead (the published revision, or a 404 page).

Authentication is the editor's API token, sent as ``Authorization: Bearer
<token>``, or a preview session: the cookie that ``POST /preview/session`` sets
from that header (so a browser can open preview links, e.g. from GraphiQL). The
cookie is not the token: it is a signed, short-lived (``preview_session_seconds``,
1 h), preview-only session naming the token (server/auth.py), checked against the
token on every request, so revoking the token ends it.

The cookie is HttpOnly, SameSite=Strict and scoped to ``Path=/preview``, and
only these read-only pages accept it: ``/graphql`` authenticates by header alone
(server/auth.py), so a cross-site page can never make a browser mutate content
with it, i.e. there is no CSRF to defend against. ``POST /preview/session``
itself needs the Authorization header, which a cross-site form cannot send.

Every preview request (each a database lookup) counts against the client's
address at the anonymous request rate, with /graphql's limiter.

The pages run no script at all: the policy is ``default-src 'none'`` with the
one inline stylesheet allowed by its hash, and every piece of text (facts,
editor text, the slug) is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from content import document
from resolvers import reviews as review_resolvers
from resolvers.content import ReviewView
from resolvers.context import Context, Viewer
from server.auth import PREVIEW_COOKIE, Unauthenticated, bearer_token, request_viewer
from server.auth import start_session as new_session
from server.ratelimit import client_key, rate_key

log = logging.getLogger("compendium.preview")

SESSION_PATH = "/preview"
MAX_SLUG = 200

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


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


def _document(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{_e(title)}</title>
<link rel="icon" href="{SESSION_PATH}/favicon.svg" type="image/svg+xml">
<style>{CSS}</style>
</head>
<body>
{body}
<footer>Compendium editor preview · not indexed, not cached</footer>
</body>
</html>
"""


def _page(
    status: int, title: str, body: str, headers: dict[str, str] | None = None
) -> HTMLResponse:
    return HTMLResponse(
        _document(title, body), status_code=status, headers={**HEADERS, **(headers or {})}
    )


def _message(status: int, heading: str, paragraphs: list[str], **kw: Any) -> HTMLResponse:
    """An error page; ``paragraphs`` are HTML fragments (escape what goes in them)."""
    inner = "\n".join(paragraphs)
    body = f'<main class="message" id="message">\n<h1>{_e(heading)}</h1>\n{inner}\n</main>'
    return _page(status, f"{heading} · Compendium preview", body, **kw)


def _sign_in_help() -> list[str]:
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


def _unauthenticated(request: Request, reason: str) -> HTMLResponse:
    response = _message(
        401,
        "Sign in to preview",
        [f"<p>{_e(reason)}</p>", *_sign_in_help()],
        headers={"WWW-Authenticate": 'Bearer realm="compendium preview"'},
    )
    if request.headers.get("authorization") is None and PREVIEW_COOKIE in request.cookies:
        # The cookie's token was revoked: drop it, so the next visit starts clean.
        _clear_cookie(response, request)
    return response


def _banner(
    working: ReviewView, view: ReviewView, slug: str, as_reader: bool, viewer: Viewer
) -> str:
    row = working.row
    status = view.status
    pill = (
        f'<span class="pill status-{_e(status.lower())}" id="status">'
        f"{_e(STATUS_LABELS.get(status, status))}</span>"
    )
    # Stale: the facts or the template changed since the shown content was generated.
    stale = bool(row.current_fingerprint) and row.current_fingerprint != view.fingerprint
    freshness = (
        '<span class="pill stale" id="stale" title="The facts or the template changed since '
        'this content was generated: regenerate it.">STALE</span>'
        if stale
        else '<span class="pill fresh" id="stale">UP TO DATE</span>'
    )
    self_url = f"{SESSION_PATH}/{quote(slug, safe='')}"
    if as_reader:
        mode = "Reader view: the published revision, exactly as readers get it"
        facts = [
            ("Approved by", view.approved_by or "—"),
            ("Published", _date(view.published_at)),
            ("Working copy", f"revision {row.revision}, template {row.template_version}"),
        ]
        switch = f'<a class="switch" href="{_e(self_url)}">← Back to the working copy</a>'
    else:
        mode = "Editor preview: the working copy, not necessarily what readers see"
        facts = [
            ("Template", row.template_version),
            ("Revision", row.revision),
            ("Updated", _date(row.updated_at)),
        ]
        switch = f'<a class="switch" href="{_e(self_url)}?as=reader">What readers see →</a>'
    facts.append(("Signed in", f"{viewer.name or '?'} ({viewer.role})"))
    items = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    kind = "banner reader" if as_reader else "banner"
    return (
        f'<header class="{kind}" id="preview-banner" aria-label="Preview status">\n'
        f'<div class="banner-inner"><div class="banner-top">{pill} {freshness} '
        f'<span class="mode">{_e(mode)}</span>{switch}</div>'
        f'<dl class="facts">{items}</dl></div>\n</header>'
    )


async def _rate_limited(request: Request, page: bool) -> Response | None:
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
    message = f"Too many requests from your address; retry after {retry} s."
    if page:
        return _message(
            429, "Slow down", [f"<p>{_e(message)}</p>"], headers={"Retry-After": str(retry)}
        )
    return _json_error(429, message, "RATE_LIMITED", **{"Retry-After": str(retry)})


async def preview_page(request: Request) -> Response:
    state = request.app.state.compendium
    database = state.database
    limited = await _rate_limited(request, page=True)
    if limited is not None:
        return limited
    try:
        viewer = await request_viewer(
            request, database, cookie=True, secret=state.settings.session_secret
        )
    except Unauthenticated as exc:
        return _unauthenticated(request, f"Your credentials were refused: {exc.message}.")
    if viewer.role == "anonymous":
        return _unauthenticated(request, "This page is for editors.")
    if not viewer.can_preview:
        return _message(
            403,
            "Not allowed to preview",
            [f"<p>The token '{_e(viewer.name or '?')}' may not preview drafts.</p>"],
        )
    slug = request.path_params["slug"]
    as_reader = request.query_params.get("as") == "reader"
    not_found = _message(
        404,
        "No such review",
        [
            f"<p>There is no review with the slug <code>{_e(slug)}</code>.</p>",
            "<p>Review slugs look like <code>ketamine--als</code> (compound, two hyphens, condition).</p>",
        ],
    )
    if len(slug) > MAX_SLUG:
        return not_found
    editor = Context(database, state.settings, viewer, request=request)
    try:
        working = await review_resolvers.review(editor, slug, None, None, "SAFETY")
        if working is None:
            return not_found
        view: ReviewView | None = working
        if as_reader:
            # Exactly what an anonymous reader gets: the same resolver, no credentials.
            reader = Context(database, state.settings, Viewer(), request=request)
            try:
                view = await review_resolvers.published_review(reader, working.id)
            finally:
                await reader.close()
    finally:
        await editor.close()
    if view is None:
        back = f"{SESSION_PATH}/{quote(slug, safe='')}"
        return _message(
            404,
            "Not published",
            [
                f"<p>Readers get nothing at this address: the review <code>{_e(slug)}</code> "
                f"is not published (status {_e(STATUS_LABELS.get(working.status, working.status))}).</p>",
                f'<p><a href="{_e(back)}">← Back to the working copy</a></p>',
            ],
        )
    page = view.page
    body = f"{_banner(working, view, slug, as_reader, viewer)}\n<main>\n{document.page_html(page)}</main>"
    prefix = "Reader view" if as_reader else "Preview"
    return _page(200, f"{prefix}: {page.title}", body)


def _json_error(status: int, message: str, code: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers={"Cache-Control": "no-store", **headers},
    )


def _clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        PREVIEW_COOKIE,
        path=SESSION_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


async def start_session(request: Request) -> Response:
    """Trade an Authorization header for a preview session (read-only preview pages only)."""
    state = request.app.state.compendium
    settings = state.settings
    challenge = {"WWW-Authenticate": 'Bearer realm="compendium preview"'}
    limited = await _rate_limited(request, page=False)
    if limited is not None:
        return limited
    try:
        # Header only: a cookie cannot renew itself, and a cross-site form cannot set headers.
        token = bearer_token(request)
        if token is None:
            return _json_error(
                401, "send `Authorization: Bearer <token>`", "UNAUTHENTICATED", **challenge
            )
        viewer, value = await new_session(
            state.database, token, settings.session_secret, settings.preview_session_seconds
        )
    except Unauthenticated as exc:
        return _json_error(401, exc.message, "UNAUTHENTICATED", **challenge)
    if not viewer.can_preview:
        return _json_error(403, "this token may not preview drafts", "FORBIDDEN")
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
    _clear_cookie(response, request)
    return response


async def session(request: Request) -> Response:
    if request.method == "DELETE":
        return await end_session(request)
    return await start_session(request)


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


def routes() -> list[BaseRoute]:
    # Review slugs always contain "--", so "session" and "favicon.svg" cannot clash with one.
    return [
        Route(f"{SESSION_PATH}/session", session, methods=["POST", "DELETE"]),
        Route(f"{SESSION_PATH}/favicon.svg", favicon, methods=["GET"]),
        Route(f"{SESSION_PATH}/{{slug}}", preview_page, methods=["GET"]),
    ]
