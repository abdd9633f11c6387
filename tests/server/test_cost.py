"""The cost of a query (server/cost.py) and what execution measures (server/metering.py):
linear in the document, resolved from variables and their defaults, directives and
fragments followed, weights for the heavy fields, the actual cost reported, and a limit on
the bytes an answer may have. CPU is measured with time.process_time() around real
requests to the real app; the bounds are generous (a noisy 2-core machine)."""

from __future__ import annotations

import gc
import time
from typing import Any

import httpx
from graphql import get_introspection_query

from tests.conftest import Api

HEAVY = "text(format: HTML) seo { jsonLd }"
# Generous: what took 12-14 s of CPU before must take a small fraction of a second.
CPU_BOUND = 0.5


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]  # type: ignore[no-any-return]


def cost_of(response: httpx.Response) -> dict[str, Any]:
    return response.json()["extensions"]["cost"]  # type: ignore[no-any-return]


async def timed(
    api: Api, query: str, variables: dict[str, Any] | None = None
) -> tuple[httpx.Response, float]:
    gc.collect()  # the request's own CPU, not a collection of earlier tests' garbage
    started = time.process_time()
    response = await api.post(query, variables)
    return response, time.process_time() - started


def fragment_bomb(levels: int) -> str:
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query Bomb {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"


async def test_a_fragment_bomb_is_refused_at_once(api: Api) -> None:
    # 1.2 KB, 24 levels: 2^24 spreads of __typename. The cost walk used to expand every
    # spread (12.5 s of CPU on the event loop); each fragment is now costed once.
    response, cpu = await timed(api, fragment_bomb(24))
    assert response.status_code == 400 and code_of(response) == "QUERY_TOO_COMPLEX"
    ext = response.json()["errors"][0]["extensions"]
    assert ext["measure"] == "cost" and ext["value"] == 2**24
    assert cpu < CPU_BOUND, f"{cpu:.2f} s of CPU"
    # Twice as many levels cost no more time: linear in the document, not in its expansion.
    deeper, cpu = await timed(api, fragment_bomb(60))
    assert code_of(deeper) == "QUERY_TOO_COMPLEX" and cpu < CPU_BOUND, f"{cpu:.2f} s of CPU"


async def test_a_fragment_of_aliases_counts_once_per_spread(api: Api) -> None:
    aliases = " ".join(f'r{i}: review(slug: "ketamine--als") {{ slug }}' for i in range(8))
    query = f"query A {{ ...F ...G }} fragment F on Query {{ {aliases} }} fragment G on Query {{ ...F ...F ...F }}"
    response = await api.post(query)
    ext = response.json()["errors"][0]["extensions"]
    assert (ext["code"], ext["measure"], ext["value"]) == (
        "QUERY_TOO_COMPLEX",
        "number of aliases",
        32,
    )


async def test_variable_defaults_are_costed_like_the_values_they_stand_for(make_api: Any) -> None:
    api: Api = await make_api(max_query_cost=2_000)
    query = (
        "query D($n: Int = 100) { reviews(first: $n) { edges { node { text(format: HTML) } } } }"
    )
    defaulted = await api.post(query)  # no variables sent: $n is its default, 100
    assert defaulted.status_code == 400 and code_of(defaulted) == "QUERY_TOO_COMPLEX"
    sent = await api.post(query, {"n": 100})
    assert (
        sent.json()["errors"][0]["extensions"]["value"]
        == (defaulted.json()["errors"][0]["extensions"]["value"])
    )
    small = await api.post(query, {"n": 5})
    assert small.status_code == 200 and len(small.json()["data"]["reviews"]["edges"]) == 5
    # A literal is read as it is, and `first` past the largest page is that page's cost
    # (the field refuses it: BAD_USER_INPUT on `first`, not QUERY_TOO_COMPLEX).
    literal = "query L { reviews(first: 3) { edges { node { text(format: HTML) } } } }"
    answered = await api.post(literal)
    assert answered.status_code == 200 and len(answered.json()["data"]["reviews"]["edges"]) == 3
    past = await api.post("query P { reviews(first: 101) { totalCount } }")
    assert code_of(past) == "BAD_USER_INPUT"


async def test_skip_include_and_inline_fragments_are_followed(make_api: Any) -> None:
    api: Api = await make_api(max_query_cost=2_000)
    inner = "{ edges { node { text(format: HTML) } } }"
    skippable = (
        f"query S($skip: Boolean = true) {{ __typename "
        f"reviews(first: 100) @skip(if: $skip) {inner} }}"
    )
    skipped = await api.post(skippable)
    assert skipped.status_code == 200 and cost_of(skipped)["requested"] == 1
    assert code_of(await api.post(skippable, {"skip": False})) == "QUERY_TOO_COMPLEX"
    excluded = await api.post(
        f"query I {{ __typename reviews(first: 100) @include(if: false) {inner} }}"
    )
    assert excluded.status_code == 200 and cost_of(excluded)["requested"] == 1
    spread = await api.post(
        f"query F {{ __typename ...Heavy @include(if: false) }} "
        f"fragment Heavy on Query {{ reviews(first: 100) {inner} }}"
    )
    assert spread.status_code == 200 and cost_of(spread)["requested"] == 1
    inline = await api.post(
        "query F { reviews(first: 100) { edges { node { ... on Review { text(format: HTML) } } } } }"
    )
    plain = await api.post(f"query P {{ reviews(first: 100) {inner} }}")
    assert code_of(inline) == code_of(plain) == "QUERY_TOO_COMPLEX"
    assert (
        inline.json()["errors"][0]["extensions"]["value"]
        == plain.json()["errors"][0]["extensions"]["value"]
    )


async def test_rendered_text_and_rows_cost_what_they_cost(api: Api) -> None:
    slugs = await api.post("query S { reviews(first: 10) { edges { node { slug } } } }")
    texts = await api.post(
        "query T { reviews(first: 10) { edges { node { text(format: HTML) } } } }"
    )
    totals = await api.post("query C { reviews(first: 10) { totalCount } }")
    # A rendered page costs about 25 times a scalar; the rows of a page cost whatever is
    # selected (loading them is the work), and lookups by key are not free.
    assert cost_of(texts)["requested"] - cost_of(slugs)["requested"] == 10 * 27
    assert cost_of(totals)["requested"] >= 10 * 5
    one = await api.post('query R { review(slug: "ketamine--als") { slug } }')
    assert cost_of(one)["requested"] == 21


async def test_the_attackers_heavy_aliases_are_refused(api: Api) -> None:
    # 30 aliases x 100 reviews x the page in HTML and its JSON-LD: accepted before (cost
    # 15,030 of 20,000), 1.3-2.3 s of CPU and 22-36 MB per request.
    fields = " ".join(
        f"a{i}: reviews(first: 100) {{ edges {{ node {{ {HEAVY} }} }} }}" for i in range(30)
    )
    response, cpu = await timed(api, f"query Heavy {{ {fields} }}")
    assert response.status_code == 400 and code_of(response) == "QUERY_TOO_COMPLEX"
    assert cpu < CPU_BOUND
    # Ten 100-review HTML lists in one request (7.4 MB before): refused too.
    lists = " ".join(
        f"l{i}: reviews(first: 100) {{ edges {{ node {{ text(format: HTML) }} }} }}"
        for i in range(10)
    )
    assert code_of(await api.post(f"query Lists {{ {lists} }}")) == "QUERY_TOO_COMPLEX"


async def test_cost_is_reported_requested_and_actual(api: Api) -> None:
    query = 'query Page { review(slug: "ketamine--als") { title sections { key body } faq { question } } }'
    first = await api.post(query)
    cost = cost_of(first)
    assert set(cost) == {"requested", "actual", "throttleStatus"}
    # Lists are estimated at 10 items; the actual cost counts the real ones.
    page = first.json()["data"]["review"]
    items = len(page["sections"]) + len(page["faq"])
    assert (
        cost["actual"]
        == 20 + 1 + 1 + len(page["sections"]) * (1 + 1 + 4) + 1 + len(page["faq"]) * 2
    )
    assert cost["actual"] < cost["requested"] and items < 20
    # The same query from the response cache did no work for this client.
    again = await api.post(query)
    assert again.headers["x-cache"] == "HIT"
    assert cost_of(again)["requested"] == cost["requested"] and cost_of(again)["actual"] == 0


async def test_an_answer_past_the_byte_limit_is_refused_whole(make_api: Any) -> None:
    api: Api = await make_api(max_response_bytes=50_000)
    query = "query Big { reviews(first: 100) { edges { node { slug text(format: HTML) } } } }"
    response, cpu = await timed(api, query)
    assert response.status_code == 400, response.text[:500]
    payload = response.json()
    assert "data" not in payload and code_of(response) == "RESPONSE_TOO_LARGE"
    assert payload["errors"][0]["extensions"]["limit"] == 50_000 and len(payload["errors"]) == 1
    assert len(response.content) < 2_000 and cpu < CPU_BOUND
    # Execution stopped at the limit: far less work than the whole answer.
    assert payload["extensions"]["cost"]["actual"] < payload["extensions"]["cost"]["requested"] / 2
    legacy = await api.client.post(
        "/graphql", json={"query": query}, headers={"accept": "application/json"}
    )
    assert legacy.status_code == 200 and code_of(legacy) == "RESPONSE_TOO_LARGE"
    # Smaller answers are unaffected.
    assert (
        await api.post("query Small { reviews(first: 2) { edges { node { slug } } } }")
    ).status_code == 200


async def test_graphiqls_introspection_fits_an_anonymous_request(api: Api) -> None:

    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    response, cpu = await timed(api, query)
    assert response.status_code == 200 and response.json()["data"]["__schema"]["types"]
    assert response.json()["extensions"]["cost"]["requested"] < 5_000 and cpu < CPU_BOUND
    # Walking the type graph instead grows at each step: refused (graphql-core's validation
    # bounds nested `fields`; the cost counts the largest type at each jump).
    nested = '{ __type(name: "Query") { fields { type { fields { type { fields { name } } } } } } }'
    refused, cpu = await timed(api, nested)
    assert refused.status_code == 400 and cpu < CPU_BOUND
