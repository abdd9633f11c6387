"""``GET /preview/``: the editors' work queue with links to the previews, over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from db.engine import make_engine, session_scope
from db.models import Review
from db.tokens import create_token
from editorial.generation import generate
from tests.conftest import Api
from tests.server.test_preview import assert_private_headers, load_hostile

SLUG = "ketamine--als"
OVERDUE = "ketamine--neuropathic-pain"
HOSTILE = "hostile--test-ill"
REVISION = "query R($slug: String!) { review(slug: $slug) { revision } }"
SUBMIT = """
mutation S($slug: String!, $rev: Int!) {
  submitForReview(review: $slug, expectedRevision: $rev) { review { status } }
}
"""
EDIT = """
mutation E($slug: String!, $rev: Int!) {
  updateSection(review: $slug, key: BOTTOM_LINE, expectedRevision: $rev, body: "Edited.") {
    review { status }
  }
}
"""
SECTION_REVISION = (
    "query SR($slug: String!) { review(slug: $slug) { section(key: BOTTOM_LINE) { revision } } }"
)


@pytest.fixture
def demo_engine(demo_url: str) -> Iterator[Engine]:
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


def bearer(engine: Engine, name: str = "ed-1", role: str = "editor") -> dict[str, str]:
    with session_scope(engine) as session:
        secret, _row = create_token(session, name, role)
    return {"Authorization": f"Bearer {secret}"}


def section(page: str, key: str) -> str:
    found = re.search(rf'<section class="queue" id="{key}">(.*?)</section>', page, re.S)
    assert found is not None, f"no {key} section"
    return found.group(1)


def links(html: str) -> list[str]:
    return re.findall(r'<a href="(/preview/[^"]+)">', html)


async def graphql(api: Api, query: str, variables: dict, headers: dict[str, str]) -> dict:
    response = await api.post(query, variables, headers=headers)
    payload = response.json()
    assert response.status_code == 200 and "errors" not in payload, payload
    return payload["data"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", ["/preview/", "/preview"])
async def test_the_index_needs_an_editor(api: Api, demo_engine: Engine, path: str) -> None:
    anonymous = await api.client.get(path)
    assert anonymous.status_code == 401
    assert "Sign in to preview" in anonymous.text and "Work queue" not in anonymous.text
    assert_private_headers(anonymous)
    refused = await api.client.get(path, headers={"Authorization": "Bearer cmp_not-a-token"})
    assert refused.status_code == 401 and "refused" in refused.text
    assert "Work queue" not in refused.text
    allowed = await api.client.get(path, headers=bearer(demo_engine))
    assert allowed.status_code == 200, allowed.text[:2000]


async def test_an_empty_queue_says_so(api: Api, demo_engine: Engine) -> None:
    response = await api.client.get("/preview/", headers=bearer(demo_engine))
    assert response.status_code == 200
    assert_private_headers(response)
    page = response.text
    assert "<h1>Work queue</h1>" in page and "Signed in as ed-1 (editor)" in page
    for key, heading in (
        ("stale", "Stale"),
        ("overdue", "Overdue"),
        ("in-review", "In review"),
        ("pending-facts", "Pending fact changes"),
    ):
        html = section(page, key)
        assert f"<h2>{heading} " in html and "(none)" in html and "Nothing here." in html
        assert links(html) == []


async def test_the_queue_lists_each_kind_of_work_with_links(api: Api, demo_engine: Engine) -> None:
    editor = bearer(demo_engine)
    # In review: an edited, submitted review.
    rev = (await graphql(api, SECTION_REVISION, {"slug": SLUG}, editor))["review"]
    await graphql(api, EDIT, {"slug": SLUG, "rev": rev["section"]["revision"]}, editor)
    rev = (await graphql(api, REVISION, {"slug": SLUG}, editor))["review"]["revision"]
    submitted = await graphql(api, SUBMIT, {"slug": SLUG, "rev": rev}, editor)
    assert submitted["submitForReview"]["review"]["status"] == "IN_REVIEW"
    # Overdue: a published review past its re-review date.
    with session_scope(demo_engine) as session:
        session.execute(
            update(Review)
            .where(Review.slug == OVERDUE)  # type: ignore[arg-type]
            .values(review_due_at=datetime.now(UTC) - timedelta(days=3))
        )
    # Stale, with pending fact changes: facts with markup, changed after generation.
    load_hostile(demo_engine)
    generate(demo_engine, stale_only=True)
    load_hostile(demo_engine, drug_class="Another <b>class</b>")

    response = await api.client.get("/preview/", headers=editor)
    assert response.status_code == 200, response.text[:2000]
    assert_private_headers(response)
    page = response.text

    in_review = section(page, "in-review")
    assert links(in_review) == [f"/preview/{SLUG}"] and "(1)" in in_review
    assert ">IN REVIEW</span>" in in_review
    overdue = section(page, "overdue")
    assert links(overdue) == [f"/preview/{OVERDUE}"] and "re-review due" in overdue
    assert links(section(page, "stale")) == [f"/preview/{HOSTILE}"]
    pending = section(page, "pending-facts")
    assert f"/preview/{HOSTILE}" in links(pending)
    assert "facts of compound Hostile &lt;script&gt;alert(1)&lt;/script&gt; changed" in pending
    # Everything from the facts is escaped.
    assert "<script" not in page.lower() and "<b>class</b>" not in page
    assert "Is Hostile &lt;script&gt;alert(1)&lt;/script&gt;" in page

    # Every link opens its preview for the same editor.
    for href in set(links(page)):
        preview = await api.client.get(href, headers=editor)
        assert preview.status_code == 200, href
        assert '<a href="/preview/" id="work-queue-link">' in preview.text  # and back


async def test_the_preview_session_opens_the_index(api: Api, demo_engine: Engine) -> None:
    signed_in = await api.client.post("/preview/session", headers=bearer(demo_engine))
    assert signed_in.status_code == 204
    response = await api.client.get("/preview/")
    assert response.status_code == 200 and "<h1>Work queue</h1>" in response.text


async def test_the_statement_count_does_not_grow_with_the_queue(
    api: Api, demo_engine: Engine
) -> None:
    editor = bearer(demo_engine)
    load_hostile(demo_engine)
    generate(demo_engine, stale_only=True)
    load_hostile(demo_engine, drug_class="One")
    with session_scope(demo_engine) as session:
        session.execute(
            update(Review)
            .where(Review.slug == OVERDUE)  # type: ignore[arg-type]
            .values(review_due_at=datetime.now(UTC) - timedelta(days=1))
        )
    api.statements.clear()
    assert (await api.client.get("/preview/", headers=editor)).status_code == 200
    few = len(api.statements)
    # Every demo review overdue: many more items, the same statements.
    with session_scope(demo_engine) as session:
        session.execute(update(Review).values(review_due_at=datetime.now(UTC) - timedelta(days=1)))
    api.statements.clear()
    response = await api.client.get("/preview/", headers=editor)
    assert response.status_code == 200
    assert len(links(section(response.text, "overdue"))) > 3
    assert len(api.statements) == few, api.statements


async def test_long_lists_are_cut_at_the_page_size(make_api: Any, demo_engine: Engine) -> None:
    api: Api = await make_api(max_page_size=2)
    with session_scope(demo_engine) as session:
        session.execute(update(Review).values(review_due_at=datetime.now(UTC) - timedelta(days=1)))
        # (The queue is the default locale's pages; the demo's Spanish ones are not in it.)
        total = len(session.execute(select(Review.id).where(Review.locale == "en")).all())  # type: ignore[arg-type]
    assert total > 3
    response = await api.client.get("/preview/", headers=bearer(demo_engine))
    assert response.status_code == 200, response.text[:2000]
    overdue = section(response.text, "overdue")
    assert len(links(overdue)) == 2 and f"({total})" in overdue
    assert f"…and {total - 2} more: see the WorkQueue tab" in overdue
