"""Cached answers: the fast path and the full path answer alike (server/cached_response.py),
the in-process cache is bounded in bytes and frees what expires, GraphiQL is never a cached
answer, and CDN purges leave mutations alone (sent in the background, retried, once)."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from db.engine import make_engine, session_scope
from db.models import utcnow
from db.publishing import publish_reviews
from db.tokens import create_token
from server.cache.entry import document_hash
from server.observability import fold
from tests.conftest import Api

REVIEW = "query Page($slug: String!) { review(slug: $slug) { slug title text(format: PLAIN) } }"
ACCEPT = {"accept": "application/graphql-response+json"}


def persisted(query: str, variables: dict[str, Any], reorder: bool = False) -> str:
    """A persisted-query GET's query string (the two orders name the same cache entry)."""
    ext = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": document_hash(query)}})
    parts = [
        ("extensions", ext),
        ("variables", json.dumps(variables)),
    ]
    if reorder:
        parts.reverse()
    return str(httpx.QueryParams(parts))


async def register(api: Api, query: str, variables: dict[str, Any]) -> None:
    ext = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(query)}}
    body = {"query": query, "variables": variables, "extensions": ext}
    assert (await api.client.post("/graphql", json=body, headers=ACCEPT)).status_code == 200


def comparable(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "x-cache")}
    return response.status_code, headers, response.content


# --- one answer, either path ---------------------------------------------------------------------


def fast_hits() -> float:
    """How many answers the fast path gave so far (this process's metrics, as a scrape
    would read them)."""
    fold()
    value = REGISTRY.get_sample_value(
        "compendium_response_cache_lookups_total", {"result": "hit_before_parsing"}
    )
    return value or 0.0


async def test_a_repeated_post_is_answered_before_parsing_and_alike(make_api: Any) -> None:
    api: Api = await make_api(budget_anonymous_restore_rate=10**9)
    body = json.dumps({"query": REVIEW, "variables": {"slug": "ketamine--als"}}).encode()
    headers = {**ACCEPT, "content-type": "application/json", "accept-encoding": "identity"}
    cache = api.app.state.compendium.cache
    first = await api.client.post("/graphql", content=body, headers=headers)
    assert first.status_code == 200 and first.headers["x-cache"] == "MISS"
    # Stored by the full path, which links the raw body to the entry.
    assert cache.get_fast(b"POST\n" + body, ACCEPT["accept"]) is not None
    before = fast_hits()
    fast = await api.client.post("/graphql", content=body, headers=headers)
    assert fast_hits() == before + 1
    # The same request by another body (the same JSON, spaced): the full path, alike.
    spaced = json.dumps({"query": REVIEW, "variables": {"slug": "ketamine--als"}}, indent=1)
    full = await api.client.post("/graphql", content=spaced.encode(), headers=headers)
    assert fast_hits() == before + 1
    assert fast.headers["x-cache"] == full.headers["x-cache"] == "HIT"
    assert comparable(fast) == comparable(full)
    assert fast.headers["cache-control"] == "no-store"
    # A token, or another body, is never answered by the fast path.
    other = body.replace(b"ketamine--als", b"lithium--als")
    miss = await api.client.post("/graphql", content=other, headers=headers)
    assert miss.headers["x-cache"] == "MISS" and fast_hits() == before + 1


