"""What things cost, in points (one point: about 10 µs of server CPU, measured on the
demo catalog with bench/abuse.py). ``server.cost`` estimates a query with these before it
runs; ``server.metering`` counts the same while it runs, from the real number of items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
)

# Items assumed for a list that is not a page (facts' lists, citations...), unless
# LIST_SIZES knows better: the page structure comes from the templates (the demo's largest:
# 8 sections, 3 FAQ items, 3 blocks a section, 4 list items, 2 spans), with room for
# editors' additions; what an answer really holds is counted as it executes, and the
# budget is settled on that.
LIST_ESTIMATE = 10
LIST_SIZES: dict[tuple[str, str], int] = {
    ("Review", "sections"): 10,
    ("Review", "faq"): 5,
    ("ReviewRevision", "sections"): 10,
    ("ReviewSection", "blocks"): 5,
    ("ListBlock", "items"): 6,
    ("ParagraphBlock", "spans"): 3,
    ("ListItem", "spans"): 3,
    ("FaqBlock", "answer"): 3,
    # Facts' lists (the demo's largest: 5 aliases, 5 safety notes, 4 mechanisms).
    ("Compound", "aliases"): 6,
    ("Compound", "safetyProfile"): 6,
    ("Compound", "mechanisms"): 6,
    ("Compound", "citations"): 6,
    ("Condition", "aliases"): 6,
    ("Evidence", "citations"): 6,
}
# Each item of any list (an object built and completed, a comma in the answer).
LIST_ITEM = 1

# Fields whose work is more than reading a value, in points per resolution. Measured
# (CPU per item over 100 items, demo catalog) and rounded up.
WEIGHTS: dict[tuple[str, str], int] = {
    # A lookup by key (a DataLoader batch, a snapshot decoded).
    ("Query", "review"): 20,
    ("Query", "compound"): 20,
    ("Query", "condition"): 20,
    ("Query", "node"): 20,
    # Full-text search: the query itself, before its rows (ROWS).
    ("Query", "search"): 150,
    # Rendered text: the whole page (about 5 KB), a section body, an FAQ answer.
    ("Review", "text"): 28,
    ("ReviewRevision", "text"): 28,
    ("ReviewSection", "body"): 4,
    ("FaqItem", "answer"): 4,
    # JSON-LD is built with the Seo object and serialized when asked for (about 2.3 KB).
    ("Review", "seo"): 10,
    ("Seo", "jsonLd"): 10,
    # Editors' fields that compute over every section.
    ("Review", "diff"): 50,
    ("Review", "findings"): 20,
    ("Review", "revisions"): 10,
    # Editors' history and schedule: a DataLoader batch each.
    ("Review", "schedule"): 10,
    ("Review", "restoredFrom"): 10,
}

# Rows of a page, by the page's type: what loading one row costs, selected or not.
ROWS: dict[str, int] = {
    "ReviewConnection": 6,
    "CompoundConnection": 2,
    "ConditionConnection": 2,
    "SearchConnection": 11,
    "ChangeFeed": 4,
    "AuditEntryConnection": 3,
}

# Introspection fields resolve from the schema in memory (about 2.5 µs each).
INTROSPECTION_FIELDS_PER_POINT = 3


def weight(parent: str, field: str) -> int:
    return WEIGHTS.get((parent, field), 1)


@dataclass(frozen=True, slots=True)
class IntrospectionSizes:
    """Sizes of the schema's introspection lists: (field, averaged) -> items."""

    types: int
    wrapping: int
    sizes: dict[tuple[str, bool], float]


_SIZES: dict[int, IntrospectionSizes] = {}


def _wrappers(t: Any) -> int:
    n = 0
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        n += 1
        t = t.of_type
    return n


def introspection_sizes(schema: GraphQLSchema) -> IntrospectionSizes:
    """Averages over every type (what a walk of `types` adds up to) and maxima (any one
    type), computed once per schema."""
    found = _SIZES.get(id(schema))
    if found is not None:
        return found
    types = list(schema.type_map.values())
    output_types = [t for t in types if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType))]
    input_types = [t for t in types if isinstance(t, GraphQLInputObjectType)]
    fields = [f for t in output_types for f in t.fields.values()]
    input_fields = [f for t in input_types for f in t.fields.values()]
    outputs = [len(t.fields) for t in output_types]
    inputs = [len(t.fields) for t in input_types]
    interfaces = [len(t.interfaces) for t in output_types]
    values = [len(t.values) for t in types if isinstance(t, GraphQLEnumType)]
    possible = [
        len(schema.get_possible_types(t))
        for t in types
        if isinstance(t, (GraphQLInterfaceType, GraphQLUnionType))
    ]
    args = [len(f.args) for f in fields]
    directives = list(schema.directives)
    wrapping = max(
        [_wrappers(f.type) for f in fields]
        + [_wrappers(a.type) for f in fields for a in f.args.values()]
        + [_wrappers(f.type) for f in input_fields]
        + [1]
    )

    def avg(counts: list[int], over: int) -> float:
        return sum(counts) / max(1, over)

    sizes = {
        ("fields", True): avg(outputs, len(types)),
        ("fields", False): max(outputs or [0]),
        ("inputFields", True): avg(inputs, len(types)),
        ("inputFields", False): max(inputs or [0]),
        ("interfaces", True): avg(interfaces, len(types)),
        ("interfaces", False): max(interfaces or [0]),
        ("enumValues", True): avg(values, len(types)),
        ("enumValues", False): max(values or [0]),
        ("possibleTypes", True): avg(possible, len(types)),
        ("possibleTypes", False): max(possible or [0]),
        ("args", True): avg(args, len(fields)),
        ("args", False): max(args + [len(d.args) for d in directives] + [0]),
        ("directives", False): len(directives),
        ("locations", True): avg([len(d.locations) for d in directives], len(directives)),
        ("locations", False): max([len(d.locations) for d in directives] or [0]),
    }
    found = IntrospectionSizes(len(types), wrapping, sizes)
    _SIZES[id(schema)] = found
    return found
