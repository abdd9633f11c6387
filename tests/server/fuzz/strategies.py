"""Strategies: values (texts, ids, cursors, dates) and GraphQL documents generated
from the committed schema, with their arguments steered at real rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import queries

from db.pagination import encode_keyset as encode_cursor
from resolvers.relay import to_global_id
from tests.server.fuzz.settings import (
    COMPOUNDS,
    CONDITIONS,
    LEAKS,
    REVIEWS,
    SDL,
    SECTION_REVIEW,
    STEER_DATETIME_EDGES,
    STEER_FORGED_CURSORS,
    STEER_HUGE_IDS,
    STEER_NUL,
    STEER_SURROGATES,
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


def as_node(document: graphql.DocumentNode) -> graphql.DocumentNode:
    return document


_QUERY_NODES = queries(SDL, custom_scalars=scalars(), print_ast=as_node)
POSITIVE_QUERIES = st.one_of(
    steered(_QUERY_NODES), steered(_QUERY_NODES), _QUERY_NODES.map(graphql.print_ast)
)
