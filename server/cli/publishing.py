"""Operators' sign-off: `publish SLUG...|--all --reviewer NAME [--locale TAG]` and
`unpublish SLUG... [--locale TAG]` (the pages of one locale; default: the default locale).

Each review in its own transaction, through editorial's units of work (the API's gate);
one line per review, then a total. Exit code 0 when every review is published (or
unpublished), 1 when any was refused or not found, 2 for a bad command line. A running
server sees the change through the database's change log (its cache poller)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from config import get_settings
from db import editorial as ed
from db.engine import session_scope
from editorial import operators
from editorial.refs import ReviewRef, check_locale
from editorial.workflow import check_reason
from resolvers.errors import BadUserInput
from server.cli.common import NAME_MAX, engine, err, fail, out, valid_name

NAME_RULE = f"1 to {NAME_MAX} printable characters, without leading or trailing spaces"
LocaleOption = Annotated[
    str | None,
    typer.Option(
        "--locale",
        help="The pages' locale (a configured tag, e.g. es); default: the default locale.",
    ),
]


def publish_cmd(
    slugs: Annotated[
        list[str] | None, typer.Argument(help="Review slugs, e.g. ketamine--als.")
    ] = None,
    reviewer: Annotated[
        str,
        typer.Option(
            "--reviewer",
            help="Who signs off (recorded as the revision's approver and in the audit log).",
        ),
    ] = "",
    all_waiting: Annotated[
        bool, typer.Option("--all", help="Every DRAFT or IN_REVIEW review.")
    ] = False,
    acknowledge: Annotated[
        list[str] | None,
        typer.Option(
            "--acknowledge", help="Id of a content finding the reviewer acknowledges (repeat)."
        ),
    ] = None,
    locale: LocaleOption = None,
) -> None:
    """Publish reviews as a named reviewer, through publishReview's gate.

    The gate: every mandatory section, a draft built from the current facts, every content
    finding acknowledged (--acknowledge). A DRAFT is submitted for review first."""
    if not reviewer or not valid_name(reviewer):
        fail(f"--reviewer NAME is required: {NAME_RULE}", 2)
    if bool(slugs) == all_waiting:
        fail("name the reviews to publish (SLUG...) or pass --all, not both", 2)
    tag = _locale(locale)
    actor = operators.operator(reviewer)
    settings = get_settings()
    interval = timedelta(days=settings.review_interval_days)
    db = engine()
    if all_waiting:
        with session_scope(db) as session:
            slugs = operators.waiting_slugs(session, tag)
        if not slugs:
            out.print("no review waits for publishing", highlight=False)
            return
    published = unchanged = refused = 0
    for ref in (ReviewRef(slug, tag) for slug in slugs or []):
        slug = str(ref)
        result = _each(
            db,
            slug,
            operators.sign_off,
            actor,
            ref,
            list(acknowledge or []),
            interval,
            settings.webhook_urls,
        )
        if result is None:
            refused += 1
        elif result.published:
            published += 1
            out.print(
                f"{slug}: published revision {result.number}, approved by {result.approved_by}",
                highlight=False,
                markup=False,
            )
        else:
            unchanged += 1
            out.print(
                f"{slug}: already published (revision {result.number}), nothing new to approve",
                highlight=False,
                markup=False,
            )
    _total(f"{published} published, {unchanged} already published, {refused} refused", refused)


def unpublish_cmd(
    slugs: Annotated[list[str], typer.Argument(help="Review slugs, e.g. ketamine--als.")],
    by: Annotated[
        str, typer.Option("--by", "--reviewer", help="Who takes them down (the audit log).")
    ] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why (the audit log).")] = "",
    locale: LocaleOption = None,
) -> None:
    """Take published reviews off the site: back to DRAFT, their revisions kept."""
    if not by or not valid_name(by):
        fail(f"--by NAME is required: {NAME_RULE}", 2)
    try:
        reason = check_reason(reason)
    except BadUserInput as exc:
        fail(f"--reason: {exc}", 2)
    tag = _locale(locale)
    actor = operators.operator(by)
    urls = get_settings().webhook_urls
    done = refused = 0
    db = engine()
    for ref in (ReviewRef(slug, tag) for slug in slugs):
        slug = str(ref)
        if _each(db, slug, operators.take_down, actor, ref, reason, urls) is None:
            refused += 1
        else:
            done += 1
            out.print(f"{slug}: unpublished (now DRAFT)", highlight=False, markup=False)
    _total(f"{done} unpublished, {refused} refused", refused)


def _locale(tag: str | None) -> str:
    """--locale as a configured tag (default: the default locale), or exit 2."""
    try:
        return check_locale(tag, "--locale")
    except BadUserInput as exc:
        fail(f"--locale: {exc}", 2)


def _each(db: Engine, slug: str, unit: Callable[..., Any], *args: Any) -> Any:
    """The unit's result, committed; None when it was refused (nothing written)."""
    try:
        with session_scope(db, immediate=True) as session:
            return unit(session, *args).result
    except ed.EditorialError as exc:
        err.print(f"{slug}: refused: {exc}", highlight=False, markup=False)
        for line in _details(exc):
            err.print(f"  {line}", highlight=False, markup=False)
        return None


def _details(exc: ed.EditorialError) -> list[str]:
    details = getattr(exc, "details", {})
    lines = [f"{p['path']}: {p['message']}" for p in details.get("problems", [])]
    findings = details.get("findings", [])
    lines += [f"finding {f['id']!r} in {f['section']}: {f['excerpt']}" for f in findings]
    if findings:
        lines.append("read them, then pass --acknowledge ID for each to publish")
    return lines


def _total(summary: str, refused: int) -> None:
    out.print(summary, highlight=False)
    if refused:
        raise typer.Exit(1)
