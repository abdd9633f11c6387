"""``GET /preview/{slug}``: a review as a reader would see it, behind a token.

The working copy (drafts included) as a complete, self-contained HTML page under a
status banner; ``?as=reader`` renders what an anonymous reader gets instead (the
published revision, or a 404 page).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from content import document
from resolvers import reviews as review_resolvers
from resolvers.content import ReviewView
from resolvers.context import Context, Viewer
from server.preview.guard import editor_viewer, rate_limited
from server.preview.shell import (
    SESSION_PATH,
    STATUS_LABELS,
    date,
    escape,
    message,
    page,
)

MAX_SLUG = 200


def banner(
    working: ReviewView, view: ReviewView, slug: str, as_reader: bool, viewer: Viewer
) -> str:
    row = working.row
    status = view.status
    pill = (
        f'<span class="pill status-{escape(status.lower())}" id="status">'
        f"{escape(STATUS_LABELS.get(status, status))}</span>"
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
            ("Published", date(view.published_at)),
            ("Working copy", f"revision {row.revision}, template {row.template_version}"),
        ]
        switch = f'<a class="switch" href="{escape(self_url)}">← Back to the working copy</a>'
    else:
        mode = "Editor preview: the working copy, not necessarily what readers see"
        facts = [
            ("Template", row.template_version),
            ("Revision", row.revision),
            ("Updated", date(row.updated_at)),
        ]
        switch = f'<a class="switch" href="{escape(self_url)}?as=reader">What readers see →</a>'
    facts.append(("Signed in", f"{viewer.name or '?'} ({viewer.role})"))
    items = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in facts)
    kind = "banner reader" if as_reader else "banner"
    return (
        f'<header class="{kind}" id="preview-banner" aria-label="Preview status">\n'
        f'<div class="banner-inner"><div class="banner-top">'
        f'<a href="{SESSION_PATH}/" id="work-queue-link">← Work queue</a> {pill} {freshness} '
        f'<span class="mode">{escape(mode)}</span>{switch}</div>'
        f'<dl class="facts">{items}</dl></div>\n</header>'
    )


async def preview_page(request: Request) -> Response:
    state = request.app.state.compendium
    database = state.database
    limited = await rate_limited(request, page=True)
    if limited is not None:
        return limited
    viewer = await editor_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    slug = request.path_params["slug"]
    as_reader = request.query_params.get("as") == "reader"
    not_found = message(
        404,
        "No such review",
        [
            f"<p>There is no review with the slug <code>{escape(slug)}</code>.</p>",
            "<p>Review slugs look like <code>ketamine--als</code> (compound, two hyphens, condition).</p>",
        ],
    )
    if len(slug) > MAX_SLUG:
        return not_found
    editor = Context(database, state.settings, viewer, request=request)
    try:
        found = await review_resolvers.review(editor, slug, None, None, "SAFETY")
        if found is None:
            return not_found
        working = await review_resolvers.prepare(editor, found)  # (an editor's is loaded)
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
        return message(
            404,
            "Not published",
            [
                f"<p>Readers get nothing at this address: the review <code>{escape(slug)}</code> "
                f"is not published (status {escape(STATUS_LABELS.get(working.status, working.status))}).</p>",
                f'<p><a href="{escape(back)}">← Back to the working copy</a></p>',
            ],
        )
    shown = view.page
    body = f"{banner(working, view, slug, as_reader, viewer)}\n<main>\n{document.page_html(shown)}</main>"
    prefix = "Reader view" if as_reader else "Preview"
    return page(200, f"{prefix}: {shown.title}", body)
