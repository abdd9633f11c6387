"""Search per locale through real HTTP (README "Locales"): a Spanish search finds the
Spanish page by a word typed without its accent, and a compound by its approved Spanish
name; each page comes once, in the first locale of the chain a reviewer approved it in
(an untranslated page as its English fallback, marked); English searches never return a
Spanish page; an unknown locale is BAD_USER_INPUT.

The demo database (tests/conftest.py) publishes the English pages and the Spanish pages
of its translated compounds and conditions (metformin, ketamine, psilocybin x ALS,
neuropathic pain, type 2 diabetes); one test generates and approves one more."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from db.engine import make_engine, session_scope
from db.models import utcnow
from db.publishing import publish_reviews
from editorial.generation import generate
from server.cache.poller import ChangePoller
from tests.conftest import Api
from tests.databases import is_postgres
from tests.server.reader_paths import answer, persisted_get

SEARCH = """
query S($q: String!, $locale: String, $first: Int! = 100) {
  search(query: $q, locale: $locale, first: $first) { totalCount edges { node {
    __typename
    ... on Review { slug locale requestedLocale isFallback title }
    ... on Compound { slug name }
    ... on Condition { slug name }
  } } }
}"""


async def search(api: Api, q: str, locale: str | None = None, first: int = 100) -> Any:
    variables: dict[str, Any] = {"q": q, "first": first}
    if locale is not None:
        variables["locale"] = locale
    return (await api.data(SEARCH, variables))["search"]


def nodes(found: Any, typename: str) -> list[dict[str, Any]]:
    return [e["node"] for e in found["edges"] if e["node"]["__typename"] == typename]


def by_slug(found: Any) -> dict[str, dict[str, Any]]:
    reviews = nodes(found, "Review")
    slugs = [r["slug"] for r in reviews]
    assert len(slugs) == len(set(slugs)), f"a page came twice: {sorted(slugs)}"
    return {r["slug"]: r for r in reviews}


@pytest.mark.parametrize("typed", ["amiotrofica", "amiotrófica", "esclerosis lateral amiotrofica"])
async def test_spanish_search_finds_the_spanish_page_accent_or_not(api: Api, typed: str) -> None:
    found = await search(api, typed, "es")
    pages = by_slug(found)
    # The Spanish pages about ALS ("... ELA (esclerosis lateral amiotrófica) ...").
    assert {"metformin--als", "ketamine--als", "psilocybin--als"} <= set(pages), pages
    page = pages["ketamine--als"]
    assert page["locale"] == "es" and page["requestedLocale"] == "es", page
    assert page["isFallback"] is False
    assert "amiotrófica" in page["title"]
    # The condition by its approved Spanish full name, as Spanish readers get it.
    assert {"__typename": "Condition", "slug": "als", "name": "ELA"} in nodes(found, "Condition")


async def test_an_accent_typed_finds_the_text_without_it(api: Api) -> None:
    """The reverse: an accent typed where the text has none (English, default locale)."""
    plain = by_slug(await search(api, "amyotrophic"))
    accented = by_slug(await search(api, "amyótrophic"))
    assert "ketamine--als" in plain
    assert accented.keys() == plain.keys()


@pytest.mark.parametrize("q", ["amiotrofica", "ketamine", "metformina", "als"])
async def test_english_searches_return_no_spanish_page(api: Api, q: str) -> None:
    default = await search(api, q)
    english = await search(api, q, "en")
    assert english == default
    pages = by_slug(default)
    assert all(p["locale"] == "en" and p["isFallback"] is False for p in pages.values()), pages
    assert default["totalCount"] == len(default["edges"])
    if q == "amiotrofica":
        assert default["totalCount"] == 0
    if q == "ketamine":
        # The translated pages' English copies, not their Spanish ones (their slug is the same).
        assert pages["ketamine--als"]["title"].startswith("Is Ketamine")


async def test_unknown_locales_are_bad_user_input(api: Api) -> None:
    for tag in ("fr", "es-XX", "ES", ""):
        response = await api.post(SEARCH, {"q": "ketamine", "locale": tag})
        payload = response.json()
        assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (tag, payload)
        assert payload.get("data") is None, payload


async def test_compounds_are_found_by_their_approved_spanish_names(api: Api) -> None:
    spanish = await search(api, "hongos", "es")  # (an alias: "hongos alucinógenos")
    assert nodes(spanish, "Compound") == [
        {"__typename": "Compound", "slug": "psilocybin", "name": "Psilocibina"}
    ]
    assert nodes(await search(api, "hongos"), "Compound") == []
    # Found once, by the better of its names.
    both = await search(api, "ketamine ketamina", "es")
    assert [c["slug"] for c in nodes(both, "Compound")] == ["ketamine"]


def publish_spanish(demo_url: str, compound: str, condition: str) -> None:
    """Generate the pair's Spanish page and approve it, as a reviewer would."""
    engine = make_engine(demo_url)
    try:
        with session_scope(engine) as session:
            ids = {
                table: session.execute(
                    text(f"SELECT id FROM {table} WHERE slug = :s"), {"s": slug}
                ).scalar_one()
                for table, slug in (("compound", compound), ("condition", condition))
            }
        generate(
            engine, locale="es", compound_ids=[ids["compound"]], condition_ids=[ids["condition"]]
        )
        with session_scope(engine) as session:
            review_id = session.execute(
                text("SELECT id FROM review WHERE slug = :s AND locale = 'es'"),
                {"s": f"{compound}--{condition}"},
            ).scalar_one()
            approval = publish_reviews(
                session, [review_id], "Dr X (fictional)", utcnow(), timedelta(days=365)
            )
            assert approval.reviews == [review_id]
    finally:
        engine.dispose()


