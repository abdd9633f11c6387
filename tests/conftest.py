"""Shared fixtures: a real, freshly migrated database per test.

Migrations run once per session into a template SQLite file (so every test
uses a database built by the real Alembic migrations, not ``create_all``) and
each test gets its own copy of it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db.engine import make_engine, session_scope
from db.importer import import_file
from db.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = ROOT.parent / "shared" / "seeds"
TEMPLATES = ROOT / "db" / "catalog" / "templates.yaml"
DEMO = ROOT / "db" / "catalog" / "demo.yaml"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template-db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(migrated_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "compendium.db"
    shutil.copy(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def load(engine: Engine, *paths: Path) -> None:
    with session_scope(engine) as session:
        for p in paths:
            import_file(session, p)


@pytest.fixture
def seed_engine(engine: Engine) -> Engine:
    """The default templates and the facts of the two seed pages."""
    load(engine, TEMPLATES, FIXTURES / "seed-pages.yaml")
    return engine
