"""Execution that counts what it does: the actual cost, and the bytes of the answer.

``MeteredExecutor`` is graphql-core's executor with three small additions, so
that one pass both produces the answer and measures it:

* every field resolved adds its weight, every list item ``LIST_ITEM`` and every
  page its rows (the weights of ``server.weights``; root fields of mutations, run one
  by one, count nothing): the *actual* cost, reported
  next to the requested one and settled against the client's budget;
* every leaf value adds its size: past the request's byte limit, execution
  stops resolving (each object not begun yet is left empty, no resolver runs for
  it), and the endpoint answers ``RESPONSE_TOO_LARGE`` instead of the partial answer.
  The answer is never built past the limit, so an answer too large costs at most
  the limit in memory.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import GraphQLError, GraphQLLeafType, GraphQLObjectType
from graphql.execution.executor import Executor
from graphql.execution.incremental.incremental_executor import IncrementalExecutor

from server.weights import LIST_ITEM, ROWS, WEIGHTS

# What a leaf adds to the answer besides its value: its key, quotes, a colon, a comma.
LEAF_OVERHEAD = 8


class ResponseTooLarge(GraphQLError):
    """The answer would be larger than the request may produce."""

    def __init__(self, limit: int):
        super().__init__(
            f"the answer is larger than {limit} bytes: ask for fewer items or fields",
            extensions={"code": "RESPONSE_TOO_LARGE", "limit": limit},
        )
        self.limit = limit


class Meter:
    """Shared by an execution and its sub-executors (which are shallow copies). A meter of
    a part of the answer (``part``) counts that part alone, within what is left of the
    whole answer's byte limit, and trips the whole when it passes it."""

    __slots__ = ("actual", "exceeded", "limit", "max_bytes", "parent", "produced")

    def __init__(self, max_bytes: int, parent: Meter | None = None):
        self.max_bytes = max_bytes
        self.limit: int = parent.limit if parent is not None else max_bytes
        self.parent = parent
        self.actual = 0
        self.produced = 0
        self.exceeded = False

    def part(self) -> Meter:
        return Meter(self.max_bytes - self.produced, self)

    def trip(self) -> ResponseTooLarge:
        meter: Meter | None = self
        while meter is not None:
            meter.exceeded = True
            meter = meter.parent
        return ResponseTooLarge(self.limit)


def _rows(page: Any) -> int:
    edges = getattr(page, "edges", None)
    if isinstance(edges, list):
        return len(edges)
    feed = getattr(page, "feed", None)  # the change feed keeps its entries behind `changes`
    changes = getattr(feed, "changes", None)
    return len(changes) if isinstance(changes, list) else 0


# The weights by parent type: one dictionary lookup per object instead of one per field.
_WEIGHTS: dict[str, dict[str, int]] = {}
for (_parent, _field), _weight in WEIGHTS.items():
    _WEIGHTS.setdefault(_parent, {})[_field] = _weight


def _size(value: Any) -> int:
    if isinstance(value, (dict, list)):  # the JSON scalar (JSON-LD, audit details)
        return len(json.dumps(value, ensure_ascii=False, default=str))
    return 8


class MeteredExecutor(IncrementalExecutor):
    """Counts per object (one call for all its fields), not per field: the cheapest place
    to add up weights in graphql-core, about 10% of introspection's time and less for
    queries that read the database."""

    def __init__(self, *args: Any, meter: Meter, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.meter = meter

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        meter = self.meter
        if meter.exceeded:
            return {}  # the answer is refused anyway: resolve nothing more
        name = parent_type.name
        rows = ROWS.get(name)
        if rows is not None:
            meter.actual += rows * _rows(source_value)  # loaded whatever is selected
        weights = _WEIGHTS.get(name)
        if weights is None:
            meter.actual += len(grouped_field_set)
        else:
            for details in grouped_field_set.values():
                meter.actual += weights.get(details[0].node.name.value, 1)
        return IncrementalExecutor.execute_fields(
            self, parent_type, source_value, path, grouped_field_set, position_context
        )

    def complete_list_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if isinstance(result, (list, tuple)):
            self.meter.actual += LIST_ITEM * len(result)
        return IncrementalExecutor.complete_list_value(
            self, return_type, field_details_list, info, path, result, position_context
        )

    def complete_leaf_value(self, return_type: GraphQLLeafType, result: Any) -> Any:  # type: ignore[override]
        value = Executor.complete_leaf_value(return_type, result)
        meter = self.meter
        meter.produced += (len(value) if isinstance(value, str) else _size(value)) + LEAF_OVERHEAD
        if meter.produced > meter.max_bytes:
            raise meter.trip()
        return value
