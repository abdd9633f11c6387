"""The content graph through real HTTP: a compound's and a condition's reviews (hub pages),
a review's related reviews and evidence, evidence by global id, lookups by clinical code.

Readers get approved data only on every new edge; editors the working copy.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime
from typing import Any

import pytest

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.workflow import approve, edit_fact, graphql

PAGE = "totalCount pageInfo { hasNextPage endCursor } edges { cursor node { slug } }"
NESTED = f"""
query Nested($slug: String!, $first: Int!, $after: String, $filter: ReviewFilter,
             $order: ReviewOrder!) {{
  compound(slug: $slug) {{
    reviews(first: $first, after: $after, filter: $filter, orderBy: $order) {{ {PAGE} }}
  }}
}}"""
ROOT = f"""
query Root($first: Int!, $after: String, $filter: ReviewFilter, $order: ReviewOrder!) {{
  reviews(first: $first, after: $after, filter: $filter, orderBy: $order) {{ {PAGE} }}
}}"""
HUBS = """
query Hubs($first: Int!) {
  compounds(first: 50) { edges { node { slug reviews(first: $first) { totalCount
    edges { node { title } } } } } }
}"""
RELATED = """
query Related($slug: String!, $first: Int!) {
  review(slug: $slug) { related(first: $first) { slug } defaults: related { slug } }
}"""
CANDIDATES = """
query Candidates($compound: String!, $condition: String!) {
  compound(slug: $compound) { reviews(first: 100) { edges { node { ...R } } } }
  condition(slug: $condition) { reviews(first: 100) { edges { node { ...R } } } }
}
fragment R on Review { id slug research publishedAt compound { slug } condition { slug } }"""
EVIDENCE = """
query Evidence($slug: String!) {
  review(slug: $slug) { evidence { id research notes compound { slug } condition { slug }
    review { slug } citations { value } } }
}"""
NODE = """
query Node($id: ID!) {
  node(id: $id) { __typename id ... on Evidence { research notes review { slug }
    compound { name } condition { slug } } }
}"""
COMPOUNDS_BY_CODE = """
query ByCode($rxnorm: String, $mesh: String) {
  compounds(filter: {rxnorm: $rxnorm, mesh: $mesh}) { totalCount edges { node { slug
    codes { rxnorm mesh } } } }
}"""
CONDITIONS_BY_CODE = """
query ByCode($icd10: String, $mesh: String) {
  conditions(filter: {icd10: $icd10, mesh: $mesh}) { totalCount edges { node { slug } } }
}"""
WORKING_TABLES = {"compound", "condition", "evidence", "citation", "publisher", "review"}
_TABLE = re.compile(r"\b(?:FROM|JOIN)\s+\"?([a-z_]+)\"?", re.IGNORECASE)


@pytest.fixture
def tokens(demo_url: str) -> dict[str, str]:
    engine = make_engine(demo_url)
    out = {}
    with session_scope(engine) as session:
        for role in ("editor", "reviewer"):
            out[role], _ = create_token(session, f"{role}-{uuid.uuid4().hex[:6]}", role)
    engine.dispose()
    return out


def _pk(global_id: str) -> int:
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return int(raw.split(":")[1])


def _slugs(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["slug"] for e in connection["edges"]]


# --- Compound.reviews and Condition.reviews ---------------------------------------------------


@pytest.mark.parametrize(
    ("order", "criteria"),
    [
        ("UPDATED_AT_DESC", None),
        ("TITLE_ASC", {"research": "SPECIFIC"}),
        ("SLUG_ASC", {"condition": ["als", "migraine", "lupus"]}),
    ],
)
async def test_a_compounds_reviews_are_the_root_list_narrowed_to_it(
    api: Api, order: str, criteria: dict[str, Any] | None
) -> None:
    for slug in ("ketamine", "metformin"):
        narrowed = {**(criteria or {}), "compound": [slug]}
        root = await api.data(ROOT, {"first": 4, "filter": narrowed, "order": order})
        nested = await api.data(
            NESTED, {"slug": slug, "first": 4, "filter": criteria, "order": order}
        )
        assert nested["compound"]["reviews"] == root["reviews"]
        assert root["reviews"]["totalCount"] > 0
        assert all(s.startswith(f"{slug}--") for s in _slugs(root["reviews"]))


async def test_nested_cursors_walk_the_whole_list_once(api: Api) -> None:
    order = "TITLE_ASC"
    whole = await api.data(
        ROOT, {"first": 100, "filter": {"compound": ["ketamine"]}, "order": order}
    )
    walked: list[str] = []
    after = None
    while True:
        page = (
            await api.data(NESTED, {"slug": "ketamine", "first": 5, "after": after, "order": order})
        )["compound"]["reviews"]
        assert page["totalCount"] == whole["reviews"]["totalCount"] == 16
        walked += _slugs(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == _slugs(whole["reviews"])
    # A cursor of another ordering is refused, as on the root list.
    response = await api.post(
        NESTED, {"slug": "ketamine", "first": 5, "after": after, "order": "SLUG_ASC"}
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert response.json()["data"]["compound"] is None


async def test_a_conditions_reviews_and_totals(api: Api) -> None:
    data = await api.data(
        'query C { condition(slug: "als") { reviews(first: 3, orderBy: SLUG_ASC, filter: '
        "{research: LIMITED}) { totalCount edges { node { slug research condition { slug } } } } }"
        " conditions(first: 3) { edges { node { slug reviews(first: 0) { totalCount "
        "pageInfo { hasNextPage } edges { cursor } } } } } }"
    )
    reviews = data["condition"]["reviews"]
    root = await api.data(
        ROOT,
        {
            "first": 3,
            "filter": {"condition": ["als"], "research": "LIMITED"},
            "order": "SLUG_ASC",
        },
    )
    assert reviews["totalCount"] == root["reviews"]["totalCount"] > 3
    assert [e["node"]["slug"] for e in reviews["edges"]] == _slugs(root["reviews"])
    assert {e["node"]["research"] for e in reviews["edges"]} == {"LIMITED"}
    for edge in data["conditions"]["edges"]:
        page = edge["node"]["reviews"]
        assert page == {"totalCount": 36, "pageInfo": {"hasNextPage": True}, "edges": []}


async def test_bad_page_sizes_are_bad_user_input(api: Api) -> None:
    for first in (-1, 101):
        response = await api.post(NESTED, {"slug": "ketamine", "first": first, "order": "SLUG_ASC"})
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    response = await api.post(RELATED, {"slug": "ketamine--als", "first": 101})
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_statement_count_is_constant_whatever_the_number_of_parents(
    api: Api, tokens: dict[str, str]
) -> None:
    for token in (None, tokens["editor"]):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        counts = {}
        for first in (2, 50):
            query = HUBS.replace("compounds(first: 50)", f"compounds(first: {first})")
            api.statements.clear()
            response = await api.post(query, {"first": 5}, headers=headers)
            payload = response.json()
            assert "errors" not in payload, payload
            edges = payload["data"]["compounds"]["edges"]
            assert len(edges) == min(first, 36)
            assert all(len(e["node"]["reviews"]["edges"]) == 5 for e in edges)
            assert all(e["node"]["reviews"]["totalCount"] == 16 for e in edges)
            counts[first] = len(api.statements)
        assert counts[2] == counts[50], (token is not None, counts)
        # (The list's count and page, the nested totals and pages, the review content.)
        assert counts[2] <= 8, counts


# --- Review.related ---------------------------------------------------------------------------


async def test_related_reviews_come_in_the_documented_order(api: Api) -> None:
    data = await api.data(CANDIDATES, {"compound": "ketamine", "condition": "als"})
    candidates = {
        e["node"]["slug"]: e["node"]
        for key in ("compound", "condition")
        for e in data[key]["reviews"]["edges"]
    }
    candidates.pop("ketamine--als")
    assert len(candidates) == 15 + 35

    def rank(r: dict[str, Any]) -> tuple[Any, ...]:
        return (
            r["compound"]["slug"] != "ketamine",  # same compound first
            r["research"] != "SPECIFIC",
            -datetime.fromisoformat(r["publishedAt"]).timestamp(),  # newest first
            _pk(r["id"]),
        )

    expected = [r["slug"] for r in sorted(candidates.values(), key=rank)]
    got = (await api.data(RELATED, {"slug": "ketamine--als", "first": 100}))["review"]
    assert [r["slug"] for r in got["related"]] == expected
    assert [r["slug"] for r in got["defaults"]] == expected[:6]
    assert expected[0].startswith("ketamine--") and expected[-1].endswith("--als")


async def test_related_is_batched_under_a_list(api: Api) -> None:
    query = (
        "query L($first: Int!) { reviews(first: $first) { edges { node { "
        "related(first: 3) { slug } } } } }"
    )
    counts = {}
    for first in (1, 40):
        api.statements.clear()
        data = await api.data(query, {"first": first})
        assert len(data["reviews"]["edges"]) == first
        assert all(len(e["node"]["related"]) == 3 for e in data["reviews"]["edges"])
        counts[first] = len(api.statements)
    # The list (count, page), its content (revisions, fact versions), one statement for
    # every review's related reviews, their content; the larger list may find some of the
    # latter already loaded, never more statements.
    assert counts[40] <= counts[1] <= 7, counts


# --- Evidence as a node ----------------------------------------------------------------------


async def test_evidence_is_a_node_with_its_review(api: Api) -> None:
    evidence = (await api.data(EVIDENCE, {"slug": "metformin--type-2-diabetes"}))["review"][
        "evidence"
    ]
    assert evidence["review"] == {"slug": "metformin--type-2-diabetes"}
    assert evidence["compound"] == {"slug": "metformin"}
    assert evidence["research"] == "SPECIFIC"
    assert evidence["notes"].startswith("First-line drug therapy")
    node = (await api.data(NODE, {"id": evidence["id"]}))["node"]
    assert node["__typename"] == "Evidence"
    assert node["id"] == evidence["id"]
    assert node["review"] == {"slug": "metformin--type-2-diabetes"}
    assert node["notes"] == evidence["notes"]
    assert node["condition"] == {"slug": "type-2-diabetes"}
    unknown = base64.urlsafe_b64encode(b"Evidence:999999").decode().rstrip("=")
    assert (await api.data(NODE, {"id": unknown}))["node"] is None


# --- readers see approved data only -------------------------------------------------------------


async def _draft_review_of_ketamine(api: Api, editor: str) -> None:
    """A new condition, ketamine's evidence for it and the generated (draft) review."""
    await graphql(
        api,
        editor,
        'mutation { createCondition(input: {slug: "zz-graph", name: "Graph condition", '
        'specialist: "x"}) { condition { slug } } }',
        {},
    )
    await graphql(
        api,
        editor,
        'mutation { createEvidence(input: {compound: "ketamine", condition: "zz-graph", '
        'research: SPECIFIC, notes: "UNREVIEWED notes"}) { evidence { revision } } }',
        {},
    )
    await graphql(
        api,
        editor,
        'mutation { generateReview(compound: "ketamine", condition: "zz-graph") '
        "{ review { slug status } } }",
        {},
    )