async def test_fast_and_full_paths_answer_alike(make_api: Any) -> None:
    # Each answer carries the client's budget: with an instant restore it is full for every
    # request, so two answers to one request are byte for byte the same.
    api: Api = await make_api(budget_anonymous_restore_rate=10**9)
    variables = {"slug": "ketamine--als"}
    await register(api, REVIEW, variables)
    qs = persisted(REVIEW, variables)
    first = await api.client.get(f"/graphql?{qs}", headers=ACCEPT)
    assert first.status_code == 200 and first.headers["x-cache"] == "HIT"
    etag = first.headers["etag"]
    cases: list[dict[str, str]] = [
        {"accept-encoding": "identity"},
        {"accept-encoding": "gzip"},
        {"accept-encoding": "gzip;q=0"},
        {"accept-encoding": "br, gzip;q=0.5"},
        {"accept-encoding": "*"},
        {"accept-encoding": "*, gzip;q=0"},
        {"if-none-match": etag},
        {"if-none-match": f'"other", {etag}'},
        {"if-none-match": etag.removeprefix("W/")},
        {"if-none-match": "*"},
        {"if-none-match": '"other"'},
    ]
    cache = api.app.state.compendium.cache
    for n, extra in enumerate(cases):
        headers = {**ACCEPT, "accept-encoding": "identity", **extra}
        # A query string the fast map does not know yet (an extra parameter, same entry):
        # the full path answers it and links it; asked again, the fast path answers.
        raw = f"{persisted(REVIEW, variables, reorder=n % 2 == 1)}&case={n}"
        assert cache.get_fast(raw.encode(), ACCEPT["accept"]) is None
        full = await api.client.get(f"/graphql?{raw}", headers=headers)
        assert cache.get_fast(raw.encode(), ACCEPT["accept"]) is not None
        fast = await api.client.get(f"/graphql?{raw}", headers=headers)
        assert full.headers["x-cache"] == fast.headers["x-cache"] == "HIT"
        assert comparable(full) == comparable(fast), extra
        if "if-none-match" in extra and extra["if-none-match"] != '"other"':
            assert fast.status_code == 304 and fast.content == b""
            # A 304 carries what the 200 would for caches to update their copy.
            for name in ("etag", "cache-control", "vary", "surrogate-key"):
                assert fast.headers[name] == first.headers[name], name
        else:
            assert fast.status_code == 200 and fast.json()["data"] == first.json()["data"]
        gz = fast.headers.get("content-encoding") == "gzip"
        assert gz == (extra.get("accept-encoding") in ("gzip", "br, gzip;q=0.5", "*")), extra


async def test_compressed_answers_are_valid_gzip(api: Api) -> None:
    variables = {"slug": "lithium--als"}
    await register(api, REVIEW, variables)
    qs = persisted(REVIEW, variables)
    plain = await api.client.get(f"/graphql?{qs}", headers=ACCEPT)
    async with api.client.stream(
        "GET", f"/graphql?{qs}", headers={**ACCEPT, "accept-encoding": "gzip"}
    ) as response:
        assert response.headers["content-encoding"] == "gzip"
        compressed = b"".join([chunk async for chunk in response.aiter_raw()])
    assert int(response.headers["content-length"]) == len(compressed) < len(plain.content)
    body = json.loads(gzip.decompress(compressed))
    assert body["data"] == plain.json()["data"]
    assert (
        body["extensions"]["cost"]["actual"] == 0 and "throttleStatus" in body["extensions"]["cost"]
    )


async def test_executed_answers_honour_gzip_q0(api: Api) -> None:
    query = "query Big { reviews(first: 20) { edges { node { slug title } } } }"
    refused = await api.client.post(
        "/graphql", json={"query": query}, headers={**ACCEPT, "accept-encoding": "gzip;q=0"}
    )
    assert refused.status_code == 200 and len(refused.content) > 1024
    assert "content-encoding" not in refused.headers
    editor = {"authorization": f"Bearer {token(api)}"}
    for encoding, compressed in (("gzip;q=0", False), ("gzip", True)):
        answer = await api.client.post(
            "/graphql",
            json={"query": query},
            headers={**ACCEPT, **editor, "accept-encoding": encoding},
        )
        assert (answer.headers.get("content-encoding") == "gzip") is compressed


def token(api: Api) -> str:
    engine = make_engine(str(api.app.state.compendium.settings.database_url))
    with session_scope(engine) as session:
        secret, _ = create_token(session, f"ed-{uuid.uuid4().hex[:6]}", "editor")
    engine.dispose()
    return secret


async def test_graphiql_is_never_the_answer_to_a_query_url(api: Api) -> None:
    variables = {"slug": "ketamine--als"}
    await register(api, REVIEW, variables)
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = await api.client.get(f"/graphql?{persisted(REVIEW, variables)}", headers=browser)
    # A persisted query's URL is answered with its result, whatever a browser accepts.
    assert page.headers["content-type"].startswith("application/json")
    assert page.json()["data"]["review"]["slug"] == "ketamine--als"
    ide = await api.client.get("/graphql", headers=browser)
    assert ide.headers["content-type"].startswith("text/html")
    assert ide.headers["cache-control"] == "no-store" and "Accept" in ide.headers["vary"]


