"""Publish webhooks: the outbox in a real database, delivered over real HTTP to a
receiver on 127.0.0.1 (a stdlib HTTP server in a thread)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine

from config import Settings
from db import webhooks
from db.engine import Database, make_engine, session_scope
from db.migrate import upgrade
from db.models import utcnow
from db.operations import DeliveryStatus
from server.app import create_app
from server.webhooks import WebhookDispatcher, backoff_seconds

SECRET = "whsec_test_0123456789"
DATA = {
    "review": {
        "id": "UmV2aWV3OjE=",
        "slug": "ketamine-als-safety",
        "revision": 3,
        "publishedRevision": 2,
        "url": "/reviews/ketamine-als-safety",
    },
    "actor": "dr-fictional",
}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connections when several
    # dispatchers send at once.
    request_queue_size = 128
    daemon_threads = True


class Receiver:
    """Answers by path: /flaky 500 then 204, /down always 503, /redirect 302 to /ok,
    /ok 204 (after a short pause, so concurrent senders overlap)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.changed = threading.Condition()
        self._flaky_seen = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.changed:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    receiver.changed.notify_all()
                    first_flaky = self.path == "/flaky" and not receiver._flaky_seen
                    if self.path == "/flaky":
                        receiver._flaky_seen = True
                if self.path == "/ok":
                    time.sleep(0.02)
                if first_flaky:
                    self.send_response(500)
                elif self.path == "/down":
                    self.send_response(503)
                elif self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/ok")
                else:
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def at(self, path: str) -> list[Received]:
        with self.changed:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.requests) >= count, timeout)


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    yield db
    await db.dispose()


def settings_for(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "webhook_urls": [],
        "webhook_secret": SECRET,
        "webhook_max_attempts": 3,
        "webhook_timeout_seconds": 2.0,
        "webhook_poll_seconds": 60.0,
    }
    values.update(overrides)
    return Settings(**values)


def enqueue(engine: Engine, urls: list[str], event: str = "review.published") -> int:
    with session_scope(engine) as session:
        return webhooks.enqueue(session, urls, event, DATA)


