"""Trusted document commands: `persisted add`, `persisted list`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from graphql import parse, validate

from db.engine import session_scope
from db.persisted import add_document, list_documents
from schema import schema
from server.cli.common import engine, fail, out, when


def persisted_add(
    files: Annotated[list[Path], typer.Argument(help="GraphQL documents (.graphql files).")],
) -> None:
    """Register documents (each file is one document, checked against the schema); prints
    each one's SHA-256, which clients send as `extensions.persistedQuery.sha256Hash`."""
    documents = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{path}: cannot read: {exc}")
        try:
            errors = validate(schema._schema, parse(text))
        except Exception as exc:  # a GraphQLError from parse
            fail(f"{path}: {exc}")
        if errors:
            fail(f"{path}: " + "; ".join(e.message for e in errors))
        documents.append((path, text))
    with session_scope(engine()) as session:
        for path, text in documents:
            digest, new = add_document(session, text, path.name)
            out.print(
                f"{digest}  {path}" + ("" if new else "  (already registered)"), highlight=False
            )


def persisted_list() -> None:
    """List the registered documents: SHA-256, name and when they were added."""
    with session_scope(engine()) as session:
        rows = list_documents(session)
    if not rows:
        out.print("no trusted documents (add some with `compendium persisted add`)")
        return
    for row in rows:
        out.print(f"{row.sha256}  {row.name}  {when(row.created_at)}", highlight=False)
