"""PostgreSQL readers' key lookups run through the driver (db/lookups.py, ``Database.run``):
the same rows as through a session, the statements still seen by the suite's counters,
and a lookup the driver failed answered by the session path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from db import public, queries
from db.engine import Database
from db.lookups import KeyRead
from db.tables import PUBLIC_COMPOUND, PUBLIC_CONDITION
from tests.conftest import Api
from tests.databases import is_postgres
from tests.server.test_pg_connections import QUERY, TITLE, kill_other_connections

pytestmark = pytest.mark.skipif(not is_postgres(), reason="asyncpg's driver path")

# Every KeyRead readers use: (function, its arguments before the keys, SQL listing keys).
CASES = {
    "fact_versions_by_ids": (public.fact_versions_by_ids, (), "SELECT id FROM fact_version"),
    "approved_compounds_by_ids": (
        public.approved_by_ids,
        (PUBLIC_COMPOUND,),
        "SELECT id FROM public_compound",
    ),
    "approved_conditions_by_slugs": (
        public.approved_by_slugs,
        (PUBLIC_CONDITION,),
        "SELECT slug FROM public_condition",
    ),
    "approved_compounds_by_slugs": (
        public.approved_by_slugs,
        (PUBLIC_COMPOUND,),
        "SELECT slug FROM public_compound",
    ),
    "approved_evidence_by_ids": (
        public.approved_evidence_by_ids,
        (),
        "SELECT id FROM public_evidence",
    ),
    "reviews_by_ids": (public.reviews_by_ids, (), "SELECT id FROM public_review"),
    "reviews_by_slugs": (public.reviews_by_slugs, (), "SELECT slug FROM public_review"),
    "revisions_by_ids": (queries.revisions_by_ids, (), "SELECT id FROM review_revision"),
}


@pytest.fixture
async def database(demo_url: str) -> AsyncIterator[Database]:
    db = Database(demo_url)
    yield db
    await db.dispose()


def test_every_key_read_has_a_case() -> None:
    defined = {
        fn
        for module in (public, queries)
        for fn in vars(module).values()
        if isinstance(fn, KeyRead)
    }
    assert defined == {fn for fn, _, _ in CASES.values()}


def described(found: Any) -> Any:
    """What a lookup returned, comparable: each row's fields, values and value types."""

    def row(r: Any) -> Any:
        return (r._fields, tuple(r), tuple(type(v) for v in r))

    return {
        key: [row(r) for r in value] if isinstance(value, list) else row(value)
        for key, value in found.items()
    }


@pytest.mark.parametrize("case", sorted(CASES))
async def test_the_driver_returns_the_sessions_rows(database: Database, case: str) -> None:
    fn, args, listing = CASES[case]
    async with database.async_engine.connect() as conn:  # type: ignore[union-attr]
        keys = list((await conn.execute(text(f"{listing} ORDER BY 1"))).scalars())
    assert len(keys) >= 4, case
    missing: Any = "no-such-slug" if isinstance(keys[0], str) else 10**9
    for asked in ([keys[0]], [keys[1], keys[-1], missing, keys[2]], [missing]):
        # An editor's session never goes through the driver: the reference.
        session = database.session(read=False)
        try:
            expected = await database.run(session, fn, *args, asked)
        finally:
            await database.close(session)
        before = dict(database.driver_reads)
        found = await database.run(None, fn, *args, asked)
        assert database.driver_reads == {**before, "driver": before["driver"] + 1}
        assert described(found) == described(expected), (case, asked)
        assert len(found) == len([k for k in asked if k != missing])


async def test_a_lookup_the_driver_failed_is_answered_by_the_session(
    database: Database, demo_url: str
) -> None:
    slug = "ketamine--als"
    first = await database.run(None, public.reviews_by_slugs, [slug])
    assert database.driver_reads == {"driver": 1, "fallback": 0}
    # The pooled connection was used a moment ago, so it is not pinged; nothing awaits
    # between the kill and the lookup, so the driver does not know it yet.
    assert kill_other_connections(demo_url) >= 1
    again = await database.run(None, public.reviews_by_slugs, [slug])
    assert database.driver_reads == {"driver": 2, "fallback": 1}
    assert described(again) == described(first)
    # The next lookup goes through the driver again, on a live connection.
    await database.run(None, public.reviews_by_slugs, [slug])
    assert database.driver_reads == {"driver": 3, "fallback": 1}


async def test_an_anonymous_page_reads_through_the_driver(make_api: Any) -> None:
    api: Api = await make_api(response_cache=False)
    database = api.app.state.compendium.database
    response = await api.post(QUERY)
    assert response.json()["data"]["review"]["title"].startswith(TITLE)
    # Every statement of the page is a key lookup, each seen by the statement counter.
    assert database.driver_reads["driver"] == len(api.statements) >= 1
    assert database.driver_reads["fallback"] == 0
    assert any("FROM public_review" in s for s in api.statements), api.statements