def rows_by_url(engine: Engine) -> dict[str, Any]:
    with session_scope(engine) as session:
        return {r.url: r for r in webhooks.deliveries(session, 1000)}


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (the README's snippet)."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# --- the outbox ---------------------------------------------------------------


def test_enqueue_writes_one_signed_body_per_url(engine: Engine) -> None:
    assert enqueue(engine, ["https://a.example/hook", "https://b.example/hook"]) == 2
    rows = rows_by_url(engine)
    a, b = rows["https://a.example/hook"], rows["https://b.example/hook"]
    assert a.body == b.body
    assert a.status == b.status == DeliveryStatus.PENDING
    assert a.attempts == 0 and a.locked_until is None and a.delivered_at is None
    payload = json.loads(a.body)
    assert a.body == json.dumps(payload, separators=(",", ":"))  # compact
    assert set(payload) == {"id", "event", "occurredAt", "data"}
    assert len(payload["id"]) == 32 and int(payload["id"], 16) >= 0
    assert payload["event"] == "review.published"
    assert payload["occurredAt"].endswith("Z")
    assert payload["data"] == DATA
    # Another event gets its own id.
    enqueue(engine, ["https://c.example/hook"], "review.archived")
    other = json.loads(rows_by_url(engine)["https://c.example/hook"].body)
    assert other["id"] != payload["id"] and other["event"] == "review.archived"


def test_enqueue_is_part_of_the_callers_transaction(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        webhooks.enqueue(session, ["https://a.example/hook"], "review.published", DATA)
        raise RuntimeError("the publish failed")
    with session_scope(engine) as session:
        assert webhooks.pending_count(session) == 0
        assert webhooks.enqueue(session, [], "review.published", DATA) == 0


def test_claim_leases_rows_until_the_lease_expires(engine: Engine) -> None:
    enqueue(engine, [f"https://{n}.example/hook" for n in range(5)])
    now = utcnow()
    with session_scope(engine) as session:
        first = webhooks.claim_due(session, now, 3, 60)
    with session_scope(engine) as session:
        second = webhooks.claim_due(session, now, 3, 60)
        assert webhooks.claim_due(session, now, 3, 60) == []
        assert webhooks.has_due(session, now) is False
    assert len(first) == 3 and len(second) == 2
    assert {r.id for r in first}.isdisjoint(r.id for r in second)
    assert all(r.attempts == 1 and r.locked_until == now + timedelta(seconds=60) for r in first)
    # A worker that died mid-send: its rows are due again once the lease has run out.
    later = now + timedelta(seconds=61)
    with session_scope(engine) as session:
        assert len(webhooks.claim_due(session, later, 10, 60)) == 5
        assert webhooks.pending_count(session) == 5


def test_backoff_doubles_with_a_little_jitter_and_a_cap() -> None:
    assert 2.0 <= backoff_seconds(1, 2.0, 3600.0) <= 2.2
    assert 8.0 <= backoff_seconds(3, 2.0, 3600.0) <= 8.8
    assert 3600.0 <= backoff_seconds(30, 2.0, 3600.0) <= 3960.0
    assert backoff_seconds(1, 0.0, 3600.0) == 0.0


# --- delivery -----------------------------------------------------------------


async def test_signed_delivery_retried_after_a_failure(
    engine: Engine, database: Database, receiver: Receiver, db_url: str
) -> None:
    enqueue(engine, [receiver.url("/flaky")])
    dispatcher = WebhookDispatcher(database, settings_for(db_url), backoff_base=0.0)
    try:
        assert await dispatcher.deliver_due() == 1
        row = rows_by_url(engine)[receiver.url("/flaky")]
        assert row.status == DeliveryStatus.PENDING
        assert row.attempts == 1 and row.last_error == "HTTP 500"
        assert row.locked_until is None and row.delivered_at is None

        assert await dispatcher.deliver_due() == 1
        row = rows_by_url(engine)[receiver.url("/flaky")]
        assert row.status == DeliveryStatus.DELIVERED
        assert row.attempts == 2 and row.last_error == ""
        assert row.delivered_at is not None and row.delivered_at >= row.created_at

        assert await dispatcher.deliver_due() == 0
    finally:
        await dispatcher.stop()

    sent = receiver.at("/flaky")
    assert len(sent) == 2
    for request in sent:
        assert request.body == row.body.encode()
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == "Compendium-Webhooks/1"
        assert request.headers["compendium-event"] == "review.published"
        assert request.headers["compendium-delivery"] == str(row.id)
        signature = request.headers["compendium-signature"]
        assert verify(SECRET, signature, request.body)
        assert not verify("another secret", signature, request.body)
        assert not verify(SECRET, signature, request.body.replace(b"3", b"4"))
        assert SECRET not in json.dumps(request.headers)
    assert json.loads(sent[0].body)["data"] == DATA


async def test_failing_urls_end_failed_without_blocking_others(
    engine: Engine, database: Database, receiver: Receiver, db_url: str
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    urls = [receiver.url("/down"), receiver.url("/redirect"), closed, receiver.url("/ok")]
    enqueue(engine, urls, "review.unpublished")
    dispatcher = WebhookDispatcher(database, settings_for(db_url), backoff_base=0.0)
    try:
        # First pass: every URL is tried, the good one is delivered at once.
        assert await dispatcher.deliver_due() == 4
        rows = rows_by_url(engine)
        assert rows[receiver.url("/ok")].status == DeliveryStatus.DELIVERED
        assert rows[receiver.url("/ok")].attempts == 1
        passes = 1
        while await dispatcher.deliver_due():
            passes += 1
            assert passes <= 10
    finally:
        await dispatcher.stop()

    assert passes == 3  # webhook_max_attempts
    rows = rows_by_url(engine)
    for url in urls[:3]:
        assert rows[url].status == DeliveryStatus.FAILED
        assert rows[url].attempts == 3
        assert rows[url].delivered_at is None
        assert SECRET not in rows[url].last_error
    assert rows[receiver.url("/down")].last_error == "HTTP 503"
    assert rows[receiver.url("/redirect")].last_error.startswith("HTTP 302")
    assert "ConnectError" in rows[closed].last_error
    assert len(receiver.at("/down")) == 3
    assert len(receiver.at("/redirect")) == 3
    assert len(receiver.at("/ok")) == 1  # redirects are never followed
    with session_scope(engine) as session:
        assert webhooks.pending_count(session) == 0


async def test_two_dispatchers_deliver_each_row_exactly_once(
    engine: Engine, receiver: Receiver, db_url: str
) -> None:
    for _ in range(12):
        enqueue(engine, [receiver.url("/ok")])
    first, second = Database(db_url), Database(db_url)
    settings = settings_for(db_url)
    a = WebhookDispatcher(first, settings, batch_size=4)
    b = WebhookDispatcher(second, settings, batch_size=4)
    attempted = {"a": 0, "b": 0}
    try:
        for _ in range(10):
            na, nb = await asyncio.gather(a.deliver_due(), b.deliver_due())
            attempted["a"] += na
            attempted["b"] += nb
            if na == nb == 0:
                break
    finally:
        await a.stop()
        await b.stop()
        await first.dispose()
        await second.dispose()

    assert attempted["a"] > 0 and attempted["b"] > 0
    assert attempted["a"] + attempted["b"] == 12
    ids = [r.headers["compendium-delivery"] for r in receiver.at("/ok")]
    assert len(ids) == len(set(ids)) == 12
    with session_scope(engine) as session:
        rows = webhooks.deliveries(session, 100)
    assert {str(r.id) for r in rows} == set(ids)
    assert all(r.status == DeliveryStatus.DELIVERED and r.attempts == 1 for r in rows)


# --- the background task -----------------------------------------------------


async def test_started_loop_delivers_on_wake_and_stops(
    engine: Engine, database: Database, receiver: Receiver, db_url: str
) -> None:
    dispatcher = WebhookDispatcher(database, settings_for(db_url, webhook_poll_seconds=60.0))
    dispatcher.start()
    try:
        assert dispatcher.running
        enqueue(engine, [receiver.url("/ok")])
        dispatcher.wake()  # the poll is a minute away: only the wake delivers now
        assert await asyncio.to_thread(receiver.wait_for, 1)
        await eventually(
            lambda: rows_by_url(engine)[receiver.url("/ok")].status == DeliveryStatus.DELIVERED
        )
    finally:
        await dispatcher.stop()
    assert not dispatcher.running


async def test_loop_survives_errors(
    new_db: Callable[[], str], receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    url = new_db()
    database = Database(url)  # no tables yet: every pass fails
    dispatcher = WebhookDispatcher(database, settings_for(url, webhook_poll_seconds=60.0))
    dispatcher.start()
    try:
        await eventually(lambda: "webhook delivery pass failed" in caplog.text)
        assert dispatcher.running
        upgrade(url)
        engine = make_engine(url)
        enqueue(engine, [receiver.url("/ok")])
        dispatcher.wake()
        assert await asyncio.to_thread(receiver.wait_for, 1)
        await eventually(
            lambda: rows_by_url(engine)[receiver.url("/ok")].status == DeliveryStatus.DELIVERED
        )
        engine.dispose()
    finally:
        await dispatcher.stop()
        await database.dispose()
    assert not dispatcher.running
    assert SECRET not in caplog.text


async def test_app_lifespan_runs_the_dispatcher(
    engine: Engine, receiver: Receiver, db_url: str
) -> None:
    app = create_app(settings_for(db_url, webhook_urls=[receiver.url("/ok")]))
    async with app.router.lifespan_context(app):
        dispatcher = app.state.compendium.webhooks
        assert dispatcher.running
        enqueue(engine, [receiver.url("/ok")])
        dispatcher.wake()
        assert await asyncio.to_thread(receiver.wait_for, 1)
        await eventually(
            lambda: rows_by_url(engine)[receiver.url("/ok")].status == DeliveryStatus.DELIVERED
        )
    assert not dispatcher.running


async def test_no_loop_without_urls_and_no_unsigned_webhooks(db_url: str) -> None:
    app = create_app(settings_for(db_url))
    async with app.router.lifespan_context(app):
        dispatcher = app.state.compendium.webhooks
        assert not dispatcher.running
        dispatcher.wake()  # harmless: mutations may always call it
    unsigned = create_app(
        settings_for(db_url, webhook_urls=["https://a.example/hook"], webhook_secret="")
    )
    with pytest.raises(RuntimeError, match="WEBHOOK_SECRET"):
        async with unsigned.router.lifespan_context(unsigned):
            pass