# --- memory: bytes, expiry, fast links -------------------------------------------------------------


async def test_the_cache_is_bounded_in_bytes(make_api: Any) -> None:
    api: Api = await make_api(cache_max_bytes=1_000_000)
    query = "query L { reviews(first: 20) { edges { node { text(format: HTML) } } } }"
    sizes = []
    for n in range(25):  # an extra variable: a new entry each time (about 100 KB each)
        response = await api.client.get(
            "/graphql",
            params={"query": query, "variables": json.dumps({"pad": n})},
            headers=ACCEPT,
        )
        assert response.status_code == 200
        sizes.append(len(response.content))
    assert sum(sizes) > 2_000_000
    store = api.app.state.compendium.cache.store
    assert sum(len(e.body) for e in store.entries.values()) <= 1_000_000
    assert 4 <= len(store.entries) < 12
    held = sum(len(e.body) + len(e.gz_head or b"") for e in store.entries.values())
    assert held <= store.bytes <= 1_000_000


async def test_expired_entries_are_freed_without_being_asked_for(make_api: Any) -> None:
    api: Api = await make_api(cache_ttl_seconds=1)
    store = api.app.state.compendium.cache.store
    for slug in ("ketamine--als", "lithium--als"):
        await api.client.get(
            "/graphql",
            params={"query": REVIEW, "variables": json.dumps({"slug": slug})},
            headers=ACCEPT,
        )
    assert len(store.entries) == 2 and store.bytes > 0
    await asyncio.sleep(2.0)  # nobody asks for them again
    assert len(store.entries) == 0 and store.bytes == 0 and not store.fast


async def test_fast_path_links_are_bounded_and_go_with_their_entry(make_api: Any) -> None:
    api: Api = await make_api(cache_max_bytes=2_000_000)
    variables = {"slug": "ketamine--als"}
    await register(api, REVIEW, variables)
    qs = persisted(REVIEW, variables)
    assert (await api.client.get(f"/graphql?{qs}", headers=ACCEPT)).status_code == 200
    store = api.app.state.compendium.cache.store
    junk = "j" * 65_000
    for n in range(40):  # a unique 65 KB junk parameter per hit
        hit = await api.client.get(f"/graphql?{qs}&junk{n}={junk}", headers=ACCEPT)
        assert hit.status_code == 200 and hit.headers["x-cache"] == "HIT"
    small = [f"{qs}&n={n}" for n in range(20)]
    for extra in small:
        await api.client.get(f"/graphql?{extra}", headers=ACCEPT)
    assert len(store.fast) <= 8 and store.bytes < 100_000
    assert all(len(raw) <= 8192 for raw, _ in store.fast)
    # Invalidating the entry takes its links with it.
    await api.app.state.compendium.cache.invalidate(["*"], purge=False)
    assert not store.fast and store.bytes == 0


# --- CDN purges -------------------------------------------------------------------------------------


