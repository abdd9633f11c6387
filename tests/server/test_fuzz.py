"""Property-based fuzzing of everything a client can send (hardening issue, item 5).

* GraphQL documents generated from the committed schema (``hypothesis-graphql``),
  valid and invalid, plus hand-made bad documents and malformed requests, posted
  over real HTTP to the app, anonymously and with an editor token: no 5xx, always
  a JSON body with ``data`` and/or ``errors``, a known ``extensions.code`` on every
  error and never INTERNAL_SERVER_ERROR, no internals (traceback, SQL, driver,
  path) anywhere, each request answered within ``REQUEST_SECONDS``.
* Generated mutations with an editor token: whatever they did, the database stays
  sound (integrity, a disclaimer on every review, a revision behind every
  published review).
* Catalog imports (``catalog/`` and the ``importCatalog`` mutation): random
  text, truncated and structurally mangled catalogs, deep nesting and YAML alias
  bombs are imported, or rejected with problems and nothing changed.
* Every text field of the editorial mutations: Unicode, control characters,
  empty, huge and HTML/script/markdown payloads are rejected cleanly by the
  documented rules or stored as documented (surrounding whitespace stripped,
  invisible characters dropped, names NFKC), and the pages built from them
  (GraphQL HTML/Markdown, /preview) stay inert.
* Claims disguised with invisible characters (zero-width, bidi, soft hyphen, tags,
  variation selectors...), Unicode dashes and spaces and random case are always
  found by the content check, in the check itself and through ``updateSection``.

Everything is derandomized (the same examples on every run) and bounded, so the
file runs in well under a minute on either database.

The bugs this file found are fixed; each keeps its minimal input as a test at the
end. A bug found later gets the same treatment: an ``xfail(strict=True)`` test with
its minimal input, and a ``STEER_*`` switch keeping the strategies away from its
trigger while it is open, so that the fuzzing keeps guarding everything else
(``COMPENDIUM_FUZZ_KNOWN_BUGS=all`` lifts the steering for one run).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, example, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis_graphql import Mode, mutations, queries
from sqlalchemy import Engine, text

from catalog.exporting import export_data
from catalog.importing import import_data
from catalog.loading import parse_text
from catalog.problems import CatalogInvalid
from content import document
from content.claims import check_sections
from content.document import body_plain
from content.markup import MarkupError, parse_markup
from db.engine import is_sqlite, make_engine, session_scope
from db.pagination import encode_keyset as encode_cursor
from db.tokens import create_token
from resolvers.relay import to_global_id
from tests.conftest import DEMO, TEMPLATES, Api, load

# --- known bugs: steer around them while they are open (all fixed now; see the end) ------
# COMPENDIUM_FUZZ_KNOWN_BUGS=all, or a comma-separated list of the names below (NUL,
# HUGE_IDS...), lets the strategies generate those triggers again.
_UNSTEERED = {
    n.strip().upper() for n in os.environ.get("COMPENDIUM_FUZZ_KNOWN_BUGS", "").split(",")
}


def _steer(name: str, open_bug: bool = True) -> bool:
    return open_bug and not ({"ALL", name} & _UNSTEERED)


STEER_NUL = _steer("NUL", open_bug=False)  # test_nul_in_a_string_argument_is_not_an_internal_error
STEER_HUGE_IDS = _steer("HUGE_IDS", open_bug=False)  # test_a_node_id_out_of_the_key_range_is_null
STEER_FORGED_CURSORS = _steer(
    "FORGED_CURSORS", open_bug=False
)  # test_a_forged_cursor_is_not_an_internal_error
STEER_DATETIME_EDGES = _steer(
    "DATETIME_EDGES", open_bug=False
)  # test_updated_since_at_the_edge_of_time_...
STEER_SURROGATES = _steer(
    "SURROGATES", open_bug=False
)  # test_a_lone_surrogate_in_a_variable_is_not_...
STEER_DEEP_JSON_BODY = _steer(
    "DEEP_JSON_BODY", open_bug=False
)  # test_a_deeply_nested_json_body_is_a_bad_request
STEER_UNHASHABLE_REFS = _steer(
    "UNHASHABLE_REFS", open_bug=False
)  # test_import_rejects_unhashable_references
STEER_DEEP_CATALOG = _steer("DEEP_CATALOG", open_bug=False)  # test_import_rejects_deep_nesting
STEER_ALIAS_BOMB_KEYS = _steer(
    "ALIAS_BOMB_KEYS", open_bug=False
)  # test_an_alias_bomb_in_a_template_kind_...

ROOT = Path(__file__).resolve().parents[2]
SDL = (ROOT / "schema.graphql").read_text(encoding="utf-8")
DEMO_TEXT = DEMO.read_text(encoding="utf-8")
DEMO_DATA: dict[str, Any] = yaml.safe_load(DEMO_TEXT)
DEMO_JSON = json.dumps(DEMO_DATA, ensure_ascii=False, indent=1)
COMPOUNDS = [c["slug"] for c in DEMO_DATA["compounds"]]
CONDITIONS = [c["slug"] for c in DEMO_DATA["conditions"]]
PAIRS = [(e["compound"], e["condition"]) for e in DEMO_DATA["evidence"]]
REVIEWS = [f"{c}--{d}" for c, d in PAIRS]

# The facts under test are checked on this page; sections are edited on another one
# (regeneration keeps edited sections, which would hide the regenerated facts).
FACT_COMPOUND, FACT_CONDITION = "ketamine", "als"
FACT_REVIEW = f"{FACT_COMPOUND}--{FACT_CONDITION}"
SECTION_REVIEW = next(f"{c}--{d}" for c, d in PAIRS if c != FACT_COMPOUND and d != FACT_CONDITION)
assert (FACT_COMPOUND, FACT_CONDITION) in PAIRS

REQUEST_SECONDS = 10.0
CODES = {
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "CONFLICT",
    "QUERY_TOO_COMPLEX",
    "PERSISTED_QUERY_NOT_FOUND",
    "RATE_LIMITED",
    "THROTTLED",
    "RESPONSE_TOO_LARGE",
    "INTERNAL_SERVER_ERROR",
    "TIMEOUT",
}
# Refusals of a whole request by the abuse limits (valid documents may get these).
LIMIT_CODES = {
    "QUERY_TOO_COMPLEX",
    "RESPONSE_TOO_LARGE",
    "BAD_USER_INPUT",
    "RATE_LIMITED",
    "THROTTLED",
    "TIMEOUT",
}
LEAKS = [
    re.compile(p)
    for p in (
        r"Traceback",
        r'File "',
        r"sqlalchemy",
        r"sqlite3",
        r"psycopg",
        r"asyncpg",
        r"/work/",
        r'\.py"',
        r"SELECT ",
        r"INSERT INTO",
    )
]


def fuzz(max_examples: int) -> Any:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        # No explain phase: its tracing breaks compile() on CPython 3.11 ("SystemError:
        # AST constructor recursion depth mismatch") when a failing example imports a module.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


# --- strategies: values -----------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(1)",
    " JaVaScRiPt:alert(document.cookie)",
    "[x](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "**bold** and **unbalanced",
    "- **Lead:** a list item",
    "# heading\n\n> quote",
    "Q: a question?\nA: an answer.",
    "{{ compound.name }} {% for x in range(9) %}x{% endfor %}",
    "&lt;script&gt; &#60;script&#62; &amp;",
    "<!-- comment --> ]]> <![CDATA[x]]>",
    "</textarea></title></style><script>x</script>",
    "' OR '1'='1",
    "x'); DROP TABLE review; --",
    "\\ \\\\ \\n %s %n ${jndi:ldap://x}",
    "\u202eevil\u202c and \u200fRTL\u200e",
    "مرحبا بالعالم",
    "שלום עולם",
    "👩🏽‍⚕️💊🧪 🏳️‍🌈",
    "e\u0301\u0302\u0303 Z\u0324\u0354\u0367\u0311a\u0308\u0356",
    "\ufeffBOM \u200b zero width \u2060",
    "\ue000sentinel\ue001 \ue002",
    "\u2028line sep\u2029para sep\x85nel",
    "\u3000ideographic space\u3000",
    "\x00",
    "nul\x00inside",
    "\x1b[31mred\x1b[0m",
    "bell\x07 del\x7f",
    "line\nbreak",
    "tab\there",
    "cr\r\nlf",
    "",
    " ",
    " \t\n ",
    "  padded value  ",
    "Ketamine",
    *([] if STEER_SURROGATES else ["lone \ud800 surrogate", "\udfff"]),
]


# Lengths at and past the limits (200, 1000, 5000, 20000 characters), and huge.
LENGTHS = [200, 201, 1000, 1001, 5000, 5001, 20_000, 20_001, 100_000]


def _leak_free(value: str) -> bool:
    # Nothing sent may match a leak pattern itself: stored values come back later.
    return not any(p.search(value) for p in LEAKS)


def characters(nul: bool = not STEER_NUL) -> st.SearchStrategy[str]:
    # codec=None admits lone surrogates (only JSON variables can carry them).
    codec = "utf-8" if STEER_SURROGATES else None
    return st.characters(codec=codec, exclude_characters=None if nul else "\x00")


def text_values(nul: bool = not STEER_NUL) -> st.SearchStrategy[str]:
    chars = characters(nul)
    payloads = [p for p in PAYLOADS if nul or "\x00" not in p]
    return st.one_of(
        st.sampled_from(payloads),
        st.text(chars, max_size=60),
        st.tuples(st.sampled_from(payloads), st.text(chars, max_size=20)).map("".join),
        st.one_of(
            st.tuples(st.sampled_from(payloads), st.integers(1, 40)).map(lambda t: t[0] * t[1]),
            st.tuples(st.sampled_from("xé👩\u0301 "), st.sampled_from(LENGTHS)).map(
                lambda t: t[0] * t[1]
            ),
        ),
    ).filter(_leak_free)


def _pk_range() -> st.SearchStrategy[int]:
    # Primary keys are 32-bit INTEGER columns on PostgreSQL, 64-bit on SQLite.
    if STEER_HUGE_IDS:
        return st.integers(-(2**31), 2**31 - 1)
    edges = [2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**80]
    return st.integers(-(2**80), 2**80) | st.sampled_from(edges)


GLOBAL_IDS = st.one_of(
    st.tuples(
        st.sampled_from(["Review", "Compound", "Condition", "Evidence", "Nope"]), _pk_range()
    ).map(lambda t: to_global_id(*t)),
    st.tuples(st.sampled_from(["Review", "Compound", "Condition"]), st.integers(0, 700)).map(
        lambda t: to_global_id(*t)
    ),
    st.sampled_from(["UmV2aWV3Ong", "", "=", "Review:1", "UmV2aWV3Oi0x"]),
)
REVIEW_ORDERS = ["UPDATED_AT_DESC", "UPDATED_AT_ASC", "PUBLISHED_AT_DESC", "SLUG_ASC", "TITLE_ASC"]
CATALOG_ORDERS = ["NAME_ASC", "SLUG_ASC", "UPDATED_AT_DESC"]
# Cursors a client made up (decodable, of the right ordering, nonsense inside).
CURSOR_VALUES = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    text_values(nul=not STEER_NUL),
    st.datetimes().map(datetime.isoformat),
)


def forged_cursors(order: str | None = None) -> st.SearchStrategy[str]:
    orders = st.just(order) if order else st.sampled_from(REVIEW_ORDERS + CATALOG_ORDERS)
    return st.builds(encode_cursor, orders, CURSOR_VALUES, st.integers() | _pk_range())


FORGED_CURSORS = forged_cursors()
CURSORS = st.one_of(
    st.none(),
    st.sampled_from(["", "x", "AAAA", "eyJ4IjogMX0", "WyJTTFVHX0FTQyJd"]),
    *([] if STEER_FORGED_CURSORS else [FORGED_CURSORS]),
)
_OFFSETS = [UTC, None, timezone(timedelta(hours=5, minutes=30))]
if not STEER_DATETIME_EDGES:
    _OFFSETS += [timezone(timedelta(hours=14)), timezone(timedelta(hours=-14))]
_EDGE_TIMES = (
    []
    if STEER_DATETIME_EDGES
    else [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00",
    ]
)
DATETIMES = st.one_of(
    st.sampled_from(_EDGE_TIMES or ["2026-01-01T00:00:00Z"]),
    st.datetimes(
        min_value=datetime(1, 1, 1) if not STEER_DATETIME_EDGES else datetime(1, 1, 2),
        max_value=datetime(9999, 12, 31) if not STEER_DATETIME_EDGES else datetime(9999, 12, 30),
        timezones=st.sampled_from(_OFFSETS),
    ).map(datetime.isoformat),
    st.sampled_from(["2026-01-01T00:00:00Z", "", "yesterday", "2026-13-45T99:99:99", "1e9"]),
)


def scalars() -> dict[str, st.SearchStrategy[Any]]:
    """Literal values for hypothesis-graphql: real slugs and ids half the time."""
    known = st.sampled_from(COMPOUNDS + CONDITIONS + REVIEWS[:40])
    return {
        "String": st.one_of(known, text_values()).map(lambda v: graphql.StringValueNode(value=v)),
        "ID": GLOBAL_IDS.map(lambda v: graphql.StringValueNode(value=v)),
        # Small numbers hit real revisions and page sizes; the rest is the whole Int range.
        "Int": st.one_of(st.integers(-2, 5), st.integers(-(2**31), 2**31 - 1)).map(
            lambda v: graphql.IntValueNode(value=str(v))
        ),
        "DateTime": DATETIMES.map(lambda v: graphql.StringValueNode(value=v)),
        "JSON": st.just(graphql.StringValueNode(value="{}")),
    }


# Arguments worth pointing at real rows: hypothesis-graphql's values are mostly misses.
REVIEW_SLUGS = st.sampled_from([*REVIEWS[:12], SECTION_REVIEW])
ARGUMENTS: dict[str, st.SearchStrategy[Any]] = {
    "compound": st.sampled_from(COMPOUNDS),
    "condition": st.sampled_from(CONDITIONS),
    "review": REVIEW_SLUGS,
    "expectedRevision": st.integers(1, 4),
    "first": st.integers(0, 100),
    # Mostly no cursor: made-up ones are refused (see CURSORS), and pages need none.
    "after": st.none() | st.none() | CURSORS,
    "since": st.none() | CURSORS,
    "limit": st.integers(1, 20),
    "from": st.integers(1, 3),
    "to": st.none() | st.integers(1, 3),
    "id": GLOBAL_IDS,
}


def _argument(field: str, argument: str) -> st.SearchStrategy[Any] | None:
    if argument == "slug":
        if "ompound" in field:
            return ARGUMENTS["compound"]
        if "ondition" in field:
            return ARGUMENTS["condition"]
        return REVIEW_SLUGS
    return ARGUMENTS.get(argument)


def _value_node(value: Any) -> graphql.ValueNode:
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    return graphql.StringValueNode(value=value)


class _Steer(graphql.Visitor):
    """Points seven arguments in eight at real rows (hypothesis-graphql's mostly miss)."""

    def __init__(self, draw: Any):
        super().__init__()
        self.draw = draw

    def enter_field(self, node: graphql.FieldNode, *_args: Any) -> Any:
        arguments = list(node.arguments or ())
        names = {a.name.value for a in arguments}
        if node.name.value == "review" and "slug" in names and self.draw(st.integers(0, 7)):
            # One review by slug, or by compound and condition: not both.
            drop = {"slug"} if self.draw(st.booleans()) else {"compound", "condition"}
            arguments = [a for a in arguments if a.name.value not in drop]
        steered = []
        for argument in arguments:
            values = _argument(node.name.value, argument.name.value)
            if values is not None and self.draw(st.integers(0, 7)):
                value = _value_node(self.draw(values))
                argument = graphql.ArgumentNode(name=argument.name, value=value)
            steered.append(argument)
        return graphql.FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=tuple(steered),
            directives=node.directives,
            selection_set=node.selection_set,
        )

    def enter_object_field(self, node: graphql.ObjectFieldNode, *_args: Any) -> Any:
        if node.name.value in ("updatedSince", "since") and self.draw(st.integers(0, 7)):
            value = graphql.StringValueNode(value=self.draw(DATETIMES))
            return graphql.ObjectFieldNode(name=node.name, value=value)
        return None


