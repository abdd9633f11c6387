"""Reviews per locale, read side (issue 16): a reader asking for a locale gets the page a
reviewer approved in it, or the next locale of its chain, marked; lists give each page
once; a translation turns stale when its source is approved with other text.

The demo database has Spanish pages for the pairs its demo translation covers
(`compendium demo` with COMPENDIUM_LOCALES=en,es, tests/conftest.py), ketamine--als
among them, and none for metformin--lupus.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from db.engine import make_engine
from editorial.generation import generate
from tests.conftest import Api
from tests.server.editing import PUBLISH, SLUG, Client, submit_with

PAGE = """
query Page($slug: String!, $locale: String) {
  review(slug: $slug, locale: $locale) {
    slug locale requestedLocale isFallback title
    compound { name } condition { name }
    byline { notice }
    seo { inLanguage canonicalPath jsonLd alternates { locale canonicalPath } }
    translations { locale status isStale }
  }
}
"""
EN_PAGE = """
query Page($slug: String!) {
  review(slug: $slug) { title text(format: HTML) seo { jsonLd } }
}
"""
EN_PAGE_WITH_LOCALE = """
query Page($slug: String!) {
  review(slug: $slug, locale: "en") { title text(format: HTML) seo { jsonLd } }
}
"""
LIST = """
query List($locale: String, $first: Int) {
  reviews(locale: $locale, first: $first, filter: {compound: ["ketamine"]}, orderBy: SLUG_ASC) {
    totalCount edges { node { slug locale isFallback } }
  }
}
"""
STALE_ES = """
query {
  reviews(locale: "es", filter: {stale: true}, first: 50) { edges { node { slug locale status } } }
}
"""
NOT_TRANSLATED = "metformin--lupus"


async def test_a_reader_gets_the_spanish_page_a_reviewer_approved(api: Api) -> None:
    page = (await api.data(PAGE, {"slug": SLUG, "locale": "es"}))["review"]
    assert (page["locale"], page["requestedLocale"], page["isFallback"]) == ("es", "es", False)
    assert page["title"].startswith("¿Es Ketamina (IV / esketamina) seguro")
    # The facts around the page are the Spanish ones approved with it.
    assert page["compound"]["name"] == "Ketamina (IV / esketamina)"
    assert "Traducción de demostración" in page["byline"]["notice"]
    seo = page["seo"]
    assert (seo["inLanguage"], seo["canonicalPath"]) == ("es", "/es/reviews/ketamine--als")
    assert seo["jsonLd"]["@graph"][0]["inLanguage"] == "es"
    assert seo["alternates"] == [
        {"locale": "en", "canonicalPath": "/reviews/ketamine--als"},
        {"locale": "es", "canonicalPath": "/es/reviews/ketamine--als"},
    ]
    assert [(t["locale"], t["status"], t["isStale"]) for t in page["translations"]] == [
        ("en", "PUBLISHED", False),
        ("es", "PUBLISHED", False),
    ]


async def test_without_a_spanish_page_the_reader_gets_the_english_one_marked(api: Api) -> None:
    page = (await api.data(PAGE, {"slug": NOT_TRANSLATED, "locale": "es"}))["review"]
    assert (page["locale"], page["requestedLocale"], page["isFallback"]) == ("en", "es", True)
    assert page["title"].startswith("Is Metformin Safe")
    assert page["seo"]["canonicalPath"] == f"/reviews/{NOT_TRANSLATED}"
    assert [t["locale"] for t in page["translations"]] == ["en"]
    # The same page asked for in English is not a fallback (answers are keyed apart).
    english = (await api.data(PAGE, {"slug": NOT_TRANSLATED, "locale": "en"}))["review"]
    assert (english["locale"], english["isFallback"]) == ("en", False)


async def test_english_pages_are_what_they_were(api: Api) -> None:
    """The default locale's page has no inLanguage and is the same with or without
    `locale: "en"` (the golden pages, tests/resolvers/test_golden.py, stay as they are)."""
    plain = await api.post(EN_PAGE, {"slug": SLUG})
    with_locale = await api.post(EN_PAGE_WITH_LOCALE, {"slug": SLUG})
    assert plain.json()["data"] == with_locale.json()["data"]
    page = plain.json()["data"]["review"]
    assert "inLanguage" not in json.dumps(page["seo"]["jsonLd"])
    assert page["title"].startswith("Is Ketamine (IV / Esketamine) Safe")


async def test_a_list_in_spanish_has_each_page_once(api: Api) -> None:
    en = (await api.data(LIST, {"locale": None, "first": 50}))["reviews"]
    es = (await api.data(LIST, {"locale": "es", "first": 50}))["reviews"]
    assert es["totalCount"] == en["totalCount"] == len(es["edges"])
    slugs = [e["node"]["slug"] for e in es["edges"]]
    assert slugs == [e["node"]["slug"] for e in en["edges"]]
    assert {e["node"]["locale"] for e in en["edges"]} == {"en"}
    spanish = {e["node"]["slug"] for e in es["edges"] if e["node"]["locale"] == "es"}
    assert SLUG in spanish and 0 < len(spanish) < len(slugs)
    assert all(e["node"]["isFallback"] == (e["node"]["slug"] not in spanish) for e in es["edges"])


async def test_statements_do_not_grow_with_a_spanish_page(api: Api) -> None:
    counts = []
    for first in (2, 12):
        api.statements.clear()
        data = await api.data(LIST, {"locale": "es", "first": first})
        assert len(data["reviews"]["edges"]) == first
        counts.append(len(api.statements))
    assert counts[0] == counts[1], counts


async def test_an_unknown_locale_is_bad_user_input(api: Api) -> None:
    for query, variables in ((PAGE, {"slug": SLUG, "locale": "xx"}), (LIST, {"locale": "ES"})):
        payload = (await api.post(query, variables)).json()
        assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", payload
        assert "en, es" in payload["errors"][0]["message"]


async def _publish_english_with_new_text(as_role: Callable[[str | None], Client]) -> None:
    editor, reviewer = as_role("editor"), as_role("reviewer")
    rev = await submit_with(editor, "INTRO", "A rewritten introduction, approved again.")
    published = await reviewer.data(PUBLISH, {"slug": SLUG, "rev": rev, "ack": []})
    assert published["publishReview"]["review"]["status"] == "PUBLISHED"


async def test_a_changed_english_source_turns_the_spanish_page_stale(
    api: Api, as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    before = (await api.data(PAGE, {"slug": SLUG, "locale": "es"}))["review"]
    assert not any(t["isStale"] for t in before["translations"])
    assert SLUG not in {
        e["node"]["slug"] for e in (await as_role("editor").data(STALE_ES))["reviews"]["edges"]
    }

    await _publish_english_with_new_text(as_role)

    after = (await api.data(PAGE, {"slug": SLUG, "locale": "es"}))["review"]
    # Readers keep the Spanish text a reviewer approved, told it is behind its source.
    assert (after["locale"], after["title"]) == ("es", before["title"])
    assert {t["locale"]: t["isStale"] for t in after["translations"]} == {"en": False, "es": True}
    stale = (await as_role("editor").data(STALE_ES))["reviews"]["edges"]
    assert {(e["node"]["slug"], e["node"]["locale"]) for e in stale} >= {(SLUG, "es")}

    # Regenerated from the new source: a draft to approve again; readers still get the
    # approved Spanish page, still marked stale until a reviewer approves the new one.
    engine = make_engine(demo_url)
    report = generate(engine, locale="es", stale_only=True, parallel=1)
    engine.dispose()
    assert report.refreshed == 1, report.summary()
    stale = (await as_role("editor").data(STALE_ES))["reviews"]["edges"]
    assert (SLUG, "es") not in {(e["node"]["slug"], e["node"]["locale"]) for e in stale}
    editor_view = (await as_role("editor").data(PAGE, {"slug": SLUG, "locale": "es"}))["review"]
    assert {t["locale"]: t["status"] for t in editor_view["translations"]}["es"] == "DRAFT"
    reader_view = (await api.data(PAGE, {"slug": SLUG, "locale": "es"}))["review"]
    assert reader_view["title"] == before["title"]
    assert {t["locale"]: t["isStale"] for t in reader_view["translations"]}["es"] is True


RECORDS = """
query Records($locale: String) {
  compound(slug: "ketamine", locale: $locale) { name drugClass }
  condition(slug: "als", locale: $locale) { name }
  compounds(locale: $locale, filter: {slugs: ["ketamine", "amitriptyline"]}, orderBy: SLUG_ASC) {
    edges { node { slug name } }
  }
}
"""


async def test_records_in_spanish_are_the_translations_a_reviewer_approved(
    api: Api, as_role: Callable[[str | None], Client]
) -> None:
    english = await api.data(RECORDS, {"locale": None})
    spanish = await api.data(RECORDS, {"locale": "es"})
    assert english["compound"]["name"] == "Ketamine (IV / Esketamine)"
    assert spanish["compound"]["name"] == "Ketamina (IV / esketamina)"
    assert spanish["condition"]["name"] != english["condition"]["name"]
    names = {e["node"]["slug"]: e["node"]["name"] for e in spanish["compounds"]["edges"]}
    # Amitriptyline has no Spanish page (nor translation): its English name, the fallback.
    assert names == {
        "amitriptyline": english["compounds"]["edges"][0]["node"]["name"],
        "ketamine": "Ketamina (IV / esketamina)",
    }
    # Editors get the working translations, the same here.
    editor = await as_role("editor").data(RECORDS, {"locale": "es"})
    assert editor["compound"]["name"] == "Ketamina (IV / esketamina)"


FALLBACKS = """
query F($slug: String!, $locale: String) {
  review(slug: $slug, locale: $locale) { locale fallbackFields }
}
"""


async def test_a_page_says_which_facts_fell_back_to_another_locale(
    api: Api, as_role: Callable[[str | None], Client]
) -> None:
    """The demo translates ketamine, ALS and the publisher, not the evidence notes of
    ketamine x ALS: the Spanish page shows those in English, and says so."""
    spanish = (await api.data(FALLBACKS, {"slug": SLUG, "locale": "es"}))["review"]
    assert spanish == {"locale": "es", "fallbackFields": ["evidence.notes"]}
    english = (await api.data(FALLBACKS, {"slug": SLUG, "locale": None}))["review"]
    assert english == {"locale": "en", "fallbackFields": []}
    # Editors read it off the working facts: the same here.
    editor = (await as_role("editor").data(FALLBACKS, {"slug": SLUG, "locale": "es"}))["review"]
    assert editor == spanish