READER_VIEW = """
query Reader {
  compound(slug: "ketamine") { name reviews(first: 100) { totalCount edges { node { slug
    title compound { name } } } } }
  review(slug: "ketamine--als") { evidence { notes review { slug compound { name } } }
    related(first: 100) { slug title compound { name } } }
  condition(slug: "als") { reviews(first: 100) { totalCount edges { node { slug } } } }
}"""


async def test_readers_see_no_unapproved_fact_or_review_through_the_graph(
    api: Api, tokens: dict[str, str]
) -> None:
    editor = tokens["editor"]
    before = await api.data(READER_VIEW)
    await edit_fact(api, editor, "compound", "ketamine", name="Ketamine UNREVIEWED")
    rev = (
        await graphql(
            api, editor, 'query { review(slug: "ketamine--als") { evidence { revision } } }', {}
        )
    )["review"]["evidence"]["revision"]
    await graphql(
        api,
        editor,
        'mutation U($rev: Int!) { updateEvidence(compound: "ketamine", condition: "als", '
        'expectedRevision: $rev, input: {notes: "UNREVIEWED notes"}) { evidence { revision } } }',
        {"rev": rev},
    )
    await _draft_review_of_ketamine(api, editor)
    after = await api.data(READER_VIEW)
    assert after == before
    assert "UNREVIEWED" not in str(after)
    assert "zz-graph" not in str(after)
    # The new pair's evidence was never approved: no node for readers.
    working = await graphql(
        api,
        editor,
        'query { review(slug: "ketamine--zz-graph") { status evidence { id notes review { slug '
        "status } } } }",
        {},
    )
    assert working["review"]["status"] == "DRAFT"
    evidence_id = working["review"]["evidence"]["id"]
    assert working["review"]["evidence"]["review"] == {
        "slug": "ketamine--zz-graph",
        "status": "DRAFT",
    }
    assert (await api.data(NODE, {"id": evidence_id}))["node"] is None
    # Editors get the working copy on the same edges.
    edited = await graphql(api, editor, READER_VIEW, {})
    assert edited["compound"]["name"] == "Ketamine UNREVIEWED"
    assert edited["compound"]["reviews"]["totalCount"] == 17
    assert "ketamine--zz-graph" in [
        e["node"]["slug"] for e in edited["compound"]["reviews"]["edges"]
    ]
    assert edited["review"]["evidence"]["notes"] == "UNREVIEWED notes"
    drafts = (
        'query D { compound(slug: "ketamine") { reviews(filter: {status: [DRAFT]}) { '
        "totalCount edges { node { slug status } } } } }"
    )
    assert (await api.data(drafts))["compound"]["reviews"] == {"totalCount": 0, "edges": []}
    # (The compound's edit made a new draft of each of its reviews, for editors.)
    working_drafts = (await graphql(api, editor, drafts, {}))["compound"]["reviews"]
    assert working_drafts["totalCount"] == 17
    assert {"slug": "ketamine--zz-graph", "status": "DRAFT"} in [
        e["node"] for e in working_drafts["edges"]
    ]
    # Related lists published reviews only, for editors too.
    assert "ketamine--zz-graph" not in [r["slug"] for r in edited["review"]["related"]]
    assert (await graphql(api, editor, NODE, {"id": evidence_id}))["node"]["notes"] == (
        "UNREVIEWED notes"
    )


