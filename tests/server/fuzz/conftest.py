"""Fixtures of the fuzzing: an editor's token, the demo database's engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import DEMO, TEMPLATES, load


@pytest.fixture
def editor(demo_url: str) -> str:
    """An editor's token in the api fixture's database."""
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        secret, _row = create_token(session, "fuzz-editor", "editor")
    engine.dispose()
    return secret


@pytest.fixture
def demo_engine(demo_url: str) -> Iterator[Engine]:
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


@pytest.fixture
def demo_catalog_engine(engine: Engine) -> Engine:
    load(engine, TEMPLATES, DEMO)
    return engine
