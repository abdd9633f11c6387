"""What a query costs, before it runs: depth, aliases and points of work.

The walk is linear in the document: each selection set is visited once per
distinct context, and a named fragment is costed once (per page size it is
spread under) and memoized: spreading it again adds its memoized cost, times
the multiplier of where it is spread. A fragment bomb (``F0`` spreading ``F1``
twice, ``F1`` spreading ``F2`` twice, ...) is therefore measured in
microseconds, and found to cost 2^levels.

Points track real work (server/weights.py; one point is about 10 µs of server CPU,
measured on the demo catalog; README "Limits and security"):

* every field costs its weight (``WEIGHTS``; 1 unless listed) once per parent
  item it is resolved for;
* every list item costs ``LIST_ITEM`` more; a list counts ``LIST_SIZES`` (the
  page structure) or ``LIST_ESTIMATE`` items, except the items of a page
  (``edges`` of a connection, ``changes`` of the change feed), which count the
  page size;
* a paged field (one with ``first``) costs ``ROWS`` per row of its page, the
  rows it loads whatever is selected; the page size is ``first`` as given, from
  a variable, from the variable's default, or the argument's default, capped at
  the largest page (past it the field is refused anyway).

``@skip``/``@include`` with literal or variable conditions leave out what they
leave out. The same weights give the *actual* cost while executing
(``server.metering``), from the real number of items.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    value_from_ast_untyped,
)
from graphql.type import SchemaMetaFieldDef, TypeMetaFieldDef

from server.weights import (
    INTROSPECTION_FIELDS_PER_POINT,
    LIST_ESTIMATE,
    LIST_ITEM,
    LIST_SIZES,
    ROWS,
    introspection_sizes,
    weight,
)

# Values are capped so that a pathological document stays cheap integer arithmetic.
_CAP = 10**15

# Where an introspection selection is: None (not introspection), "schema", "tree" (the
# schema's own tree, under `__schema { types }`), or ("jump", ofType level).
Ctx = str | tuple[str, int] | None


@dataclass(slots=True)
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


@dataclass(frozen=True, slots=True)
class _Part:
    """The cost of a selection set for one parent item."""

    cost: int
    aliases: int
    depth: int  # levels of fields below (introspection not counted)


_EMPTY = _Part(0, 0, 0)


def _unwrap(t: Any) -> tuple[Any, bool]:
    """The named type and whether there is a list on the way."""
    is_list = False
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        if isinstance(t, GraphQLList):
            is_list = True
        t = t.of_type
    return t, is_list


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        max_page: int,
    ):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_page = max_page
        self.memo: dict[tuple[str, int | None, Ctx], _Part] = {}
        self.active: set[tuple[str, int | None, Ctx]] = set()
        self.intro = introspection_sizes(schema)

    def included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            for arg in directive.arguments or ():
                if arg.name.value == "if":
                    value = value_from_ast_untyped(arg.value, self.variables)
                    if name == "skip" and value is True:
                        return False
                    if name == "include" and value is False:
                        return False
        return True

    def page_size(self, node: FieldNode, field_def: Any) -> int | None:
        """Rows of a paged field (one with `first`), or None for other fields."""
        arg_def = field_def.args.get("first") if field_def is not None else None
        if arg_def is None:
            return None
        value: Any = Undefined
        for arg in node.arguments or ():
            if arg.name.value == "first":
                value = value_from_ast_untyped(arg.value, self.variables)
        if not isinstance(value, int) or isinstance(value, bool):
            default = arg_def.default_value
            value = default if isinstance(default, int) else LIST_ESTIMATE
        return min(max(0, value), self.max_page)

    def field_def(self, parent: Any, name: str) -> Any:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
        return (getattr(parent, "fields", None) or {}).get(name)

    def selection(
        self,
        selection_set: SelectionSetNode | None,
        parent: Any,
        page: int | None,
        ctx: Ctx = None,
    ) -> _Part:
        """Cost of a selection set for one item of ``parent``; ``page`` is the page size when
        ``parent`` is a page (a connection), whose lists are its rows; ``ctx`` is where in
        the schema an introspection selection is (see ``introspection``)."""
        if selection_set is None:
            return _EMPTY
        cost = aliases = depth = 0
        # On a union or an interface, each item is one object type: what is selected for
        # one type (fragments on it) and for another are alternatives, so the costlier counts.
        abstract = isinstance(parent, (GraphQLUnionType, GraphQLInterfaceType))
        branches: dict[str, int] = {}
        for sel in selection_set.selections:
            if not self.included(sel):
                continue
            branch = None
            if isinstance(sel, FieldNode):
                part = self.field(sel, parent, page, ctx)
            elif isinstance(sel, InlineFragmentNode):
                target = parent
                if sel.type_condition is not None:
                    target = self.schema.get_type(sel.type_condition.name.value) or parent
                part = self.selection(sel.selection_set, target, page, ctx)
                branch = target
            elif isinstance(sel, FragmentSpreadNode):
                part = self.spread(sel.name.value, parent, page, ctx)
                fragment = self.fragments.get(sel.name.value)
                if fragment is not None:
                    branch = self.schema.get_type(fragment.type_condition.name.value)
            else:  # pragma: no cover - the grammar has no other selections
                continue
            if abstract and isinstance(branch, GraphQLObjectType):
                branches[branch.name] = min(_CAP, branches.get(branch.name, 0) + part.cost)
            else:
                cost = min(_CAP, cost + part.cost)
            aliases = min(_CAP, aliases + part.aliases)
            depth = max(depth, part.depth)
        if branches:
            cost = min(_CAP, cost + max(branches.values()))
        return _Part(cost, aliases, depth)

    def spread(self, name: str, parent: Any, page: int | None, ctx: Ctx) -> _Part:
        fragment = self.fragments.get(name)
        if fragment is None:
            return _EMPTY
        key = (name, page, ctx)
        part = self.memo.get(key)
        if part is None:
            if key in self.active:  # a cycle (validation refuses these): nothing more
                return _EMPTY
            self.active.add(key)
            target = self.schema.get_type(fragment.type_condition.name.value) or parent
            part = self.selection(fragment.selection_set, target, page, ctx)
            self.active.discard(key)
            self.memo[key] = part
        return part

    def field(self, node: FieldNode, parent: Any, page: int | None, ctx: Ctx) -> _Part:
        name = node.name.value
        aliases = 1 if node.alias is not None else 0
        parent_name = getattr(parent, "name", "")
        own = weight(parent_name, name)
        if name == "__typename":
            return _Part(own, aliases, 1)
        if name in ("__schema", "__type") or parent_name.startswith("__"):
            return self.introspection(node, parent, ctx, aliases)
        field_def = self.field_def(parent, name)
        named, is_list = _unwrap(field_def.type) if field_def is not None else (None, False)
        rows = self.page_size(node, field_def)
        if rows is not None and is_list:
            # A list sized by `first` (`Review.related`): that many items, each selected.
            inner = self.selection(node.selection_set, named, None)
            cost = own + rows * (LIST_ITEM + inner.cost)
        elif rows is not None:
            # A page: its rows cost what loading them costs; inside, its lists have `rows`
            # items and everything else is there once.
            inner = self.selection(node.selection_set, named, rows)
            cost = own + rows * ROWS.get(getattr(named, "name", ""), 1) + inner.cost
        elif is_list:
            items = page if page is not None else LIST_SIZES.get((parent_name, name), LIST_ESTIMATE)
            inner = self.selection(node.selection_set, named, None)
            cost = own + items * (LIST_ITEM + inner.cost)
        else:
            inner = self.selection(node.selection_set, named, None)
            cost = own + inner.cost
        return _Part(min(_CAP, cost), min(_CAP, aliases + inner.aliases), inner.depth + 1)

    def introspection(self, node: FieldNode, parent: Any, ctx: Ctx, aliases: int) -> _Part:
        """An introspection field: sized by the schema itself. Lists under
        ``__schema { types }`` walk the schema once (their average sizes, over every type,
        add up to the real total); lists under a jump to another type (``type``,
        ``ofType``, ``interfaces``, ``__type``...) may be any type's, so they count the
        largest; ``ofType`` chains end where the schema's deepest wrapping does. Not
        counted towards depth (GraphiQL's query nests type references a dozen levels)."""
        name = node.name.value
        field_def = self.field_def(parent, name)
        named, is_list = _unwrap(field_def.type) if field_def is not None else (None, False)
        stats = self.intro
        tree = ctx == "tree"
        items: float = 1
        child: Ctx
        if name == "__schema":
            child = "schema"
        elif getattr(named, "name", "") == "__Type":
            level = ctx[1] + 1 if name == "ofType" and isinstance(ctx, tuple) else 0
            if name == "ofType" and level > stats.wrapping:
                return _Part(1, aliases, 0)  # null past the deepest wrapping
            if name == "types":
                items, child = stats.types, "tree"
            else:
                child = ("jump", level)
                if is_list:
                    items = stats.sizes[(name, tree)]
        elif is_list:
            items = stats.sizes.get((name, tree), LIST_ESTIMATE)
            child = "tree" if tree or name == "directives" else ("jump", 0)
        else:
            child = ctx
        inner = self.selection(node.selection_set, named, None, child)
        cost = 1 + math.ceil(items * inner.cost)
        if not getattr(parent, "name", "").startswith("__"):
            # The root of an introspection selection: its fields are read from the schema in
            # memory, about a third of a point each (GraphiQL's query: ~3,300 points, 37 ms).
            cost = math.ceil(cost / INTROSPECTION_FIELDS_PER_POINT)
        return _Part(min(_CAP, cost), min(_CAP, aliases + inner.aliases), 0)


def effective_variables(
    operation: OperationDefinitionNode, given: dict[str, Any] | None
) -> dict[str, Any]:
    """The operation's variables as execution will see them: given values, else defaults."""
    values: dict[str, Any] = {}
    given = given or {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name in given:
            values[name] = given[name]
        elif definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value, {})
    return values


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any] | None,
    max_page: int = 100,
) -> Measure:
    """Depth, aliases and cost (points) of one operation with these variables."""
    root = (
        schema.query_type
        if operation.operation.value == "query"
        else schema.mutation_type
        if operation.operation.value == "mutation"
        else schema.subscription_type
    )
    walk = _Walk(schema, fragments, effective_variables(operation, variables), max_page)
    part = walk.selection(operation.selection_set, root, None)
    return Measure(depth=part.depth, aliases=part.aliases, cost=part.cost)
