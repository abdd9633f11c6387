"""Fixtures of the server tests: a token per role, and a client per role."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.server.editing import Client


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
