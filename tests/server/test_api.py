"""The GraphQL API through real HTTP requests to the ASGI app over a real demo database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
)

from schema import schema
from server.cli import SCHEMA_FILE, schema_sdl
from tests.conftest import Api

REVIEW_PAGE = """
query ReviewPage($slug: String!) {
  review(slug: $slug) {
    id slug title status research templateVersion isStale
    publishedAt updatedAt lastReviewedAt reviewDueAt
    byline { text notice }
    compound { slug name drugClass }
    condition { slug name fullName specialist }
    sections { key heading position origin body(format: PLAIN) }
    faq { question answer }
    seo { title description canonicalPath jsonLd }
  }
}
"""


async def test_review_page_by_slug(api: Api) -> None:
    review = (await api.data(REVIEW_PAGE, {"slug": "ketamine--als"}))["review"]
    assert review["title"].startswith("Is Ketamine (IV / Esketamine) Safe for ALS (Amyotrophic")
    assert review["status"] == "PUBLISHED" and review["research"] == "LIMITED"
    assert review["isStale"] is False
    assert review["byline"]["notice"] == "Demo content, not medically reviewed."
    assert [s["key"] for s in review["sections"]] == [
        "INTRO",
        "SAFETY_PROFILE",
        "CONSIDERATIONS",
        "LITERATURE",
        "BOTTOM_LINE",
        "DISCLAIMER",
        "CTA",
        "FAQ",
    ]
    assert review["sections"][5]["body"].startswith("Medical Disclaimer:")
    assert len(review["faq"]) == 3
    assert review["publishedAt"].endswith("+00:00")


async def test_review_by_pair_and_unknown_is_null(api: Api) -> None:
    data = await api.data(
        'query Pair { a: review(compound: "ketamine", condition: "als") { slug } '
        'b: review(slug: "no-such-review") { slug } c: review(compound: "ketamine", condition: "nope") { slug } }'
    )
    assert data == {"a": {"slug": "ketamine--als"}, "b": None, "c": None}


async def test_review_needs_slug_or_pair(api: Api) -> None:
    payload = (await api.post('query Bad { review(compound: "ketamine") { slug } }')).json()
    assert payload["data"] == {"review": None}
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_seo_json_ld_matches_the_page(api: Api) -> None:
    review = (await api.data(REVIEW_PAGE, {"slug": "ketamine--als"}))["review"]
    seo = review["seo"]
    assert seo["title"] == review["title"] and seo["canonicalPath"] == "/reviews/ketamine--als"
    graph = seo["jsonLd"]["@graph"]
    page = next(g for g in graph if g["@type"] == "MedicalWebPage")
    assert page["name"] == review["title"] and page["description"] == seo["description"]
    types = {a["@type"]: a["name"] for a in page["about"]}
    assert types == {
        "Drug": review["compound"]["name"],
        "MedicalCondition": review["condition"]["fullName"],
    }
    faq = next(g for g in graph if g["@type"] == "FAQPage")
    assert [q["name"] for q in faq["mainEntity"]] == [f["question"] for f in review["faq"]]
    assert [q["acceptedAnswer"]["text"] for q in faq["mainEntity"]] == [
        f["answer"] for f in review["faq"]
    ]


async def test_text_plain_is_the_page(api: Api) -> None:
    data = await api.data(
        'query T { review(slug: "ketamine--als") { title text(format: PLAIN) html: text(format: HTML) } }'
    )
    lines = data["review"]["text"].splitlines()
    assert lines[0] == data["review"]["title"]
    assert "Frequently Asked Questions" in lines and not any(
        line.startswith(("- ", "•")) for line in lines
    )
    assert data["review"]["html"].startswith("<article>")


async def test_section_by_key_and_blocks(api: Api) -> None:
    data = await api.data(
        'query S { review(slug: "ketamine--als") { section(key: CONSIDERATIONS) { heading blocks { __typename '
        "... on ListBlock { items { text spans { text bold } } } ... on ParagraphBlock { text } } } } }"
    )
    blocks = data["review"]["section"]["blocks"]
    lists = [b for b in blocks if b["__typename"] == "ListBlock"]
    assert lists[0]["items"][0]["spans"][0] == {"text": "Drug interactions:", "bold": True}


async def test_reviews_pagination_and_total(api: Api) -> None:
    query = """query List($after: String) { reviews(first: 50, after: $after, orderBy: SLUG_ASC) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { slug } } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await api.data(query, {"after": after}))["reviews"]
        seen += [e["node"]["slug"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == page["totalCount"] == len(set(seen)) >= 300
    assert seen == sorted(seen)


async def test_reviews_filters(api: Api) -> None:
    data = await api.data(
        'query F { reviews(first: 100, filter: {compound: ["ketamine"], research: SPECIFIC}) '
        "{ totalCount edges { node { research compound { slug } } } } }"
    )
    nodes = [e["node"] for e in data["reviews"]["edges"]]
    assert nodes and data["reviews"]["totalCount"] == len(nodes)
    assert all(n["research"] == "SPECIFIC" and n["compound"]["slug"] == "ketamine" for n in nodes)


async def test_first_is_capped(api: Api) -> None:
    payload = (await api.post("query Big { reviews(first: 101) { totalCount } }")).json()
    assert payload["data"] is None
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 100" in payload["errors"][0]["message"]


async def test_bad_cursor(api: Api) -> None:
    payload = (await api.post('query C { reviews(after: "garbage!") { totalCount } }')).json()
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_node_round_trip(api: Api) -> None:
    data = await api.data('query N { review(slug: "ketamine--als") { id compound { id } } }')
    ids = [data["review"]["id"], data["review"]["compound"]["id"]]
    nodes = await api.data(
        "query Nodes($a: ID!, $b: ID!) { a: node(id: $a) { id ... on Review { slug } } "
        'b: node(id: $b) { id ... on Compound { slug } } c: node(id: "bm9wZQ") { id } }',
        {"a": ids[0], "b": ids[1]},
    )
    assert nodes["a"]["slug"] == "ketamine--als" and nodes["b"]["slug"] == "ketamine"
    assert nodes["c"] is None


async def test_compounds_and_conditions(api: Api) -> None:
    data = await api.data(
        'query C { compounds(first: 5, filter: {name: "keta"}) { totalCount edges { node { slug aliases citations { kind } } } } '
        'conditions(first: 100) { totalCount edges { node { slug fullName } } } compound(slug: "nope") { slug } '
        'condition(slug: "als") { fullName specialist } }'
    )
    assert data["compounds"]["edges"][0]["node"]["slug"] == "ketamine"
    assert data["conditions"]["totalCount"] >= 12
    assert data["compound"] is None
    assert data["condition"]["fullName"] == "ALS (Amyotrophic Lateral Sclerosis)"


@pytest.mark.parametrize(
    "text", ['"', "*", "NEAR", ")", 'ketamine NEAR( "als*', "AND OR NOT", "^-:", "ke\u0001t"]
)
async def test_search_treats_syntax_as_text(api: Api, text: str) -> None:
    data = await api.data(
        "query S($q: String!) { search(query: $q) { totalCount edges { score } } }", {"q": text}
    )
    assert data["search"]["totalCount"] >= 0


async def test_nul_is_refused_with_its_path(api: Api) -> None:
    # No database text can hold NUL (PostgreSQL refuses it): refused before execution.
    response = await api.post(
        "query S($q: String!) { search(query: $q) { totalCount } }", {"q": "ke\u0000t"}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"] == [
        {"path": "variables.q", "message": "contains a NUL character"}
    ]


async def test_search_ranks_and_finds_aliases(api: Api) -> None:
    data = await api.data(
        'query S { search(query: "ketamine") { edges { node { __typename ... on Compound { slug } ... on Review { slug } } } } '
        'alias: search(query: "spravato") { edges { node { __typename ... on Compound { slug } } } } }'
    )
    first = data["search"]["edges"][0]["node"]
    assert first == {"__typename": "Compound", "slug": "ketamine"}
    assert any(e["node"]["__typename"] == "Review" for e in data["search"]["edges"])
    assert {"__typename": "Compound", "slug": "ketamine"} in [
        e["node"] for e in data["alias"]["edges"]
    ]


async def test_list_query_count_is_constant(api: Api) -> None:
    query = """query Lists($first: Int!) { reviews(first: $first) { edges { node {
        compound { name } condition { name } sections { heading } } } } }"""
    counts = {}
    for first in (1, 10, 100):
        api.statements.clear()
        data = await api.data(query, {"first": first})
        assert len(data["reviews"]["edges"]) == first
        counts[first] = len(api.statements)
    assert counts[1] == counts[10] == counts[100] <= 5, counts


# --- HTTP and bad input ----------------------------------------------------------------------


async def test_get_query(api: Api) -> None:
    r = await api.client.get(
        "/graphql",
        params={
            "query": "query G($s: String!) { review(slug: $s) { slug } }",
            "variables": json.dumps({"s": "ketamine--als"}),
        },
        headers={"accept": "application/graphql-response+json"},
    )
    assert r.status_code == 200
    assert r.json() == {
        "data": {"review": {"slug": "ketamine--als"}},
        # A lookup by key (20 points) and a scalar (1); a full budget less what it took.
        "extensions": {
            "cost": {
                "requested": 21,
                "actual": 21,
                "throttleStatus": {
                    "maximumAvailable": 50000,
                    "currentlyAvailable": 49979,
                    "restoreRate": 2500,
                },
            }
        },
    }
    assert r.headers["content-type"].startswith("application/graphql-response+json")


async def test_malformed_json(api: Api) -> None:
    r = await api.client.post(
        "/graphql",
        content=b'{"query": ',
        headers={"content-type": "application/json", "accept": "application/graphql-response+json"},
    )
    assert r.status_code == 400 and "data" not in r.json()
    assert r.json()["errors"][0]["message"]


async def test_wrong_content_type(api: Api) -> None:
    r = await api.client.post(
        "/graphql", content=b"{ __typename }", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415 and r.json()["errors"]


async def test_unknown_field_is_a_request_error(api: Api) -> None:
    r = await api.post('query U { review(slug: "x") { nope } }')
    assert r.status_code == 400
    payload = r.json()
    assert "data" not in payload
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "nope" in payload["errors"][0]["message"]


async def test_legacy_json_accept_gets_200_for_validation_errors(api: Api) -> None:
    r = await api.client.post(
        "/graphql", json={"query": "{ nope }"}, headers={"accept": "application/json"}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "data" not in r.json()


async def test_wrong_variable_type(api: Api) -> None:
    r = await api.post("query V($n: Int!) { reviews(first: $n) { totalCount } }", {"n": "many"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_syntax_error(api: Api) -> None:
    r = await api.post("query {")
    assert r.status_code == 400 and r.json()["errors"][0]["locations"]


async def test_unacceptable_accept(api: Api) -> None:
    r = await api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": "image/png"}
    )
    assert r.status_code == 406


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


async def test_large_responses_are_gzipped(api: Api) -> None:
    r = await api.post(
        "query L { reviews(first: 20) { edges { node { title } } } }",
        headers={"accept-encoding": "gzip"},
    )
    assert r.headers.get("content-encoding") == "gzip"


async def test_no_internals_in_errors(api: Api) -> None:
    r = await api.post("query X($id: ID!) { node(id: $id) { id } }", {"id": "x" * 5000})
    text = r.text
    assert r.status_code == 200
    assert not re.search(r"Traceback|sqlalchemy|/work/|\.py", text)


# --- schema contract -------------------------------------------------------------------------


def test_schema_graphql_is_current() -> None:

    assert Path(SCHEMA_FILE).read_text() == schema_sdl(), (
        "run `compendium export-schema` and commit schema.graphql"
    )


def test_every_type_field_and_argument_has_a_description() -> None:

    missing = []
    for name, t in schema._schema.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        if not t.description:
            missing.append(name)
        if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for fname, field in t.fields.items():
                if not field.description:
                    missing.append(f"{name}.{fname}")
                for aname, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{fname}({aname})")
        if isinstance(t, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in t.values.items() if not value.description]
        if isinstance(t, GraphQLUnionType):
            pass
    assert not missing, missing


async def test_search_query_count_is_constant(api: Api) -> None:
    query = """query S($first: Int!) { search(query: "ketamine", first: $first) { edges {
        node { __typename ... on Review { title compound { name } } ... on Compound { name } } } } }"""
    counts = {}
    for first in (5, 15):  # (both mix compounds and reviews)
        api.statements.clear()
        data = await api.data(query, {"first": first})
        assert len(data["search"]["edges"]) == first
        counts[first] = len(api.statements)
    assert counts[5] == counts[15] <= 8, counts
