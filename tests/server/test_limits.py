"""Every abuse limit has a test that trips it: query depth, aliases, tokens and cost,
introspection, body size and time, execution time, rates, slow clients, and a
database that goes away and comes back."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.databases import require_service
from tests.live import serving

REVIEW = 'query R { review(slug: "ketamine--als") { title } }'


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]  # type: ignore[no-any-return]


def editor_token(url: str) -> str:
    engine = make_engine(url)
    with session_scope(engine) as session:
        secret, _ = create_token(session, f"ed-{uuid.uuid4().hex[:6]}", "editor")
    engine.dispose()
    return secret


# --- query limits ---------------------------------------------------------------------------


async def test_depth_limit(make_api: Any) -> None:
    api: Api = await make_api(max_query_depth=4)
    ok = await api.post("query D { reviews(first: 1) { edges { node { slug } } } }")
    assert ok.status_code == 200 and ok.json()["extensions"]["cost"]["requested"] > 0
    deep = await api.post(
        "query D { reviews(first: 1) { edges { node { compound { citations { value } } } } } }"
    )
    assert deep.status_code == 400
    error = deep.json()["errors"][0]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "measure": "depth",
        "value": 6,
        "limit": 4,
    }


async def test_alias_limit(api: Api) -> None:
    fields = " ".join(f'a{i}: review(slug: "ketamine--als") {{ slug }}' for i in range(31))
    response = await api.post(f"query A {{ {fields} }}")
    assert response.status_code == 400 and code_of(response) == "QUERY_TOO_COMPLEX"
    ext = response.json()["errors"][0]["extensions"]
    assert (ext["measure"], ext["value"], ext["limit"]) == ("number of aliases", 31, 30)
    fields = " ".join(f'a{i}: review(slug: "ketamine--als") {{ slug }}' for i in range(30))
    assert (await api.post(f"query A {{ {fields} }}")).status_code == 200


async def test_token_limit(api: Api) -> None:
    # Parsing stops at the limit: a huge document costs no more than the limit's worth.
    query = "query T { " + " ".join(["__typename"] * 6000) + " }"
    response = await api.post(query)
    assert response.status_code == 400 and code_of(response) == "QUERY_TOO_COMPLEX"
    ext = response.json()["errors"][0]["extensions"]
    assert ext["measure"] == "number of tokens" and ext["limit"] == 5000
    assert ext["value"] == 6004


async def test_cost_limit_counts_page_sizes_and_nesting(make_api: Any) -> None:
    api: Api = await make_api(max_query_cost=1000)
    query = """query L($first: Int!) { reviews(first: $first) { edges { node {
        slug sections { key body } } } } }"""
    small = await api.post(query, {"first": 5})
    assert small.status_code == 200
    cost_5 = small.json()["extensions"]["cost"]["requested"]
    big = await api.post(query, {"first": 100})
    assert big.status_code == 400 and code_of(big) == "QUERY_TOO_COMPLEX"
    ext = big.json()["errors"][0]["extensions"]
    assert ext["measure"] == "cost" and ext["limit"] == 1000
    # The cost grows with the page size: 20 times the items, about 20 times the cost.
    assert 15 * cost_5 < ext["value"] <= 20 * cost_5 + 1


async def test_introspection_can_be_off_for_anonymous(make_api: Any, demo_url: str) -> None:
    api: Api = await make_api(introspection=False)
    query = "query I { __schema { queryType { name } } }"
    refused = await api.post(query)
    assert refused.status_code == 400 and code_of(refused) == "FORBIDDEN"
    assert (await api.post("query T { __typename }")).status_code == 200
    token = editor_token(demo_url)
    allowed = await api.post(query, headers={"authorization": f"Bearer {token}"})
    assert allowed.json()["data"]["__schema"]["queryType"]["name"] == "Query"


# --- request limits ---------------------------------------------------------------------------


async def test_body_size_limit(make_api: Any, demo_url: str) -> None:
    api: Api = await make_api(max_body_bytes=2000, max_body_bytes_authenticated=50_000)
    padding = " " * 3000
    response = await api.post(REVIEW + padding)
    assert response.status_code == 413 and code_of(response) == "BAD_USER_INPUT"
    token = editor_token(demo_url)
    headers = {"authorization": f"Bearer {token}"}
    assert (await api.post(REVIEW + padding, headers=headers)).status_code == 200
    assert (await api.post(REVIEW + " " * 60_000, headers=headers)).status_code == 413

    # Without Content-Length (chunked), the stream is cut off at the limit all the same.
    async def chunks() -> Any:
        yield b'{"query": "' + b" " * 1500
        yield b" " * 1500 + b'"}'

    chunked = await api.client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413


async def test_batching_is_off(api: Api) -> None:
    response = await api.client.post(
        "/graphql",
        json=[{"query": REVIEW}, {"query": REVIEW}],
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400 and "batching" in response.json()["errors"][0]["message"]


async def test_execution_timeout(make_api: Any) -> None:
    api: Api = await make_api(execution_timeout_seconds=0.000001)
    response = await api.post(REVIEW)
    assert response.status_code == 503 and code_of(response) == "TIMEOUT"
    assert response.json()["errors"][0]["extensions"]["requestId"]


# --- rate limits ------------------------------------------------------------------------------


async def test_rate_limit_per_address_and_per_token(make_api: Any, demo_url: str) -> None:
    api: Api = await make_api(rate_limit_anonymous=3, rate_limit_authenticated=5)
    for _ in range(3):
        assert (await api.post(REVIEW)).status_code == 200
    refused = await api.post(REVIEW)
    assert refused.status_code == 429 and code_of(refused) == "RATE_LIMITED"
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 60
    assert refused.json()["errors"][0]["extensions"]["retryAfter"] == retry
    # A token has its own, larger allowance.
    headers = {"authorization": f"Bearer {editor_token(demo_url)}"}
    assert (await api.post(REVIEW, headers=headers)).status_code == 200


@pytest.fixture
def redis_url() -> str:

    url = "redis://127.0.0.1:6379/0"
    require_service("Redis", "127.0.0.1", 6379)
    return url


async def test_rate_limits_are_shared_through_redis(make_api: Any, redis_url: str) -> None:
    # Two apps (two workers or instances) on one Redis count the same requests.
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    one: Api = await make_api(rate_limit_anonymous=4, redis_url=redis_url, redis_prefix=prefix)
    two: Api = await make_api(rate_limit_anonymous=4, redis_url=redis_url, redis_prefix=prefix)
    statuses = [(await (one if i % 2 else two).post(REVIEW)).status_code for i in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


# --- slow clients against the real server ------------------------------------------------------


def test_slow_clients_cannot_tie_up_the_server(live_database: str, tmp_path: Path) -> None:
    with serving(
        live_database,
        tmp_path,
        header_timeout_seconds=1,
        body_timeout_seconds=1,
        limit_concurrency=50,
    ) as base:
        port = int(base.rsplit(":", 1)[1])
        slow = []
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")  # headers never finish
            slow.append(sock)
        body_sock = socket.create_connection(("127.0.0.1", port))
        body_sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"query":'
        )
        # Meanwhile everyone else is served as usual.
        started = time.monotonic()
        response = httpx.post(f"{base}/graphql", json={"query": REVIEW}, timeout=5)
        assert response.status_code == 200 and time.monotonic() - started < 2
        # The slow ones are cut off: closed without a request, or answered 408.
        for sock in slow:
            sock.settimeout(5)
            assert sock.recv(100) == b""
            sock.close()
        body_sock.settimeout(5)
        answer = body_sock.recv(4096)
        body_sock.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


# --- the database goes away and comes back ------------------------------------------------------


async def test_database_unavailable_then_back(make_api: Any, demo_url: str, tmp_path: Path) -> None:
    if make_url(demo_url).get_backend_name() != "sqlite":
        pytest.skip("the PostgreSQL variant is test_postgres_unavailable_then_back")
    # The database file sits in a directory that is not there (yet).
    home = tmp_path / "moved"
    target = home / "demo.db"
    api: Api = await make_api(database_url=f"sqlite:///{target}")
    down = await api.post(REVIEW)
    assert down.status_code == 503 and code_of(down) == "SERVICE_UNAVAILABLE"
    assert down.headers["retry-after"]
    assert "sqlite" not in down.text.lower() and str(tmp_path) not in down.text
    assert (await api.client.get("/readyz")).status_code == 503
    home.mkdir()
    shutil.copy(make_url(demo_url).database or "", target)
    # Back, without a restart.
    assert (await api.client.get("/readyz")).status_code == 200
    up = await api.post(REVIEW)
    assert up.status_code == 200 and up.json()["data"]["review"]["title"]


class TcpProxy:
    """A TCP relay to PostgreSQL that a test can cut and restore."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        await self.server.wait_closed()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_postgres_unavailable_then_back(make_api: Any, demo_url: str) -> None:
    url = make_url(demo_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("runs in the PostgreSQL pass (the SQLite variant is above)")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    api: Api = await make_api(
        database_url=url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    )

    def fresh(n: int) -> str:  # a query the response cache has not seen
        return f'query R{n} {{ review(slug: "ketamine--als") {{ title }} }}'

    assert (await api.post(fresh(1))).status_code == 200
    await proxy.stop()
    down = await api.post(fresh(2))
    assert down.status_code == 503 and code_of(down) == "SERVICE_UNAVAILABLE"
    assert (await api.client.get("/readyz")).status_code == 503
    # What was answered before is still answered from the cache meanwhile.
    assert (await api.post(fresh(1))).status_code == 200
    await proxy.start()  # same port
    assert (await api.client.get("/readyz")).status_code == 200
    assert (await api.post(fresh(3))).status_code == 200
    await proxy.stop()
