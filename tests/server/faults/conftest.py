"""Fixtures of the fault tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def make_database(databases: Any, migrated_template: str) -> Iterator[Callable[[], str]]:
    """Makes freshly migrated databases of the backend under test (dropped at the end)."""
    made: list[str] = []

    def make() -> str:
        made.append(databases.create(template=migrated_template))
        return made[-1]

    yield make
    for url in made:
        databases.drop(url)
