"""Mobile delta sync (`changes`) through real HTTP: a client mirrors the published catalog
from the feed alone, across editorial changes, and ends up equal to what readers see."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from db.engine import make_engine, session_scope
from db.tokens import create_token
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


@pytest.fixture
def tokens(demo_url: str) -> dict[str, str]:
    engine = make_engine(demo_url)
    out: dict[str, str] = {}
    with session_scope(engine) as session:
        for role in ("editor", "reviewer"):
            out[role], _ = create_token(session, f"{role}-sync", role)
    engine.dispose()
    return out


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


# --- (a) replay ---------------------------------------------------------------------------


async def test_replaying_the_feed_mirrors_the_published_catalog(
    make_api: Any, tokens: dict[str, str]
) -> None:
    # The whole catalog is read several times over in a few seconds, as one anonymous
    # client: more than an anonymous cost budget holds (a real client waits on THROTTLED).
    api: Api = await make_api(budget_anonymous=1_000_000, cache_poll_seconds=3600)
    anonymous = Client(api)
    editor, reviewer = Client(api, tokens["editor"]), Client(api, tokens["reviewer"])

    # Initial full sync from the start: the whole current catalog.
    mirror = Mirror()
    await mirror.sync(anonymous, 50)
    assert len(mirror.records["COMPOUND"]) == 36 and len(mirror.records["CONDITION"]) == 16
    assert mirror.records == await live_catalog(api)
    saved = mirror.cursor

    # A draft edit of a published review changes nothing readers see: nothing in the feed.
    await edit_intro(editor, "rapamycin--lupus", "An editor's draft, never published.")
    idle = (await anonymous.data(SYNC, {"since": saved, "first": 7}))["changes"]
    assert idle == {"cursor": saved, "hasMore": False, "changes": []}

    # A compound created and deleted between two syncs: never approved, never in the feed.
    created = await editor.data(CREATE_COMPOUND, {"slug": "zz-ephemeral", "name": "Ephemeral"})
    await editor.data(
        DELETE_COMPOUND,
        {"slug": "zz-ephemeral", "rev": created["createCompound"]["compound"]["revision"]},
    )
    # A compound's facts change: nothing in the feed until a reviewer approves a review
    # built from them; then the compound and that review (and no other of its reviews).
    rev = (await editor.data(COMPOUND_REVISION, {"slug": "ivermectin"}))["compound"]["revision"]
    await editor.data(UPDATE_COMPOUND, {"slug": "ivermectin", "rev": rev, "level": "Revised"})
    idle = (await anonymous.data(SYNC, {"since": saved, "first": 7}))["changes"]
    assert idle == {"cursor": saved, "hasMore": False, "changes": []}
    await publish(
        editor,
        reviewer,
        "ivermectin--als",
        (await review_state(editor, "ivermectin--als"))["revision"],
    )
    # A review published for the first time (its new compound is approved with it).
    await editor.data(CREATE_COMPOUND, {"slug": "zz-newdrug", "name": "Newdrug"})
    await editor.data(CREATE_EVIDENCE, {"compound": "zz-newdrug", "condition": "als"})
    new = await review_state(editor, "zz-newdrug--als")
    assert new["status"] == "DRAFT"
    await publish(editor, reviewer, "zz-newdrug--als", new["revision"])
    # One unpublished, one archived.
    for mutation, slug in ((UNPUBLISH, "melatonin--migraine"), (ARCHIVE, "melatonin--epilepsy")):
        rev = (await review_state(editor, slug))["revision"]
        await editor.data(mutation, {"slug": slug, "rev": rev})
    # A published review re-published with a new text, then edited again (a draft only).
    rev = await edit_intro(editor, "psilocybin--migraine", "Republished introduction.")
    await publish(editor, reviewer, "psilocybin--migraine", rev)
    await edit_intro(editor, "psilocybin--migraine", "A later draft, not published.")

    # The editor syncs in small pages and still gets exactly the published catalog.
    mirror.seen.clear()
    pages = await mirror.sync(editor, 3)
    assert mirror.records == await live_catalog(api)
    assert pages >= 2  # the paging was exercised

    text = mirror.records["REVIEW"]["psilocybin--migraine"]["text"]
    assert "Republished introduction." in text and "later draft" not in text
    assert "zz-newdrug--als" in mirror.records["REVIEW"]
    assert "zz-ephemeral" not in mirror.records["COMPOUND"]
    assert mirror.records["COMPOUND"]["ivermectin"]["evidenceLevel"] == "Revised"
    seen = {(entity, slug): op for entity, slug, op in mirror.seen}
    assert ("COMPOUND", "zz-ephemeral") not in seen  # never approved, never public
    assert seen[("COMPOUND", "zz-newdrug")] == "UPSERT"
    assert seen[("REVIEW", "melatonin--migraine")] == "DELETE"
    assert seen[("REVIEW", "melatonin--epilepsy")] == "DELETE"
    assert seen[("REVIEW", "zz-newdrug--als")] == "UPSERT"
    assert seen[("REVIEW", "psilocybin--migraine")] == "UPSERT"
    assert ("REVIEW", "rapamycin--lupus") not in seen
    # Regenerated drafts of ivermectin's other published reviews are no change for readers.
    assert [s for e, s, _ in mirror.seen if e == "REVIEW" and s.startswith("ivermectin--")] == [
        "ivermectin--als"
    ]

    # (b) Nothing new: the same cursor back, every time.
    for client in (anonymous, editor):
        again = (await client.data(SYNC, {"since": mirror.cursor, "first": 7}))["changes"]
        assert again == {"cursor": mirror.cursor, "hasMore": False, "changes": []}


async def test_a_page_collapses_repeated_changes_of_one_record(
    api: Api, tokens: dict[str, str]
) -> None:
    anonymous, editor = Client(api), Client(api, tokens["editor"])
    reviewer = Client(api, tokens["reviewer"])
    cursor = await end_cursor(anonymous)
    for level in ("One", "Two", "Three"):
        rev = (await editor.data(COMPOUND_REVISION, {"slug": "ketamine"}))["compound"]["revision"]
        await editor.data(UPDATE_COMPOUND, {"slug": "ketamine", "rev": rev, "level": level})
        rev = (await review_state(editor, "ketamine--als"))["revision"]
        await publish(editor, reviewer, "ketamine--als", rev)
    rev = (await review_state(editor, "ketamine--als"))["revision"]
    await editor.data(UNPUBLISH, {"slug": "ketamine--als", "rev": rev})

    feed = (await anonymous.data(SYNC, {"since": cursor, "first": 50}))["changes"]
    got = [(c["entity"], c["slug"], c["op"]) for c in feed["changes"]]
    assert got == [("COMPOUND", "ketamine", "UPSERT"), ("REVIEW", "ketamine--als", "DELETE")]
    assert feed["changes"][0]["node"]["evidenceLevel"] == "Three"
    # Paged one entry at a time, the same changes arrive, in the same order.
    one_by_one = []
    since = cursor
    while True:
        page = (await anonymous.data(SYNC, {"since": since, "first": 1}))["changes"]
        one_by_one += [(c["entity"], c["slug"], c["op"]) for c in page["changes"]]
        since = page["cursor"]
        if not page["hasMore"]:
            break
    assert since == feed["cursor"]
    assert one_by_one[-1] == ("REVIEW", "ketamine--als", "DELETE")
    assert set(one_by_one) == set(got)


async def test_an_entry_cursor_resumes_right_after_it(api: Api) -> None:
    first = (await api.data(SYNC, {"since": None, "first": 10}))["changes"]
    assert first["hasMore"] is True and first["cursor"] == first["changes"][-1]["cursor"]
    resumed = await api.data(SYNC, {"since": first["changes"][4]["cursor"], "first": 5})
    assert resumed["changes"]["changes"] == first["changes"][5:]
    assert resumed["changes"]["cursor"] == first["cursor"]
    assert [c["entity"] for c in first["changes"]] == ["COMPOUND"] * 10
    assert first["changes"][0]["id"] == first["changes"][0]["node"]["id"]


# --- (c) bad input ------------------------------------------------------------------------


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "since",
    [
        "not a cursor!",
        "",
        _b64("change:abc"),
        _b64("change:-1"),
        _b64("change:99999999999999999999"),
        _b64('["SLUG_ASC","ketamine--als",1]'),  # a list cursor is not a feed cursor
    ],
)
async def test_a_malformed_cursor_is_bad_user_input(api: Api, since: str) -> None:
    payload = (await api.post(SYNC, {"since": since, "first": 5})).json()
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert payload["errors"][0]["extensions"]["argument"] == "since"
    assert payload.get("data") is None


async def test_first_is_capped(api: Api) -> None:
    payload = (await api.post(POSITION.replace("100", "101"), {"since": None})).json()
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert payload["errors"][0]["extensions"]["argument"] == "first"


# --- (d) batching -------------------------------------------------------------------------


async def test_feed_query_count_is_constant(api: Api) -> None:
    query = """query Feed($since: String, $first: Int!) { changes(since: $since, first: $first) {
        cursor changes { op node {
          ... on Review { title text(format: PLAIN) compound { name } condition { name }
                          sections { heading } }
          ... on Compound { name citations { value } }
          ... on Condition { name }
        } } } }"""

    # After the 36 compounds and 16 conditions come the published reviews: pages of reviews
    # only, and pages mixing the three kinds. (Sizes stay within the query cost limit.)
    async def cursor_after(n: int) -> str:
        return (await api.data(query, {"since": None, "first": n}))["changes"]["cursor"]  # type: ignore[no-any-return]

    for since, sizes in (
        (await cursor_after(52), (1, 10, 40)),
        (await cursor_after(30), (25, 35, 45)),
    ):
        counts = {}
        for first in sizes:
            api.statements.clear()
            data = await api.data(query, {"since": since, "first": first})
            assert len(data["changes"]["changes"]) == first
            counts[first] = len(api.statements)
        assert len(set(counts.values())) == 1 and max(counts.values()) <= 6, counts


# --- the triggers themselves ----------------------------------------------------------------


def test_triggers_log_what_readers_see_only(demo_url: str) -> None:
    engine = make_engine(demo_url)

    def log_after(conn: Any, position: int) -> list[tuple[str, str, str]]:
        rows = conn.execute(
            text("SELECT entity, slug, op FROM change_log WHERE id > :p ORDER BY id"),
            {"p": position},
        )
        return [(str(e), s, str(o)) for e, s, o in rows]

    try:
        with engine.begin() as conn:
            start = conn.execute(text("SELECT max(id) FROM change_log")).scalar()
            # Working-copy writes, however real, log nothing: readers do not see them.
            conn.execute(text("UPDATE compound SET name = 'Renamed', revision = revision + 1"))
            conn.execute(text("UPDATE condition SET name = 'Renamed', revision = revision + 1"))
            conn.execute(
                text("UPDATE review SET title = title || '!', fingerprint = 'x' WHERE slug = :s"),
                {"s": "ketamine--als"},
            )
            # Neither does rewriting an approved copy's columns without a new version.
            conn.execute(text("UPDATE public_condition SET approved_at = approved_at"))
            assert log_after(conn, start) == []
            # An approval (a new version of the approved copy) logs one UPSERT.
            version = conn.execute(
                text(
                    "SELECT v.id FROM fact_version v JOIN public_condition p "
                    "ON p.version_id = v.id WHERE p.slug = 'lupus'"
                )
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO fact_version (kind, record_id, number, content_hash, facts, "
                    "created_at) SELECT kind, record_id, number + 1, 'new', facts, created_at "
                    "FROM fact_version WHERE id = :v"
                ),
                {"v": version},
            )
            conn.execute(
                text(
                    "UPDATE public_condition SET version_id = (SELECT max(id) FROM fact_version) "
                    "WHERE slug = 'lupus'"
                )
            )
            assert log_after(conn, start) == [("condition", "lupus", "UPSERT")]
        # A rolled-back change leaves nothing behind.
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.execute(text("DELETE FROM public_compound WHERE slug = 'ketamine'"))
            raise RuntimeError("roll back")
        with engine.begin() as conn:
            after_update = conn.execute(text("SELECT max(id) FROM change_log")).scalar()
            assert after_update == start + 1
            # Deleting a compound cascades to its approved copy and its (published) reviews
            # and their evidence: every one is a DELETE.
            conn.execute(text("DELETE FROM compound WHERE slug = 'ivermectin'"))
            logged = log_after(conn, after_update)
        reviews = [slug for entity, slug, _ in logged if entity == "review"]
        assert len(reviews) == 16 and all(s.startswith("ivermectin--") for s in reviews)
        assert sorted(logged) == sorted(
            [("compound", "ivermectin", "DELETE")]
            + [("review", slug, "DELETE") for slug in reviews]
            + [(e, s, o) for e, s, o in logged if e == "evidence"]
        )
        assert {o for e, _, o in logged if e == "evidence"} == {"DELETE"}
        assert len([e for e, _, _ in logged if e == "evidence"]) == 16
    finally:
        engine.dispose()


def test_postgres_log_writers_serialize(demo_url: str) -> None:
    """Ids must become visible in order: a second writer of the log waits for the first."""
    if not demo_url.startswith("postgresql"):
        pytest.skip("SQLite serializes every writer already (this run is on SQLite)")

    engine = make_engine(demo_url)
    try:
        with engine.connect() as first, engine.connect() as second:
            # Withdrawing an approved copy logs a DELETE (and takes the log's lock).
            first.execute(text("DELETE FROM public_compound WHERE slug = 'ketamine'"))
            second.execute(text("SET lock_timeout = '200ms'"))
            # Another row entirely: only the log's lock can make it wait.
            with pytest.raises(OperationalError, match="lock timeout"):
                second.execute(text("DELETE FROM public_compound WHERE slug = 'melatonin'"))
            second.rollback()
            # Writes that log nothing (the working copy) do not wait.
            second.execute(text("UPDATE review SET title = 'x' WHERE slug = 'melatonin--als'"))
            second.execute(text("UPDATE compound SET name = 'x' WHERE slug = 'melatonin'"))
            second.rollback()
            first.commit()
            second.execute(text("DELETE FROM public_compound WHERE slug = 'melatonin'"))
            second.commit()
    finally:
        engine.dispose()
