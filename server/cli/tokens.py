"""API token commands: `token create`, `token list`, `token revoke`."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from db.engine import session_scope
from db.operations import Role
from db.tokens import TokenNameTaken, create_token, list_tokens, revoke_token
from server.cli.common import NAME_MAX, engine, err, fail, out, valid_name, when

ROLES = ("editor", "reviewer", "admin")
TOKEN_NAME_MAX = NAME_MAX


def token_db_error(exc: Exception) -> NoReturn:
    # A database that was never migrated has no token table: say what to do.
    if "no such table" in str(exc) or "does not exist" in str(exc):
        fail("the database has no token table: run `compendium db upgrade` first")
    raise exc


def token_create(
    name: Annotated[
        str, typer.Option("--name", help="A unique name, e.g. the person or system using it.")
    ],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="editor (drafts, edits), reviewer (also publishes) or admin (tokens, audit log).",
        ),
    ],
) -> None:
    """Create a token and print its secret (only once: it is stored hashed)."""
    if role.lower() not in ROLES:
        fail(f"invalid --role {role!r}: one of {', '.join(ROLES)}", 2)
    if not valid_name(name):
        fail(
            f"invalid --name {name!r}: 1 to {TOKEN_NAME_MAX} printable characters, "
            "without leading or trailing spaces",
            2,
        )
    try:
        with session_scope(engine()) as session:
            secret, row = create_token(session, name, Role(role.upper()))
    except TokenNameTaken as exc:
        # Names stay taken after a revoke, so the audit log's actors stay unambiguous.
        fail(f"{exc} (names of revoked tokens stay taken): choose another name")
    except (OperationalError, ProgrammingError) as exc:
        token_db_error(exc)
    # The secret alone on stdout, so `TOKEN=$(compendium token create ...)` captures it.
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()
    err.print(
        f"created {role.lower()} token '{name}' ({row.prefix}…). This is the only time the "
        "secret is shown: store it now. Send it as `Authorization: Bearer <token>`.",
        highlight=False,
        markup=False,
    )


def token_list() -> None:
    """List tokens: name, role, prefix, created, revoked (never the secret or its hash)."""
    try:
        with session_scope(engine()) as session:
            rows = list_tokens(session)
    except (OperationalError, ProgrammingError) as exc:
        token_db_error(exc)
    if not rows:
        out.print("no tokens (create one with `compendium token create`)", highlight=False)
        return
    table = Table("name", "role", "prefix", "created", "revoked", box=None, highlight=False)
    table.columns[0].overflow = "fold"
    for column in table.columns[1:]:
        column.no_wrap = True
    for row in rows:
        table.add_row(
            row.name,
            str(row.role).lower(),
            row.prefix,
            when(row.created_at),
            when(row.revoked_at),
        )
    out.print(table)


def token_revoke(
    name: Annotated[str, typer.Argument(help="The name of the token to revoke.")],
) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    try:
        with session_scope(engine()) as session:
            revoked = revoke_token(session, name)
    except (OperationalError, ProgrammingError) as exc:
        token_db_error(exc)
    if not revoked:
        fail(f"no active token named '{name}'")
    out.print(f"revoked token '{name}'", highlight=False, markup=False)
