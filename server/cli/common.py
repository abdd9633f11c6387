"""What every command shares: the consoles, the database engine, failing with a message."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine

from db.engine import make_engine

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ROOT = Path(__file__).resolve().parent.parent.parent
CATALOG_DIR = ROOT / "db" / "catalog"
TEMPLATES_FILE = CATALOG_DIR / "templates.yaml"
DEMO_FILE = CATALOG_DIR / "demo.yaml"

# Names that go to the audit log (tokens, and the operator's name on publish/unpublish).
NAME_MAX = 80


def engine() -> Engine:
    return make_engine()


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def valid_name(name: str) -> bool:
    """A name for the audit log: 1 to NAME_MAX printable characters, no outer spaces."""
    return bool(name) and name == name.strip() and name.isprintable() and len(name) <= NAME_MAX


def when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"
