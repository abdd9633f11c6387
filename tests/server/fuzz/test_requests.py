"""2. Hand-made invalid documents and malformed requests."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, note
from hypothesis import strategies as st

from tests.conftest import Api
from tests.server.fuzz.client import check_answer, post_graphql, timed
from tests.server.fuzz.settings import (
    COMPOUNDS,
    REVIEWS,
    STEER_DEEP_JSON_BODY,
    STEER_FORGED_CURSORS,
    fuzz,
)
from tests.server.fuzz.strategies import (
    CATALOG_ORDERS,
    CURSORS,
    DATETIMES,
    GLOBAL_IDS,
    POSITIVE_QUERIES,
    REVIEW_ORDERS,
    characters,
    forged_cursors,
    text_values,
)

VALID_DOCUMENTS = [
    '{ review(slug: "ketamine--als") { title sections { key body(format: HTML) } } }',
    "{ reviews(first: 5) { totalCount edges { cursor node { slug } } } }",
    '{ search(query: "ketamine als") { totalCount edges { score node { __typename } } } }',
    "{ compounds(first: 3, orderBy: SLUG_ASC) { edges { node { slug name } } } }",
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text_values(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
STRINGS = st.one_of(st.sampled_from(COMPOUNDS + REVIEWS[:10]), text_values())
# Documents with one variable, by its type, and values for it.
TYPED_QUERIES: dict[str, list[tuple[str, st.SearchStrategy[Any]]]] = {
    "String": [
        ("query($v: String!) { review(slug: $v) { title } }", STRINGS),
        ("query($v: String!) { search(query: $v) { totalCount } }", STRINGS),
        ("query($v: String) { compounds(filter: {name: $v}) { totalCount } }", STRINGS),
    ],
    "[String]": [
        (
            "query($v: [String!]) { reviews(filter: {compound: $v}) { totalCount } }",
            st.lists(STRINGS),
        )
    ],
    "Int": [("query($v: Int!) { reviews(first: $v) { totalCount } }", st.integers())],
    "input": [("query($v: ReviewFilter) { reviews(filter: $v) { totalCount } }", JSON_VALUES)],
    "DateTime": [
        ("query($v: DateTime) { reviews(filter: {updatedSince: $v}) { totalCount } }", DATETIMES)
    ],
    "enum": [
        (
            'query($v: SectionKey!) { review(slug: "ketamine--als") { section(key: $v) { key } } }',
            STRINGS,
        )
    ],
    "ID": [("query($v: ID!) { node(id: $v) { id } }", GLOBAL_IDS)],
    "cursor": [
        (
            f"query($v: String) {{ {field}(after: $v, orderBy: {order}) {{ totalCount }} }}",
            CURSORS if STEER_FORGED_CURSORS else forged_cursors(order),
        )
        for field, orders in (("reviews", REVIEW_ORDERS), ("compounds", CATALOG_ORDERS))
        for order in orders
    ],
}
NESTINGS = ["fields", "list", "object", "braces", "fragments"]


def nested(shape: str, depth: int) -> str:
    if shape == "fields":
        return '{ review(slug: "ketamine--als") ' + "{ compound " * depth + "}" * depth + "}"
    if shape == "list":
        inner = "[" * depth + '"a"' + "]" * depth
        return f"{{ reviews(filter: {{compound: {inner}}}) {{ totalCount }} }}"
    if shape == "object":
        inner = "{stale: " * depth + "true" + "}" * depth
        return f"{{ reviews(filter: {inner}) {{ totalCount }} }}"
    if shape == "braces":
        return "{" * depth + "}" * depth
    n = min(depth, 400)
    spreads = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(n))
    return f"query {{ ...F0 }} {spreads} fragment F{n} on Query {{ publisher {{ name }} }}"


ALIASED = [
    "publisher { name }",
    'review(slug: "ketamine--als") { text(format: HTML) }',
    "reviews(first: 100) { edges { node { text } } }",
    "__typename",
]


@st.composite
def invalid_requests(draw: Any) -> tuple[str, dict[str, Any] | None]:
    kind = draw(
        st.sampled_from(
            ["text", "truncated", "variables", "variables", "first", "nesting", "aliases", "wide"]
        )
    )
    if kind == "text":
        return draw(st.text(characters(), min_size=1, max_size=300)), None
    if kind == "truncated":
        document = draw(st.sampled_from(VALID_DOCUMENTS) | POSITIVE_QUERIES)
        return document[: draw(st.integers(1, max(1, len(document) - 1)))], None
    if kind == "variables":
        query, values = draw(
            st.sampled_from(TYPED_QUERIES[draw(st.sampled_from(list(TYPED_QUERIES)))])
        )
        return query, {"v": draw(values if draw(st.integers(0, 3)) else JSON_VALUES)}
    if kind == "first":
        n = draw(
            st.integers(101, 2**31 - 1) | st.integers(2**31, 2**70) | st.integers(max_value=-1)
        )
        field = draw(st.sampled_from(["reviews", "compounds", "conditions", "auditLog"]))
        if draw(st.booleans()):
            return f'{{ search(query: "a", first: {n}) {{ totalCount }} }}', None
        return f"{{ {field}(first: {n}) {{ totalCount }} }}", None
    if kind == "nesting":
        return nested(draw(st.sampled_from(NESTINGS)), draw(st.integers(2, 3000))), None
    if kind == "aliases":
        field = draw(st.sampled_from(ALIASED))
        n = draw(st.integers(2, 1500))
        return "{ " + " ".join(f"a{i}: {field}" for i in range(n)) + " }", None
    n = draw(st.integers(2, 400))
    spreads = " ".join(f"...F{i}" for i in range(n))
    fragments = " ".join(
        f"fragment F{i} on Query {{ reviews(first: 100) {{ totalCount }} }}" for i in range(n)
    )
    return f"query {{ {spreads} }} {fragments}", None


@fuzz(80)
@given(request=invalid_requests(), as_editor=st.booleans())
async def test_invalid_documents_are_refused_cleanly(
    api: Api, editor: str, request: tuple[str, dict[str, Any] | None], as_editor: bool
) -> None:
    query, variables = request
    note(f"query={query[:500]!r} variables={variables!r}")
    await post_graphql(api, query, variables, token=editor if as_editor else None)


CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/graphql",
    "",
]
ACCEPTS = [
    "application/graphql-response+json",
    "application/json",
    "*/*",
    "application/json;q=abc, */*;q=1e999",
    "image/png",
    "",
]


NAN, INF = float("nan"), float("inf")  # json.dumps writes NaN and Infinity (not JSON)


@st.composite
def raw_bodies(draw: Any) -> tuple[bytes, dict[str, str]]:
    headers = {
        "content-type": draw(st.sampled_from(CONTENT_TYPES)),
        "accept": draw(st.sampled_from(ACCEPTS)),
    }
    kind = draw(st.sampled_from(["bytes", "json", "fields", "nested"]))
    if kind == "bytes":
        content = draw(st.binary(max_size=300))
    elif kind == "json":
        content = json.dumps(draw(JSON_VALUES | st.sampled_from([NAN, INF]))).encode()
    elif kind == "nested":
        deep = st.integers(2_000, 200_000)
        depth = draw(st.integers(1, 400) if STEER_DEEP_JSON_BODY else st.integers(1, 400) | deep)
        nest = "[" * depth + "]" * depth
        content = (
            f'{{"query": "{{ publisher {{ name }} }}", "variables": {{"v": {nest}}}}}'.encode()
        )
    else:
        body = {
            "query": draw(st.sampled_from(VALID_DOCUMENTS) | JSON_VALUES),
            "variables": draw(st.none() | JSON_VALUES),
            "operationName": draw(st.none() | JSON_VALUES),
            "extensions": draw(st.none() | JSON_VALUES),
        }
        content = json.dumps({k: v for k, v in body.items() if draw(st.booleans())}).encode()
    return content, headers


@fuzz(60)
@given(request=raw_bodies())
async def test_malformed_requests_are_refused_cleanly(
    api: Api, request: tuple[bytes, dict[str, str]]
) -> None:
    content, headers = request
    note(f"content={content[:500]!r} headers={headers}")
    response = await timed(api.client.post("/graphql", content=content, headers=headers))
    check_answer(response, content.decode("utf-8", "replace"))
