"""Review commands: `generate` and `render`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from content.document import TextFormat, render_page
from db.engine import session_scope
from db.models import ReviewKind
from db.reviews import NoTemplate
from editorial.generation import generate
from editorial.pages import PairNotFound, page_for_pair
from editorial.refs import check_locale
from resolvers.errors import BadUserInput
from server.cli.common import engine, err, fail, out


def run_generate(stale: bool, locale: str | None = None) -> None:
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
            report = generate(engine(), stale_only=stale, progress=progress, locale=locale)
        except NoTemplate as exc:
            fail(str(exc))
    out.print(report.summary(), highlight=False)


def generate_cmd(
    stale: Annotated[
        bool, typer.Option("--stale", help="Only reviews whose facts or template changed.")
    ] = False,
    locale: Annotated[
        str | None,
        typer.Option(
            "--locale",
            help="Generate this locale's translations (a configured tag, e.g. es): of the "
            "pairs whose default-locale page is published, with the locale's active template. "
            "Default: the default locale's pages.",
        ),
    ] = None,
) -> None:
    """Create or refresh the review of every compound x condition pair with evidence."""
    try:
        tag = check_locale(locale, "--locale")
    except BadUserInput as exc:
        fail(f"--locale: {exc}", 2)
    run_generate(stale, tag)


def render_cmd(
    compound: Annotated[str, typer.Option(help="Compound slug.")],
    condition: Annotated[str, typer.Option(help="Condition slug.")],
    format: Annotated[str, typer.Option("--format", help="plain, markdown or html.")] = "markdown",
    kind: Annotated[str, typer.Option(help="Review kind.")] = "safety",
) -> None:
    """Print one page (the stored review, or a live composition when none is stored yet)."""
    try:
        fmt = TextFormat(format.upper())
    except ValueError:
        fail(f"unknown format '{format}' (plain, markdown or html)", 2)
    try:
        review_kind = ReviewKind(kind.upper())
    except ValueError:
        fail(f"unknown kind '{kind}'", 2)
    try:
        with session_scope(engine()) as session:
            page, stored = page_for_pair(session, compound, condition, review_kind)
    except (PairNotFound, NoTemplate) as exc:
        fail(str(exc))
    if not stored:
        err.print("(no stored review yet: composed live from the current facts)")
    sys.stdout.write(render_page(page, fmt))
