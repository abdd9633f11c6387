"""The ``compendium`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from db.models import ReviewKind

app = typer.Typer(
    help="Compendium: a headless GraphQL content API for medical research reviews.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

CATALOG_DIR = Path(__file__).resolve().parent.parent / "db" / "catalog"
TEMPLATES_FILE = CATALOG_DIR / "templates.yaml"
DEMO_FILE = CATALOG_DIR / "demo.yaml"


def _engine():  # type: ignore[no-untyped-def]
    from db.engine import make_engine

    return make_engine()


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (creates the database when it does not exist)."""
    from db.migrate import upgrade

    upgrade(revision=revision)
    out.print(f"database at revision {revision}")


def _import(paths: list[Path], configured_locales_only: bool = False) -> None:
    from catalog.importing import import_data, without_other_locales
    from catalog.loading import read_file
    from catalog.problems import CatalogInvalid
    from config import get_settings
    from db.engine import session_scope

    engine = _engine()
    locales = get_settings().locales
    try:
        with session_scope(engine) as session:
            for path in paths:
                data, skipped = read_file(path), list[str]()
                if configured_locales_only:
                    data, skipped = without_other_locales(data, locales)
                report = import_data(session, data, str(path))
                out.print(f"{path}: {report.summary()}", highlight=False)
                if skipped:
                    out.print(
                        f"{path}: left out the locales {', '.join(skipped)} (not in "
                        f"COMPENDIUM_LOCALES={','.join(locales)})",
                        highlight=False,
                    )
    except CatalogInvalid as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(1) from None


@app.command("import")
def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="Catalog files (YAML or JSON).")],
) -> None:
    """Import catalog files: validated first, then an all-or-nothing upsert by slug."""
    _import(files)


@app.command("export")
def export_cmd(
    file: Annotated[Path, typer.Argument(help="Destination (.yaml, .yml or .json).")],
) -> None:
    """Export the whole catalog (publisher, facts, evidence, templates) to a file."""
    from catalog.exporting import dump, export_data
    from db.engine import session_scope

    with session_scope(_engine()) as session:
        data = export_data(session)
    dump(data, file)
    out.print(
        f"wrote {file}: {len(data['compounds'])} compounds, {len(data['conditions'])} conditions, "
        f"{len(data['evidence'])} evidence, {len(data['templates'])} templates",
        highlight=False,
    )


