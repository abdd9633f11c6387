"""Catalog imports through the API, and regenerating the drafts they leave stale."""

from __future__ import annotations

from sqlmodel import Session

from catalog import importing, loading
from db import editorial as ed
from editorial.facts import FactsResult
from editorial.generation import GenerationReport, regenerate_stale_in
from editorial.outcome import Done
from editorial.permissions import Actor
from resolvers.errors import BadUserInput

MAX_CATALOG_CHARS = 5_000_000
MAX_REGENERATE = 5000


def check_regenerate_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_REGENERATE:
        raise BadUserInput("`limit` must be between 1 and 5000", argument="limit")
    return limit


def import_catalog(
    session: Session, actor: Actor, content: str, fmt: str, generate: bool, limit: int
) -> Done[FactsResult]:
    if len(content) > MAX_CATALOG_CHARS:
        raise ed.Refused(
            f"the catalog is longer than {MAX_CATALOG_CHARS} characters; use `compendium import`",
            "TOO_LARGE",
            path="content",
        )
    data = loading.parse_text(content, "content", fmt)
    report = importing.import_data(session, data, "content")
    actor.audit(
        session,
        "importCatalog",
        "Catalog",
        record_id=None,
        record_key=None,
        before=None,
        after=None,
        detail={
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
        },
    )
    result = FactsResult(None, report=report, affected_reviews=report.affected_reviews)
    if generate:
        generation = regenerate_stale_in(session, limit=limit)
        result.regenerated_reviews = generation.created + generation.refreshed
        result.stale_reviews = generation.remaining
    return Done(result)


def regenerate_stale(session: Session, actor: Actor, limit: int) -> Done[GenerationReport]:
    report = regenerate_stale_in(session, limit=limit)
    actor.audit(
        session,
        "regenerateStaleReviews",
        "Review",
        record_id=None,
        record_key=None,
        before=None,
        after=None,
        detail={
            "created": report.created,
            "refreshed": report.refreshed,
            "remaining": report.remaining,
        },
    )
    return Done(report)
