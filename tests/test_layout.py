"""The generic top-level names resolve to this repository, never an installed namesake."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

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


# What each of our packages may import (ARCHITECTURE.md, "Layers"): only layers below.
MAY_IMPORT = {
    "config": set(),
    "content": set(),
    "db": {"config", "content"},
    "catalog": {"db", "content", "config"},
    "resolvers": {"db", "content", "config"},
    "editorial": {"resolvers", "catalog", "db", "content", "config"},
    "schema": {"resolvers", "editorial", "content", "config"},
    "server": {"schema", "editorial", "resolvers", "catalog", "db", "content", "config"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level names a module imports (every import statement, at any depth)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules_of(package: str) -> list[Path]:
    single = ROOT / f"{package}.py"
    return [single] if single.exists() else sorted((ROOT / package).rglob("*.py"))


def test_each_layer_imports_only_layers_below_it() -> None:
    ours = set(MAY_IMPORT)
    upward = []
    for package, allowed in MAY_IMPORT.items():
        modules = modules_of(package)
        assert modules, f"no modules found for {package}"
        for path in modules:
            for name in (imported_packages(path) & ours) - allowed - {package}:
                upward.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not upward, "imports against the layers of ARCHITECTURE.md:\n" + "\n".join(upward)


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import os\nfrom server.app import create_app\n\ndef f():\n    import schema\n"
    )
    assert imported_packages(module) & set(MAY_IMPORT) == {"server", "schema"}