@st.composite
def steered(draw: Any, documents: st.SearchStrategy[graphql.DocumentNode]) -> str:
    """A generated document with most well-known arguments pointed at real data."""
    return graphql.print_ast(graphql.visit(draw(documents), _Steer(draw)))


def _as_node(document: graphql.DocumentNode) -> graphql.DocumentNode:
    return document


# --- the HTTP client and the checks every answer must pass -------------------------------------


def bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


async def timed(send: Any) -> httpx.Response:
    started = time.perf_counter()
    response = await send
    elapsed = time.perf_counter() - started
    assert elapsed < REQUEST_SECONDS, f"the request took {elapsed:.1f} s"
    return response


def check_answer(response: httpx.Response, sent: str) -> dict[str, Any]:
    """The invariants of every GraphQL answer; returns its payload."""
    body = response.text
    assert response.status_code < 500, f"{response.status_code}: {body[:2000]}"
    media = response.headers.get("content-type", "").split(";")[0]
    assert media in ("application/json", "application/graphql-response+json"), media
    payload = response.json()
    assert isinstance(payload, dict) and ("data" in payload or "errors" in payload), body[:2000]
    errors = payload.get("errors")
    assert errors is None or (isinstance(errors, list) and errors), payload
    for error in errors or []:
        assert isinstance(error, dict) and isinstance(error.get("message"), str), error
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str) and code in CODES, error
    for pattern in LEAKS:
        # An echo of what the client sent (e.g. in a syntax error) is no leak.
        if pattern.search(body) and not pattern.search(sent):
            raise AssertionError(f"internal detail {pattern.pattern!r} in: {body[:3000]}")
    codes = sorted({e["extensions"]["code"] for e in errors or []})
    assert "INTERNAL_SERVER_ERROR" not in codes, f"a bug, for {sent[:3000]!r}: {body[:3000]}"
    if currently_in_test_context():
        event(f"{response.status_code} {'data' if payload.get('data') else 'no data'} {codes}")
    return payload  # type: ignore[no-any-return]


