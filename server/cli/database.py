"""Database and catalog commands: `db upgrade`, `import`, `export`, `demo`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from catalog.exporting import dump, export_data
from catalog.importing import import_data, import_file, without_other_locales
from catalog.loading import read_file
from catalog.problems import CatalogInvalid
from config import get_settings
from db.catalog_sql import has_templates
from db.engine import session_scope
from db.migrate import upgrade
from db.models import utcnow
from db.publishing import publish_reviews, unpublished_review_ids
from db.queries import publisher_row
from db.reviews import count_reviews, ids_by_slugs, review_slug
from db.tables import COMPOUND, CONDITION
from editorial.generation import generate
from server.cli.common import DEMO_FILE, TEMPLATES_FILE, engine, err, out
from server.cli.reviews import run_generate


def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (creates the database when it does not exist); at head,
    install the default templates when the database has none."""
    upgrade(revision=revision)
    out.print(f"database at revision {revision}")
    if revision == "head":
        install_default_templates()


def install_default_templates() -> None:
    """A new database gets db/catalog/templates.yaml, so import → generate works at once."""
    with session_scope(engine()) as session:
        if has_templates(session):
            return
        report = import_file(session, TEMPLATES_FILE)
    out.print(
        f"installed the default templates ({TEMPLATES_FILE.name}): {report.summary()}",
        highlight=False,
    )


def import_files(paths: list[Path], configured_locales_only: bool = False) -> None:
    """Import ``paths`` in one transaction; ``configured_locales_only`` (the demo) leaves
    out translations into locales COMPENDIUM_LOCALES does not list, saying so."""
    locales = get_settings().locales
    try:
        with session_scope(engine()) as session:
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


def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="Catalog files (YAML or JSON).")],
) -> None:
    """Import catalog files: validated first, then an all-or-nothing upsert by slug."""
    import_files(files)


def export_cmd(
    file: Annotated[Path, typer.Argument(help="Destination (.yaml, .yml or .json).")],
) -> None:
    """Export the whole catalog (publisher, facts, evidence, templates) to a file."""
    with session_scope(engine()) as session:
        data = export_data(session)
    dump(data, file)
    out.print(
        f"wrote {file}: {len(data['compounds'])} compounds, {len(data['conditions'])} conditions, "
        f"{len(data['evidence'])} evidence, {len(data['templates'])} templates",
        highlight=False,
    )


def demo_cmd(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database already has reviews.")
    ] = False,
) -> None:
    """Migrate, load the demo catalog and the default templates, and generate its reviews."""
    upgrade()
    if if_empty:
        with session_scope(engine()) as session:
            if count_reviews(session):
                out.print("database has reviews already: demo catalog not loaded")
                return
    import_files([TEMPLATES_FILE, DEMO_FILE], configured_locales_only=True)
    run_generate(stale=True)
    publish_demo()
    for locale in get_settings().locales[1:]:
        translate_demo(locale)


def publish_demo(locale: str | None = None) -> None:
    """The demo catalog is served as published, signed off by its fictional demo reviewer."""
    # Only the demo catalog's own pairs: never sign off anything an editor imported.
    demo = read_file(DEMO_FILE)
    slugs = [review_slug(e["compound"], e["condition"]) for e in demo["evidence"]]
    with session_scope(engine()) as session:
        pub = publisher_row(session)
        reviewer = f"{pub.advisor_name} (demo sign-off)" if pub else "demo reviewer (fictional)"
        approval = publish_reviews(
            session,
            unpublished_review_ids(session, slugs, locale),
            reviewer,
            utcnow(),
            timedelta(days=get_settings().review_interval_days),
        )
        count = len(approval.reviews)
    what = f"demo reviews ({locale})" if locale else "demo reviews"
    out.print(f"published {count} {what}, signed off by {reviewer}", highlight=False)


def translate_demo(locale: str) -> None:
    """The demo's translation into ``locale`` (a DEMO translation, not medically reviewed):
    the pages of the compounds and conditions it translates, generated with the locale's
    template and published by the same fictional reviewer. Nothing without a template."""
    demo = read_file(DEMO_FILE)

    def translated(section: str) -> list[str]:
        return [r["slug"] for r in demo[section] if locale in (r.get("translations") or {})]

    with session_scope(engine()) as session:
        if not has_templates(session, locale):
            return
        compound_ids = ids_by_slugs(session, COMPOUND, translated("compounds"))
        condition_ids = ids_by_slugs(session, CONDITION, translated("conditions"))
    if not compound_ids or not condition_ids:
        return
    report = generate(
        engine(), locale=locale, compound_ids=compound_ids, condition_ids=condition_ids
    )
    out.print(f"{locale}: {report.summary()}", highlight=False)
    publish_demo(locale)
