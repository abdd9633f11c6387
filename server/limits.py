"""Abuse limits: query depth, aliases, tokens and cost; request rates.

Query limits are computed on the parsed, validated document (fragments
inlined) with the request's variables, before anything executes:

* depth: the deepest chain of nested fields;
* aliases: how many fields carry an alias (aliasing is how one request asks
  for the same expensive field many times);
* tokens: the lexer's token count (bounds parsing work);
* cost: every field costs 1, multiplied by the number of parent items it is
  resolved for. A connection's items are its `first` (or the argument's
  default); other list fields count as `LIST_ESTIMATE` items.

Rates use a fixed window per key (client address, or token), in process by
default or in Redis when configured so that every worker and instance shares
the same counts.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.language import Lexer, Source, TokenKind

# Items assumed for a list field without `first` (sections, FAQ, citations...).
LIST_ESTIMATE = 10


@dataclass(frozen=True, slots=True)
class QueryLimits:
    depth: int
    aliases: int
    tokens: int
    cost: int


@dataclass(slots=True)
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


class TooComplex(Exception):
    def __init__(self, what: str, value: int, limit: int):
        super().__init__(f"the query's {what} is {value}, over the limit of {limit}")
        self.what = what
        self.value = value
        self.limit = limit


def count_tokens(query: str) -> int:
    lexer = Lexer(Source(query))
    n = 0
    while lexer.advance().kind is not TokenKind.EOF:
        n += 1
    return n


def _unwrap(t: Any) -> tuple[Any, bool]:
    """The named type and whether there is a list on the way."""
    is_list = False
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        if isinstance(t, GraphQLList):
            is_list = True
        t = t.of_type
    return t, is_list


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any] | None,
) -> Measure:
    root = (
        schema.query_type
        if operation.operation.value == "query"
        else schema.mutation_type
        if operation.operation.value == "mutation"
        else schema.subscription_type
    )
    m = Measure()
    variables = variables or {}

    def first_of(node: FieldNode, field_def: Any) -> int | None:
        arg_def = field_def.args.get("first") if field_def is not None else None
        if arg_def is None:
            return None
        for arg in node.arguments or ():
            if arg.name.value == "first":
                value = arg.value
                if isinstance(value, IntValueNode):
                    return max(0, int(value.value))
                if isinstance(value, VariableNode):
                    v = variables.get(value.name.value)
                    if isinstance(v, int):
                        return max(0, v)
                break
        default = arg_def.default_value
        return default if isinstance(default, int) else LIST_ESTIMATE

    def walk(
        selection_set: SelectionSetNode | None,
        parent: Any,
        items: int,
        depth: int | None,
        paged: bool = False,
    ) -> int:
        if selection_set is None:
            return 0
        cost = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                if sel.alias is not None:
                    m.aliases += 1
                name = sel.name.value
                if depth is not None:
                    m.depth = max(m.depth, depth)
                if name.startswith("__"):
                    # Introspection is bounded by the schema itself (GraphiQL's query nests
                    # type references a dozen levels deep), so it counts towards cost but
                    # not depth; the `introspection` setting governs it.
                    cost += items
                    cost += walk(sel.selection_set, None, items, None)
                    continue
                field_def = (getattr(parent, "fields", None) or {}).get(name)
                named, is_list = _unwrap(field_def.type) if field_def is not None else (None, False)
                cost += items
                child_items = items
                first = first_of(sel, field_def)
                if first is not None:
                    # A paged field (connection, search, change feed): what is inside counts
                    # `first` times; its items list (`edges`, `changes`) is those same items.
                    child_items = items * max(first, 1)
                elif is_list and not paged:
                    child_items = items * LIST_ESTIMATE
                cost += walk(
                    sel.selection_set,
                    named,
                    child_items,
                    None if depth is None else depth + 1,
                    paged=first is not None,
                )
            elif isinstance(sel, InlineFragmentNode):
                target = parent
                if sel.type_condition is not None:
                    target = schema.get_type(sel.type_condition.name.value) or parent
                cost += walk(sel.selection_set, target, items, depth, paged)
            elif isinstance(sel, FragmentSpreadNode):
                frag = fragments.get(sel.name.value)
                if frag is not None:
                    target = schema.get_type(frag.type_condition.name.value) or parent
                    cost += walk(frag.selection_set, target, items, depth, paged)
        return cost

    m.cost = walk(operation.selection_set, root, 1, 1)
    return m


def check(m: Measure, limits: QueryLimits) -> None:
    """Depth, aliases and cost (tokens are bounded while parsing, see ``count_tokens``)."""
    for what, value, limit in (
        ("depth", m.depth, limits.depth),
        ("number of aliases", m.aliases, limits.aliases),
        ("cost", m.cost, limits.cost),
    ):
        if value > limit:
            raise TooComplex(what, value, limit)


# --- rates ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets (when refused)


class MemoryRateLimiter:
    """Fixed windows in this process (bounded number of keys)."""

    def __init__(self, window_seconds: int = 60, max_keys: int = 100_000):
        self.window = window_seconds
        self.max_keys = max_keys
        self._counts: OrderedDict[str, tuple[int, int]] = OrderedDict()

    async def hit(self, key: str, limit: int) -> RateDecision:
        now = time.time()
        window = int(now // self.window)
        current = self._counts.get(key)
        count = current[1] + 1 if current is not None and current[0] == window else 1
        self._counts[key] = (window, count)
        self._counts.move_to_end(key)
        if len(self._counts) > self.max_keys:
            self._counts.popitem(last=False)
        reset = math.ceil((window + 1) * self.window - now)
        return RateDecision(count <= limit, limit, max(0, limit - count), max(1, reset))

    async def close(self) -> None:
        pass


class RedisRateLimiter:
    """Fixed windows in Redis: INCR and EXPIRE in one round trip, shared by every worker."""

    def __init__(self, client: Any, window_seconds: int = 60, prefix: str = "compendium:rl:"):
        self.client = client
        self.window = window_seconds
        self.prefix = prefix

    async def hit(self, key: str, limit: int) -> RateDecision:
        now = time.time()
        window = int(now // self.window)
        name = f"{self.prefix}{window}:{key}"
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, self.window * 2)
        count, _ = await pipe.execute()
        reset = math.ceil((window + 1) * self.window - now)
        return RateDecision(count <= limit, limit, max(0, limit - count), max(1, reset))

    async def close(self) -> None:
        await self.client.aclose()


def rate_key(kind: str, value: str) -> str:
    # Tokens are secrets: only a hash of them is ever used as a key (or stored in Redis).
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{kind}:{digest}"
