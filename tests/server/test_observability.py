"""Observability: Prometheus metrics, JSON logs with request ids, tracing spans, and
several server processes on one database answering as one."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.databases import require_service
from tests.live import serving

REVIEW = 'query ReviewPage { review(slug: "ketamine--als") { title } }'


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text, 0 when absent."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        got = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
        if got == want:
            return float(match.group(3))
    return 0.0


METRICS_TOKEN = "metrics-scraper-secret"
SCRAPER = {"authorization": f"Bearer {METRICS_TOKEN}"}


async def metrics(api: Api) -> str:
    response = await api.client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_count_requests_cache_errors_and_pool(make_api: Any) -> None:
    api: Api = await make_api(metrics_token=METRICS_TOKEN)
    before = await metrics(api)
    for _ in range(3):
        await api.client.get(
            "/graphql", params={"query": REVIEW}, headers={"accept": "application/json"}
        )
    await api.post("query Broken { nope }")
    after = await metrics(api)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    # An anonymous client's free-form operations share one label (names are the client's).
    assert delta("compendium_graphql_requests_total", operation="(free-form)", status="200") == 1
    # The first GET executes; the two repeats are answered from the raw query string.
    assert delta("compendium_graphql_requests_total", operation="(cache hit)", status="200") == 2
    assert delta("compendium_response_cache_lookups_total", result="miss") >= 1
    assert delta("compendium_response_cache_lookups_total", result="hit_before_parsing") == 2
    assert delta("compendium_graphql_errors_total", code="BAD_USER_INPUT") == 1
    assert delta("compendium_graphql_request_duration_seconds_count", operation="(free-form)") == 1
    assert 'compendium_db_pool_connections{state="in_use"}' in after


def test_json_logs_carry_the_request_id(live_database: str, tmp_path: Path) -> None:
    with serving(live_database, tmp_path, log_format="json") as base:
        response = httpx.post(
            f"{base}/graphql",
            json={"query": REVIEW},
            headers={"x-request-id": "trace-me-42"},
        )
        assert response.headers["x-request-id"] == "trace-me-42"
        generated = httpx.post(f"{base}/graphql", json={"query": REVIEW})
        assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
        hostile = httpx.post(
            f"{base}/graphql", json={"query": REVIEW}, headers={"x-request-id": "<script> x"}
        )
        assert hostile.headers["x-request-id"] != "<script> x"  # replaced, never echoed raw
    lines = [
        json.loads(line)
        for log in tmp_path.glob("serve-*.stderr.log")
        for line in log.read_text().splitlines()
        if line.startswith("{")
    ]
    mine = [line for line in lines if line.get("request_id") == "trace-me-42"]
    assert mine and mine[0]["operation"] == "ReviewPage" and mine[0]["status"] == 200
    assert {"ts", "level", "logger", "message", "duration_ms"} <= set(mine[0])


async def test_each_request_is_a_span(api: Api) -> None:

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    await api.post(REVIEW, headers={"x-request-id": "span-1"})
    spans = [s for s in exporter.get_finished_spans() if s.name == "graphql"]
    assert spans and spans[-1].attributes is not None
    assert spans[-1].attributes["operation"] == "ReviewPage"
    assert spans[-1].attributes["request_id"] == "span-1"


# --- several processes, one database --------------------------------------------------------


def test_two_servers_one_database_and_redis(live_database: str, tmp_path: Path) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    shared: dict[str, Any] = {
        "redis_url": "redis://127.0.0.1:6379/0",
        "redis_prefix": prefix,
        "rate_limit_anonymous": 100000,
        "metrics_token": METRICS_TOKEN,
    }
    engine = make_engine(live_database)
    with session_scope(engine) as session:
        editor, _ = create_token(session, f"ed-{prefix}", "editor")
        reviewer, _ = create_token(session, f"rv-{prefix}", "reviewer")
    engine.dispose()
    page = {"query": 'query P { review(slug: "lithium--als") { title text(format: PLAIN) } }'}
    with (
        serving(live_database, tmp_path, **shared) as one,
        serving(live_database, tmp_path, **shared) as two,
    ):
        before = httpx.get(f"{two}/graphql", params=page, headers={"accept": "application/json"})
        cached = httpx.get(f"{one}/graphql", params=page, headers={"accept": "application/json"})
        assert cached.headers["x-cache"] == "HIT"  # filled by the other process
        assert cached.json()["data"] == before.json()["data"]

        def gql(base: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
            r = httpx.post(
                f"{base}/graphql",
                json={"query": query, "variables": variables},
                headers={"authorization": f"Bearer {token}"},
            )
            body = r.json()
            assert "errors" not in body, body
            return body["data"]  # type: ignore[no-any-return]

        # Edit, submit and publish through server one...
        review = gql(
            one,
            editor,
            'query R { review(slug: "lithium--als") { section(key: INTRO) { revision } } }',
            {},
        )["review"]
        rev = gql(
            one,
            editor,
            'mutation E($r: Int!) { updateSection(review: "lithium--als", key: INTRO, '
            'expectedRevision: $r, body: "Published through server one.") { review { revision } } }',
            {"r": review["section"]["revision"]},
        )["updateSection"]["review"]["revision"]
        rev = gql(
            one,
            editor,
            'mutation S($r: Int!) { submitForReview(review: "lithium--als", expectedRevision: $r) '
            "{ review { revision } } }",
            {"r": rev},
        )["submitForReview"]["review"]["revision"]
        gql(
            one,
            reviewer,
            'mutation P($r: Int!) { publishReview(review: "lithium--als", expectedRevision: $r) '
            "{ review { status } } }",
            {"r": rev},
        )
        # ...and read it through server two at once: its cache entry is gone too.
        after = httpx.get(f"{two}/graphql", params=page, headers={"accept": "application/json"})
        assert after.headers["x-cache"] == "MISS"
        assert "Published through server one." in after.text
        # Metrics of each process are its own; the rate limit counted in Redis for both.
        scraped = httpx.get(f"{two}/metrics", headers=SCRAPER).text
        assert "compendium_graphql_requests_total" in scraped


def test_workers_share_metrics(live_database: str, tmp_path: Path) -> None:
    with serving(
        live_database, tmp_path, workers=2, rate_limit_anonymous=100000, metrics_token=METRICS_TOKEN
    ) as base:
        for _ in range(20):
            httpx.post(f"{base}/graphql", json={"query": REVIEW})
        # Whichever worker answers the scrape, the counts of both are added up (a worker's
        # cache hits reach its counters within a second: observability.Tally).
        counted = 0.0
        deadline = time.monotonic() + 5
        while counted != 20 and time.monotonic() < deadline:
            time.sleep(0.2)
            text = httpx.get(f"{base}/metrics", headers=SCRAPER).text
            counted = sample(
                text, "compendium_graphql_requests_total", operation="(free-form)", status="200"
            ) + sample(
                text, "compendium_graphql_requests_total", operation="(cache hit)", status="200"
            )
    assert counted == 20


# --- who may read /metrics, and what becomes a label ------------------------------------------


def token_of(url: str, role: str) -> str:
    engine = make_engine(url)
    with session_scope(engine) as session:
        secret, _ = create_token(session, f"{role}-{uuid.uuid4().hex[:6]}", role)
    engine.dispose()
    return secret


async def test_metrics_are_not_public(make_api: Any, demo_url: str) -> None:
    api: Api = await make_api(metrics_token=METRICS_TOKEN)
    anonymous = await api.client.get("/metrics")
    assert anonymous.status_code == 401 and "compendium_graphql" not in anonymous.text
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    wrong = await api.client.get("/metrics", headers={"authorization": "Bearer not-it"})
    assert wrong.status_code == 401
    editor = {"authorization": f"Bearer {token_of(demo_url, 'editor')}"}
    refused = await api.client.get("/metrics", headers=editor)
    assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == (
        "FORBIDDEN"
    )
    admin = {"authorization": f"Bearer {token_of(demo_url, 'admin')}"}
    assert "compendium_graphql" in (await api.client.get("/metrics", headers=admin)).text
    assert "compendium_graphql" in (await api.client.get("/metrics", headers=SCRAPER)).text
    # Or by address (a scraper on a private network); the test client is 127.0.0.1.
    allowed: Api = await make_api(metrics_allow=["127.0.0.0/8"])
    assert (await allowed.client.get("/metrics")).status_code == 200


async def test_junk_operation_names_cannot_fill_the_labels(make_api: Any, demo_url: str) -> None:
    api: Api = await make_api(metrics_token=METRICS_TOKEN, rate_limit_anonymous=100_000)
    junk = uuid.uuid4().hex[:8]
    for n in range(520):  # more than the 500 labels there are
        await api.post(f"query Junk{junk}{n} {{ __typename }}")
    # An editor's operation still gets its own label, and so does a trusted document's.
    editor = {"authorization": f"Bearer {token_of(demo_url, 'editor')}"}
    name = f"EditorPage{junk}"
    assert (await api.post(f"query {name} {{ __typename }}", headers=editor)).status_code == 200
    text = await metrics(api)
    assert f"Junk{junk}" not in text
    assert sample(text, "compendium_graphql_requests_total", operation=name, status="200") == 1
    assert sample(text, "compendium_graphql_requests_total", operation="(free-form)", status="200")
