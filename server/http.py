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

import asyncio
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from resolvers.context import Context
from server.auth import Unauthenticated, request_viewer
from server.cache import Entry, cache_control, cache_key, surrogate_keys
from server.limits import QueryLimits, TooComplex, count_tokens, measure, rate_key
from server.limits import check as check_limits
from server.observability import (
    CACHE,
    LATENCY,
    REQUESTS,
    count_errors,
    observe_pool,
    operation_label,
    request_id_var,
    span,
)
from server.persisted import PersistedError

log = logging.getLogger("compendium.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MAX_QUERY_LENGTH = 100_000


class RequestError(Exception):
    """A request that cannot be executed at all (answered without ``data``)."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extensions = extensions


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


def unavailable(exc: BaseException | None) -> bool:
    """Whether an error means the database cannot be reached (or is too busy) right now."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    while exc is not None:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout, ConnectionError)):
            return True
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class GraphQLHTTP:
    """The ``/graphql`` endpoint."""

    def __init__(self, schema: GraphQLSchema, app_state: Any):
        self.schema = schema
        self.state = app_state
        self.settings = app_state.settings
        self.limits = QueryLimits(
            depth=self.settings.max_query_depth,
            aliases=self.settings.max_query_aliases,
            tokens=self.settings.max_query_tokens,
            cost=self.settings.max_query_cost,
        )
        self._documents = _LRU(1024)
        self._validated = _LRU(1024)
        self.cache_control = cache_control(self.settings)

    # --- request parsing ------------------------------------------------------------------

    async def _body(self, request: Request) -> bytes:
        limit = (
            self.settings.max_body_bytes_authenticated
            if "authorization" in request.headers
            else self.settings.max_body_bytes
        )
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise RequestError(400, "Content-Length is not a number")
            if int(declared) > limit:
                raise RequestError(413, f"the request body is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.settings.body_timeout_seconds):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise RequestError(413, f"the request body is larger than {limit} bytes")
                    chunks.append(chunk)
        except TimeoutError:
            raise RequestError(
                408,
                f"the request body did not arrive within {self.settings.body_timeout_seconds:g} s",
            ) from None
        return b"".join(chunks)

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
                    except (ValueError, RecursionError):
                        raise RequestError(400, f"`{key}` is not valid JSON") from None
            return params
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise RequestError(415, "POST bodies must be application/json", {"Accept-Post": JSON})
        body = await self._body(request)
        try:
            params = json.loads(body)
        except (ValueError, RecursionError):
            # (RecursionError: JSON nested deeper than the parser goes.)
            raise RequestError(400, "the request body is not valid JSON") from None
        if not isinstance(params, dict):
            raise RequestError(400, "the request body must be a JSON object (batching is off)")
        return params

    def _check_params(self, params: dict[str, Any]) -> None:
        query = params.get("query")
        if query is not None and not isinstance(query, str):
            raise RequestError(400, "`query` must be a string")
        if isinstance(query, str) and len(query) > MAX_QUERY_LENGTH:
            raise RequestError(413, f"`query` is longer than {MAX_QUERY_LENGTH} characters")
        for key, kind in (("variables", dict), ("extensions", dict), ("operationName", str)):
            value = params.get(key)
            if value is not None and not isinstance(value, kind):
                raise RequestError(
                    400, f"`{key}` must be {'an object' if kind is dict else 'a string'}"
                )
        problem = _bad_text(params.get("variables"), "variables")
        if problem:
            path, message = problem
            raise RequestError(
                400, f"`{path}` {message}", problems=[{"path": path, "message": message}]
            )

    def _document(self, query: str) -> DocumentNode:
        document = self._documents.get(query)
        if document is None:
            try:
                document = parse(query, max_tokens=self.limits.tokens)
            except GraphQLError as exc:
                if "tokens" in exc.message and "Parsing aborted" in exc.message:
                    raise TooComplex(
                        "number of tokens", count_tokens(query), self.limits.tokens
                    ) from None
                raise
            self._documents.put(query, document)
        return document

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
        if "errors" in payload:
            count_errors(payload)
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

    def _unavailable(self, media: str, request_id: str) -> Response:
        return self._json(
            {
                "errors": [
                    _error(
                        "the database is unavailable; try again shortly",
                        "SERVICE_UNAVAILABLE",
                        requestId=request_id,
                    )
                ]
            },
            503,
            media,
            {"Retry-After": "5", "X-Request-Id": request_id},
        )

    # --- the endpoint -------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        request_id = _request_id(request)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        meta: dict[str, Any] = {}
        response = await self._guarded(request, request_id, meta)
        elapsed = time.perf_counter() - started
        operation = "(cache hit)" if meta.get("cached") else operation_label(meta.get("operation"))
        REQUESTS.labels(operation, str(response.status_code)).inc()
        LATENCY.labels(operation).observe(elapsed)
        observe_pool(self.state.database)
        log.info(
            "graphql request",
            extra={
                "operation": operation,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
                "cache": response.headers.get("x-cache", "-"),
            },
        )
        request_id_var.reset(token)
        return response

    async def _guarded(self, request: Request, request_id: str, meta: dict[str, Any]) -> Response:
        try:
            return await self._handle(request, request_id, meta)
        except Exception:
            # Never a traceback, a path or SQL to the client: the detail goes to the log.
            log.exception("unexpected error handling request %s", request_id)
            return self._json(
                {
                    "errors": [
                        _error(
                            "Internal server error", "INTERNAL_SERVER_ERROR", requestId=request_id
                        )
                    ]
                },
                500,
                JSON,
                {"X-Request-Id": request_id},
            )

    async def _rate_limited(self, request: Request, media: str) -> Response | None:
        limiter = getattr(self.state, "rate_limiter", None)
        if limiter is None:
            return None
        authorization = request.headers.get("authorization")
        limit = (
            self.settings.rate_limit_authenticated
            if authorization
            else self.settings.rate_limit_anonymous
        )
        keys = [rate_key("addr", request.client.host if request.client else "unknown")]
        if authorization:
            keys.append(rate_key("token", authorization))
        try:
            for key in keys:
                decision = await limiter.hit(key, limit)
                if not decision.allowed:
                    return self._json(
                        {
                            "errors": [
                                _error(
                                    f"too many requests: at most {decision.limit} per "
                                    f"{self.settings.rate_limit_window_seconds} s; retry after "
                                    f"{decision.retry_after} s",
                                    "RATE_LIMITED",
                                    retryAfter=decision.retry_after,
                                )
                            ]
                        },
                        429,
                        media,
                        {"Retry-After": str(decision.retry_after)},
                    )
        except Exception:
            # A rate-limit store that is down must not take the API down with it.
            log.warning("rate limiter unavailable; request let through", exc_info=True)
        return None

    async def _handle(self, request: Request, request_id: str, meta: dict[str, Any]) -> Response:
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
        limited = await self._rate_limited(request, media)
        if limited is not None:
            return limited
        anonymous = "authorization" not in request.headers
        cache = self.state.cache
        try:
            params = await self._params(request)
            meta["operation"] = params.get("operationName")
            self._check_params(params)
            resolved = await self.state.persisted.resolve(params, anonymous)
            if resolved is None:
                raise RequestError(400, "`query` is required")
            query = resolved.query
            key = None
            if anonymous and cache.enabled:
                # Before parsing anything: a cached answer for this document and these variables.
                key = cache_key(
                    resolved.doc_hash, params.get("operationName"), params.get("variables"), media
                )
                entry = await cache.get(key)
                CACHE.labels("miss" if entry is None else "hit").inc()
                if entry is not None:
                    meta["cached"] = True
                    if request.method == "GET":
                        cache.link_fast(key, (request.scope["query_string"], media))
                    return self._cached(entry, request, request_id)
            document = self._document(query)
        except PersistedError as exc:
            return self._request_error(400, [_error(exc.message, exc.code)], media)
        except RequestError as exc:
            return self._json(
                {"errors": [_error(exc.message, "BAD_USER_INPUT", **exc.extensions)]},
                exc.status,
                media,
                exc.headers,
            )
        except TooComplex as exc:
            return self._too_complex(exc, media)
        except GraphQLError as exc:
            return self._request_error(400, [self._format(exc, request_id)], media)
        problem = _bad_literals(query, document)
        if problem:
            error = _error(
                f"the query {problem}",
                "BAD_USER_INPUT",
                problems=[{"path": "query", "message": problem}],
            )
            return self._request_error(400, [error], media)
        errors = self._validate(query, document)
        if errors:
            return self._request_error(400, [self._format(e, request_id) for e in errors], media)
        operation_name = params.get("operationName")
        operation = get_operation_ast(document, operation_name)
        if isinstance(operation, OperationDefinitionNode) and operation.name is not None:
            meta["operation"] = operation.name.value
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
        except Exception as exc:
            if unavailable(exc):
                log.warning("database unavailable (request %s): %s", request_id, exc)
                return self._unavailable(media, request_id)
            raise
        if not self.settings.introspection and viewer.role == "anonymous":
            refused = validate(self.schema, document, [NoSchemaIntrospectionCustomRule])
            if refused:
                return self._request_error(
                    400,
                    [_error("introspection is turned off for anonymous clients", "FORBIDDEN")],
                    media,
                )
        variables = params.get("variables")
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        measured = measure(self.schema, operation, fragments, variables)
        try:
            check_limits(measured, self.limits)
        except TooComplex as exc:
            return self._too_complex(exc, media)
        context = Context(
            self.state.database,
            self.settings,
            viewer,
            request=request,
            request_id=request_id,
            app_state=self.state,
        )
        result: ExecutionResult
        try:
            async with asyncio.timeout(self.settings.execution_timeout_seconds):
                with span("graphql", operation=meta.get("operation") or "", request_id=request_id):
                    outcome = execute(
                        self.schema,
                        document,
                        context_value=context,
                        variable_values=variables,
                        operation_name=operation_name,
                    )
                    result = await outcome if hasattr(outcome, "__await__") else outcome  # type: ignore[misc]
        except TimeoutError:
            log.warning("request %s stopped after the execution timeout", request_id)
            return self._json(
                {
                    "errors": [
                        _error(
                            f"the request took longer than "
                            f"{self.settings.execution_timeout_seconds:g} s and was stopped",
                            "TIMEOUT",
                            requestId=request_id,
                        )
                    ]
                },
                503,
                media,
                {"X-Request-Id": request_id},
            )
        finally:
            await context.close(commit=False)
        if result.errors and any(unavailable(e.original_error) for e in result.errors):
            log.warning("database unavailable (request %s)", request_id)
            return self._unavailable(media, request_id)
        if result.errors and result.data is None and all(not e.path for e in result.errors):
            # Variables that do not fit the operation: a request error.
            return self._request_error(
                400, [self._format(e, request_id) for e in result.errors], media
            )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [self._format(e, request_id) for e in result.errors]
        payload["extensions"] = {"cost": measured.cost}
        headers = {"X-Request-Id": request_id}
        if viewer.role != "anonymous":
            # Drafts and editorial data: never stored by a browser or a shared cache.
            headers["Cache-Control"] = "private, no-store"
            headers["Vary"] = "Authorization"
            return self._json(payload, 200, media, headers)
        if result.errors or operation.operation is not OperationType.QUERY or key is None:
            headers["Cache-Control"] = "no-store"
            return self._json(payload, 200, media, headers)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        fast = (request.scope["query_string"], media) if request.method == "GET" else None
        entry = await cache.put(key, body, media, context.tags, fast)
        return self._cached(entry, request, request_id, hit=False)

    def _cached(
        self, entry: Entry, request: Request, request_id: str, hit: bool = True
    ) -> Response:
        """A cacheable anonymous answer: ETag and Surrogate-Key; public caching for GET."""
        headers = {
            "ETag": entry.etag,
            "Surrogate-Key": surrogate_keys(entry.tags),
            "X-Cache": "HIT" if hit else "MISS",
            "X-Request-Id": request_id,
        }
        if request.method == "GET":
            headers["Cache-Control"] = self.cache_control
            headers["Vary"] = "Accept, Accept-Encoding, Authorization"
            if _etag_matches(request.headers.get("if-none-match"), entry.etag):
                return Response(status_code=304, headers=headers)
        else:
            headers["Cache-Control"] = "no-store"
        return Response(entry.body, status_code=200, media_type=entry.media, headers=headers)

    def _too_complex(self, exc: TooComplex, media: str) -> Response:
        return self._request_error(
            400,
            [
                _error(
                    str(exc),
                    "QUERY_TOO_COMPLEX",
                    limit=exc.limit,
                    value=exc.value,
                    measure=exc.what,
                )
            ],
            media,
        )


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not Unicode text)"
    return None


def _bad_text(value: Any, path: str, depth: int = 0) -> tuple[str, str] | None:
    """Where and why a JSON value holds what cannot be text for the database (NUL, lone
    surrogates: PostgreSQL and the drivers refuse them), or None."""
    if isinstance(value, str):
        problem = _text_problem(value)
        return (path, problem) if problem else None
    if depth > 64:
        return path, "is nested too deeply"
    if isinstance(value, dict):
        for k, v in value.items():
            found = _bad_text(k, path, depth + 1) or _bad_text(v, f"{path}.{k}", depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _bad_text(v, f"{path}[{i}]", depth + 1)
            if found:
                return found
    return None


_LITERAL_CHECKS: _LRU = _LRU(1024)


def _bad_literals(query: str, document: DocumentNode) -> str | None:
    """The same check for the string literals of a document (cached by its text)."""
    cached = _LITERAL_CHECKS.get(query)
    if cached is not None:
        return cached or None
    problem = ""
    for node in _string_values(document):
        found = _text_problem(node)
        if found:
            problem = found
            break
    _LITERAL_CHECKS.put(query, problem)
    return problem or None


def _string_values(document: DocumentNode) -> list[str]:
    from graphql import StringValueNode, Visitor, visit

    found: list[str] = []

    class Collect(Visitor):
        def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
            found.append(node.value)

    visit(document, Collect())
    return found


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _request_id(request: Request) -> str:
    """The caller's X-Request-Id when it is a sane token (it is echoed and logged), else a new one."""
    given = request.headers.get("x-request-id")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
