"""The ``compendium`` command line: the commands, wired here, live one module per domain.

``database`` (db upgrade, import, export, demo), ``reviews`` (generate, render),
``publishing`` (publish, unpublish), ``scheduling`` (schedule run-due), ``tokens``, ``persisted``, ``serving`` (serve) and
``sdl`` (export-schema). ``python -m server.cli`` runs it too (``__main__``).
"""

from __future__ import annotations

import typer

from config import settings_errors
from server.cli import database, persisted, publishing, reviews, scheduling, serving, tokens
from server.cli.common import err
from server.cli.sdl import SCHEMA_FILE, export_schema_cmd, schema_sdl

__all__ = ["SCHEMA_FILE", "app", "main", "schema_sdl"]

app = typer.Typer(
    help="Compendium: a headless GraphQL content API for medical research reviews.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
token_app = typer.Typer(
    help="API tokens: create (the secret is shown once), list and revoke.",
    no_args_is_help=True,
)
persisted_app = typer.Typer(
    help="Trusted documents: the GraphQL documents anonymous clients may run when "
    "COMPENDIUM_TRUSTED_DOCUMENTS_ONLY is on.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

db_app.command("upgrade")(database.db_upgrade)
app.command("import")(database.import_cmd)
app.command("export")(database.export_cmd)
app.command("generate")(reviews.generate_cmd)
app.command("demo")(database.demo_cmd)
app.command("render")(reviews.render_cmd)
app.command("publish")(publishing.publish_cmd)
app.command("unpublish")(publishing.unpublish_cmd)
app.command("serve")(serving.serve_cmd)

app.add_typer(token_app, name="token")
token_app.command("create")(tokens.token_create)
token_app.command("list")(tokens.token_list)
token_app.command("revoke")(tokens.token_revoke)

app.add_typer(persisted_app, name="persisted")
persisted_app.command("add")(persisted.persisted_add)
persisted_app.command("list")(persisted.persisted_list)

schedule_app = typer.Typer(help="Scheduled publishes and unpublishes.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")
schedule_app.command("run-due")(scheduling.schedule_run_due)

app.command("export-schema")(export_schema_cmd)


def main() -> None:
    # A bad setting (a locale tag, a fallback cycle) stops every command, plainly.
    problems = settings_errors()
    for line in problems:
        err.print(f"error: {line}", highlight=False, markup=False)
    if problems:
        raise SystemExit(2)
    app()
