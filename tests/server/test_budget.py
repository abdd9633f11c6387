"""Per-client cost budgets (leaky buckets of points, like Shopify's Admin API), the
request-rate limits behind them, who a client is (an address, an IPv6 /64, a token) and
that a token lifts no limit before it is verified."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.databases import require_service

ACCEPT = {"accept": "application/graphql-response+json"}
# About 1,650 points: 50 rows, each rendered.
HEAVY = "query Heavy { reviews(first: 50) { edges { node { text(format: HTML) } } } }"
LIGHT = 'query Light { review(slug: "ketamine--als") { slug } }'


def fresh(query: str) -> str:
    """The same query under a new name: not answered from the response cache."""
    return query.replace("query ", f"query Q{uuid.uuid4().hex[:8]}", 1)


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]  # type: ignore[no-any-return]


def throttle(response: httpx.Response) -> dict[str, int]:
    return response.json()["extensions"]["cost"]["throttleStatus"]  # type: ignore[no-any-return]


def editor_token(url: str) -> str:
    engine = make_engine(url)
    with session_scope(engine) as session:
        secret, _ = create_token(session, f"ed-{uuid.uuid4().hex[:6]}", "editor")
    engine.dispose()
    return secret


@asynccontextmanager
async def client_at(api: Api, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another client of the same app, connecting from ``address``."""
    transport = httpx.ASGITransport(app=api.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def post(client: httpx.AsyncClient, query: str, **headers: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers={**ACCEPT, **headers})


async def test_every_answer_carries_the_budget(api: Api) -> None:
    executed = await api.post(LIGHT)
    status = throttle(executed)
    assert set(status) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}
    assert status["maximumAvailable"] == 50_000 and status["restoreRate"] == 2_500
    assert status["currentlyAvailable"] == 50_000 - executed.json()["extensions"]["cost"]["actual"]
    # From the response cache (the full path for POST, the fast path for a repeated GET),
    # and with a request error.
    assert "throttleStatus" in (await api.post(LIGHT)).json()["extensions"]["cost"]
    params = {"query": LIGHT}
    for _ in range(3):
        got = await api.client.get("/graphql", params=params, headers=ACCEPT)
        assert got.status_code == 200 and throttle(got)["maximumAvailable"] == 50_000
    assert got.headers["x-cache"] == "HIT"
    invalid = await api.post("query Bad { nope }")
    assert invalid.status_code == 400 and throttle(invalid)["maximumAvailable"] == 50_000


