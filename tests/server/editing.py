"""The editorial tests' client: GraphQL as a token's holder, the workflow's documents,
and a few steps many tests take."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from db.engine import make_engine, session_scope
from tests.conftest import Api

SLUG = "ketamine--als"
OTHER_KETAMINE = "ketamine--neuropathic-pain"

READER = """
query Reader($slug: String!) {
  review(slug: $slug) { status isStale revision text(format: PLAIN) publishedAt }
}
"""
EDITOR_VIEW = """
query Editor($slug: String!) {
  review(slug: $slug) {
    status revision isStale hasUnpublishedChanges text(format: PLAIN)
    compound { slug }
    section(key: CONSIDERATIONS) { revision origin body(format: PLAIN) }
    intro: section(key: INTRO) { revision origin }
    disclaimer: section(key: DISCLAIMER) { revision }
    revisions { number approvedBy title acknowledgedFindings { id } }
  }
}
"""
COMPOUND = 'query C { compound(slug: "ketamine") { revision evidenceLevel } }'
UPDATE_COMPOUND = """
mutation Fix($rev: Int!, $level: String!) {
  updateCompound(slug: "ketamine", expectedRevision: $rev, input: {evidenceLevel: $level}) {
    compound { slug revision evidenceLevel }
    effect { affectedReviews regeneratedReviews staleReviews }
  }
}
"""
UPDATE_SECTION = """
mutation Edit($slug: String!, $key: SectionKey!, $rev: Int!, $body: String!) {
  updateSection(review: $slug, key: $key, expectedRevision: $rev, body: $body) {
    section { key origin revision body(format: PLAIN) }
    review { status revision }
  }
}
"""
SUBMIT = """
mutation Submit($slug: String!, $rev: Int!) {
  submitForReview(review: $slug, expectedRevision: $rev) {
    review { status revision } findings { id rule section }
  }
}
"""
PUBLISH = """
mutation Publish($slug: String!, $rev: Int!, $ack: [String!]) {
  publishReview(review: $slug, expectedRevision: $rev, acknowledge: $ack) {
    review { status revision isStale hasUnpublishedChanges }
    findings { id rule section excerpt }
  }
}
"""


class Client:
    """GraphQL as a given token (or anonymously)."""

    def __init__(self, api: Api, token: str | None):
        self.api = api
        self.token = token

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        return await self.api.post(query, variables, headers=headers)

    async def payload(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.raw(query, variables)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = await self.payload(query, variables)
        assert "errors" not in payload, payload["errors"]
        return payload["data"]  # type: ignore[no-any-return]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = await self.payload(query, variables)
        assert payload.get("errors"), payload
        return payload["errors"][0]  # type: ignore[no-any-return]


def count(url: str, model: Any) -> int:
    engine = make_engine(url)
    with session_scope(engine) as session:
        n = int(session.execute(select(func.count()).select_from(model)).scalar() or 0)
    engine.dispose()
    return n


async def submit_with(editor: Client, key: str, body: str) -> int:
    review = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    section = review["intro"] if key == "INTRO" else review["section"]
    edited = await editor.data(
        UPDATE_SECTION, {"slug": SLUG, "key": key, "rev": section["revision"], "body": body}
    )
    rev = edited["updateSection"]["review"]["revision"]
    return (await editor.data(SUBMIT, {"slug": SLUG, "rev": rev}))["submitForReview"]["review"][
        "revision"
    ]
