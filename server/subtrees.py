"""Subtree caching: the completed answer of an immutable object, reused by its shape.

A published review is an immutable snapshot (its revision never changes; a new
approval is a new revision), so the part of an answer below one — for a given
selection set and the values of the variables it uses — is the same every time.
``CachingExecutor`` keeps such subtrees under (the selection's shape, the object's
immutable key, those variable values): the next request with the same shape over
the same revision, or a list holding it, gets its subtree with one lookup instead
of resolving every field (Apollo Router's entity caching, in process).

An object opts in with a ``subtree_key`` attribute: its immutable identity, or None
when it has none (an editor's working copy). A selection that reaches a field whose
answer moves with other records (``VOLATILE``: `isStale` follows later approvals,
`related` other reviews...) is never cached. Invalidation is free: keys name
immutable revisions; the cache is bounded in bytes and forgets the least recently
used.

What a hit adds to the request is what the subtree cost when it was executed: the
metered cost and bytes (``server.metering``), so budgets and byte limits hold.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Iterable
from copy import copy
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    print_ast,
)
from graphql.execution.collect_fields import FragmentDetails

from server.metering import MeteredExecutor

# Fields whose answer does not follow from the object's immutable snapshot alone.
VOLATILE = frozenset(
    {
        "isStale",  # readers: later approvals of the page's facts
        "related",
        "translations",
        "alternates",  # a page's approved translations (hreflang)
        "schedule",
        "restoredFrom",
        "revisions",
        "diff",
        "findings",
        "reviews",
        "review",
    }
)
# What an entry holds besides its answer's bytes (dicts, the key, bookkeeping).
ENTRY_OVERHEAD = 400


@dataclass(frozen=True, slots=True)
class Shape:
    """A selection set, with its fragments inlined, as a key; the variables it reads."""

    text: str
    variables: tuple[str, ...]
    volatile: bool


@dataclass(slots=True)
class Subtree:
    data: dict[str, Any]
    cost: int
    produced: int
    tags: frozenset[str]


class SubtreeCache:
    """Completed subtrees of immutable objects, bounded in bytes (LRU)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[tuple[Any, ...], Subtree] = OrderedDict()
        # Shapes by the identity of a selection's field nodes (held, so ids stay theirs).
        self._shapes: OrderedDict[tuple[int, ...], tuple[Any, Shape]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def shape(self, nodes: list[FieldNode], fragments: dict[str, FragmentDetails]) -> Shape:
        ids = tuple(id(n) for n in nodes)
        found = self._shapes.get(ids)
        if found is not None:
            self._shapes.move_to_end(ids)
            return found[1]
        names: set[str] = set()
        fields: set[str] = set()
        text = "|".join(
            _selection(n.selection_set, fragments, names, fields) for n in nodes if n.selection_set
        )
        shape = Shape(text, tuple(sorted(names)), bool(fields & VOLATILE))
        self._shapes[ids] = (nodes, shape)
        if len(self._shapes) > 4096:
            self._shapes.popitem(last=False)
        return shape

    def get(self, key: tuple[Any, ...]) -> Subtree | None:
        entry = self.entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: tuple[Any, ...], entry: Subtree) -> None:
        size = entry.produced + ENTRY_OVERHEAD
        if size > self.max_bytes // 4:
            return  # one answer must not push out everything else
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old.produced + ENTRY_OVERHEAD
        self.entries[key] = entry
        self.bytes += size
        while self.bytes > self.max_bytes and self.entries:
            _, dropped = self.entries.popitem(last=False)
            self.bytes -= dropped.produced + ENTRY_OVERHEAD


def _selection(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDetails],
    variables: set[str],
    fields: set[str],
) -> str:
    if selection_set is None:
        return ""
    parts = []
    for sel in selection_set.selections:
        directives = "".join(print_ast(d) for d in sel.directives or ())
        for d in sel.directives or ():
            _variables((a.value for a in d.arguments or ()), variables)
        if isinstance(sel, FieldNode):
            fields.add(sel.name.value)
            args = ",".join(print_ast(a) for a in sel.arguments or ())
            _variables((a.value for a in sel.arguments or ()), variables)
            alias = f"{sel.alias.value}:" if sel.alias else ""
            inner = _selection(sel.selection_set, fragments, variables, fields)
            parts.append(f"{alias}{sel.name.value}({args}){directives}{{{inner}}}")
        elif isinstance(sel, InlineFragmentNode):
            on = sel.type_condition.name.value if sel.type_condition else ""
            inner = _selection(sel.selection_set, fragments, variables, fields)
            parts.append(f"...on {on}{directives}{{{inner}}}")
        elif isinstance(sel, FragmentSpreadNode):
            details = fragments.get(sel.name.value)
            if details is None:
                continue
            fragment = details.definition
            inner = _selection(fragment.selection_set, fragments, variables, fields)
            parts.append(f"...on {fragment.type_condition.name.value}{directives}{{{inner}}}")
    return ",".join(parts)


