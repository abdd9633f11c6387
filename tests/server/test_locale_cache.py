"""Caching and sync per locale (issue 16 item 5): a review entry of the change log carries
its page's locale and the feed is per locale (records in every locale's); cache tags of
lists, search and the feed are per locale, so approving a translation purges only its
locale's cached answers, and approving a default-locale page leaves another locale's."""

from __future__ import annotations

from collections.abc import Callable
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
from tests.server.editing import PUBLISH, Client, submit_with
from tests.server.reader_paths import answer, persisted_get
from tests.server.test_locale_signoff import SLUG as SIGNOFF_SLUG
from tests.server.test_locale_signoff import publish_spanish, review_row, spanish_in_review
from tests.workflow import publish_elsewhere

SLUG = "ketamine--als"
PAGE = "query Page($slug: String!) { review(slug: $slug) { slug title text(format: PLAIN) } }"
LIST = "query List { reviews(first: 5, orderBy: SLUG_ASC) { edges { node { slug title } } } }"
PAGE_IN = (
    "query PageIn($slug: String!, $locale: String) { review(slug: $slug, locale: $locale) "
    "{ slug locale isFallback title text(format: PLAIN) } }"
)
LIST_IN = (
    "query ListIn($locale: String) { reviews(first: 5, orderBy: SLUG_ASC, locale: $locale) "
    "{ edges { node { slug locale title } } } }"
)
SEARCH = (
    "query Search($q: String!, $locale: String) { search(query: $q, locale: $locale) "
    "{ totalCount edges { node { __typename ... on Review { slug locale } } } } }"
)
OTHER = "ketamine--neuropathic-pain"  # translated in the demo
UNTRANSLATED = "lithium--als"  # es readers get the en page
NEW_ES = SIGNOFF_SLUG  # not translated in the demo: test_locale_signoff's Spanish page
FEED = (
    "query Feed($since: String, $locale: String) { changes(since: $since, first: 100, "
    "locale: $locale) { cursor hasMore changes { op entity slug locale "
    "node { __typename ... on Review { title } ... on Compound { name } } } } }"
)
# Another shape of the feed (never cached by the tests before it is read): what the
# database holds now, whatever a cached answer says.
ENTRIES = (
    "query Entries($since: String, $locale: String) { changes(since: $since, first: 100, "
    "locale: $locale) { cursor hasMore changes { entity slug op locale } } }"
)


def publish_translation(url: str, slug: str, locale: str = "es") -> int:
    """Another process (the CLI, another worker) generates ``locale``'s pages and a
    reviewer's approval of one of them goes straight through the database. Its id."""
    engine = make_engine(url)
    try:
        generate(engine, locale=locale, parallel=1)
        with session_scope(engine) as session:
            review_id = int(
                session.execute(
                    text("SELECT id FROM review WHERE slug = :slug AND locale = :locale"),
                    {"slug": slug, "locale": locale},
                ).scalar_one()
            )
            publish_reviews(
                session, [review_id], "Dr. Demo Translator (fictional)", utcnow(), timedelta(365)
            )
    finally:
        engine.dispose()
    return review_id


async def read_feed(api: Api, since: str | None, locale: str | None) -> tuple[list[Any], str]:
    """Every entry of ``locale``'s feed after ``since`` (page by page, by POST), and the
    cursor at its end."""
    out: list[Any] = []
    while True:
        page = (await api.data(ENTRIES, {"since": since, "locale": locale}))["changes"]
        out += [(c["entity"], c["slug"], c["op"], c["locale"]) for c in page["changes"]]
        since = page["cursor"]
        if not page["hasMore"]:
            return out, page["cursor"]


async def feed_end(api: Api, locale: str | None = None) -> str:
    return (await read_feed(api, None, locale))[1]


async def entries(api: Api, since: str | None, locale: str | None) -> list[tuple[Any, ...]]:
    return (await read_feed(api, since, locale))[0]


