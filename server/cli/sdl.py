"""`export-schema`: the GraphQL schema (SDL) written to schema.graphql, the committed contract."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from schema import schema
from server.cli.common import ROOT, out

SCHEMA_FILE = ROOT / "schema.graphql"


def schema_sdl() -> str:
    return schema.as_str().rstrip() + "\n"


def export_schema_cmd(
    output: Annotated[
        Path | None, typer.Argument(help="Where to write the SDL (default: schema.graphql).")
    ] = None,
    stdout: Annotated[bool, typer.Option("--stdout", help="Print the SDL instead.")] = False,
) -> None:
    """Write the GraphQL schema (SDL) to schema.graphql, the committed contract."""
    sdl = schema_sdl()
    if stdout:
        sys.stdout.write(sdl)
        return
    target = output or SCHEMA_FILE
    target.write_text(sdl, encoding="utf-8")
    out.print(f"wrote {target}", highlight=False)
