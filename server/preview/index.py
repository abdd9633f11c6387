"""``GET /preview/``: the editors' work queue, each review linking to its preview page.

Four lists, as the GraphiQL WorkQueue tab (server/editor_tabs.py) gets them through the
same resolvers: stale reviews (their facts or template changed since the served content
was generated), overdue ones (published, past their re-review date), those IN_REVIEW, and
the reviews of compounds and conditions whose facts wait for approval. Behind the same
editor authentication as the preview pages; every piece of text is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from resolvers import catalog
from resolvers import reviews as review_resolvers
from resolvers.content import ReviewView
from resolvers.context import Context
from server.preview.guard import editor_viewer, rate_limited
from server.preview.shell import SESSION_PATH, STATUS_LABELS, date, escape, page

# Items shown per list (at most the configured page size); the page says how many more.
LIMIT = 50


def _limit(ctx: Context) -> int:
    return min(LIMIT, ctx.settings.max_page_size)


ORDER = "UPDATED_AT_ASC"  # the longest waiting first


@dataclass
class Queue:
    """One list of the work queue."""

    key: str  # the element id
    heading: str
    explanation: str
    items: list[tuple[ReviewView, str]] = field(default_factory=list)  # (review, note)
    total: int = 0


async def _reviews(
    ctx: Context, criteria: review_resolvers.ReviewCriteria
) -> tuple[list[ReviewView], int]:
    listing = await review_resolvers.reviews_page(ctx, _limit(ctx), None, ORDER, criteria)
    views = [await review_resolvers.prepare(ctx, view) for _cursor, view in listing.edges]
    return views, listing.total


async def _pending_facts(ctx: Context) -> Queue:
    """The reviews of compounds and conditions whose working facts are not approved yet."""
    queue = Queue(
        "pending-facts",
        "Pending fact changes",
        "Reviews of compounds and conditions whose facts changed and wait for approval.",
    )
    compounds = await catalog.compounds_page(
        ctx, _limit(ctx), None, "NAME_ASC", None, None, None, True, {}
    )
    conditions = await catalog.conditions_page(
        ctx, _limit(ctx), None, "NAME_ASC", None, None, True, {}
    )
    changed = {
        **{r.slug: f"compound {r.name}" for _c, r in compounds.edges},
        **{r.slug: f"condition {r.name}" for _c, r in conditions.edges},
    }
    seen: set[str] = set()
    for kind, records in (("compound", compounds), ("condition", conditions)):
        slugs = [record.slug for _cursor, record in records.edges]
        if not slugs:
            continue
        criteria = (
            review_resolvers.ReviewCriteria(compound=slugs)
            if kind == "compound"
            else review_resolvers.ReviewCriteria(condition=slugs)
        )
        views, total = await _reviews(ctx, criteria)
        queue.total += total
        for view in views:
            if view.slug in seen:
                queue.total -= 1
                continue
            seen.add(view.slug)
            slug = view.compound.slug if kind == "compound" else view.condition.slug
            queue.items.append((view, f"facts of {changed.get(slug, slug)} changed"))
    return queue


async def work_queue(ctx: Context) -> list[Queue]:
    stale = Queue(
        "stale",
        "Stale",
        "The facts or the template changed since the served content was generated: "
        "regenerate, check and resubmit.",
    )
    overdue = Queue("overdue", "Overdue", "Published, and past the date of their re-review.")
    in_review = Queue("in-review", "In review", "Submitted, waiting for a medical reviewer.")
    for queue, criteria in (
        (stale, review_resolvers.ReviewCriteria(stale=True)),
        (overdue, review_resolvers.ReviewCriteria(overdue=True)),
        (in_review, review_resolvers.ReviewCriteria(status=["IN_REVIEW"])),
    ):
        views, queue.total = await _reviews(ctx, criteria)
        queue.items = [(view, _note(view)) for view in views]
    return [stale, overdue, in_review, await _pending_facts(ctx)]


def _note(view: ReviewView) -> str:
    if view.review_due_at is not None and view.status == "PUBLISHED":
        return f"re-review due {date(view.review_due_at)}"
    return f"updated {date(view.updated_at)}"


def _item(view: ReviewView, note: str) -> str:
    href = f"{SESSION_PATH}/{quote(view.slug, safe='')}"
    status = STATUS_LABELS.get(view.status, view.status)
    return (
        f'<li><a href="{escape(href)}">{escape(view.page.title)}</a> '
        f'<span class="pill status-{escape(view.status.lower())}">{escape(status)}</span>'
        f'<br><span class="queue-meta"><code>{escape(view.slug)}</code> · revision '
        f"{view.revision} · {escape(note)}</span></li>"
    )


def _section(queue: Queue) -> str:
    count = f"{queue.total}" if queue.total else "none"
    parts = [
        f'<section class="queue" id="{queue.key}">',
        f'<h2>{escape(queue.heading)} <span class="count">({count})</span></h2>',
        f'<p class="queue-meta">{escape(queue.explanation)}</p>',
    ]
    if queue.items:
        parts.append("<ul>" + "".join(_item(view, note) for view, note in queue.items) + "</ul>")
    else:
        parts.append("<p>Nothing here.</p>")
    more = queue.total - len(queue.items)
    if more > 0:
        parts.append(
            f'<p class="queue-meta">…and {more} more: see the WorkQueue tab in '
            '<a href="/graphql">GraphiQL</a>.</p>'
        )
    parts.append("</section>")
    return "\n".join(parts)


def render(queues: Iterable[Queue], signed_in: str) -> str:
    sections = "\n".join(_section(queue) for queue in queues)
    return (
        '<main class="index" id="work-queue">\n'
        "<h1>Work queue</h1>\n"
        f'<p class="queue-meta">Signed in as {escape(signed_in)}. Each review opens its '
        'preview; the editorial jobs are tabs in <a href="/graphql">GraphiQL</a>.</p>\n'
        f"{sections}\n</main>"
    )


async def preview_index(request: Request) -> Response:
    state = request.app.state.compendium
    limited = await rate_limited(request, page=True)
    if limited is not None:
        return limited
    viewer = await editor_viewer(request)
    if isinstance(viewer, Response):
        return viewer
    ctx = Context(state.database, state.settings, viewer, request=request)
    try:
        queues = await work_queue(ctx)
    finally:
        await ctx.close()
    signed_in = f"{viewer.name or '?'} ({viewer.role})"
    return page(200, "Work queue · Compendium preview", render(queues, signed_in))
