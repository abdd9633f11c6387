"""Readers' PostgreSQL connections: no transaction round trips around their reads, a
connection that sat idle is checked before use, and a reader's query that meets a dead
connection runs again on a new one (db/engine.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from db.engine import PING_IDLE_SECONDS, sync_url
from tests.conftest import Api
from tests.databases import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="asyncpg connection handling")

QUERY = 'query R { review(slug: "ketamine--als") { title } }'
TITLE = "Is Ketamine (IV / Esketamine) Safe for ALS (Amyotrophic Lateral Sclerosis) Patients?"


async def transaction_log(api: Api) -> list[str]:
    """The statements the driver sends on its own (not prepared): BEGIN, COMMIT and
    ROLLBACK among them, for the app's new connections (the pool's are closed first)."""
    sent: list[str] = []
    await api.app.state.compendium.database.async_engine.dispose()

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection._connection.add_query_logger(lambda record: sent.append(record.query))

    event.listen(api.app.state.compendium.database.sync_engine, "connect", on_connect)
    return sent


def transaction_control(sent: list[str]) -> list[str]:
    return [
        q
        for q in sent
        if q.strip().rstrip(";").split()[0].upper() in ("BEGIN", "ROLLBACK", "COMMIT")
    ]


def kill_other_connections(url: str) -> int:
    """Terminate every other session on the test's database (a restart, as clients see it)."""
    with psycopg.connect(
        sync_url(url).replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_a_readers_request_sends_only_its_queries(
    make_api: Any, tokens: dict[str, str]
) -> None:
    api: Api = await make_api(response_cache=False)
    sent = await transaction_log(api)
    for _ in range(3):
        response = await api.post(QUERY)
        assert response.json()["data"]["review"]["title"].startswith(TITLE)
    await asyncio.sleep(0.05)  # (the driver hands its log over with call_soon)
    assert transaction_control(sent) == []
    # The log does see transactions: an editor's request runs in one.
    response = await api.post(QUERY, headers={"authorization": f"Bearer {tokens['editor']}"})
    assert response.status_code == 200
    await asyncio.sleep(0.05)
    assert transaction_control(sent), sent


async def test_a_reader_is_answered_when_its_pooled_connection_died(
    make_api: Any, demo_url: str
) -> None:
    api: Api = await make_api(response_cache=False)
    assert (await api.post(QUERY)).status_code == 200
    assert kill_other_connections(demo_url) >= 1
    # At once: the connection was in use a moment ago, so it is not pinged; the
    # query meets the dead connection and runs again on a new one.
    response = await api.post(QUERY)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["data"]["review"]["title"].startswith(TITLE)


@pytest.mark.parametrize(
    "wait",
    [
        # Idle past the ping: the ping finds the dead connection, the pool gives a new one.
        pytest.param(PING_IDLE_SECONDS + 0.2, id="idle-connection-pinged"),
        # Well before a ping is due, once the driver has read the end of its connection:
        # it knows the connection is closed, so the pool replaces it at checkout.
        pytest.param(0.1, id="closed-connection-replaced-at-once"),
    ],
)
async def test_an_editor_never_gets_a_connection_the_server_ended(
    make_api: Any, demo_url: str, tokens: dict[str, str], wait: float
) -> None:
    """Editors' sessions are never retried (they may write): a dead pooled connection must
    be caught before their request uses it."""
    api: Api = await make_api(response_cache=False)
    headers = {"authorization": f"Bearer {tokens['editor']}"}
    assert (await api.post(QUERY, headers=headers)).status_code == 200
    assert kill_other_connections(demo_url) >= 1
    await asyncio.sleep(wait)
    response = await api.post(QUERY, headers=headers)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["data"]["review"]["title"].startswith(TITLE)
