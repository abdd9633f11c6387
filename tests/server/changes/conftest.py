"""Fixtures of the feed's tests: an editor's and a reviewer's token."""

from __future__ import annotations

import pytest

from db.engine import make_engine, session_scope
from db.tokens import create_token


@pytest.fixture
def tokens(demo_url: str) -> dict[str, str]:
    engine = make_engine(demo_url)
    out: dict[str, str] = {}
    with session_scope(engine) as session:
        for role in ("editor", "reviewer"):
            out[role], _ = create_token(session, f"{role}-sync", role)
    engine.dispose()
    return out
