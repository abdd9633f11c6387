"""Fixtures of the server tests: a token per role, a client per role, node for the browser
tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.live import CHROMIUM, require, require_node_package
from tests.server.editing import Client
from tests.server.test_webhooks import Receiver


@pytest.fixture
def tokens(demo_url: str) -> dict[str, str]:
    """One token per role in the demo database."""
    engine = make_engine(demo_url)
    out: dict[str, str] = {}
    with session_scope(engine) as session:
        for role in ("editor", "reviewer", "admin"):
            out[role], _ = create_token(session, f"{role}-ann", role)
    engine.dispose()
    return out


@pytest.fixture
def as_role(api: Api, tokens: dict[str, str]) -> Callable[[str | None], Client]:
    return lambda role: Client(api, tokens[role] if role else None)


@pytest.fixture(scope="session")
def browser_node() -> str:
    """``node`` with playwright-core, and Chromium (checked before the server starts)."""
    node = require_node_package("playwright-core")
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium")
    return node


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free local port, serving in a thread for the test."""
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    thread.join(5)


@pytest.fixture
def purged(api: Api) -> list[list[str]]:
    """The keys each CDN purge named (in order)."""
    out: list[list[str]] = []

    async def hook(keys: list[str]) -> None:
        out.append(keys)

    api.app.state.compendium.cache.purge_hooks.append(hook)
    return out