async def post_graphql(
    api: Api, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    # json.dumps escapes to ASCII, so lone surrogates travel as valid JSON ("\ud800").
    content = json.dumps(body)
    headers = {
        "content-type": "application/json",
        "accept": "application/graphql-response+json",
        **bearer(token),
    }
    response = await timed(api.client.post("/graphql", content=content, headers=headers))
    return check_answer(response, content)


@pytest.fixture
def editor(demo_url: str) -> str:
    """An editor's token in the api fixture's database."""
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        secret, _row = create_token(session, "fuzz-editor", "editor")
    engine.dispose()
    return secret


@pytest.fixture
def demo_engine(demo_url: str) -> Iterator[Engine]:
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


# --- 1. documents generated from the schema ---------------------------------------------------

_QUERY_NODES = queries(SDL, custom_scalars=scalars(), print_ast=_as_node)
POSITIVE_QUERIES = st.one_of(
    steered(_QUERY_NODES), steered(_QUERY_NODES), _QUERY_NODES.map(graphql.print_ast)
)
NEGATIVE_QUERIES = queries(SDL, custom_scalars=scalars(), mode=Mode.NEGATIVE)


@fuzz(80)
@given(document=POSITIVE_QUERIES, as_editor=st.booleans())
async def test_generated_queries_get_well_formed_answers(
    api: Api, editor: str, document: str, as_editor: bool
) -> None:
    payload = await post_graphql(api, document, token=editor if as_editor else None)
    # Valid documents are executed (their errors are field errors), unless an abuse
    # limit refuses the whole request.
    if "data" not in payload:
        assert {e["extensions"]["code"] for e in payload["errors"]} <= LIMIT_CODES, payload


@fuzz(50)
@given(document=NEGATIVE_QUERIES, as_editor=st.booleans())
async def test_generated_invalid_queries_are_refused_cleanly(
    api: Api, editor: str, document: str, as_editor: bool
) -> None:
    payload = await post_graphql(api, document, token=editor if as_editor else None)
    assert payload.get("errors"), payload


# --- 2. hand-made invalid documents and malformed requests ------------------------------------

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


# --- 3. generated mutations with an editor token ----------------------------------------------

_MUTATION_NAMES = list(graphql.build_schema(SDL).mutation_type.fields)  # type: ignore[union-attr]
_MUTATION_NODES = st.one_of(
    mutations(SDL, custom_scalars=scalars(), print_ast=_as_node),
    *[
        mutations(SDL, fields=[name], custom_scalars=scalars(), print_ast=_as_node)
        for name in _MUTATION_NAMES
    ],
)
GENERATED_MUTATIONS = steered(_MUTATION_NODES)


def check_database(engine: Engine) -> None:
    """What must hold whatever the mutations did."""
    with engine.connect() as conn:
        if is_sqlite(str(engine.url)):
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").first() is None
        reviews = conn.execute(
            text("SELECT id, slug, status, published_revision_id FROM review")
        ).all()
        disclaimers = {
            row.review_id: row.blocks
            for row in conn.execute(
                text("SELECT review_id, blocks FROM review_section WHERE key = 'DISCLAIMER'")
            )
        }
        revisions = dict(conn.execute(text("SELECT id, review_id FROM review_revision")).all())
    assert reviews
    for review in reviews:
        blocks = disclaimers.get(review.id)
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        assert blocks and body_plain(blocks).strip(), f"{review.slug}: no disclaimer"
        if str(review.status).upper().endswith("PUBLISHED"):
            assert review.published_revision_id is not None, f"{review.slug}: no revision"
        if review.published_revision_id is not None:
            assert revisions.get(review.published_revision_id) == review.id, review.slug


@fuzz(50)
@given(document=GENERATED_MUTATIONS)
async def test_generated_mutations_keep_the_database_sound(
    api: Api, editor: str, demo_engine: Engine, document: str
) -> None:
    payload = await post_graphql(api, document, token=editor)
    if "data" not in payload:
        assert {e["extensions"]["code"] for e in payload["errors"]} <= LIMIT_CODES, payload
    # Anonymously, every mutation is refused.
    anonymous = await post_graphql(api, document)
    codes = {e["extensions"]["code"] for e in anonymous.get("errors") or []}
    assert codes and codes <= {"UNAUTHENTICATED", *LIMIT_CODES}, anonymous
    check_database(demo_engine)


# --- 4. catalog imports -----------------------------------------------------------------------

SMALL_CATALOG: dict[str, Any] = {
    "publisher": DEMO_DATA["publisher"],
    "compounds": DEMO_DATA["compounds"][:2],
    "conditions": DEMO_DATA["conditions"][:2],
    "evidence": [
        e
        for e in DEMO_DATA["evidence"]
        if e["compound"] in COMPOUNDS[:2] and e["condition"] in CONDITIONS[:2]
    ],
}
TEMPLATE_DATA: dict[str, Any] = yaml.safe_load(TEMPLATES.read_text(encoding="utf-8"))
WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    text_values(),
    st.just("x" * 300_000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.integers(1, 150).map(lambda n: json.loads("[" * n + "]" * n)),
    st.sampled_from(["2026-01-01", "yes", "no", "~", "null", "0x1F", "1e400", ".nan", "NCT123"]),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))


