"""The bugs the fuzzing found, fixed: their minimal inputs stay as regression tests."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from catalog.importing import import_data
from catalog.loading import parse_text
from catalog.problems import CatalogInvalid
from db.engine import session_scope
from db.pagination import encode_keyset as encode_cursor
from resolvers.relay import to_global_id
from tests.conftest import Api
from tests.server.fuzz.catalogs import alias_bomb, bounded, nested_catalog
from tests.server.fuzz.client import check_answer, post_graphql, timed
from tests.server.fuzz.settings import SECTION_REVIEW


@pytest.mark.parametrize(
    "query",
    [
        '{ compound(slug: "\\u0000") { name } }',
        '{ compounds(filter: {name: "\\u0000"}) { totalCount } }',
        '{ reviews(filter: {compound: ["\\u0000"]}) { totalCount } }',
    ],
)
async def test_nul_in_a_string_argument_is_not_an_internal_error(api: Api, query: str) -> None:
    # Refused at the door (PostgreSQL cannot hold NUL in text), like any bad input.
    payload = await post_graphql(api, query)
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", payload
    assert payload["errors"][0]["extensions"]["problems"][0]["path"] == "query"


async def test_a_node_id_out_of_the_key_range_is_null(api: Api) -> None:
    # Review:9223372036854775808 (PostgreSQL already fails past 2**31 - 1).
    node = to_global_id("Review", 2**63)
    assert (await post_graphql(api, f'{{ node(id: "{node}") {{ id }} }}'))["data"] == {"node": None}


@pytest.mark.parametrize(
    "order, value, pk",
    [
        # ["UPDATED_AT_DESC", "abc", 1]: not a timestamp.
        pytest.param("UPDATED_AT_DESC", "abc", 1),
        # ["SLUG_ASC", "abc", 2**70]: an id past the key range.
        pytest.param("SLUG_ASC", "abc", 2**70),
        # ["NAME_ASC", 5, 1]: a number for a text column (SQLite compares anything).
        pytest.param("NAME_ASC", 5, 1),
    ],
)
async def test_a_forged_cursor_is_not_an_internal_error(
    api: Api, order: str, value: Any, pk: int
) -> None:
    field = "compounds" if order == "NAME_ASC" else "reviews"
    cursor = encode_cursor(order, value, pk)
    payload = await post_graphql(
        api, f'{{ {field}(orderBy: {order}, after: "{cursor}") {{ totalCount }} }}'
    )
    # A page, or BAD_USER_INPUT like any other cursor that is not one of ours.
    if payload.get("errors"):
        assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", payload


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_updated_since_at_the_edge_of_time_is_not_an_internal_error(
    api: Api, since: str
) -> None:
    payload = await post_graphql(
        api, f'{{ reviews(filter: {{updatedSince: "{since}"}}) {{ totalCount }} }}'
    )
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", payload


@pytest.mark.parametrize(
    "query",
    [
        "query($s: String!) { compound(slug: $s) { name } }",
        "query($s: String!) { review(slug: $s) { title } }",
        "query($s: String) { compounds(filter: {name: $s}) { totalCount } }",
        f'mutation($s: String!) {{ updateSection(review: "{SECTION_REVIEW}", key: CTA, '
        "expectedRevision: 1, body: $s) { section { revision } } }",
    ],
)
async def test_a_lone_surrogate_in_a_variable_is_not_an_internal_error(
    api: Api, editor: str, query: str
) -> None:
    # Valid JSON ("\ud800" escapes a lone surrogate); post_graphql sends it as such.
    payload = await post_graphql(api, query, {"s": "x\ud800"}, editor)
    assert "data" in payload or payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_deeply_nested_json_body_is_a_bad_request(api: Api) -> None:
    content = b'{"query": "{ publisher { name } }", "variables": {"v": '
    content += b"[" * 100_000 + b"]" * 100_000 + b"}}"
    response = await timed(
        api.client.post(
            "/graphql",
            content=content,
            headers={
                "content-type": "application/json",
                "accept": "application/graphql-response+json",
            },
        )
    )
    payload = check_answer(response, "")
    assert response.status_code == 400, payload


@pytest.mark.parametrize("reference", ["compound", "condition"])
def test_import_rejects_unhashable_references(demo_catalog_engine: Engine, reference: str) -> None:
    row = {"compound": "ketamine", "condition": "als", "research": "limited", reference: ["x"]}
    with pytest.raises(CatalogInvalid), session_scope(demo_catalog_engine) as session:
        import_data(session, {"evidence": [row]}, "fuzz")


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_import_rejects_deep_nesting(demo_catalog_engine: Engine, fmt: str) -> None:
    content = nested_catalog(fmt, "top", 100_000)
    with pytest.raises(CatalogInvalid), session_scope(demo_catalog_engine) as session:
        import_data(session, parse_text(content, "fuzz", fmt), "fuzz")


@pytest.mark.parametrize("where", ["template-kind", "section-key"])
def test_an_alias_bomb_in_a_template_kind_stays_small(
    demo_catalog_engine: Engine, where: str
) -> None:
    # 10**6 strings from ~400 bytes: each level more multiplies time and memory by 10.
    content = alias_bomb(6, 10, where)
    with pytest.raises(CatalogInvalid) as caught, session_scope(demo_catalog_engine) as session:
        import_data(session, parse_text(content, "fuzz", "yaml"), "fuzz")
    assert bounded(sum(len(p.message) for p in caught.value.problems), content)