class PurgeReceiver:
    """A CDN purge endpoint: slow, failing the first ``fail`` times, recording every call."""

    def __init__(self, delay: float = 0.0, fail: int = 0):
        self.calls: list[list[str]] = []
        self.delay = delay
        self.fail = fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(receiver.delay)
                failing = receiver.fail > 0
                receiver.fail -= 1
                if not failing:
                    receiver.calls.append(json.loads(body)["surrogateKeys"])
                self.send_response(503 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/purge"

    def purged(self) -> list[str]:
        return [k for call in self.calls for k in call]

    async def settled(self, quiet: float = 1.0, timeout: float = 15.0) -> None:
        """Wait until no purge arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if len(self.calls) != seen or self.fail >= 0:
                seen, since = len(self.calls), time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            await asyncio.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[PurgeReceiver]:
    r = PurgeReceiver()
    thread = threading.Thread(target=r.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    thread.join(5)


def tokens_for(api: Api) -> dict[str, str]:
    engine = make_engine(str(api.app.state.compendium.settings.database_url))
    out = {}
    with session_scope(engine) as session:
        for role in ("editor", "reviewer"):
            out[role], _ = create_token(session, f"{role}-{uuid.uuid4().hex[:6]}", role)
    engine.dispose()
    return out


async def gql(api: Api, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await api.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={**ACCEPT, "authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def publish_change(api: Api, slug: str, text: str) -> float:
    """An editor changes a section, a reviewer publishes it (what readers see changes, so
    it is purged); returns how long the publishing mutation took."""
    who = tokens_for(api)
    query = "query R($s: String!) { review(slug: $s) { section(key: INTRO) { revision } } }"
    rev = (await gql(api, who["editor"], query, {"s": slug}))["review"]["section"]["revision"]
    edited = await gql(
        api,
        who["editor"],
        "mutation E($s: String!, $r: Int!, $b: String!) { updateSection(review: $s, key: INTRO, "
        "expectedRevision: $r, body: $b) { review { revision } } }",
        {"s": slug, "r": rev, "b": text},
    )
    submitted = await gql(
        api,
        who["editor"],
        "mutation S($s: String!, $r: Int!) { submitForReview(review: $s, expectedRevision: $r) "
        "{ review { revision } } }",
        {"s": slug, "r": edited["updateSection"]["review"]["revision"]},
    )
    started = time.monotonic()
    await gql(
        api,
        who["reviewer"],
        "mutation P($s: String!, $r: Int!) { publishReview(review: $s, expectedRevision: $r) "
        "{ review { status } } }",
        {"s": slug, "r": submitted["submitForReview"]["review"]["revision"]},
    )
    return time.monotonic() - started


async def review_key(api: Api, slug: str) -> str:
    response = await api.client.get(
        "/graphql",
        params={"query": REVIEW, "variables": json.dumps({"slug": slug})},
        headers=ACCEPT,
    )
    return next(k for k in response.headers["surrogate-key"].split() if k.startswith("review:"))


async def test_purges_never_hold_up_a_mutation(make_api: Any, receiver: PurgeReceiver) -> None:
    receiver.delay = 4.0  # a slow purge endpoint
    api: Api = await make_api(cdn_purge_url=receiver.url, cache_poll_seconds=3600)
    key = await review_key(api, "ketamine--als")
    assert await publish_change(api, "ketamine--als", "Published past a slow CDN.") < 2.0
    await receiver.settled(quiet=4.5)
    assert key in receiver.purged()


async def test_failed_purges_are_retried(make_api: Any, receiver: PurgeReceiver) -> None:
    receiver.fail = 2
    api: Api = await make_api(cdn_purge_url=receiver.url, cache_poll_seconds=3600)
    key = await review_key(api, "lithium--als")
    await publish_change(api, "lithium--als", "Published past a failing CDN.")
    await receiver.settled()  # failed, then 1 s later failed, then 2 s later delivered
    assert receiver.fail < 0 and key in receiver.purged()
    assert api.app.state.compendium.cache.purges.failures == 2


async def test_each_change_is_purged_once(make_api: Any, receiver: PurgeReceiver) -> None:
    # The change-log poller sees this process's own changes too: it must not purge them again.
    api: Api = await make_api(cdn_purge_url=receiver.url, cache_poll_seconds=0.2)
    await asyncio.sleep(0.5)
    key = await review_key(api, "ketamine--als")
    await publish_change(api, "ketamine--als", "Published once.")
    await asyncio.sleep(1.5)  # several polls
    await receiver.settled()
    assert receiver.purged().count(key) == 1, receiver.calls
    assert receiver.purged().count("list:reviews:en") == 1
    # A change another process makes (a publication straight through the database: the CLI,
    # another worker) is purged by this process's poller, once.
    other = await review_key(api, "lithium--als")
    engine = make_engine(str(api.app.state.compendium.settings.database_url))
    with session_scope(engine) as session:
        review_id = session.execute(
            text("SELECT id FROM review WHERE slug = 'lithium--als'")
        ).scalar_one()
        publish_reviews(session, [review_id], "another process", utcnow(), timedelta(days=365))
    engine.dispose()
    await asyncio.sleep(1.0)
    await receiver.settled()
    assert receiver.purged().count(other) == 1, receiver.calls
    assert receiver.purged().count(key) == 1
