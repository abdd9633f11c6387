"""GraphQL documents: parsed and validated once per text, and the operation to run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule

from server.cost import Measure, measure
from server.graphql.answers import Answered, Call, error, formatted, json_answer, request_error
from server.graphql.request import LRU, bad_literals
from server.limits import TooComplex, count_tokens


@dataclass(slots=True)
class Operation:
    """The operation a request runs, with what its execution and cost need."""

    document: DocumentNode
    node: OperationDefinitionNode
    name: str | None  # as the client gave it (`operationName`)
    variables: dict[str, Any] | None
    fragments: dict[str, FragmentDefinitionNode]

    @property
    def is_query(self) -> bool:
        return self.node.operation is OperationType.QUERY


class Documents:
    """Parsing and validation, cached by the document's text (bounded)."""

    def __init__(self, schema: GraphQLSchema, max_tokens: int, introspection: bool):
        self.schema = schema
        self.max_tokens = max_tokens
        self.introspection = introspection
        self._parsed = LRU(1024)
        self._validated = LRU(1024)
        self._measured = LRU(4096)

    def parse(self, query: str) -> DocumentNode:
        document = self._parsed.get(query)
        if document is None:
            try:
                document = parse(query, max_tokens=self.max_tokens)
            except GraphQLError as exc:
                if "tokens" in exc.message and "Parsing aborted" in exc.message:
                    raise TooComplex(
                        "number of tokens", count_tokens(query), self.max_tokens
                    ) from None
                raise
            self._parsed.put(query, document)
        return document

    def validate(self, query: str, document: DocumentNode) -> list[GraphQLError]:
        errors = self._validated.get(query)
        if errors is None:
            errors = validate(self.schema, document)
            self._validated.put(query, errors)
        return list(errors)

    def measure(self, query: str, operation: Operation, max_page: int) -> Measure:
        """The operation's depth, aliases and cost, once per document, operation and
        variables (the same request again costs a lookup)."""
        variables = json.dumps(operation.variables or {}, sort_keys=True, default=str)
        key = f"{operation.name or ''}\n{variables}\n{query}"
        measured = self._measured.get(key)
        if measured is None:
            measured = measure(
                self.schema, operation.node, operation.fragments, operation.variables, max_page
            )
            self._measured.put(key, measured)
        return measured  # type: ignore[no-any-return]

    def operation(self, call: Call, query: str, params: dict[str, Any]) -> Operation:
        """The checked operation of a parsed document, or an answer refusing the request."""
        document = self.parse(query)
        problem = bad_literals(query, document)
        if problem:
            err = error(
                f"the query {problem}",
                "BAD_USER_INPUT",
                problems=[{"path": "query", "message": problem}],
            )
            raise Answered(request_error(call, 400, [err]))
        errors = self.validate(query, document)
        if errors:
            sent = [formatted(e, call.request_id) for e in errors]
            raise Answered(request_error(call, 400, sent))
        name = params.get("operationName")
        node = get_operation_ast(document, name)
        if isinstance(node, OperationDefinitionNode) and node.name is not None:
            call.meta["operation"] = node.name.value
        if not isinstance(node, OperationDefinitionNode):
            message = (
                f"no operation named '{name}'"
                if name
                else "the document has several operations: give `operationName`"
            )
            raise Answered(request_error(call, 400, [error(message, "BAD_USER_INPUT")]))
        if call.request.method == "GET" and node.operation is not OperationType.QUERY:
            err = error("only queries may be sent with GET; use POST", "BAD_USER_INPUT")
            raise Answered(json_answer(call, {"errors": [err]}, 405, {"Allow": "POST"}))
        if (
            not self.introspection
            and call.anonymous
            and validate(self.schema, document, [NoSchemaIntrospectionCustomRule])
        ):
            message = "introspection is turned off for anonymous clients"
            raise Answered(request_error(call, 400, [error(message, "FORBIDDEN")]))
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        return Operation(document, node, name, params.get("variables"), fragments)
