"""Shared fixtures: a real, freshly migrated database per test.

Migrations run once per session into a template SQLite file (so every test
uses a database built by the real Alembic migrations, not ``create_all``) and
each test gets its own copy of it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event

from catalog.importing import import_file
from config import Settings
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from server.app import create_app
from tests.databases import open_backend

pytest_plugins = ["tests.live"]

# The suite runs with a second locale configured (README "Locales"), so the
# demo catalog's Spanish loads everywhere and English pages are checked beside it.
os.environ.setdefault("COMPENDIUM_LOCALES", "en,es")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The golden seed pages, committed so the suite needs nothing outside the repository
# (test_golden checks them against ../shared/seeds when that folder is present).
SEEDS = FIXTURES / "seeds"
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"
TEMPLATES = ROOT / "db" / "catalog" / "templates.yaml"
DEMO = ROOT / "db" / "catalog" / "demo.yaml"


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Where test databases live: SQLite files, or PostgreSQL databases (tests/databases.py)."""
    backend = open_backend(tmp_path_factory.mktemp("databases"))
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def migrated_template(databases: Any) -> str:
    url = databases.create("template")
    upgrade(url)
    return url


@pytest.fixture
def db_url(databases: Any, migrated_template: str) -> Iterator[str]:
    """A freshly migrated database of the backend under test, for this test only."""
    url = databases.create(template=migrated_template)
    yield url
    databases.drop(url)


@pytest.fixture
def new_db(databases: Any) -> Iterator[Callable[[], str]]:
    """Makes empty databases (not migrated) for this test."""
    made: list[str] = []

    def make() -> str:
        made.append(databases.create())
        return made[-1]

    yield make
    for url in made:
        databases.drop(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def load(engine: Engine, *paths: Path) -> None:
    with session_scope(engine) as session:
        for p in paths:
            import_file(session, p)


@pytest.fixture(scope="session")
def demo_template(databases: Any, migrated_template: str) -> str:
    """A database with the demo catalog loaded, generated and published (read-only template)."""

    url = databases.create("demo", template=migrated_template)
    env = dict(os.environ, COMPENDIUM_DATABASE_URL=url)
    subprocess.run(
        [sys.executable, "-m", "server.cli", "demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return url


@pytest.fixture
def demo_url(databases: Any, demo_template: str) -> Iterator[str]:
    url = databases.create(template=demo_template)
    yield url
    databases.drop(url)


@pytest.fixture
async def api(demo_url: str) -> AsyncIterator[Api]:
    """The real ASGI app over a demo database, driven with real HTTP requests."""
    # (The change-log poller polls once at start: it must not add statements to the counts.)
    # (Nor the scheduler's passes: tests that want them build their own app.)
    app = create_app(Settings(database_url=demo_url, cache_poll_seconds=3600, scheduler_interval=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(app, client)


@pytest.fixture
async def make_api(demo_url: str) -> AsyncIterator[Callable[..., Any]]:
    """Builds more apps over this test's demo database, with settings overridden."""
    stack = contextlib.AsyncExitStack()

    async def make(**overrides: Any) -> Api:
        overrides.setdefault("scheduler_interval", 0)  # (tests run passes themselves)
        app = create_app(
            Settings(database_url=overrides.pop("database_url", demo_url), **overrides)
        )
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        )
        return Api(app, client)

    async with stack:
        yield make


class Api:
    def __init__(self, app: Any, client: httpx.AsyncClient):
        self.app = app
        self.client = client
        self.statements: list[str] = []
        engine = app.state.compendium.database
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"accept": "application/graphql-response+json", **kw.pop("headers", {})}
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.client.post("/graphql", json=body, headers=headers, **kw)

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        payload = response.json()
        assert response.status_code == 200, payload
        assert "errors" not in payload, payload["errors"]
        return payload["data"]  # type: ignore[no-any-return]


@pytest.fixture
def seed_engine(engine: Engine) -> Engine:
    """The default templates and the facts of the two seed pages."""
    load(engine, TEMPLATES, FIXTURES / "seed-pages.yaml")
    return engine
