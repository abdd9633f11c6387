"""Editorial steps through real GraphQL requests, for tests that need an approval.

A fact change reaches readers only when a reviewer publishes a review built from
it, so many tests edit as an editor, then submit and publish as a reviewer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text

from config import get_settings
from db.engine import make_engine, session_scope
from db.models import utcnow
from db.publishing import publish_reviews

REVIEW_STATE = "query S($slug: String!) { review(slug: $slug) { status revision } }"
SUBMIT = """
mutation Submit($slug: String!, $rev: Int!) {
  submitForReview(review: $slug, expectedRevision: $rev) { review { revision } }
}
"""
PUBLISH = """
mutation Publish($slug: String!, $rev: Int!) {
  publishReview(review: $slug, expectedRevision: $rev) { review { status revision } }
}
"""
FACT_REVISION = {
    "compound": "query R($slug: String!) { compound(slug: $slug) { revision } }",
    "condition": "query R($slug: String!) { condition(slug: $slug) { revision } }",
}
UPDATE_FACT = {
    "compound": """
mutation U($slug: String!, $rev: Int!, $input: CompoundPatch!) {
  updateCompound(slug: $slug, expectedRevision: $rev, input: $input) { compound { revision } }
}""",
    "condition": """
mutation U($slug: String!, $rev: Int!, $input: ConditionPatch!) {
  updateCondition(slug: $slug, expectedRevision: $rev, input: $input) { condition { revision } }
}""",
}


async def graphql(api: Any, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(query, variables, headers={"authorization": f"Bearer {token}"})
    payload = response.json()
    assert response.status_code == 200 and "errors" not in payload, payload
    return payload["data"]  # type: ignore[no-any-return]


async def edit_fact(api: Any, editor: str, kind: str, slug: str, **changes: Any) -> None:
    """Change a compound's or condition's working copy (as an editor)."""
    rev = (await graphql(api, editor, FACT_REVISION[kind], {"slug": slug}))[kind]["revision"]
    await graphql(api, editor, UPDATE_FACT[kind], {"slug": slug, "rev": rev, "input": changes})


async def approve(api: Any, editor: str, reviewer: str, slug: str) -> None:
    """Submit the review's draft (as an editor) and publish it (as a reviewer)."""
    state = (await graphql(api, editor, REVIEW_STATE, {"slug": slug}))["review"]
    rev = state["revision"]
    if state["status"] == "DRAFT":
        submitted = await graphql(api, editor, SUBMIT, {"slug": slug, "rev": rev})
        rev = submitted["submitForReview"]["review"]["revision"]
    await graphql(api, reviewer, PUBLISH, {"slug": slug, "rev": rev})


def publish_elsewhere(url: str, slug: str, compound_name: str) -> None:
    """Another process (the CLI, another worker) renames a review's compound and approves
    the review, straight through the database."""
    engine = make_engine(url)
    with session_scope(engine) as session:
        session.execute(
            text("UPDATE compound SET name = :name, revision = revision + 1 WHERE slug = :slug"),
            {"name": compound_name, "slug": slug.split("--")[0]},
        )
        review_id = session.execute(
            text("SELECT id FROM review WHERE slug = :slug AND locale = :locale"),
            {"slug": slug, "locale": get_settings().default_locale},
        ).scalar_one()
        publish_reviews(session, [review_id], "another-process", utcnow(), timedelta(days=365))
    engine.dispose()