def spanish_name_rows(demo_url: str, compound: str) -> int:
    engine = make_engine(demo_url)
    try:
        with session_scope(engine) as session:
            return int(
                session.execute(
                    text(
                        "SELECT count(*) FROM search_index WHERE kind = 'compound' AND "
                        "locale = 'es' AND ref_id = (SELECT id FROM compound WHERE slug = :s)"
                    ),
                    {"s": compound},
                ).scalar_one()
            )
    finally:
        engine.dispose()


async def test_an_untranslated_page_is_found_once_as_its_fallback(api: Api, demo_url: str) -> None:
    english = by_slug(await search(api, "ketamine"))
    found = await search(api, "ketamine", "es")
    pages = by_slug(found)
    # Every page of the English search, each once: in Spanish where a reviewer approved
    # it in Spanish, else in English, marked as a fallback.
    assert pages.keys() == english.keys()
    assert found["totalCount"] == len(found["edges"])
    assert pages["ketamine--als"]["locale"] == "es"
    fallback = pages["ketamine--multiple-sclerosis"]
    assert fallback["locale"] == "en" and fallback["requestedLocale"] == "es", fallback
    assert fallback["isFallback"] is True
    assert fallback["title"] == english["ketamine--multiple-sclerosis"]["title"]

    # Once a reviewer approves its Spanish page, that page takes the English one's place.
    publish_spanish(demo_url, "ketamine", "multiple-sclerosis")
    after = by_slug(await search(api, "ketamine", "es", first=99))
    assert after.keys() == english.keys()
    assert after["ketamine--multiple-sclerosis"]["locale"] == "es"
    assert after["ketamine--multiple-sclerosis"]["isFallback"] is False
    # The approval moved ketamine's Spanish names (one row of the index, found once).
    assert nodes(await search(api, "ketamina", "es", first=97), "Compound") == [
        {"__typename": "Compound", "slug": "ketamine", "name": "Ketamina (IV / esketamina)"}
    ]
    assert spanish_name_rows(demo_url, "ketamine") == 1
    # English readers still get the English page only.
    again = by_slug(await search(api, "ketamine", first=98))
    assert again["ketamine--multiple-sclerosis"] == english["ketamine--multiple-sclerosis"]


@pytest.mark.skipif(not is_postgres(), reason="PostgreSQL text-search configurations")
async def test_postgresql_stems_a_translation_in_its_language(api: Api) -> None:
    # "seguros" is not in any page; the Spanish titles say "seguro" (stem "segur").
    pages = by_slug(await search(api, "seguros", "es"))
    assert pages and all(p["locale"] == "es" for p in pages.values()), pages
    assert "ketamine--als" in pages
    assert (await search(api, "seguros"))["totalCount"] == 0


async def test_a_spanish_approval_purges_spanish_searches_only(api: Api, demo_url: str) -> None:
    """Approved by another process (its change-log entry read by the poller): the Spanish
    search is answered again with the new Spanish page, the English one stays cached."""
    reads = {tag: (SEARCH, {"q": "ketamine", "locale": tag, "first": 100}) for tag in ("en", "es")}
    before = {}
    for tag, (query, variables) in reads.items():
        await persisted_get(api, query, variables)
        before[tag] = await persisted_get(api, query, variables)
        assert before[tag].headers["x-cache"] == "HIT", tag
    # The answers' keys: a Spanish search is built from Spanish and English pages.
    keys = {tag: set(r.headers["surrogate-key"].split()) for tag, r in before.items()}
    assert {"list:search:es", "list:search:en"} <= keys["es"]
    assert "list:search:en" in keys["en"] and not any(k.endswith(":es") for k in keys["en"])
    poller = ChangePoller(api.app.state.compendium.database, api.app.state.compendium.cache, 60)
    await poller.poll()  # (notes the current position)

    publish_spanish(demo_url, "ketamine", "multiple-sclerosis")
    assert await poller.poll() >= 1

    english = await persisted_get(api, *reads["en"])
    assert english.headers["x-cache"] == "HIT"
    assert answer(english) == answer(before["en"])
    spanish = await persisted_get(api, *reads["es"])
    assert spanish.headers["x-cache"] == "MISS"
    page = by_slug(spanish.json()["data"]["search"])["ketamine--multiple-sclerosis"]
    assert page["locale"] == "es" and page["isFallback"] is False


async def test_a_spanish_search_costs_the_same_statements_whatever_its_size(api: Api) -> None:
    query = """query S($first: Int!) { search(query: "ketamine ketamina", first: $first,
      locale: "es") { edges { node { __typename ... on Review { title locale compound { name } }
      ... on Compound { name } } } } }"""
    counts = {}
    for first in (5, 15):  # (both mix compounds, Spanish pages and English fallbacks)
        api.statements.clear()
        data = await api.data(query, {"first": first})
        assert len(data["search"]["edges"]) == first
        assert {e["node"].get("locale") for e in data["search"]["edges"]} >= {"es", "en"}
        counts[first] = len(api.statements)
    assert counts[5] == counts[15] <= 10, counts