def _generate(stale: bool) -> None:
    from db.reviews import NoTemplate
    from editorial.generation import generate

    engine = _engine()
    with Progress(
        TextColumn("generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("generate", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            report = generate(engine, stale_only=stale, progress=progress)
        except NoTemplate as exc:
            _fail(str(exc))
            return
    out.print(report.summary(), highlight=False)


@app.command("generate")
def generate_cmd(
    stale: Annotated[
        bool, typer.Option("--stale", help="Only reviews whose facts or template changed.")
    ] = False,
) -> None:
    """Create or refresh the review of every compound x condition pair with evidence."""
    _generate(stale)


@app.command("demo")
def demo_cmd(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database already has reviews.")
    ] = False,
) -> None:
    """Migrate, load the demo catalog and the default templates, and generate its reviews."""
    from db.engine import session_scope
    from db.migrate import upgrade
    from db.reviews import count_reviews

    upgrade()
    if if_empty:
        with session_scope(_engine()) as session:
            if count_reviews(session):
                out.print("database has reviews already: demo catalog not loaded")
                return
    _import([TEMPLATES_FILE, DEMO_FILE], configured_locales_only=True)
    _generate(stale=True)
    _publish_demo()


def _publish_demo() -> None:
    """The demo catalog is served as published, signed off by its fictional demo reviewer."""
    from datetime import timedelta

    from catalog.loading import read_file
    from config import get_settings
    from db.engine import session_scope
    from db.models import utcnow
    from db.publishing import publish_reviews, unpublished_review_ids
    from db.queries import publisher_row
    from db.reviews import review_slug

    # Only the demo catalog's own pairs: never sign off anything an editor imported.
    demo = read_file(DEMO_FILE)
    slugs = [review_slug(e["compound"], e["condition"]) for e in demo["evidence"]]
    with session_scope(_engine()) as session:
        pub = publisher_row(session)
        reviewer = f"{pub.advisor_name} (demo sign-off)" if pub else "demo reviewer (fictional)"
        approval = publish_reviews(
            session,
            unpublished_review_ids(session, slugs),
            reviewer,
            utcnow(),
            timedelta(days=get_settings().review_interval_days),
        )
        count = len(approval.reviews)
    out.print(f"published {count} demo reviews, signed off by {reviewer}", highlight=False)


@app.command("render")
def render_cmd(
    compound: Annotated[str, typer.Option(help="Compound slug.")],
    condition: Annotated[str, typer.Option(help="Condition slug.")],
    format: Annotated[str, typer.Option("--format", help="plain, markdown or html.")] = "markdown",
    kind: Annotated[str, typer.Option(help="Review kind.")] = "safety",
) -> None:
    """Print one page (the stored review, or a live composition when none is stored yet)."""
    from content.document import TextFormat, render_page
    from db.engine import session_scope
    from db.reviews import NoTemplate
    from editorial.pages import PairNotFound, page_for_pair

    try:
        fmt = TextFormat(format.upper())
    except ValueError:
        _fail(f"unknown format '{format}' (plain, markdown or html)", 2)
        return
    try:
        review_kind = ReviewKind(kind.upper())
    except ValueError:
        _fail(f"unknown kind '{kind}'", 2)
        return
    try:
        with session_scope(_engine()) as session:
            page, stored = page_for_pair(session, compound, condition, review_kind)
    except (PairNotFound, NoTemplate) as exc:
        _fail(str(exc))
        return
    if not stored:
        err.print("(no stored review yet: composed live from the current facts)")
    sys.stdout.write(render_page(page, fmt))


@app.command("serve")
def serve_cmd(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default from settings).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Serve the GraphQL API with uvicorn."""
    import uvicorn

    from config import get_settings

    settings = get_settings()
    from server.protocol import GuardedHttpToolsProtocol

    worker_count = workers or settings.workers
    if worker_count > 1:
        # Each worker writes its metrics here; /metrics adds them up (prometheus_client's
        # multiprocess mode). Workers are spawned, so they see this before importing it.
        import os
        import tempfile

        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="compendium-metrics-")
        )
        os.environ["COMPENDIUM_WORKERS"] = str(worker_count)
    from server.observability import logging_config

    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=worker_count,
        proxy_headers=True,
        # A slow or silent client must not hold a connection for long: idle keep-alive
        # connections close after 5 s, request headers must arrive within the header
        # timeout (GuardedHttpToolsProtocol), bodies within the body timeout, and past
        # `limit_concurrency` connections new ones get 503 at once.
        http=GuardedHttpToolsProtocol,
        timeout_keep_alive=5,
        limit_concurrency=settings.limit_concurrency,
        backlog=2048,
        timeout_graceful_shutdown=10,
        log_config=logging_config(settings.log_format, settings.log_level),
        log_level=settings.log_level,
    )


token_app = typer.Typer(
    help="API tokens: create (the secret is shown once), list and revoke.",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")

ROLES = ("editor", "reviewer", "admin")
TOKEN_NAME_MAX = 80


def _token_db_error(exc: Exception) -> None:
    # A database that was never migrated has no token table: say what to do.
    if "no such table" in str(exc) or "does not exist" in str(exc):
        _fail("the database has no token table: run `compendium db upgrade` first")
    raise exc


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


@token_app.command("create")
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
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from db.engine import session_scope
    from db.operations import Role
    from db.tokens import TokenNameTaken, create_token

    if role.lower() not in ROLES:
        _fail(f"invalid --role {role!r}: one of {', '.join(ROLES)}", 2)
    if not name or name != name.strip() or not name.isprintable() or len(name) > TOKEN_NAME_MAX:
        _fail(
            f"invalid --name {name!r}: 1 to {TOKEN_NAME_MAX} printable characters, "
            "without leading or trailing spaces",
            2,
        )
    try:
        with session_scope(_engine()) as session:
            secret, row = create_token(session, name, Role(role.upper()))
    except TokenNameTaken as exc:
        # Names stay taken after a revoke, so the audit log's actors stay unambiguous.
        _fail(f"{exc} (names of revoked tokens stay taken): choose another name")
        return
    except (OperationalError, ProgrammingError) as exc:
        _token_db_error(exc)
        return
    # The secret alone on stdout, so `TOKEN=$(compendium token create ...)` captures it.
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()
    err.print(
        f"created {role.lower()} token '{name}' ({row.prefix}…). This is the only time the "
        "secret is shown: store it now. Send it as `Authorization: Bearer <token>`.",
        highlight=False,
        markup=False,
    )


@token_app.command("list")
def token_list() -> None:
    """List tokens: name, role, prefix, created, revoked (never the secret or its hash)."""
    from rich.table import Table
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from db.engine import session_scope
    from db.tokens import list_tokens

    try:
        with session_scope(_engine()) as session:
            rows = list_tokens(session)
    except (OperationalError, ProgrammingError) as exc:
        _token_db_error(exc)
        return
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
            _when(row.created_at),
            _when(row.revoked_at),
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Argument(help="The name of the token to revoke.")],
) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from db.engine import session_scope
    from db.tokens import revoke_token

    try:
        with session_scope(_engine()) as session:
            revoked = revoke_token(session, name)
    except (OperationalError, ProgrammingError) as exc:
        _token_db_error(exc)
        return
    if not revoked:
        _fail(f"no active token named '{name}'")
    out.print(f"revoked token '{name}'", highlight=False, markup=False)


persisted_app = typer.Typer(
    help="Trusted documents: the GraphQL documents anonymous clients may run when "
    "COMPENDIUM_TRUSTED_DOCUMENTS_ONLY is on.",
    no_args_is_help=True,
)
app.add_typer(persisted_app, name="persisted")


@persisted_app.command("add")
def persisted_add(
    files: Annotated[list[Path], typer.Argument(help="GraphQL documents (.graphql files).")],
) -> None:
    """Register documents (each file is one document, checked against the schema); prints
    each one's SHA-256, which clients send as `extensions.persistedQuery.sha256Hash`."""
    from graphql import parse, validate

    from db.engine import session_scope
    from db.persisted import add_document
    from schema import schema

    documents = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"{path}: cannot read: {exc}")
            return
        try:
            errors = validate(schema._schema, parse(text))
        except Exception as exc:  # a GraphQLError from parse
            _fail(f"{path}: {exc}")
            return
        if errors:
            _fail(f"{path}: " + "; ".join(e.message for e in errors))
            return
        documents.append((path, text))
    with session_scope(_engine()) as session:
        for path, text in documents:
            digest, new = add_document(session, text, path.name)
            out.print(
                f"{digest}  {path}" + ("" if new else "  (already registered)"), highlight=False
            )


@persisted_app.command("list")
def persisted_list() -> None:
    """List the registered documents: SHA-256, name and when they were added."""
    from db.engine import session_scope
    from db.persisted import list_documents

    with session_scope(_engine()) as session:
        rows = list_documents(session)
    if not rows:
        out.print("no trusted documents (add some with `compendium persisted add`)")
        return
    for row in rows:
        out.print(f"{row.sha256}  {row.name}  {_when(row.created_at)}", highlight=False)


SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def schema_sdl() -> str:
    from schema import schema

    return schema.as_str().rstrip() + "\n"


@app.command("export-schema")
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


def main() -> None:
    from config import settings_errors

    # A bad setting (a locale tag, a fallback cycle) stops every command, plainly.
    problems = settings_errors()
    for line in problems:
        err.print(f"error: {line}", highlight=False, markup=False)
    if problems:
        raise SystemExit(2)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