async def test_anonymous_graph_reads_touch_the_read_model_only(api: Api) -> None:
    ids = await api.data('query Id { review(slug: "ketamine--als") { evidence { id } } }')
    evidence_id = ids["review"]["evidence"]["id"]
    for query, variables in (
        (READER_VIEW, {}),
        (HUBS, {"first": 3}),
        (NODE, {"id": evidence_id}),
        (EVIDENCE, {"slug": "ketamine--als"}),
        (COMPOUNDS_BY_CODE, {"rxnorm": "6130"}),
        (CONDITIONS_BY_CODE, {"icd10": "G12.21"}),
    ):
        api.statements.clear()
        response = await api.post(query, variables)
        assert "errors" not in response.json(), response.text
        tables = {t.lower() for s in api.statements for t in _TABLE.findall(s)}
        assert tables, query
        assert not tables & WORKING_TABLES, (query, tables)


# --- lookups by clinical code -----------------------------------------------------------------


async def test_lookup_by_clinical_code_is_exact_and_approved_for_readers(
    api: Api, tokens: dict[str, str]
) -> None:
    editor, reviewer = tokens["editor"], tokens["reviewer"]
    await edit_fact(api, editor, "compound", "ketamine", rxnorm="6130", mesh="D007649")
    await edit_fact(api, editor, "condition", "als", icd10="G12.21", mesh="D000690")

    async def slugs(token: str | None, query: str, variables: dict[str, Any]) -> list[str]:
        if token is None:
            data = await api.data(query, variables)
        else:
            data = await graphql(api, token, query, variables)
        found = data["compounds" if "compounds" in data else "conditions"]
        assert found["totalCount"] == len(found["edges"])
        return _slugs(found)

    # Working codes: editors find them at once, readers not before approval.
    assert await slugs(editor, COMPOUNDS_BY_CODE, {"rxnorm": "6130"}) == ["ketamine"]
    assert await slugs(editor, CONDITIONS_BY_CODE, {"icd10": "G12.21"}) == ["als"]
    assert await slugs(None, COMPOUNDS_BY_CODE, {"rxnorm": "6130"}) == []
    assert await slugs(None, CONDITIONS_BY_CODE, {"mesh": "D000690"}) == []
    await approve(api, editor, reviewer, "ketamine--als")
    for token in (None, editor):
        assert await slugs(token, COMPOUNDS_BY_CODE, {"rxnorm": "6130"}) == ["ketamine"]
        assert await slugs(token, COMPOUNDS_BY_CODE, {"mesh": "D007649"}) == ["ketamine"]
        assert await slugs(token, COMPOUNDS_BY_CODE, {"rxnorm": "6130", "mesh": "D007649"}) == [
            "ketamine"
        ]
        assert await slugs(token, CONDITIONS_BY_CODE, {"icd10": "G12.21"}) == ["als"]
        assert await slugs(token, CONDITIONS_BY_CODE, {"mesh": "D000690"}) == ["als"]
        # Exact: no prefix, no other system's code, nothing unknown.
        for variables in ({"rxnorm": "613"}, {"rxnorm": "61300"}, {"mesh": "D0076"}):
            assert await slugs(token, COMPOUNDS_BY_CODE, variables) == []
        assert await slugs(token, COMPOUNDS_BY_CODE, {"rxnorm": "6130", "mesh": "D000690"}) == []
        assert await slugs(token, CONDITIONS_BY_CODE, {"icd10": "G12"}) == []
        assert await slugs(token, CONDITIONS_BY_CODE, {"mesh": "D007649"}) == []
    # A later working change moves the editors' match only.
    await edit_fact(api, editor, "compound", "ketamine", rxnorm="6131")
    assert await slugs(editor, COMPOUNDS_BY_CODE, {"rxnorm": "6130"}) == []
    assert await slugs(None, COMPOUNDS_BY_CODE, {"rxnorm": "6130"}) == ["ketamine"]


