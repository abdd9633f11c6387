"""The subtree cache (server/subtrees.py): answers below a published revision are reused
by their selection's shape, and are exactly what executing them again would give."""

from __future__ import annotations

import uuid
from typing import Any

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.workflow import approve, edit_fact

PAGE = """query Page($slug: String!, $format: TextFormat!) { review(slug: $slug) {
  title revision compound { name citations { value } } evidence { notes citations { url } }
  sections { key body(format: $format) } seo { jsonLd } text(format: PLAIN) } }"""
STALE = 'query S { review(slug: "ketamine--neuropathic-pain") { title isStale } }'
LIST = "query L { reviews(first: 30, orderBy: SLUG_ASC) { edges { node { slug title text } } } }"


def tokens(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with session_scope(engine) as session:
        out = {
            role: create_token(session, f"{role}-{uuid.uuid4().hex[:6]}", role)[0]
            for role in ("editor", "reviewer")
        }
    engine.dispose()
    return out


async def answers(api: Api, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = await api.post(query, variables)
    payload = response.json()
    assert response.status_code == 200 and "errors" not in payload, payload
    return payload


async def test_a_reused_subtree_is_exactly_a_fresh_execution(make_api: Any) -> None:
    cached: Api = await make_api(response_cache=False)
    fresh: Api = await make_api(response_cache=False, subtree_cache_bytes=0)
    subtrees = cached.app.state.compendium.subtrees
    for slug in ("ketamine--als", "lithium--als"):
        for fmt in ("HTML", "MARKDOWN", "HTML"):
            variables = {"slug": slug, "format": fmt}
            got = await answers(cached, PAGE, variables)
            want = await answers(fresh, PAGE, variables)
            assert got["data"] == want["data"]
            # Hits are charged what the subtree cost when it was executed.
            assert got["extensions"]["cost"]["actual"] == want["extensions"]["cost"]["actual"]
    # The third request of each slug (HTML again) was the only hit: the variable the
    # subtree reads (the format) is part of its key.
    assert subtrees.hits == 2
    assert fresh.app.state.compendium.subtrees.hits == 0


async def test_a_list_reuses_the_pages_it_holds(make_api: Any) -> None:
    api: Api = await make_api(response_cache=False)
    first = await answers(api, LIST)
    subtrees = api.app.state.compendium.subtrees
    assert subtrees.hits == 0 and len(subtrees.entries) == 30
    again = await answers(api, LIST)
    assert again["data"] == first["data"] and subtrees.hits == 30
    # The statements of a list whose pages are all reused: the count and the page, and
    # the revisions and fact versions of the views (as many whatever the page size).
    api.statements.clear()
    await answers(api, LIST)
    assert len(api.statements) <= 4, api.statements


async def test_volatile_fields_and_new_revisions_are_never_served_stale(
    make_api: Any, demo_url: str
) -> None:
    api: Api = await make_api(response_cache=False)
    secrets = tokens(demo_url)
    page = {"slug": "ketamine--als", "format": "HTML"}
    before = await answers(api, PAGE, page)
    assert (await answers(api, STALE))["data"]["review"]["isStale"] is False
    assert (await answers(api, STALE))["data"]["review"]["isStale"] is False
    await edit_fact(api, secrets["editor"], "compound", "ketamine", name="Ketamine (renamed)")
    await approve(api, secrets["editor"], secrets["reviewer"], "ketamine--als")
    # isStale follows the approval of another page's facts: never taken from the cache.
    assert (await answers(api, STALE))["data"]["review"]["isStale"] is True
    # The approved page is a new revision: a new key, the new facts.
    after = await answers(api, PAGE, page)
    assert after["data"]["review"]["compound"]["name"] == "Ketamine (renamed)"
    assert after["data"]["review"]["revision"] == before["data"]["review"]["revision"] + 1


async def test_the_byte_limit_holds_on_reused_subtrees(make_api: Any) -> None:
    query = "query Big { reviews(first: 100) { edges { node { slug text(format: HTML) } } } }"
    roomy: Api = await make_api(response_cache=False)
    await answers(roomy, query)  # fills the cache
    assert roomy.app.state.compendium.subtrees.entries
    tight: Api = await make_api(response_cache=False, max_response_bytes=50_000)
    tight.app.state.compendium.subtrees = roomy.app.state.compendium.subtrees
    response = await tight.post(query)
    error = response.json()["errors"][0]
    assert response.status_code == 400 and error["extensions"]["code"] == "RESPONSE_TOO_LARGE"
