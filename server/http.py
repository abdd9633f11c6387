"""GraphQL over HTTP (GET and POST ``/graphql``), per the GraphQL-over-HTTP spec.

Parsing, validation and execution use graphql-core on the strawberry schema
directly, so this module controls every status code and header:

* ``application/graphql-response+json`` (preferred when accepted): request
  errors (unparsable JSON, missing query, syntax or validation errors, bad
  variables) answer 4xx and carry no ``data`` key;
* ``application/json`` (legacy clients): GraphQL errors answer 200;
* a browser asking for ``text/html`` gets GraphiQL.

Documents are parsed and validated once and cached by their text.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import OrderedDict
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from resolvers.context import Context
from server.auth import Unauthenticated, request_viewer

log = logging.getLogger("compendium.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MAX_QUERY_LENGTH = 100_000


class RequestError(Exception):
    """A request that cannot be executed at all (answered without ``data``)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class _LRU:
    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any:
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value
        if len(self.data) > self.size:
            self.data.popitem(last=False)


def _media_type(accept: str | None) -> str | None:
    """The response type for an Accept header, or None when nothing acceptable is offered."""
    if not accept:
        return JSON
    best: tuple[float, int, str] | None = None
    for order, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        mime = fields[0].lower()
        q = 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if mime == GRAPHQL_RESPONSE:
            choice = GRAPHQL_RESPONSE
        elif mime in (JSON, "application/*", "*/*"):
            # Wildcards get the legacy type, as the spec recommends for clients that
            # do not know the newer one.
            choice = JSON
        else:
            continue
        candidate = (q, -order, choice)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else None


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "query" not in request.query_params


def _error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extensions}}


