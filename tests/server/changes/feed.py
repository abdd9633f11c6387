"""The feed's documents, and a client that mirrors the published catalog from it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

SYNC = """
query Sync($since: String, $first: Int!) {
  changes(since: $since, first: $first) {
    cursor
    hasMore
    changes {
      op entity id slug cursor
      node {
        __typename
        ... on Review { id slug status updatedAt publishedAt title text(format: PLAIN) }
        ... on Compound { id slug name evidenceLevel }
        ... on Condition { id slug name fullName }
      }
    }
  }
}
"""
LIVE = {
    "REVIEW": """query LiveReviews($after: String) { list: reviews(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { slug title text(format: PLAIN) } } } }""",
    "COMPOUND": """query LiveCompounds($after: String) { list: compounds(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { slug name evidenceLevel } } } }""",
    "CONDITION": """query LiveConditions($after: String) { list: conditions(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { slug name fullName } } } }""",
}
EDITOR_REVIEW = """
query EditorReview($slug: String!) {
  review(slug: $slug) { status revision sections { key revision } }
}
"""
CREATE_COMPOUND = """
mutation NewCompound($slug: String!, $name: String!) {
  createCompound(input: {slug: $slug, name: $name, drugClass: "Test class",
      safetyProfile: ["Well tolerated in trials"], regulatoryStatus: "Investigational",
      evidenceLevel: "Early data", mechanisms: ["Unknown"]}) {
    compound { slug revision }
  }
}
"""
UPDATE_COMPOUND = """
mutation FixCompound($slug: String!, $rev: Int!, $level: String!) {
  updateCompound(slug: $slug, expectedRevision: $rev, input: {evidenceLevel: $level}) {
    compound { revision }
  }
}
"""
DELETE_COMPOUND = """
mutation DropCompound($slug: String!, $rev: Int!) {
  deleteCompound(slug: $slug, expectedRevision: $rev) { key }
}
"""
CREATE_EVIDENCE = """
mutation Link($compound: String!, $condition: String!) {
  createEvidence(input: {compound: $compound, condition: $condition, research: LIMITED}) {
    evidence { revision }
  }
}
"""
UPDATE_SECTION = """
mutation Edit($slug: String!, $rev: Int!, $body: String!) {
  updateSection(review: $slug, key: INTRO, expectedRevision: $rev, body: $body) {
    review { revision }
  }
}
"""
SUBMIT = """
mutation Submit($slug: String!, $rev: Int!) {
  submitForReview(review: $slug, expectedRevision: $rev) { review { revision } }
}
"""
PUBLISH = """
mutation Publish($slug: String!, $rev: Int!) {
  publishReview(review: $slug, expectedRevision: $rev) { review { status } }
}
"""
UNPUBLISH = """
mutation Unpublish($slug: String!, $rev: Int!) {
  unpublishReview(review: $slug, expectedRevision: $rev) { review { status } }
}
"""
ARCHIVE = """
mutation Archive($slug: String!, $rev: Int!) {
  archiveReview(review: $slug, expectedRevision: $rev) { review { status } }
}
"""
POSITION = """
query Position($since: String) { changes(since: $since, first: 100) { cursor hasMore } }
"""
COMPOUND_REVISION = "query Rev($slug: String!) { compound(slug: $slug) { revision } }"


class Client:
    """GraphQL as a token's holder, or anonymously."""

    def __init__(self, api: Api, token: str | None = None):
        self.api = api
        self.headers = {"authorization": f"Bearer {token}"} if token else {}

    async def payload(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.api.post(query, variables, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        payload = await self.payload(query, variables)
        assert "errors" not in payload, payload["errors"]
        return payload["data"]


def fields(node: dict[str, Any]) -> dict[str, Any]:
    """What the mirror keeps of a record (the live lists read the same fields)."""
    skip = ("__typename", "id", "slug", "status", "updatedAt", "publishedAt")
    return {k: v for k, v in node.items() if k not in skip}


class Mirror:
    """A mobile app's local copy: entity -> slug -> fields, plus the saved cursor."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {
            "REVIEW": {},
            "COMPOUND": {},
            "CONDITION": {},
        }
        self.cursor: str | None = None
        self.seen: list[tuple[str, str, str]] = []

    async def sync(self, client: Client, first: int) -> int:
        """Apply every change since the saved cursor, a page at a time; returns the pages read."""
        pages = 0
        while True:
            feed = (await client.data(SYNC, {"since": self.cursor, "first": first}))["changes"]
            pages += 1
            assert len(feed["changes"]) <= first
            # One record appears once per page. (SQLite may give a new record the id of a
            # deleted one: the old one's tombstone and the new one's upsert both come.)
            keys = [(c["entity"], c["id"], c["slug"]) for c in feed["changes"]]
            assert len(keys) == len(set(keys))
            for change in feed["changes"]:
                entity, slug, node = change["entity"], change["slug"], change["node"]
                self.seen.append((entity, slug, change["op"]))
                if change["op"] == "UPSERT":
                    assert node["id"] == change["id"] and node["slug"] == slug
                    if entity == "REVIEW":
                        # The published catalog, whoever asks.
                        assert node["status"] == "PUBLISHED"
                        assert node["updatedAt"] == node["publishedAt"]
                    self.records[entity][slug] = fields(node)
                else:
                    assert node is None
                    self.records[entity].pop(slug, None)
            if feed["changes"]:
                # The last entry read is always the last of its record: it is never collapsed.
                assert feed["cursor"] == feed["changes"][-1]["cursor"]
            self.cursor = feed["cursor"]
            if not feed["hasMore"]:
                return pages


async def live_catalog(api: Api) -> dict[str, dict[str, dict[str, Any]]]:
    """What anonymous readers see through the ordinary lists."""
    reader = Client(api)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for entity, query in LIVE.items():
        out[entity] = {}
        after = None
        while True:
            page = (await reader.data(query, {"after": after}))["list"]
            for edge in page["edges"]:
                node = dict(edge["node"])
                out[entity][node.pop("slug")] = node
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    return out


async def end_cursor(client: Client) -> str:
    """Skip to the end of the feed (a client that needs no nodes)."""
    cursor = None
    while True:
        page = (await client.data(POSITION, {"since": cursor}))["changes"]
        cursor = page["cursor"]
        if not page["hasMore"]:
            return cursor  # type: ignore[no-any-return]


async def review_state(editor: Client, slug: str) -> dict[str, Any]:
    review = (await editor.data(EDITOR_REVIEW, {"slug": slug}))["review"]
    review["intro"] = next(s["revision"] for s in review["sections"] if s["key"] == "INTRO")
    return review  # type: ignore[no-any-return]


async def edit_intro(editor: Client, slug: str, body: str) -> int:
    """A draft edit; returns the review's revision after it."""
    state = await review_state(editor, slug)
    done = await editor.data(UPDATE_SECTION, {"slug": slug, "rev": state["intro"], "body": body})
    return done["updateSection"]["review"]["revision"]  # type: ignore[no-any-return]


async def publish(editor: Client, reviewer: Client, slug: str, rev: int) -> None:
    submitted = await editor.data(SUBMIT, {"slug": slug, "rev": rev})
    rev = submitted["submitForReview"]["review"]["revision"]
    published = await reviewer.data(PUBLISH, {"slug": slug, "rev": rev})
    assert published["publishReview"]["review"]["status"] == "PUBLISHED"
