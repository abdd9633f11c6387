"""Caching: persisted queries, HTTP caching headers, the response cache and its exact
invalidation, and that no token's or draft's response ever reaches an anonymous client."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from db.engine import make_engine, session_scope
from db.persisted import add_document
from db.tokens import create_token
from server.cache.entry import document_hash
from server.cache.poller import ChangePoller
from tests.conftest import Api
from tests.databases import require_service
from tests.workflow import approve, edit_fact, publish_elsewhere

REVIEW = "query Page($slug: String!) { review(slug: $slug) { slug title text(format: PLAIN) } }"
COMPOUND = "query C($slug: String!) { compound(slug: $slug) { slug name } }"
LIST = "query L { reviews(first: 5, orderBy: SLUG_ASC) { edges { node { slug } } } }"
ACCEPT = {"accept": "application/graphql-response+json"}


def persisted_params(query: str, variables: dict[str, Any] | None = None) -> dict[str, str]:
    params = {
        "extensions": json.dumps(
            {"persistedQuery": {"version": 1, "sha256Hash": document_hash(query)}}
        )
    }
    if variables is not None:
        params["variables"] = json.dumps(variables)
    return params


async def get(
    api: Api, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    params = {"query": query}
    if variables is not None:
        params["variables"] = json.dumps(variables)
    return await api.client.get("/graphql", params=params, headers={**ACCEPT, **headers})


def same(a: httpx.Response, b: httpx.Response) -> bool:
    """The same cached answer: the same data and requested cost (each answer carries its own
    actual cost, 0 from the cache, and its client's budget)."""
    one, two = a.json(), b.json()
    return bool(
        one["data"] == two["data"]
        and one["extensions"]["cost"]["requested"] == two["extensions"]["cost"]["requested"]
    )


def tokens(url: str) -> dict[str, str]:
    engine = make_engine(url)
    out = {}
    with session_scope(engine) as session:
        for role in ("editor", "reviewer"):
            out[role], _ = create_token(session, f"{role}-{uuid.uuid4().hex[:6]}", role)
    engine.dispose()
    return out


# --- HTTP caching -----------------------------------------------------------------------------


async def test_anonymous_get_is_cacheable_with_etag_and_surrogate_keys(api: Api) -> None:
    first = await get(api, REVIEW, {"slug": "ketamine--als"})
    assert first.status_code == 200 and first.headers["x-cache"] == "MISS"
    assert first.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=300"
    etag = first.headers["etag"]
    # Weak: the bytes differ per client in `extensions.cost` (actual cost, budget) only.
    assert etag.startswith('W/"') and len(etag) == 36
    keys = first.headers["surrogate-key"].split()
    assert "list:reviews:en" not in keys and any(k.startswith("review:") for k in keys)
    second = await get(api, REVIEW, {"slug": "ketamine--als"})
    assert second.headers["x-cache"] == "HIT" and same(second, first)
    assert second.json()["extensions"]["cost"]["actual"] == 0
    assert second.headers["etag"] == etag
    not_modified = await get(api, REVIEW, {"slug": "ketamine--als"}, **{"if-none-match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    changed = await get(api, REVIEW, {"slug": "ketamine--als"}, **{"if-none-match": '"other"'})
    assert changed.status_code == 200


async def test_errors_and_posts_are_not_publicly_cached(api: Api) -> None:
    bad = 'query B { review(compound: "ketamine") { slug } }'
    for _ in range(2):
        r = await get(api, bad)
        assert r.json()["errors"] and r.headers["cache-control"] == "no-store"
        assert "x-cache" not in r.headers
    posted = await api.post(REVIEW, {"slug": "ketamine--als"})
    assert posted.headers["cache-control"] == "no-store" and "etag" in posted.headers
    # ...but the server-side cache still answers a repeated POST.
    again = await api.post(REVIEW, {"slug": "ketamine--als"})
    assert again.headers["x-cache"] == "HIT" and same(again, posted)


async def test_tokens_and_drafts_never_reach_the_shared_cache(api: Api, demo_url: str) -> None:
    secret = tokens(demo_url)["editor"]
    auth = {"authorization": f"Bearer {secret}"}
    # An editor makes a draft change, then asks with the exact same URL first.
    section = await api.post(
        'query S { review(slug: "ketamine--als") { section(key: INTRO) { revision } } }',
        headers=auth,
    )
    rev = section.json()["data"]["review"]["section"]["revision"]
    edit = await api.post(
        """mutation E($rev: Int!) { updateSection(review: "ketamine--als", key: INTRO,
           expectedRevision: $rev, body: "DRAFT TEXT NOT YET APPROVED") { section { revision } } }""",
        {"rev": rev},
        headers=auth,
    )
    assert "errors" not in edit.json()
    editor_view = await get(api, REVIEW, {"slug": "ketamine--als"}, **auth)
    assert "DRAFT TEXT" in editor_view.text
    assert editor_view.headers["cache-control"] == "private, no-store"
    assert "etag" not in editor_view.headers and "x-cache" not in editor_view.headers
    anonymous = await get(api, REVIEW, {"slug": "ketamine--als"})
    assert anonymous.headers["x-cache"] == "MISS" and "DRAFT TEXT" not in anonymous.text
    # And the other way round: a cached public answer is never given to a token.
    again = await get(api, REVIEW, {"slug": "ketamine--als"}, **auth)
    assert "DRAFT TEXT" in again.text and "x-cache" not in again.headers


# --- exact invalidation ----------------------------------------------------------------------


async def test_publish_invalidates_exactly_the_entries_with_the_review(
    api: Api, demo_url: str
) -> None:
    secrets = tokens(demo_url)
    editor = {"authorization": f"Bearer {secrets['editor']}"}
    reviewer = {"authorization": f"Bearer {secrets['reviewer']}"}
    purged: list[list[str]] = []

    async def hook(keys: list[str]) -> None:
        purged.append(keys)

    cache = api.app.state.compendium.cache
    cache.purge_hooks.append(hook)
    a = await get(api, REVIEW, {"slug": "ketamine--als"})
    b = await get(api, REVIEW, {"slug": "lithium--als"})
    c = await get(api, COMPOUND, {"slug": "ketamine"})
    assert {r.headers["x-cache"] for r in (a, b, c)} == {"MISS"}
    review_key = next(k for k in a.headers["surrogate-key"].split() if k.startswith("review:"))

    # Draft work changes nothing readers get: nothing is invalidated.
    review = (
        await api.post(
            'query R { review(slug: "ketamine--als") { revision section(key: INTRO) { revision } } }',
            headers=editor,
        )
    ).json()["data"]["review"]
    await api.post(
        """mutation E($rev: Int!) { updateSection(review: "ketamine--als", key: INTRO,
           expectedRevision: $rev, body: "An approved new introduction.") { review { revision } } }""",
        {"rev": review["section"]["revision"]},
        headers=editor,
    )
    await cache.purges.join()  # purges are sent in the background
    assert purged == []
    assert (await get(api, REVIEW, {"slug": "ketamine--als"})).headers["x-cache"] == "HIT"

    revision = (
        await api.post('query R { review(slug: "ketamine--als") { revision } }', headers=editor)
    ).json()["data"]["review"]["revision"]
    submitted = await api.post(
        'mutation S($rev: Int!) { submitForReview(review: "ketamine--als", expectedRevision: $rev) { review { revision } } }',
        {"rev": revision},
        headers=editor,
    )
    rev = submitted.json()["data"]["submitForReview"]["review"]["revision"]
    published = await api.post(
        'mutation P($rev: Int!) { publishReview(review: "ketamine--als", expectedRevision: $rev) { review { status } } }',
        {"rev": rev},
        headers=reviewer,
    )
    assert "errors" not in published.json()

    # The published review's entry is gone (new text); the other review's and the
    # compound's entries are untouched.
    a2 = await get(api, REVIEW, {"slug": "ketamine--als"})
    assert a2.headers["x-cache"] == "MISS" and "An approved new introduction." in a2.text
    assert a2.headers["etag"] != a.headers["etag"]
    b2 = await get(api, REVIEW, {"slug": "lithium--als"})
    c2 = await get(api, COMPOUND, {"slug": "ketamine"})
    assert b2.headers["x-cache"] == "HIT" and same(b2, b)
    assert c2.headers["x-cache"] == "HIT"
    # The purge hook got the keys the entries carried.
    await cache.purges.join()
    # Those of its locale: another locale's lists, search and feed stay.
    assert purged == [sorted([review_key, "list:reviews:en", "list:search:en", "changes:en"])]


async def test_fact_edit_invalidates_nothing_until_a_reviewer_approves_it(
    api: Api, demo_url: str
) -> None:
    secrets = tokens(demo_url)
    purged: list[list[str]] = []

    async def hook(keys: list[str]) -> None:
        purged.append(keys)

    api.app.state.compendium.cache.purge_hooks.append(hook)
    ketamine = await get(api, COMPOUND, {"slug": "ketamine"})
    lithium = await get(api, COMPOUND, {"slug": "lithium"})
    page = await get(api, REVIEW, {"slug": "ketamine--als"})
    other = await get(api, REVIEW, {"slug": "ketamine--neuropathic-pain"})
    await edit_fact(api, secrets["editor"], "compound", "ketamine", name="Ketamine (renamed)")
    # A working-copy edit changes nothing readers get: every entry stays, nothing is purged.
    await api.app.state.compendium.cache.purges.join()
    assert purged == []
    for query, slug, before in (
        (COMPOUND, "ketamine", ketamine),
        (REVIEW, "ketamine--als", page),
        (REVIEW, "ketamine--neuropathic-pain", other),
    ):
        again = await get(api, query, {"slug": slug})
        assert again.headers["x-cache"] == "HIT" and same(again, before)

    await approve(api, secrets["editor"], secrets["reviewer"], "ketamine--als")
    # The approval purges the approved review and the compound's approved copy, exactly.
    k2 = await get(api, COMPOUND, {"slug": "ketamine"})
    assert k2.headers["x-cache"] == "MISS" and "Ketamine (renamed)" in k2.text
    page2 = await get(api, REVIEW, {"slug": "ketamine--als"})
    assert page2.headers["x-cache"] == "MISS" and "Ketamine (renamed)" in page2.text
    # The other page of the compound is a snapshot of what was approved with it.
    other2 = await get(api, REVIEW, {"slug": "ketamine--neuropathic-pain"})
    assert other2.headers["x-cache"] == "HIT" and same(other2, other)
    assert (await get(api, COMPOUND, {"slug": "lithium"})).headers["x-cache"] == "HIT"
    compound_key = next(
        k for k in ketamine.headers["surrogate-key"].split() if k.startswith("compound:")
    )
    review_key = next(k for k in page.headers["surrogate-key"].split() if k.startswith("review:"))
    await api.app.state.compendium.cache.purges.join()  # purges are sent in the background
    assert len(purged) == 1
    assert {compound_key, review_key} <= set(purged[0])
    assert not any(
        k.startswith(("review:", "compound:")) for k in set(purged[0]) - {compound_key, review_key}
    )
    assert lithium.status_code == 200


async def test_changes_from_other_processes_reach_the_cache(api: Api, demo_url: str) -> None:
    """An approval the server did not make (the CLI, another worker) is picked up from the
    database's change log by the poller."""
    poller_cache = api.app.state.compendium.cache
    first = await get(api, COMPOUND, {"slug": "ketamine"})
    assert first.headers["x-cache"] == "MISS"

    poller = ChangePoller(api.app.state.compendium.database, poller_cache, 60)
    await poller.poll()  # notes the current position
    publish_elsewhere(demo_url, "ketamine--als", "Ketamine (CLI)")
    assert (await get(api, COMPOUND, {"slug": "ketamine"})).headers["x-cache"] == "HIT"
    # The review's new revision and the compound's new approved copy.
    assert await poller.poll() == 2
    after = await get(api, COMPOUND, {"slug": "ketamine"})
    assert after.headers["x-cache"] == "MISS" and "Ketamine (CLI)" in after.text


# --- persisted queries ------------------------------------------------------------------------


async def test_automatic_persisted_queries_over_get_and_post(api: Api) -> None:
    params = persisted_params(REVIEW, {"slug": "ketamine--als"})
    unknown = await api.client.get("/graphql", params=params, headers=ACCEPT)
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    mismatch = await api.client.post(
        "/graphql",
        json={
            "query": LIST,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_hash(REVIEW)}},
        },
        headers=ACCEPT,
    )
    assert mismatch.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    registered = await api.client.post(
        "/graphql",
        json={
            "query": REVIEW,
            "variables": {"slug": "ketamine--als"},
            "extensions": json.loads(params["extensions"]),
        },
        headers=ACCEPT,
    )
    assert registered.json()["data"]["review"]["slug"] == "ketamine--als"
    miss = await api.client.get("/graphql", params=params, headers=ACCEPT)
    assert miss.status_code == 200 and miss.json()["data"]["review"]["slug"] == "ketamine--als"
    # The same GET again is answered from the raw query string (the fast path).
    hit = await api.client.get("/graphql", params=params, headers=ACCEPT)
    assert hit.headers["x-cache"] == "HIT" and same(hit, miss)
    assert hit.headers["etag"] == miss.headers["etag"]
    assert hit.headers["surrogate-key"] == miss.headers["surrogate-key"]
    gz = await api.client.get(
        "/graphql", params=params, headers={**ACCEPT, "accept-encoding": "gzip"}
    )
    assert gz.headers.get("content-encoding") == "gzip" and same(gz, miss)
    bad = await api.client.get(
        "/graphql",
        params={"extensions": json.dumps({"persistedQuery": {"version": 2, "sha256Hash": "x"}})},
        headers=ACCEPT,
    )
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_trusted_documents_only(make_api: Any, demo_url: str) -> None:
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        digest, new = add_document(session, REVIEW, "review.graphql")
        assert new and add_document(session, REVIEW, "again.graphql") == (digest, False)
    engine.dispose()
    api: Api = await make_api(trusted_documents_only=True)
    free_form = await api.post(LIST)
    assert free_form.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    trusted = await api.client.get(
        "/graphql", params=persisted_params(REVIEW, {"slug": "ketamine--als"}), headers=ACCEPT
    )
    assert trusted.json()["data"]["review"]["slug"] == "ketamine--als"
    # The registered text itself is fine too; an unregistered hash is unknown and cannot be
    # registered by an anonymous client.
    assert (await api.post(REVIEW, {"slug": "ketamine--als"})).status_code == 200
    unknown = await api.client.post(
        "/graphql",
        json={"query": LIST, "extensions": json.loads(persisted_params(LIST)["extensions"])},
        headers=ACCEPT,
    )
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    # Editors keep free-form queries (GraphiQL).
    editor = {"authorization": f"Bearer {tokens(demo_url)['editor']}"}
    assert "errors" not in (await api.post(LIST, headers=editor)).json()


# --- shared cache -----------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:

    require_service("Redis", "127.0.0.1", 6379)
    return "redis://127.0.0.1:6379/0"


async def test_redis_cache_is_shared_and_invalidated_for_every_instance(
    make_api: Any, demo_url: str, redis_url: str
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    one: Api = await make_api(redis_url=redis_url, redis_prefix=prefix)
    two: Api = await make_api(redis_url=redis_url, redis_prefix=prefix)
    first = await get(one, COMPOUND, {"slug": "ketamine"})
    assert first.headers["x-cache"] == "MISS"
    shared = await get(two, COMPOUND, {"slug": "ketamine"})
    assert shared.headers["x-cache"] == "HIT" and same(shared, first)
    secrets = tokens(demo_url)
    await edit_fact(one, secrets["editor"], "compound", "ketamine", name="Ketamine (shared)")
    assert same(await get(two, COMPOUND, {"slug": "ketamine"}), first)
    await approve(one, secrets["editor"], secrets["reviewer"], "ketamine--als")
    after = await get(two, COMPOUND, {"slug": "ketamine"})
    assert after.headers["x-cache"] == "MISS" and "Ketamine (shared)" in after.text


async def test_change_feed_answers_are_invalidated_by_new_entries(api: Api, demo_url: str) -> None:
    feed = "query F($since: String) { changes(since: $since, first: 5) { cursor hasMore } }"
    first = await get(api, feed, {"since": None})
    end = first.json()["data"]["changes"]
    # Page to the end of the feed, then ask for "what's new" twice: cached.
    since = end["cursor"]
    while True:
        page = (await get(api, feed, {"since": since})).json()["data"]["changes"]
        if not page["hasMore"]:
            break
        since = page["cursor"]
    tail = await get(api, feed, {"since": since})
    assert (await get(api, feed, {"since": since})).headers["x-cache"] == "HIT"
    secrets = tokens(demo_url)
    await edit_fact(api, secrets["editor"], "compound", "lithium", evidenceLevel="Revised.")
    # A working-copy edit is not in the feed: the cached answer stands.
    assert (await get(api, feed, {"since": since})).headers["x-cache"] == "HIT"
    await approve(api, secrets["editor"], secrets["reviewer"], "lithium--als")
    again = await get(api, feed, {"since": since})
    assert again.headers["x-cache"] == "MISS"
    assert again.json()["data"]["changes"]["cursor"] != tail.json()["data"]["changes"]["cursor"]


async def test_a_persisted_hash_is_not_looked_up_in_the_database_every_time(
    make_api: Any,
) -> None:
    """An APQ document is no trusted document: once found so, not asked again at once."""
    api: Api = await make_api(response_cache=False)
    params = persisted_params(REVIEW, {"slug": "ketamine--als"})
    body = {"query": REVIEW, "variables": {"slug": "ketamine--als"}}
    body["extensions"] = json.loads(params["extensions"])
    assert (await api.client.post("/graphql", json=body, headers=ACCEPT)).status_code == 200
    assert (await api.client.get("/graphql", params=params, headers=ACCEPT)).status_code == 200
    api.statements.clear()
    again = await api.client.get("/graphql", params=params, headers=ACCEPT)
    assert again.json()["data"]["review"]["slug"] == "ketamine--als"
    assert api.statements and not [s for s in api.statements if "persisted_document" in s]
