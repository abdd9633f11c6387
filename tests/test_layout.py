"""The generic top-level names resolve to this repository, never an installed namesake."""

from __future__ import annotations

import importlib

from tests.conftest import ROOT


def test_top_level_packages_are_the_repositorys_own() -> None:
    for name in (
        "config",
        "content",
        "db",
        "catalog",
        "resolvers",
        "editorial",
        "schema",
        "server",
    ):
        module = importlib.import_module(name)
        assert module.__file__ is not None
        assert str(ROOT) in module.__file__, f"{name} imported from {module.__file__}"