async def test_codes_appear_in_json_ld_once_approved(api: Api, tokens: dict[str, str]) -> None:
    query = 'query J { review(slug: "ketamine--als") { seo { jsonLd } } }'
    about = (await api.data(query))["review"]["seo"]["jsonLd"]["@graph"][0]["about"]
    assert "code" not in about[0] and "code" not in about[1]
    editor, reviewer = tokens["editor"], tokens["reviewer"]
    await edit_fact(api, editor, "compound", "ketamine", rxnorm="6130", mesh="D007649")
    await edit_fact(api, editor, "condition", "als", icd10="G12.21")
    assert (await api.data(query))["review"]["seo"]["jsonLd"]["@graph"][0]["about"] == about
    await approve(api, editor, reviewer, "ketamine--als")
    drug, condition = (await api.data(query))["review"]["seo"]["jsonLd"]["@graph"][0]["about"]
    assert drug["code"] == [
        {"@type": "MedicalCode", "code": "6130", "codingSystem": "RxNorm"},
        {"@type": "MedicalCode", "code": "D007649", "codingSystem": "MeSH"},
    ]
    assert condition["code"] == {"@type": "MedicalCode", "code": "G12.21", "codingSystem": "ICD-10"}


async def test_related_is_costed_per_item(api: Api) -> None:
    """`related(first:)` is estimated as that many reviews, each with its selection, as the
    metering counts them when it runs."""
    costs = {}
    for first in (1, 10):
        response = await api.post(
            RELATED.replace("defaults: related { slug }", ""),
            {"slug": "ketamine--als", "first": first},
        )
        cost = response.json()["extensions"]["cost"]
        assert cost["requested"] == cost["actual"], cost
        costs[first] = cost["requested"]
    # Nine more reviews, each an item (1) and its slug (1).
    assert costs[10] - costs[1] == 18, costs