@st.composite
def mangled_catalogs(draw: Any) -> tuple[str, str]:
    """A small valid catalog with one to three structural mutations."""
    data = copy.deepcopy(SMALL_CATALOG)
    if draw(st.booleans()):
        data["templates"] = copy.deepcopy(TEMPLATE_DATA["templates"])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in _paths(data) if p]))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        op = draw(st.sampled_from(["replace", "replace", "delete", "extra", "duplicate"]))
        if op == "replace":
            value = draw(WEIRD)
            reference = path[0] == "evidence" and last in ("compound", "condition")
            if STEER_UNHASHABLE_REFS and reference and isinstance(value, (list, dict)):
                value = str(value)
            parent[last] = value
        elif op == "delete":
            del parent[last]
        elif op == "extra" and isinstance(parent[last], dict):
            parent[last][draw(st.text(min_size=1, max_size=10))] = draw(WEIRD)
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    if draw(st.booleans()):
        return "json", json.dumps(data, ensure_ascii=draw(st.booleans()))
    return "yaml", yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False)


def alias_bomb(levels: int, width: int, where: str) -> str:
    """A YAML "billion laughs": ``width ** levels`` strings from a few hundred bytes."""
    anchors = ["  - &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        anchors.append(f"  - &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    bomb = f"*l{levels - 1}"
    places = {
        "compound": f"compounds:\n  - {{slug: x, name: {bomb}, aliases: {bomb}}}\n",
        "evidence": f"evidence:\n  - {{compound: x, condition: y, research: {bomb}, notes: {bomb}}}\n",
        "template": f"templates:\n  - {{version: {bomb}, sections: {bomb}, title: {bomb}}}\n",
        "publisher": f"publisher: {bomb}\n",
        "template-kind": f"templates:\n  - {{kind: {bomb}}}\n",
        "section-key": f"templates:\n  - {{sections: [{{key: {bomb}}}]}}\n",
    }
    return "x-anchors:\n" + "\n".join(anchors) + "\n" + places[where]


BOMB_PLACES = ["compound", "evidence", "template", "publisher"]
if not STEER_ALIAS_BOMB_KEYS:
    BOMB_PLACES += ["template-kind", "section-key"]
YAML_TRICKS = [
    "compounds: []\ncompounds: []\n",
    "!!python/object/apply:os.system ['true']\n",
    "compounds: !!set {a, b}\n",
    "compounds:\n- !!binary aGVsbG8=\n",
    "? [a, b]\n: c\n",
    "publisher: &p {name: x, medical_advisor: *p}\n",
    "%YAML 1.1\n---\ncompounds: []\n...\n---\nconditions: []\n",
    "compounds: [{<<: {slug: merged-key}}]\n",
    "\ufeffcompounds: []\n",
    "compounds: [{slug: 0o17, name: 1_000, drug_class: 2001-01-01}]\n",
    "\t\tcompounds: [\n",
    "evidence: [{compound: ketamine, condition: als, research: specific, notes: !!float 1}]\n",
]


def nested_catalog(fmt: str, where: str, depth: int) -> str:
    nest = "[" * depth + "]" * depth
    if fmt == "json":
        return {
            "top": nest,
            "compounds": f'{{"compounds": {nest}}}',
            "templates": f'{{"templates": [{{"sections": {nest}}}]}}',
            "notes": f'{{"evidence": [{{"notes": {nest}}}]}}',
        }[where]
    return {
        "top": nest,
        "compounds": f"compounds: {nest}",
        "templates": f"templates:\n- sections: {nest}",
        "notes": f"evidence:\n- notes: {nest}",
    }[where]


CATALOG_KINDS = ["random", "bytes", "yaml-prefix", "json-prefix", "mangled", "mangled"]
CATALOG_KINDS += ["nested", "bomb", "tricks"]


@st.composite
def catalog_texts(draw: Any) -> tuple[str, str]:
    kind = draw(st.sampled_from(CATALOG_KINDS))
    fmt = draw(st.sampled_from(["yaml", "json"]))
    if kind == "random":
        return fmt, draw(st.text(characters(), max_size=400))
    if kind == "bytes":
        return fmt, draw(st.binary(max_size=400)).decode("utf-8", "replace")
    if kind == "yaml-prefix":
        return "yaml", DEMO_TEXT[: draw(st.integers(0, len(DEMO_TEXT) - 1))]
    if kind == "json-prefix":
        return "json", DEMO_JSON[: draw(st.integers(0, len(DEMO_JSON) - 1))]
    if kind == "mangled":
        return draw(mangled_catalogs())  # type: ignore[no-any-return]
    if kind == "nested":
        depth = draw(st.integers(1, 150 if STEER_DEEP_CATALOG else 100_000))
        where = draw(st.sampled_from(["top", "compounds", "templates", "notes"]))
        return fmt, nested_catalog(fmt, where, depth)
    if kind == "bomb":
        levels, width = draw(st.integers(1, 6) | st.just(6)), draw(st.integers(1, 10) | st.just(10))
        return "yaml", alias_bomb(levels, width, draw(st.sampled_from(BOMB_PLACES)))
    return "yaml", draw(st.sampled_from(YAML_TRICKS))


def snapshot(engine: Engine) -> Any:
    """The whole catalog and the counts of everything an import could touch."""
    with session_scope(engine) as session:
        exported = export_data(session)
        counts = {
            table: session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
            for table in ("review", "review_section", "review_revision", "citation", "audit_log")
        }
    return exported, counts


def bounded(problems_size: int, content: str) -> bool:
    """The problems never dwarf the input (an alias bomb must not be expanded)."""
    return problems_size < 100_000 + 10 * len(content)


@pytest.fixture
def demo_catalog_engine(engine: Engine) -> Engine:
    load(engine, TEMPLATES, DEMO)
    return engine


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


# --- 5. every text field of the editorial mutations -------------------------------------------

LINE, OPT_LINE, LONG_LINE, TEXT = "line", "optline", "longline", "text"
# Whitespace as the catalog rules strip it (pydantic's): Python's, except the \x1c-\x1f
# controls (which the rules reject anyway).
_WHITESPACE = "".join(
    c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f"
)


def strip(value: str) -> str:
    return value.strip(_WHITESPACE)


def allowed(rule: str, value: str) -> bool:
    """Whether the catalog rules accept a single text value (README: Catalog files).
    Lone surrogates are not Unicode text: the API refuses them wherever they are."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    v = strip(value)
    if rule == TEXT:
        return len(v) <= 5000 and not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", v)
    if re.search(r"[\x00-\x1f\x7f]", v):
        return False
    low, high = {LINE: (1, 200), OPT_LINE: (0, 200), LONG_LINE: (1, 1000)}[rule]
    return low <= len(v) <= high


def folded(value: str) -> str:
    """A fact as a page prints it: literal text, whitespace folded, no sentinels."""
    return " ".join(re.sub("[\ue000\ue001\ue002]", "", value).split())


# field: (rule, is a list, printed on the page)
COMPOUND_FIELDS = {
    "name": (LINE, False, True),
    "drugClass": (LINE, False, True),
    "safetyProfile": (LINE, True, True),
    "regulatoryStatus": (LONG_LINE, False, True),
    "evidenceLevel": (LONG_LINE, False, True),
    "mechanisms": (LINE, True, True),
    "aliases": (LINE, True, False),
    "citationTitle": (OPT_LINE, False, False),
}
CONDITION_FIELDS = {
    "name": (LINE, False, True),
    "specialist": (LINE, False, True),
    "fullName": (LINE, False, True),
    "aliases": (LINE, True, False),
}
EVIDENCE_FIELDS = {"notes": (TEXT, False, False), "citationTitle": (OPT_LINE, False, False)}
PUBLISHER_FIELDS = {
    "name": (LINE, False, True),
    "advisorName": (LINE, False, True),
    "advisorCredentials": (OPT_LINE, False, True),
    "cta": (TEXT, False, True),
    "notice": (TEXT, False, True),
}
SECTION_KEYS = ["INTRO", "SAFETY_PROFILE", "CONSIDERATIONS", "LITERATURE", "BOTTOM_LINE"]
SECTION_KEYS += ["DISCLAIMER", "CTA", "FAQ"]
TARGETS = (
    [("createCompound", f) for f in COMPOUND_FIELDS]
    + [("updateCompound", f) for f in COMPOUND_FIELDS]
    + [("createCondition", f) for f in CONDITION_FIELDS]
    + [("updateCondition", f) for f in CONDITION_FIELDS]
    + [("createEvidence", f) for f in EVIDENCE_FIELDS]
    + [("updateEvidence", f) for f in EVIDENCE_FIELDS]
    + [("updatePublisher", f) for f in PUBLISHER_FIELDS]
)
SECTION_TARGETS = [("updateSection", "body"), ("updateSection", "heading")]
COMPOUND_OUT = (
    "slug name drugClass safetyProfile regulatoryStatus evidenceLevel mechanisms aliases "
    "citations { title } revision"
)
CONDITION_OUT = "slug name specialist fullName aliases revision"
EVIDENCE_OUT = "notes citations { title } revision"
PUBLISHER_OUT = "name advisorName advisorCredentials cta notice revision"
PAGE = """
query Page($slug: String!) {
  review(slug: $slug) {
    title text(format: HTML) markdown: text(format: MARKDOWN)
    sections { key heading revision body(format: HTML) }
    faq { question answer(format: HTML) }
  }
}
"""
UPDATES = {
    # mutation: (read the record, change it, its fields, the payload's key)
    "updateCompound": (
        f'{{ compound(slug: "{FACT_COMPOUND}") {{ {COMPOUND_OUT} }} }}',
        "mutation($r: Int!, $p: CompoundPatch!) { updateCompound("
        f'slug: "{FACT_COMPOUND}", expectedRevision: $r, input: $p) {{ compound {{ {COMPOUND_OUT} }} }} }}',
        COMPOUND_FIELDS,
        "compound",
    ),
    "updateCondition": (
        f'{{ condition(slug: "{FACT_CONDITION}") {{ {CONDITION_OUT} }} }}',
        "mutation($r: Int!, $p: ConditionPatch!) { updateCondition("
        f'slug: "{FACT_CONDITION}", expectedRevision: $r, input: $p) {{ condition {{ {CONDITION_OUT} }} }} }}',
        CONDITION_FIELDS,
        "condition",
    ),
    "updateEvidence": (
        f'{{ review(slug: "{FACT_REVIEW}") {{ evidence {{ {EVIDENCE_OUT} }} }} }}',
        "mutation($r: Int!, $p: EvidencePatch!) { updateEvidence("
        f'compound: "{FACT_COMPOUND}", condition: "{FACT_CONDITION}", expectedRevision: $r, '
        f"input: $p) {{ evidence {{ {EVIDENCE_OUT} }} }} }}",
        EVIDENCE_FIELDS,
        "evidence",
    ),
    "updatePublisher": (
        f"{{ publisher {{ {PUBLISHER_OUT} }} }}",
        "mutation($r: Int, $p: PublisherInput!) { updatePublisher("
        f"expectedRevision: $r, input: $p) {{ publisher {{ {PUBLISHER_OUT} }} }} }}",
        PUBLISHER_FIELDS,
        "publisher",
    ),
}
CREATE_COMPOUND = f"mutation($i: CompoundInput!) {{ createCompound(input: $i) {{ compound {{ {COMPOUND_OUT} }} }} }}"
CREATE_CONDITION = (
    "mutation($i: ConditionInput!) { createCondition(input: $i) "
    f"{{ condition {{ {CONDITION_OUT} }} }} }}"
)
CREATE_EVIDENCE = f"mutation($i: EvidenceInput!) {{ createEvidence(input: $i) {{ evidence {{ {EVIDENCE_OUT} }} }} }}"
UPDATE_SECTION = """
mutation($s: String!, $k: SectionKey!, $r: Int!, $body: String!, $heading: String) {
  updateSection(review: $s, key: $k, expectedRevision: $r, body: $body, heading: $heading) {
    section { key heading revision plain: body(format: PLAIN) }
  }
}
"""
_serial = itertools.count(1)


def citation(title: str | None) -> dict[str, Any]:
    return {"pmid": "12345", **({"title": title} if title is not None else {})}


def patch(fields: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    if field == "citationTitle":
        return {"citations": [citation(value)]}
    return {field: [value] if fields[field][1] else value}


def stored(fields: dict[str, Any], field: str, record: dict[str, Any]) -> Any:
    if field == "citationTitle":
        return record["citations"][0]["title"]
    return record[field][0] if fields[field][1] else record[field]


def compound_input(slug: str, patched: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": f"Fuzzamine {slug}",  # display names are unique
        "drugClass": "Test class",
        "safetyProfile": ["Well tolerated in trials"],
        "regulatoryStatus": "Not approved",
        "evidenceLevel": "Preclinical",
        "mechanisms": ["Unknown mechanism"],
        "citations": [citation("A study")],
        **(patched or {}),
    }


class Inspector(HTMLParser):
    """Every tag and attribute of a page, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


FRAGMENT_TAGS = {"article", "h1", "h2", "h3", "p", "ul", "li", "strong", "section", "div"}
PAGE_TAGS = FRAGMENT_TAGS | {
    *("html", "head", "meta", "title", "link", "style", "body", "header", "span"),
    *("a", "dl", "dt", "dd", "main", "footer", "code", "ol", "em"),
}
ATTRIBUTES = {
    *("class", "role", "id", "href", "lang", "charset", "name", "content", "rel", "type"),
    *("aria-label", "title"),
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "data"}


def assert_inert(page: str, tags: set[str]) -> str:
    """No script, no event handler, no script URL, only our own tags; returns the text."""
    inspector = Inspector()
    inspector.feed(page)
    inspector.close()
    for tag, attrs in inspector.tags:
        assert tag in tags, f"<{tag} {attrs}> in {page[:3000]}"
        for name, value in attrs:
            assert name in ATTRIBUTES and not name.startswith("on"), f"<{tag} {name}={value!r}>"
            if name in URL_ATTRIBUTES:
                url = re.sub(r"[\x00-\x20]", "", value or "").lower()
                assert not url.startswith(("javascript:", "vbscript:", "data:")), (tag, value)
    assert "<script" not in page.lower()
    return " ".join("".join(inspector.data).split())


def assert_markdown_inert(markdown: str) -> None:
    assert not re.search(r"(?<!\\)\]\(\s*javascript:", markdown, re.I), markdown[:3000]
    assert not re.search(r"(?<!\\)<\s*(script|img|svg|a)\b", markdown, re.I), markdown[:3000]


class Editor:
    def __init__(self, api: Api, token: str):
        self.api, self.token = api, token

    async def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await post_graphql(self.api, query, variables, self.token)

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = await self.run(query, variables)
        assert not payload.get("errors"), payload
        return payload["data"]  # type: ignore[no-any-return]

    async def check_page(self, slug: str, expect: str = "") -> None:
        """The page's HTML (GraphQL and /preview) is inert and shows ``expect``."""
        page = (await self.data(PAGE, {"slug": slug}))["review"]
        assert page is not None, slug
        whole = assert_inert(page["text"], FRAGMENT_TAGS)
        for section in page["sections"]:
            assert_inert(section["body"], FRAGMENT_TAGS)
        for item in page["faq"]:
            assert_inert(item["answer"], FRAGMENT_TAGS)
        assert_markdown_inert(page["markdown"])
        response = await timed(self.api.client.get(f"/preview/{slug}", headers=bearer(self.token)))
        assert response.status_code == 200, response.text[:2000]
        preview = assert_inert(response.text, PAGE_TAGS)
        if expect:
            assert expect in whole and expect in preview, f"{expect[:300]!r} is not on the page"


# Display names (README: Catalog files): cleaned, NFKC, and the name rules' refusals.
NAME_FIELDS = {"name", "drugClass", "aliases", "specialist", "fullName"}
NAME_FIELDS |= {"advisorName", "advisorCredentials"}
NAME_RULES = re.compile(r"letters in one word|cannot show reliably|the same name as")


def rejected(payload: dict[str, Any]) -> bool:
    """True for a clean BAD_USER_INPUT with its problems, False for a success."""
    if not payload.get("errors"):
        return False
    (error,) = payload["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    problems = error["extensions"].get("problems")
    assert problems and all(p["path"] and p["message"] for p in problems), error
    # A field error (data: null) or a request refused before execution (no data at all:
    # text no database can hold, such as NUL or a lone surrogate).
    assert payload.get("data") is None, payload
    return True


async def fuzz_facts(ed: Editor, target: str, field: str, value: str) -> None:
    serial = next(_serial)
    page = FACT_REVIEW
    if target == "createCompound":
        fields, slug = COMPOUND_FIELDS, f"fuzz-compound-{serial}"
        result = await ed.run(
            CREATE_COMPOUND, {"i": compound_input(slug, patch(fields, field, value))}
        )
        record = None if rejected(result) else result["data"][target]["compound"]
        reread = await ed.data(f'{{ compound(slug: "{slug}") {{ {COMPOUND_OUT} }} }}')
        assert reread["compound"] == record
        if record is not None:
            await ed.data(
                "mutation { createEvidence(input: "
                f'{{compound: "{slug}", condition: "als", research: LIMITED}}) {{ evidence {{ revision }} }} }}'
            )
            page = f"{slug}--als"
    elif target == "createCondition":
        fields, slug = CONDITION_FIELDS, f"fuzz-condition-{serial}"
        record_in = {"slug": slug, "name": f"Fuzzitis {serial}", "specialist": "fuzz specialist"}
        result = await ed.run(CREATE_CONDITION, {"i": {**record_in, **patch(fields, field, value)}})
        record = None if rejected(result) else result["data"][target]["condition"]
        reread = await ed.data(f'{{ condition(slug: "{slug}") {{ {CONDITION_OUT} }} }}')
        assert reread["condition"] == record
        if record is not None:
            await ed.data(
                "mutation { createEvidence(input: "
                f'{{compound: "ketamine", condition: "{slug}", research: SPECIFIC}}) {{ evidence {{ revision }} }} }}'
            )
            page = f"ketamine--{slug}"
    elif target == "createEvidence":
        fields, compound = EVIDENCE_FIELDS, f"fuzz-evidence-{serial}"
        await ed.data(CREATE_COMPOUND, {"i": compound_input(compound)})
        record_in = {"compound": compound, "condition": "als", "research": "LIMITED"}
        result = await ed.run(CREATE_EVIDENCE, {"i": {**record_in, **patch(fields, field, value)}})
        record = None if rejected(result) else result["data"][target]["evidence"]
        reread = await ed.data(
            f'{{ review(slug: "{compound}--als") {{ evidence {{ {EVIDENCE_OUT} }} }} }}'
        )
        assert (reread["review"] and reread["review"]["evidence"]) == record
        if record is not None:
            page = f"{compound}--als"
    else:
        read, change, fields, key = UPDATES[target]

        async def current() -> dict[str, Any]:
            data = await ed.data(read)
            return data["review"]["evidence"] if "review" in data else data[key]  # type: ignore[no-any-return]

        before = await current()
        result = await ed.run(change, {"r": before["revision"], "p": patch(fields, field, value)})
        record = None if rejected(result) else result["data"][target][key]
        assert await current() == (before if record is None else record)
        if target == "updatePublisher" and record is not None:
            # The byline is on every page; past the inline limit a draft waits for
            # regeneration: make sure this one is current.
            await ed.data(
                f'mutation {{ generateReview(compound: "{FACT_COMPOUND}", '
                f'condition: "{FACT_CONDITION}") {{ review {{ revision }} }} }}'
            )
    rule, _is_list, printed = fields[field]
    event(f"{target}.{field}: {'stored' if record else 'rejected'}")
    said = "stored" if record else "rejected"
    if field in NAME_FIELDS:
        # Names are stored cleaned and NFKC (README: Catalog files, names); the name rules
        # may refuse what the line rules accept, and say so.
        expect = strip(unicodedata.normalize("NFKC", unseen(value)))
        problems = [] if record else result["errors"][0]["extensions"]["problems"]
        if record is None and allowed(rule, expect):
            assert all(NAME_RULES.search(p["message"]) for p in problems), problems
        else:
            assert (record is not None) == allowed(rule, expect), f"{value[:200]!r} was {said}"
        if record is not None:
            name = stored(fields, field, record)
            assert name == unicodedata.normalize("NFKC", name), repr(name)
            assert all(c not in INVISIBLE_SET or c in MAY_STAY for c in name), repr(name)
            assert strip(unseen(name)) == expect, f"{name!r} for {value[:200]!r}"
    else:
        assert (record is not None) == allowed(rule, value), f"{value[:200]!r} was {said}"
        if record is not None:
            assert stored(fields, field, record) == strip(value)
    shown = folded(stored(fields, field, record)) if record is not None and printed else ""
    await ed.check_page(page, shown)


# Invisible characters (README: Content check): format characters (Cf) and the other
# default-ignorable code points (DerivedCoreProperties.txt), written out independently of
# resolvers/text_safety.py.
INVISIBLE_SET = frozenset(
    [c for c in map(chr, range(0x20000)) if unicodedata.category(c) == "Cf"]
    + ["\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u3164", "\uffa0"]
    + [chr(c) for c in (*range(0x180B, 0x1810), *range(0xFE00, 0xFE10), *range(0xFFF0, 0xFFF9))]
    + [chr(c) for c in range(0xE0000, 0xE1000)]
)
# What the claim strategy inserts: all of them below plane 14 and a few tags and variation
# selectors of plane 14; not the Hangul fillers, which show as a blank.
INVISIBLE = sorted(c for c in INVISIBLE_SET if ord(c) < 0xE0000)
INVISIBLE = [c for c in INVISIBLE if c not in "\u115f\u1160\u3164\uffa0"]
INVISIBLE += [chr(c) for c in (0xE0001, 0xE0020, 0xE0041, 0xE007F, 0xE0100, 0xE01EF, 0xE0FFF)]
# Joiners and variation selectors may stay where a script or an emoji needs them.
MAY_STAY = {"\u200c", "\u200d", *(chr(c) for c in range(0xFE00, 0xFE10))}
MAY_STAY |= {chr(c) for c in range(0xE0100, 0xE01F0)}


def unseen(value: str) -> str:
    """A text without any invisible character, NFC: how the stored text must read."""
    return unicodedata.normalize("NFC", "".join(c for c in value if c not in INVISIBLE_SET))


def assert_cleaned(stored: str, sent: str) -> None:
    """Stored as the editor wrote it, invisible characters aside, and in NFC."""
    assert stored == unicodedata.normalize("NFC", stored), repr(stored[:200])
    assert all(c not in INVISIBLE_SET or c in MAY_STAY for c in stored), repr(stored[:200])
    assert unseen(stored) == unseen(sent), f"{stored[:200]!r} for {sent[:200]!r}"


async def fuzz_section(ed: Editor, field: str, value: str, key: str) -> None:
    sections = (await ed.data(PAGE, {"slug": SECTION_REVIEW}))["review"]["sections"]
    section = next(s for s in sections if s["key"] == key)
    args = {"body": value} if field == "body" else {"body": "Edited.", "heading": value}
    result = await ed.run(
        UPDATE_SECTION, {"s": SECTION_REVIEW, "k": key, "r": section["revision"], **args}
    )
    record = None if rejected(result) else result["data"]["updateSection"]["section"]
    event(f"updateSection.{field}: {'stored' if record else 'rejected'}")
    if field == "heading":
        valid = (
            len(value) <= 300
            and len(unicodedata.normalize("NFC", value)) <= 300
            and not re.search(r"[\x00-\x1f\x7f]", value)
        )
        assert (record is not None) == valid, f"heading {value[:200]!r}"
        if record is not None:
            assert_cleaned(record["heading"], value)
    else:
        control = re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value)
        if len(value) > 20_000 or control:
            assert record is None, f"{value[:200]!r} was stored"
        try:
            expected = body_plain(parse_markup(unseen(value).replace("\r\n", "\n")))
        except MarkupError:
            expected = None
        if record is not None:
            assert expected is not None, f"{value[:200]!r} was stored"
            assert_cleaned(record["plain"], expected)
        elif expected and not control and len(value) <= 20_000 and key in ("CTA", "FAQ"):
            raise AssertionError(f"{value[:200]!r} was refused: {result}")
    await ed.check_page(SECTION_REVIEW)


EXPLICIT = [
    # The classic payloads, every run, whatever the generator draws.
    (("updateCompound", "name"), "<script>alert(1)</script>", "INTRO"),
    (("updateCompound", "drugClass"), '"><img src=x onerror=alert(1)>', "INTRO"),
    (("updateCondition", "specialist"), "  [x](javascript:alert(1))  ", "INTRO"),
    (("updatePublisher", "notice"), "**not bold** <svg onload=alert(1)>\n- not a list", "INTRO"),
    (("updatePublisher", "cta"), "Q: question?\nA: <a href=javascript:alert(1)>x</a>", "INTRO"),
    (("createCondition", "name"), "\u202eevil مرحبا 👩🏽\u200d⚕️ e\u0301", "INTRO"),
    (("updateEvidence", "notes"), "z" * 5001, "INTRO"),
    (("updateSection", "body"), "Q: <script>x</script>?\nA: [x](javascript:alert(1))", "FAQ"),
    (("updateSection", "body"), "- **<b>Lead:</b>** ![x](javascript:alert(1))", "LITERATURE"),
    (("updateSection", "heading"), "<img src=x onerror=alert(1)>", "INTRO"),
    (("updateSection", "body"), " \t\n ", "DISCLAIMER"),
    # Names: a look-alike letter, invisible characters, compatibility forms.
    (("createCompound", "name"), "Ket\u0430mine", "INTRO"),
    (("updateCondition", "name"), "\u202eAL\u200bS\u202c", "INTRO"),
    (("updatePublisher", "advisorName"), "Dr.\u00a0\uff21da \ufb01ctional", "INTRO"),
    (("updateSection", "body"), "It cu\u200bres.\n\n- Platelets 150\u00d710\u2079/L", "INTRO"),
]


def _examples(test: Any) -> Any:
    for target, value, key in EXPLICIT:
        test = example(target=target, value=value, key=key)(test)
    return test


@fuzz(60)
@_examples
@given(
    target=st.sampled_from(TARGETS) | st.sampled_from(SECTION_TARGETS),
    value=text_values(),
    key=st.sampled_from(SECTION_KEYS),
)
async def test_text_fields_are_stored_exactly_and_render_inert(
    api: Api, editor: str, target: tuple[str, str], value: str, key: str
) -> None:
    mutation, field = target
    note(f"{mutation}.{field} = {value[:300]!r} (section {key})")
    ed = Editor(api, editor)
    if mutation == "updateSection":
        await fuzz_section(ed, field, value, key)
    else:
        await fuzz_facts(ed, mutation, field, value)


# --- 6. claims disguised with invisible characters (issue 17, item 7) --------------------------

# (phrase as written, the rule and the words of its finding id)
CLAIMS = [
    ("Ketamine cures ALS", "ABSOLUTE_CLAIM", "cures"),
    ("It is completely safe", "ABSOLUTE_CLAIM", "it is completely safe"),
    ("totally safe", "ABSOLUTE_CLAIM", "totally safe"),
    ("results are guaranteed", "ABSOLUTE_CLAIM", "guaranteed"),
    ("there are no side effects", "ABSOLUTE_CLAIM", "no side effects"),
    ("no side-effects", "ABSOLUTE_CLAIM", "no side-effects"),
    ("a risk-free option", "ABSOLUTE_CLAIM", "risk-free"),
    ("proven to work", "ABSOLUTE_CLAIM", "proven to work"),
    ("a miracle", "ABSOLUTE_CLAIM", "miracle"),
    ("50 mg", "DOSING", "50 mg"),
    ("take it 2", "DOSING", "take it 2"),
    ("twice a day", "DOSING", "twice a day"),
    ("every 8 hours", "DOSING", "every 8 hours"),
]
SPACES = [c for c in map(chr, range(0x10000)) if unicodedata.category(c) == "Zs"]
DASHES = [c for c in map(chr, range(0x10000)) if unicodedata.category(c) == "Pd"]
DASHES += ["\u2212"]


@st.composite
def disguised_claims(draw: Any) -> tuple[str, str]:
    """A claim with invisible characters inserted anywhere, its spaces and hyphens
    swapped for Unicode ones and its letters' case changed; and the id it must get."""
    phrase, rule, words = draw(st.sampled_from(CLAIMS))
    out: list[str] = []
    for ch in phrase:
        if draw(st.integers(0, 2)) == 0:
            out.append(draw(st.text(st.sampled_from(INVISIBLE), min_size=1, max_size=3)))
        if ch == " ":
            ch = draw(st.sampled_from(SPACES))
        elif ch == "-":
            ch = draw(st.sampled_from(DASHES))
        elif ch.isalpha() and draw(st.booleans()):
            ch = ch.swapcase()
        out.append(ch)
    out.append(draw(st.text(st.sampled_from(INVISIBLE), max_size=2)))
    return "".join(out), f"{rule}/{words}"


@fuzz(400)
@given(claim=disguised_claims(), key=st.sampled_from(SECTION_KEYS))
def test_disguised_claims_are_always_found(claim: tuple[str, str], key: str) -> None:
    text, finding = claim
    note(repr(text))
    section = document.Section(key, 0, None, parse_markup(f"Note: {text}."), "EDITED")
    found = {f.id: f for f in check_sections([section])}
    assert f"{key}/{finding}" in found, (text, sorted(found))
    excerpt = found[f"{key}/{finding}"].excerpt
    assert not any(c in INVISIBLE_SET for c in excerpt), repr(excerpt)


@fuzz(12)
@given(claim=disguised_claims())
async def test_disguised_claims_are_found_through_the_api(
    api: Api, editor: str, claim: tuple[str, str]
) -> None:
    text, finding = claim
    note(repr(text))
    ed = Editor(api, editor)
    sections = (await ed.data(PAGE, {"slug": SECTION_REVIEW}))["review"]["sections"]
    revision = next(s["revision"] for s in sections if s["key"] == "CONSIDERATIONS")
    body = f"Our editors wrote: {text}."
    stored = await ed.data(
        UPDATE_SECTION, {"s": SECTION_REVIEW, "k": "CONSIDERATIONS", "r": revision, "body": body}
    )
    assert_cleaned(stored["updateSection"]["section"]["plain"], body)
    review = await ed.data(
        f'{{ review(slug: "{SECTION_REVIEW}") {{ findings {{ id excerpt }} }} }}'
    )
    ids = {f["id"] for f in review["review"]["findings"]}
    assert f"CONSIDERATIONS/{finding}" in ids, (text, ids)


# --- bugs this file found, fixed: their minimal inputs stay as regression tests ------------


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