async def test_a_query_over_the_budget_is_throttled(make_api: Any) -> None:
    api: Api = await make_api(
        budget_anonymous=3_000, budget_anonymous_restore_rate=100, max_query_cost=3_000
    )
    first = await api.post(HEAVY)  # (and fills the response cache)
    assert first.status_code == 200
    cost = first.json()["extensions"]["cost"]
    assert 1_500 < cost["requested"] < 3_000
    # What the query did not use went back: the actual cost is what the bucket lost (plus
    # what came back at 100 a second while it ran).
    available = throttle(first)["currentlyAvailable"]
    assert 3_000 - cost["actual"] <= available <= 3_000 - cost["actual"] + 300
    second = await api.post(fresh(HEAVY))
    assert second.status_code == 429 and code_of(second) == "THROTTLED"
    error = second.json()["errors"][0]["extensions"]
    available = throttle(second)["currentlyAvailable"]
    assert available < cost["requested"]
    # Retry-After: when the bucket holds the requested points again, at 100 a second.
    wait = -(-(cost["requested"] - available) // 100)
    assert abs(int(second.headers["retry-after"]) - wait) <= 1 and error["retryAfter"] == int(
        second.headers["retry-after"]
    )
    assert second.json()["extensions"]["cost"]["requested"] == cost["requested"]
    # Small queries still fit; a cached answer costs nothing at all.
    assert (await api.post(fresh(LIGHT))).status_code == 200
    for _ in range(5):
        again = await api.post(HEAVY)  # answered before: from the response cache, free
        assert again.headers["x-cache"] == "HIT", again.text[:300]
        assert again.json()["extensions"]["cost"]["actual"] == 0


async def test_budgets_are_per_client(make_api: Any, demo_url: str) -> None:
    api: Api = await make_api(budget_anonymous=2_000, budget_anonymous_restore_rate=1)
    assert (await api.post(fresh(HEAVY))).status_code == 200
    assert code_of(await api.post(fresh(HEAVY))) == "THROTTLED"
    # Another address has its own bucket; so has a token (a larger one).
    async with client_at(api, "10.1.2.3") as other:
        assert (await post(other, fresh(HEAVY))).status_code == 200
    token = editor_token(demo_url)
    with_token = await api.post(fresh(HEAVY), headers={"authorization": f"Bearer {token}"})
    assert with_token.status_code == 200 and throttle(with_token)["maximumAvailable"] == 250_000


async def test_ipv6_clients_are_limited_by_their_64(make_api: Any) -> None:
    api: Api = await make_api(rate_limit_anonymous=2)
    statuses = []
    for address in ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:9", "2001:db8:1:2::77"):
        async with client_at(api, address) as client:
            statuses.append((await post(client, LIGHT)).status_code)
    # Three addresses of one /64: one client, over its two requests.
    assert statuses == [200, 200, 429]
    async with client_at(api, "2001:db8:1:3::1") as neighbour:
        assert (await post(neighbour, LIGHT)).status_code == 200
    # IPv4 addresses (and IPv4-mapped IPv6 ones) are themselves.
    async with client_at(api, "192.0.2.1") as v4, client_at(api, "::ffff:192.0.2.1") as mapped:
        assert [(await post(c, LIGHT)).status_code for c in (v4, v4, mapped)] == [200, 200, 429]


# --- a token lifts nothing before it is verified ----------------------------------------------


async def test_a_bad_token_is_refused_before_the_body_is_read(make_api: Any) -> None:
    api: Api = await make_api(max_body_bytes=2_000, max_body_bytes_authenticated=50_000)
    junk = {"authorization": "Bearer cmp_junk", "content-type": "application/json", **ACCEPT}
    # Not even JSON, and past the anonymous cap: neither is looked at before the 401.
    for body in (b'{"query": ', b'{"query": "' + b" " * 10_000 + b'"}'):
        response = await api.client.post("/graphql", content=body, headers=junk)
        assert response.status_code == 401 and code_of(response) == "UNAUTHENTICATED"
    malformed = await api.client.post(
        "/graphql", content=b"{", headers={**junk, "authorization": "Token abc"}
    )
    assert malformed.status_code == 401


async def test_bad_tokens_get_the_anonymous_rate(make_api: Any, demo_url: str) -> None:
    api: Api = await make_api(rate_limit_anonymous=3, rate_limit_authenticated=100)
    junk = {"authorization": "Bearer cmp_guess"}
    statuses = [(await api.post(LIGHT, headers=junk)).status_code for _ in range(5)]
    # Past the anonymous rate, credentials from that address are not even looked up.
    assert statuses == [401, 401, 401, 429, 429]
    # Verified tokens keep their own, larger allowance (from an address in good standing).
    good = {"authorization": f"Bearer {editor_token(demo_url)}", **ACCEPT}
    async with client_at(api, "10.9.8.7") as other:
        statuses = [
            (await other.post("/graphql", json={"query": LIGHT}, headers=good)).status_code
            for _ in range(5)
        ]
    assert statuses == [200] * 5


# --- Redis: one budget for every worker and instance --------------------------------------------


@pytest.fixture
def redis_url() -> str:

    require_service("Redis", "127.0.0.1", 6379)
    return "redis://127.0.0.1:6379/0"


async def test_budgets_are_shared_through_redis(make_api: Any, redis_url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    settings = {
        "redis_url": redis_url,
        "redis_prefix": prefix,
        "budget_anonymous": 2_000,
        "budget_anonymous_restore_rate": 10,
        "response_cache": False,
    }
    one: Api = await make_api(**settings)
    two: Api = await make_api(**settings)
    first = await one.post(fresh(HEAVY))
    assert first.status_code == 200
    left = throttle(first)["currentlyAvailable"]
    assert left < 2_000 - 1_000
    # The other instance sees the same bucket: not enough left for the same query.
    refused = await two.post(fresh(HEAVY))
    assert refused.status_code == 429 and code_of(refused) == "THROTTLED"
    assert abs(throttle(refused)["currentlyAvailable"] - left) <= 20
    small = await two.post(LIGHT)
    assert small.status_code == 200
    assert throttle(small)["currentlyAvailable"] < left
    # (Request counts go through the same Redis; test_limits checks them.)
    assert json.loads(small.text)["extensions"]["cost"]["actual"] == 21
