"""4. Catalog imports (catalog/ and importCatalog) accept, or reject without changes."""

from __future__ import annotations

import json
import time

from hypothesis import event, given, note
from sqlalchemy import Engine

from catalog.importing import import_data
from catalog.loading import parse_text
from catalog.problems import CatalogInvalid
from db.engine import session_scope
from tests.conftest import Api
from tests.server.fuzz.catalogs import bounded, catalog_texts, snapshot
from tests.server.fuzz.client import post_graphql
from tests.server.fuzz.settings import REQUEST_SECONDS, fuzz


@fuzz(100)
@given(catalog=catalog_texts())
def test_import_accepts_or_rejects_without_changes(
    demo_catalog_engine: Engine, catalog: tuple[str, str]
) -> None:
    fmt, content = catalog
    note(f"{fmt}: {content[:1000]!r}")
    before = snapshot(demo_catalog_engine)
    started = time.perf_counter()
    try:
        with session_scope(demo_catalog_engine) as session:
            import_data(session, parse_text(content, "fuzz", fmt), "fuzz")
    except CatalogInvalid as exc:
        event("rejected")
        assert exc.problems and all(p.path and p.message for p in exc.problems), exc.problems
        assert bounded(sum(len(p.message) for p in exc.problems), content)
        assert snapshot(demo_catalog_engine) == before
    else:
        event("imported")
    assert time.perf_counter() - started < REQUEST_SECONDS


IMPORT = """
mutation Import($content: String!, $format: CatalogFormat!) {
  importCatalog(content: $content, format: $format, generate: true) {
    counts { kind created updated unchanged }
    effect { affectedReviews regeneratedReviews staleReviews }
  }
}
"""


@fuzz(40)
@given(catalog=catalog_texts())
async def test_import_catalog_mutation_accepts_or_rejects_without_changes(
    api: Api, editor: str, demo_engine: Engine, catalog: tuple[str, str]
) -> None:
    fmt, content = catalog
    note(f"{fmt}: {content[:1000]!r}")
    before = snapshot(demo_engine)
    payload = await post_graphql(api, IMPORT, {"content": content, "format": fmt.upper()}, editor)
    if payload.get("errors"):
        (error,) = payload["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        problems = error["extensions"].get("problems")
        assert problems and all(p["path"] and p["message"] for p in problems), error
        assert payload["data"] is None
        assert bounded(len(json.dumps(problems)), content)
        assert snapshot(demo_engine) == before
    else:
        assert payload["data"]["importCatalog"]["counts"], payload