class GraphQLHTTP:
    """The ``/graphql`` endpoint."""

    def __init__(self, schema: GraphQLSchema, app_state: Any):
        self.schema = schema
        self.state = app_state
        self._documents = _LRU(1024)
        self._validated = _LRU(1024)

    # --- request parsing ------------------------------------------------------------------

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            params: dict[str, Any] = {
                "query": request.query_params.get("query"),
                "operationName": request.query_params.get("operationName"),
            }
            for key in ("variables", "extensions"):
                raw = request.query_params.get(key)
                if raw:
                    try:
                        params[key] = json.loads(raw)
                    except ValueError:
                        raise RequestError(400, f"`{key}` is not valid JSON") from None
            return params
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise RequestError(415, "POST bodies must be application/json", {"Accept-Post": JSON})
        body = await request.body()
        try:
            params = json.loads(body)
        except ValueError:
            raise RequestError(400, "the request body is not valid JSON") from None
        if not isinstance(params, dict):
            raise RequestError(400, "the request body must be a JSON object")
        return params

    def _document(self, params: dict[str, Any]) -> tuple[str, DocumentNode]:
        query = params.get("query")
        if query is None or query == "":
            raise RequestError(400, "`query` is required")
        if not isinstance(query, str):
            raise RequestError(400, "`query` must be a string")
        if len(query) > MAX_QUERY_LENGTH:
            raise RequestError(413, f"`query` is longer than {MAX_QUERY_LENGTH} characters")
        for key, kind in (("variables", dict), ("extensions", dict), ("operationName", str)):
            value = params.get(key)
            if value is not None and not isinstance(value, kind):
                raise RequestError(
                    400, f"`{key}` must be {'an object' if kind is dict else 'a string'}"
                )
        document = self._documents.get(query)
        if document is None:
            document = parse(query)  # GraphQLError on syntax errors
            self._documents.put(query, document)
        return query, document

    def _validate(self, query: str, document: DocumentNode) -> list[GraphQLError]:
        errors = self._validated.get(query)
        if errors is None:
            errors = validate(self.schema, document)
            self._validated.put(query, errors)
        return list(errors)

    # --- responses --------------------------------------------------------------------------

    def _json(
        self,
        payload: dict[str, Any],
        status: int,
        media: str,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return Response(body, status_code=status, media_type=media, headers=headers)

    def _request_error(
        self,
        status: int,
        errors: list[dict[str, Any]],
        media: str,
        headers: dict[str, str] | None = None,
    ) -> Response:
        # Under the legacy media type GraphQL-level request errors are 200 (spec).
        if media == JSON and status == 400:
            status = 200
        return self._json({"errors": errors}, status, media, headers)

    def _format(self, error: GraphQLError, request_id: str) -> dict[str, Any]:
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            log.error(
                "unexpected error in %s (request %s)", error.path, request_id, exc_info=original
            )
            out = _error("Internal server error", "INTERNAL_SERVER_ERROR", requestId=request_id)
            if error.path:
                out["path"] = error.path
            return out
        formatted = error.formatted
        ext = dict(formatted.get("extensions") or {})
        ext.setdefault("code", "BAD_USER_INPUT" if not error.path else "INTERNAL_SERVER_ERROR")
        formatted["extensions"] = ext
        return dict(formatted)

    # --- the endpoint -------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        if request.method not in ("GET", "POST"):
            return Response(status_code=405, headers={"Allow": "GET, POST"})
        if request.method == "GET" and _wants_html(request):
            from server.graphiql import CONTENT_SECURITY_POLICY, graphiql_html

            return HTMLResponse(
                graphiql_html(), headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY}
            )
        media = _media_type(request.headers.get("accept"))
        if media is None:
            return self._json(
                {"errors": [_error(f"Accept one of {GRAPHQL_RESPONSE}, {JSON}", "BAD_USER_INPUT")]},
                406,
                JSON,
            )
        started = time.perf_counter()
        try:
            params = await self._params(request)
            query, document = self._document(params)
        except RequestError as exc:
            return self._json(
                {"errors": [_error(exc.message, "BAD_USER_INPUT")]}, exc.status, media, exc.headers
            )
        except GraphQLError as exc:
            return self._request_error(400, [self._format(exc, request_id)], media)
        errors = self._validate(query, document)
        if errors:
            return self._request_error(400, [self._format(e, request_id) for e in errors], media)
        operation_name = params.get("operationName")
        operation = get_operation_ast(document, operation_name)
        if not isinstance(operation, OperationDefinitionNode):
            message = (
                f"no operation named '{operation_name}'"
                if operation_name
                else "the document has several operations: give `operationName`"
            )
            return self._request_error(400, [_error(message, "BAD_USER_INPUT")], media)
        if request.method == "GET" and operation.operation is not OperationType.QUERY:
            return self._json(
                {
                    "errors": [
                        _error("only queries may be sent with GET; use POST", "BAD_USER_INPUT")
                    ]
                },
                405,
                media,
                {"Allow": "POST"},
            )
        try:
            viewer = await request_viewer(request, self.state.database)
        except Unauthenticated as exc:
            return self._json(
                {"errors": [_error(exc.message, "UNAUTHENTICATED")]},
                401,
                media,
                {"WWW-Authenticate": 'Bearer realm="compendium"', "X-Request-Id": request_id},
            )
        context = Context(
            self.state.database,
            self.state.settings,
            viewer,
            request=request,
            request_id=request_id,
            app_state=self.state,
        )
        result: ExecutionResult
        try:
            outcome = execute(
                self.schema,
                document,
                context_value=context,
                variable_values=params.get("variables"),
                operation_name=operation_name,
            )
            result = await outcome if hasattr(outcome, "__await__") else outcome  # type: ignore[misc]
        finally:
            await context.close(commit=False)
        if result.errors and result.data is None and all(not e.path for e in result.errors):
            # Variables that do not fit the operation: a request error.
            return self._request_error(
                400, [self._format(e, request_id) for e in result.errors], media
            )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [self._format(e, request_id) for e in result.errors]
        log.debug("graphql %s in %.1f ms", operation_name, (time.perf_counter() - started) * 1000)
        headers = {"X-Request-Id": request_id}
        if viewer.role != "anonymous":
            # Drafts and editorial data: never stored by a browser or a shared cache.
            headers["Cache-Control"] = "private, no-store"
            headers["Vary"] = "Authorization"
        return self._json(payload, 200, media, headers)
