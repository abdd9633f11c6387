"""What publishing sets off: webhooks enqueued in the publish transaction, constant
statement counts for editors' lists, readers kept on the approved facts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from config import Settings
from db.engine import make_engine, session_scope
from db.models import ReviewRevision
from db.operations import WebhookDelivery
from server.app import create_app
from tests.conftest import Api
from tests.server.editing import PUBLISH, SLUG, Client, count, submit_with


@pytest.fixture
async def hooked_api(demo_url: str) -> AsyncIterator[Api]:
    settings = Settings(
        database_url=demo_url,
        webhook_urls=["http://127.0.0.1:9/hook"],
        webhook_secret="s3cret",
        webhook_poll_seconds=3600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(app, client)


async def test_publish_and_unpublish_enqueue_webhooks(
    hooked_api: Api, tokens: dict[str, str], demo_url: str
) -> None:
    editor, reviewer = Client(hooked_api, tokens["editor"]), Client(hooked_api, tokens["reviewer"])
    rev = await submit_with(editor, "INTRO", "A reviewed introduction.")
    assert count(demo_url, WebhookDelivery) == 0
    refused = await reviewer.payload(PUBLISH, {"slug": SLUG, "rev": rev - 1})
    assert refused["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert count(demo_url, WebhookDelivery) == 0  # a refused publish announces nothing
    published = await reviewer.data(PUBLISH, {"slug": SLUG, "rev": rev})
    await editor.data(
        'mutation U($rev: Int!) { unpublishReview(review: "ketamine--als", expectedRevision: $rev) { review { status } } }',
        {"rev": published["publishReview"]["review"]["revision"]},
    )
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        events = [
            row.event
            for row in session.execute(
                select(WebhookDelivery).order_by(WebhookDelivery.id)
            ).scalars()  # type: ignore[arg-type]
        ]
        revisions = session.execute(select(func.count()).select_from(ReviewRevision)).scalar()
    engine.dispose()
    assert events == ["review.published", "review.unpublished"]
    assert revisions and revisions > 0


async def test_editor_list_query_count_is_constant(api: Api, as_role: Any) -> None:
    editor = as_role("editor")
    query = """query Work($first: Int!) { reviews(first: $first, filter: {stale: false}) { edges { node {
        status revision isStale hasUnpublishedChanges compound { revision } condition { revision }
        evidence { revision research citations { value } } sections { revision origin }
        findings { id } revisions { number approvedBy } } } } }"""
    counts = {}
    for first in (1, 10, 100):
        api.statements.clear()
        data = await editor.data(query, {"first": first})
        assert len(data["reviews"]["edges"]) == first
        counts[first] = len(api.statements)
    # One token lookup, the count and the page, then one statement per relation.
    assert counts[1] == counts[10] == counts[100] <= 10, counts


async def test_readers_keep_the_approved_research_level(as_role: Any) -> None:
    """Regeneration after an evidence change rewrites the draft; readers keep the level the
    reviewer approved (the text depends on it) until the new draft is published."""
    editor, anonymous = as_role("editor"), as_role(None)
    query = 'query R { review(slug: "ketamine--als") { research evidence { revision } } }'
    before = (await editor.data(query))["review"]
    assert before["research"] == "LIMITED"
    changed = await editor.data(
        'mutation E($rev: Int!) { updateEvidence(compound: "ketamine", condition: "als", '
        "expectedRevision: $rev, input: {research: SPECIFIC}) "
        "{ effect { affectedReviews regeneratedReviews } } }",
        {"rev": before["evidence"]["revision"]},
    )
    # The English page and the demo's Spanish translation of it.
    assert changed["updateEvidence"]["effect"] == {"affectedReviews": 2, "regeneratedReviews": 2}
    assert (await editor.data(query))["review"]["research"] == "SPECIFIC"
    reader = await anonymous.data(
        'query R { review(slug: "ketamine--als") { research isStale evidence { research } } }'
    )
    # Nothing of the unapproved evidence reaches readers, not even that it changed.
    assert reader["review"] == {
        "research": "LIMITED",
        "isStale": False,
        "evidence": {"research": "LIMITED"},
    }