async def test_the_feed_is_per_locale(api: Api, demo_url: str) -> None:
    # (Changes made straight through the database reach the cache by the poller.)
    poller = ChangePoller(api.app.state.compendium.database, api.app.state.compendium.cache, 60)
    await poller.poll()
    # A record's change is in every locale's feed, without a locale; a default-locale page
    # only in its own.
    en, es = await feed_end(api), await feed_end(api, "es")
    publish_elsewhere(demo_url, SLUG, "Ketamine (CLI)")
    assert await poller.poll() == 2
    assert await entries(api, en, None) == [
        ("COMPOUND", "ketamine", "UPSERT", None),
        ("REVIEW", SLUG, "UPSERT", "en"),
    ]
    assert await entries(api, en, "en") == await entries(api, en, None)
    assert await entries(api, es, "es") == [("COMPOUND", "ketamine", "UPSERT", None)]
    # A translation's page is in its locale's feed only.
    en, es = await feed_end(api), await feed_end(api, "es")
    publish_translation(demo_url, SLUG)
    assert await poller.poll() == 1
    assert await entries(api, es, "es") == [("REVIEW", SLUG, "UPSERT", "es")]
    assert await entries(api, en, None) == []
    assert await entries(api, en, "en") == []
    es_page = (await api.data(FEED, {"since": es, "locale": "es"}))["changes"]["changes"][0]
    assert es_page["node"]["__typename"] == "Review" and es_page["node"]["title"]
    # From the start: each feed has only its own locale's pages, and every record entry.
    whole_en = await entries(api, None, None)
    whole_es = await entries(api, None, "es")
    assert {e[3] for e in whole_en if e[0] == "REVIEW"} == {"en"}
    assert {e[3] for e in whole_es if e[0] == "REVIEW"} == {"es"}
    assert (SLUG, "es") in {(e[1], e[3]) for e in whole_es}
    # (Pages differ between the two feeds, and so which entries of a record a page collapses.)
    records = {e[:2] for e in whole_en if e[0] != "REVIEW"}
    assert records and {e[:2] for e in whole_es if e[0] != "REVIEW"} == records
    assert {e[3] for e in whole_es if e[0] != "REVIEW"} == {None}