def _variables(values: Iterable[ValueNode], out: set[str]) -> None:
    for value in values:
        if isinstance(value, VariableNode):
            out.add(value.name.value)
        elif isinstance(value, ListValueNode):
            _variables(value.values, out)
        elif isinstance(value, ObjectValueNode):
            _variables((f.value for f in value.fields), out)


class CachingExecutor(MeteredExecutor):
    """The metered executor that reuses the subtrees of immutable objects."""

    def __init__(self, *args: Any, subtrees: SubtreeCache | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.subtrees = subtrees
        # The key's shape part by field (the items of a list share their field's), for
        # this execution only (the field lists live as long as it does).
        self._shapes: dict[int, tuple[Any, tuple[str, str] | None]] = {}

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        key = self._key(return_type, field_details_list, result)
        if key is not None:
            assert self.subtrees is not None
            hit = self.subtrees.get(key)
            if hit is not None:
                self._charge(hit, info.context)
                return hit.data
        args = (return_type, field_details_list, info, path, result, position_context)
        if getattr(result, "pending", False):
            # Its content is loaded only now that a field needs it.
            async def prepared() -> Any:
                await result.prepare(info.context)
                completed = self._complete(key, *args)
                return await completed if self.is_awaitable(completed) else completed

            return prepared()
        return self._complete(key, *args)

    def _key(
        self, return_type: GraphQLObjectType, nodes: Any, result: Any
    ) -> tuple[Any, ...] | None:
        """The subtree's key, or None when it is not to be kept (no immutable identity, a
        volatile field in the selection, or the cache off)."""
        identity = getattr(result, "subtree_key", None)
        cache = self.subtrees
        if identity is None or cache is None or not cache.enabled:
            return None
        try:
            _, part = self._shapes[id(nodes)]
        except KeyError:
            shape = cache.shape([d.node for d in nodes], self.fragments)
            values = self.variable_values.coerced
            part = (
                None
                if shape.volatile
                else (shape.text, json.dumps([values.get(n) for n in shape.variables], default=str))
            )
            self._shapes[id(nodes)] = (nodes, part)  # (held: its id stays its own)
        return None if part is None else (return_type.name, identity, *part)

    def _complete(self, key: tuple[Any, ...] | None, *args: Any) -> Any:
        if key is None:
            return MeteredExecutor.complete_object_value(self, *args)
        return self._complete_and_keep(key, *args)

    def _charge(self, hit: Subtree, context: Any) -> None:
        meter = self.meter
        meter.actual += hit.cost
        meter.produced += hit.produced
        if hit.tags:
            context.depends(*hit.tags)
        if meter.produced > meter.max_bytes:
            raise meter.trip()

    def _complete_and_keep(
        self,
        key: tuple[Any, ...],
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        """Complete with a meter of its own (exact even when other subtrees run meanwhile),
        add it to the request's, and keep the subtree when it completed without errors."""
        outer = self.meter
        sub = copy(self)
        sub.meter = outer.part()
        errors = len(self.collected_errors.errors)
        tags = set(info.context.tags)

        def keep(data: dict[str, Any]) -> dict[str, Any]:
            outer.actual += sub.meter.actual
            outer.produced += sub.meter.produced
            if not sub.meter.exceeded and len(self.collected_errors.errors) == errors:
                added = frozenset(info.context.tags - tags)
                assert self.subtrees is not None
                self.subtrees.put(key, Subtree(data, sub.meter.actual, sub.meter.produced, added))
            return data

        completed = MeteredExecutor.complete_object_value(
            sub, return_type, field_details_list, info, path, result, position_context
        )
        if self.is_awaitable(completed):
            pending: Awaitable[dict[str, Any]] = completed

            async def later() -> dict[str, Any]:
                return keep(await pending)

            return later()
        return keep(cast("dict[str, Any]", completed))