@pytest.mark.parametrize("locale", ["xx", "not a tag", "es-MX", "ES", ""])
async def test_an_unknown_locale_is_bad_user_input(api: Api, locale: str) -> None:
    response = await api.post(ENTRIES, {"since": None, "locale": locale})
    payload = response.json()
    assert payload.get("data") is None, payload
    (error,) = payload["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "locale"


async def test_another_process_approving_a_translation_purges_only_its_locale(
    api: Api, demo_url: str, purged: list[list[str]]
) -> None:
    cache = api.app.state.compendium.cache
    reads = {
        "en page": (PAGE, {"slug": SLUG}),
        "en list": (LIST, {}),
        "en feed": (FEED, {"since": await feed_end(api), "locale": None}),
        "es feed": (FEED, {"since": await feed_end(api, "es"), "locale": "es"}),
        "es page": (PAGE_IN, {"slug": SLUG, "locale": "es"}),
        "other es page": (PAGE_IN, {"slug": OTHER, "locale": "es"}),
        "es list": (LIST_IN, {"locale": "es"}),
        "es fallback": (PAGE_IN, {"slug": UNTRANSLATED, "locale": "es"}),
    }
    before = {}
    for name, (query, variables) in reads.items():
        await persisted_get(api, query, variables)
        again = await persisted_get(api, query, variables)
        assert again.headers["x-cache"] == "HIT", name
        before[name] = again
    poller = ChangePoller(api.app.state.compendium.database, cache, 60, ["en", "es"])
    await poller.poll()  # notes the current position

    es_id = publish_translation(demo_url, SLUG)
    assert await poller.poll() == 1  # the es page's entry (its facts' translations: no entry)

    for name in ("en page", "en list", "en feed", "other es page"):
        after = await persisted_get(api, *reads[name])
        assert after.headers["x-cache"] == "HIT", name
        assert answer(after) == answer(before[name]), name
        assert after.headers["etag"] == before[name].headers["etag"], name
    # The approved page, the es list (built from es and en pages) and the es answers that
    # fell back (the page could now be approved in es) are read again.
    for name in ("es page", "es list", "es fallback"):
        assert (await persisted_get(api, *reads[name])).headers["x-cache"] == "MISS", name
    es_feed = await persisted_get(api, *reads["es feed"])
    assert es_feed.headers["x-cache"] == "MISS"
    changes = es_feed.json()["data"]["changes"]["changes"]
    assert [(c["entity"], c["slug"], c["locale"]) for c in changes] == [("REVIEW", SLUG, "es")]
    assert changes[0]["node"]["title"]
    # The CDN is purged of the es page and the es lists, search and feed: nothing en.
    await cache.purges.join()
    assert purged == [
        sorted(
            [
                f"review:{es_id}",
                "list:reviews:es",
                "list:search:es",
                "changes:es",
                "translations:es",
            ]
        )
    ]
    # The en answers carry en keys only (the Surrogate-Key a CDN purges by).
    for name in ("en list", "en feed"):
        keys = before[name].headers["surrogate-key"].split()
        assert not any(k.endswith(":es") for k in keys), (name, keys)
    assert "changes:en" in before["en feed"].headers["surrogate-key"].split()
    assert "list:reviews:en" in before["en list"].headers["surrogate-key"].split()
    assert before["es feed"].headers["surrogate-key"].split() == ["changes:es"]
    es_list = before["es list"].headers["surrogate-key"].split()
    assert {"list:reviews:es", "list:reviews:en"} <= set(es_list)
    fallback = before["es fallback"]
    assert fallback.json()["data"]["review"]["isFallback"] is True
    assert "list:reviews:es" in fallback.headers["surrogate-key"].split()
    assert before["other es page"].json()["data"]["review"]["isFallback"] is False
    assert "list:reviews:es" not in before["other es page"].headers["surrogate-key"].split()


async def test_approving_a_default_locale_page_leaves_another_locales_feed_cached(
    api: Api, as_role: Callable[[str | None], Client], purged: list[list[str]]
) -> None:
    """Through the publishReview mutation (the purge after its commit): an en approval that
    makes no new facts public purges the en page, lists, search and feed, not es's."""
    cache = api.app.state.compendium.cache
    since, es_since = await feed_end(api), await feed_end(api, "es")
    es_read = (FEED, {"since": es_since, "locale": "es"})
    await persisted_get(api, *es_read)
    es_before = await persisted_get(api, *es_read)
    en_read = (FEED, {"since": since, "locale": None})
    await persisted_get(api, *en_read)
    assert es_before.headers["x-cache"] == "HIT"

    rev = await submit_with(as_role("editor"), "INTRO", "An approved new introduction.")
    await as_role("reviewer").data(PUBLISH, {"slug": SLUG, "rev": rev})

    es_after = await persisted_get(api, *es_read)
    assert es_after.headers["x-cache"] == "HIT" and answer(es_after) == answer(es_before)
    assert await entries(api, es_since, "es") == []
    en_after = await persisted_get(api, *en_read)
    assert en_after.headers["x-cache"] == "MISS"
    en_changes = en_after.json()["data"]["changes"]["changes"]
    assert [(c["entity"], c["slug"], c["locale"]) for c in en_changes] == [("REVIEW", SLUG, "en")]
    await cache.purges.join()
    assert len(purged) == 1
    assert sorted(k for k in purged[0] if not k.startswith("review:")) == [
        "changes:en",
        "list:reviews:en",
        "list:search:en",
    ]


async def test_a_reviewers_spanish_approval_purges_only_spanish_entries(
    api: Api, as_role: Callable[[str | None], Client], purged: list[list[str]]
) -> None:
    """Through the publishReview mutation (the purge after its commit): the first Spanish
    page of a pair purges the es answers that fell back to English, the es lists and feed;
    the en answers and the other es pages stay cached, byte-identical."""
    cache = api.app.state.compendium.cache
    reads = {
        "en page": (PAGE, {"slug": NEW_ES}),
        "en page, other": (PAGE, {"slug": SLUG}),
        "en list": (LIST, {}),
        "en feed": (FEED, {"since": await feed_end(api), "locale": None}),
        "es page, other": (PAGE_IN, {"slug": SLUG, "locale": "es"}),
        "es fallback": (PAGE_IN, {"slug": NEW_ES, "locale": "es"}),
        "es list": (LIST_IN, {"locale": "es"}),
        "es feed": (FEED, {"since": await feed_end(api, "es"), "locale": "es"}),
        "en search": (SEARCH, {"q": "ketamine", "locale": None}),
        "es search": (SEARCH, {"q": "ketamine", "locale": "es"}),
    }
    before = {}
    for name, (query, variables) in reads.items():
        await persisted_get(api, query, variables)
        before[name] = await persisted_get(api, query, variables)
        assert before[name].headers["x-cache"] == "HIT", name
    assert before["es fallback"].json()["data"]["review"]["isFallback"] is True

    rev = await spanish_in_review(as_role("editor"))
    assert (await publish_spanish(as_role("reviewer"), NEW_ES, rev))["locale"] == "es"

    for name in ("en page", "en page, other", "en list", "en feed", "en search", "es page, other"):
        after = await persisted_get(api, *reads[name])
        assert after.headers["x-cache"] == "HIT", name
        assert answer(after) == answer(before[name]), name
    for name in ("es fallback", "es list", "es feed", "es search"):
        assert (await persisted_get(api, *reads[name])).headers["x-cache"] == "MISS", name
    page = (await persisted_get(api, *reads["es fallback"])).json()["data"]["review"]
    assert (page["locale"], page["isFallback"]) == ("es", False)
    feed = (await persisted_get(api, *reads["es feed"])).json()["data"]["changes"]["changes"]
    assert [(c["entity"], c["slug"], c["locale"]) for c in feed] == [("REVIEW", NEW_ES, "es")]
    await cache.purges.join()
    es_id = int(review_row(str(api.app.state.compendium.settings.database_url), NEW_ES, "es").id)
    assert purged == [
        sorted(
            [
                f"review:{es_id}",
                "list:reviews:es",
                "list:search:es",
                "changes:es",
                "translations:es",
            ]
        )
    ]
