"""GraphQL over HTTP (GET and POST ``/graphql``), per the GraphQL-over-HTTP spec.

Parsing, validation and execution use graphql-core on the strawberry schema
directly, so this module controls every status code and header:

* ``application/graphql-response+json`` (preferred when accepted): request
  errors (unparsable JSON, missing query, syntax or validation errors, bad
  variables) answer 4xx and carry no ``data`` key;
* ``application/json`` (legacy clients): GraphQL errors answer 200;
* a browser asking for ``text/html`` at the bare endpoint gets GraphiQL.

A request goes through, in this order: who is asking (a token is verified
before anything else, so an unverified token lifts no limit), its request rate
and cost budget, its parameters (the body bounded by who is asking), the
response cache, parsing and validation (cached by document), the query limits
and cost, the budget taken, execution (metered: actual cost and bytes), and the
budget settled against the actual cost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
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

from resolvers.context import Context, Viewer
from server.auth import TooManyFailures, Unauthenticated, bearer_token, guarded, viewer_for
from server.cache import Entry, cache_control, cache_key
from server.cached_response import Answer, admit, answer, cost_tail, rate_limited, refusal
from server.cost import measure
from server.graphql_request import (
    GRAPHQL_RESPONSE,
    JSON,
    LRU,
    RequestError,
    bad_literals,
    check_params,
    media_type,
    read_params,
    wants_html,
)
from server.limits import QueryLimits, TooComplex, count_tokens
from server.limits import check as check_limits
from server.metering import Meter, MeteredExecutor, ResponseTooLarge
from server.observability import (
    CACHE,
    LATENCY,
    REQUESTS,
    count_errors,
    log_name,
    observe_pool,
    operation_label,
    request_id_var,
    span,
)
from server.persisted import PersistedError
from server.ratelimit import Admission, Policy, ThrottleStatus, address_key, client_key, rate_key

log = logging.getLogger("compendium.http")

__all__ = ["GRAPHQL_RESPONSE", "JSON", "GraphQLHTTP", "unavailable"]


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


def _send(answer_: Answer) -> Response:
    """A prepared answer, sent with exactly its headers."""
    response = Response(answer_.body, status_code=answer_.status)
    response.raw_headers = list(answer_.headers)
    return response


@dataclass(slots=True)
class Call:
    """One request on its way through the endpoint."""

    request: Request
    request_id: str
    meta: dict[str, Any]
    address: str
    media: str = JSON
    viewer: Viewer = field(default_factory=Viewer)
    bucket: str = ""
    policy: Policy | None = None
    status: ThrottleStatus | None = None

    @property
    def anonymous(self) -> bool:
        return self.viewer.role == "anonymous"


class GraphQLHTTP:
    """The ``/graphql`` endpoint."""

    def __init__(self, schema: GraphQLSchema, app_state: Any):
        self.schema = schema
        self.state = app_state
        self.settings = s = app_state.settings
        self.anonymous_policy, self.token_policy = app_state.policies
        # A request may never need more than its bucket can hold (it would wait forever).
        self.anonymous_limits = QueryLimits(
            s.max_query_depth,
            s.max_query_aliases,
            s.max_query_tokens,
            min(s.max_query_cost, s.budget_anonymous),
        )
        self.token_limits = QueryLimits(
            s.max_query_depth,
            s.max_query_aliases,
            s.max_query_tokens,
            min(s.max_query_cost_authenticated, s.budget_authenticated),
        )
        self._documents = LRU(1024)
        self._validated = LRU(1024)
        self.cache_control = cache_control(s)

    # --- documents ---------------------------------------------------------------------------

    def _document(self, query: str) -> DocumentNode:
        document = self._documents.get(query)
        if document is None:
            tokens = self.settings.max_query_tokens
            try:
                document = parse(query, max_tokens=tokens)
            except GraphQLError as exc:
                if "tokens" in exc.message and "Parsing aborted" in exc.message:
                    raise TooComplex("number of tokens", count_tokens(query), tokens) from None
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
        call: Call,
        payload: dict[str, Any],
        status: int,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if "errors" in payload:
            count_errors(payload)
        if call.status is not None and "extensions" not in payload:
            payload["extensions"] = {"cost": {"throttleStatus": call.status.as_json()}}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return Response(
            body,
            status_code=status,
            media_type=call.media,
            headers={"X-Request-Id": call.request_id, **(headers or {})},
        )

    def _request_error(
        self,
        call: Call,
        status: int,
        errors: list[dict[str, Any]],
        headers: dict[str, str] | None = None,
    ) -> Response:
        # Under the legacy media type GraphQL-level request errors are 200 (spec).
        if call.media == JSON and status == 400:
            status = 200
        return self._json(call, {"errors": errors}, status, headers)

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

    def _unavailable(self, call: Call) -> Response:
        message = "the database is unavailable; try again shortly"
        error = _error(message, "SERVICE_UNAVAILABLE", requestId=call.request_id)
        return self._json(call, {"errors": [error]}, 503, {"Retry-After": "5"})

    def _too_complex(self, call: Call, exc: TooComplex) -> Response:
        error = _error(
            str(exc), "QUERY_TOO_COMPLEX", limit=exc.limit, value=exc.value, measure=exc.what
        )
        return self._request_error(call, 400, [error])

    def _too_large(self, call: Call, limit: int, cost: dict[str, Any]) -> Response:
        """The answer would pass the request's byte limit: refused as a whole, no data (like
        QUERY_TOO_COMPLEX, found while executing rather than before)."""
        error = ResponseTooLarge(limit).formatted
        status = 200 if call.media == JSON else 400
        return self._json(call, {"errors": [error], "extensions": {"cost": cost}}, status)

    # --- the endpoint -------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        request_id = _request_id(request)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        meta: dict[str, Any] = {}
        response = await self._guarded(request, request_id, meta)
        elapsed = time.perf_counter() - started
        if meta.get("cached"):
            operation = "(cache hit)"
        else:
            operation = operation_label(meta.get("operation"), bool(meta.get("trusted")))
        REQUESTS.labels(operation, str(response.status_code)).inc()
        LATENCY.labels(operation).observe(elapsed)
        observe_pool(self.state.database)
        log.info(
            "graphql request",
            extra={
                "operation": "(cache hit)"
                if meta.get("cached")
                else log_name(meta.get("operation")),
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
                "cache": response.headers.get("x-cache", "-"),
            },
        )
        request_id_var.reset(token)
        return response

    async def _guarded(self, request: Request, request_id: str, meta: dict[str, Any]) -> Response:
        call = Call(
            request, request_id, meta, client_key(request.client.host if request.client else None)
        )
        try:
            return await self._handle(call)
        except Exception:
            # Never a traceback, a path or SQL to the client: the detail goes to the log.
            log.exception("unexpected error handling request %s", request_id)
            call.media = JSON
            error = _error("Internal server error", "INTERNAL_SERVER_ERROR", requestId=request_id)
            return self._json(call, {"errors": [error]}, 500)

    async def _authenticate(self, call: Call) -> Response | None:
        """A request with a token: the token is checked first, before its body is read or
        any larger limit applies (server/auth.py counts failures per address)."""
        try:
            token = bearer_token(call.request)
            assert token is not None
            call.viewer = await guarded(
                self.state, call.address, lambda: viewer_for(self.state.database, token)
            )
        except TooManyFailures as exc:
            message = f"too many requests with a bad token; retry after {exc.retry_after} s"
            return _send(
                refusal("RATE_LIMITED", message, exc.retry_after, call.media, call.request_id)
            )
        except Unauthenticated as exc:
            return self._json(
                call,
                {"errors": [_error(exc.message, "UNAUTHENTICATED")]},
                401,
                {"WWW-Authenticate": 'Bearer realm="compendium"'},
            )
        except Exception as exc:
            if unavailable(exc):
                log.warning("database unavailable (request %s): %s", call.request_id, exc)
                return self._unavailable(call)
            raise
        call.bucket = rate_key("token", token)
        call.policy = self.token_policy
        return None

    async def _admit(self, call: Call) -> Response | None:
        """Request rates (per address, or per token and address) and the budget's status."""
        settings = self.settings
        window = settings.rate_limit_window_seconds
        if call.anonymous:
            call.bucket = address_key(call.address)
            call.policy = self.anonymous_policy
            admission = await admit(
                self.state, call.request.client.host if call.request.client else None
            )
            if admission is None:
                return None
            call.status = admission.status
            if not admission.allowed:
                return _send(rate_limited(admission, window, call.media, call.request_id))
            return None
        limiter = self.state.rate_limiter
        limit = settings.rate_limit_authenticated
        assert call.policy is not None
        try:
            admission = await limiter.admit(call.bucket, limit, call.bucket, call.policy)
            call.status = admission.status
            if admission.allowed:
                allowed, reset = await limiter.hit(address_key(call.address), limit)
                if not allowed:
                    admission = Admission(False, "RATE_LIMITED", limit, reset, admission.status)
        except Exception:
            log.warning("rate limiter unavailable; request let through", exc_info=True)
            return None
        if not admission.allowed:
            return _send(rate_limited(admission, window, call.media, call.request_id))
        return None

    async def _spend(self, call: Call, cost: int) -> Response | None:
        """Take the requested cost from the client's budget, or refuse: THROTTLED."""
        assert call.policy is not None
        try:
            taken, retry, status = await self.state.rate_limiter.spend(
                call.bucket, call.policy, cost
            )
        except Exception:
            log.warning("cost budget unavailable; request let through", exc_info=True)
            call.status = None
            return None
        call.status = status
        if taken:
            return None
        message = (
            f"not enough budget for this query: it costs {cost} points, "
            f"{status.available} are available, {status.restore_rate} come back per second; "
            f"retry after {retry} s"
        )
        cost_info = {"requested": cost, "actual": 0, "throttleStatus": status.as_json()}
        return _send(refusal("THROTTLED", message, retry, call.media, call.request_id, cost_info))

    async def _settle(self, call: Call, requested: int, actual: int) -> None:
        if call.status is None or call.policy is None or actual == requested:
            return
        try:
            call.status = await self.state.rate_limiter.settle(
                call.bucket, call.policy, actual - requested
            )
        except Exception:
            log.warning("cost budget unavailable (not settled)", exc_info=True)

    async def _handle(self, call: Call) -> Response:
        request = call.request
        if request.method not in ("GET", "POST"):
            return Response(status_code=405, headers={"Allow": "GET, POST"})
        if request.method == "GET" and wants_html(request):
            from server.graphiql import CONTENT_SECURITY_POLICY, graphiql_html

            # The IDE is never an answer to a query: not stored, and varying on Accept.
            return HTMLResponse(
                graphiql_html(),
                headers={
                    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                    "Cache-Control": "no-store",
                    "Vary": "Accept",
                },
            )
        media = media_type(request.headers.get("accept"))
        if media is None:
            error = _error(f"Accept one of {GRAPHQL_RESPONSE}, {JSON}", "BAD_USER_INPUT")
            return self._json(call, {"errors": [error]}, 406)
        call.media = media
        if "authorization" in request.headers:
            refused = await self._authenticate(call)
            if refused is not None:
                return refused
        refused = await self._admit(call)
        if refused is not None:
            return refused
        return await self._query(call)

    async def _query(self, call: Call) -> Response:
        request, meta, settings = call.request, call.meta, self.settings
        anonymous = call.anonymous
        meta["trusted"] = not anonymous
        cache = self.state.cache
        body_limit = settings.max_body_bytes if anonymous else settings.max_body_bytes_authenticated
        try:
            params = await read_params(request, body_limit, settings.body_timeout_seconds)
            check_params(params)
            meta["operation"] = params.get("operationName")
            resolved = await self.state.persisted.resolve(params, anonymous)
            if resolved is None:
                raise RequestError(400, "`query` is required")
            meta["trusted"] = meta["trusted"] or resolved.trusted
            query = resolved.query
            key = None
            if anonymous and cache.enabled:
                # Before parsing anything: a cached answer for this document and these variables.
                key = cache_key(
                    resolved.doc_hash,
                    params.get("operationName"),
                    params.get("variables"),
                    call.media,
                )
                entry = await cache.get(key)
                CACHE.labels("miss" if entry is None else "hit").inc()
                if entry is not None:
                    meta["cached"] = True
                    if request.method == "GET":
                        cache.link_fast(key, (request.scope["query_string"], call.media))
                    return self._cached(call, entry, 0, hit=True)
            document = self._document(query)
        except PersistedError as exc:
            return self._request_error(call, 400, [_error(exc.message, exc.code)])
        except RequestError as exc:
            error = _error(exc.message, "BAD_USER_INPUT", **exc.extensions)
            return self._json(call, {"errors": [error]}, exc.status, exc.headers)
        except TooComplex as exc:
            return self._too_complex(call, exc)
        except GraphQLError as exc:
            return self._request_error(call, 400, [self._format(exc, call.request_id)])
        problem = bad_literals(query, document)
        if problem:
            error = _error(
                f"the query {problem}",
                "BAD_USER_INPUT",
                problems=[{"path": "query", "message": problem}],
            )
            return self._request_error(call, 400, [error])
        errors = self._validate(query, document)
        if errors:
            return self._request_error(
                call, 400, [self._format(e, call.request_id) for e in errors]
            )
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
            return self._request_error(call, 400, [_error(message, "BAD_USER_INPUT")])
        if request.method == "GET" and operation.operation is not OperationType.QUERY:
            error = _error("only queries may be sent with GET; use POST", "BAD_USER_INPUT")
            return self._json(call, {"errors": [error]}, 405, {"Allow": "POST"})
        if (
            not settings.introspection
            and anonymous
            and validate(self.schema, document, [NoSchemaIntrospectionCustomRule])
        ):
            message = "introspection is turned off for anonymous clients"
            return self._request_error(call, 400, [_error(message, "FORBIDDEN")])
        variables = params.get("variables")
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        measured = measure(self.schema, operation, fragments, variables, settings.max_page_size)
        try:
            check_limits(measured, self.anonymous_limits if anonymous else self.token_limits)
        except TooComplex as exc:
            return self._too_complex(call, exc)
        refused = await self._spend(call, measured.cost)
        if refused is not None:
            return refused
        max_bytes = (
            settings.max_response_bytes if anonymous else settings.max_response_bytes_authenticated
        )
        meter = Meter(max_bytes)
        context = Context(
            self.state.database,
            settings,
            call.viewer,
            request=request,
            request_id=call.request_id,
            app_state=self.state,
        )
        result: ExecutionResult
        try:
            async with asyncio.timeout(settings.execution_timeout_seconds):
                with span(
                    "graphql", operation=meta.get("operation") or "", request_id=call.request_id
                ):
                    outcome = execute(
                        self.schema,
                        document,
                        context_value=context,
                        variable_values=variables,
                        operation_name=operation_name,
                        executor_class=MeteredExecutor,
                        meter=meter,
                    )
                    result = await outcome if hasattr(outcome, "__await__") else outcome  # type: ignore[misc]
        except TimeoutError:
            log.warning("request %s stopped after the execution timeout", call.request_id)
            await self._settle(call, measured.cost, meter.actual)
            message = (
                f"the request took longer than {settings.execution_timeout_seconds:g} s "
                "and was stopped"
            )
            error = _error(message, "TIMEOUT", requestId=call.request_id)
            return self._json(call, {"errors": [error]}, 503)
        finally:
            await context.close(commit=False)
        await self._settle(call, measured.cost, meter.actual)
        if result.errors and any(unavailable(e.original_error) for e in result.errors):
            log.warning("database unavailable (request %s)", call.request_id)
            return self._unavailable(call)
        cost: dict[str, Any] = {"requested": measured.cost, "actual": meter.actual}
        if call.status is not None:
            cost["throttleStatus"] = call.status.as_json()
        if meter.exceeded:
            return self._too_large(call, max_bytes, cost)
        if result.errors and result.data is None and all(not e.path for e in result.errors):
            # Variables that do not fit the operation: a request error.
            return self._request_error(
                call, 400, [self._format(e, call.request_id) for e in result.errors]
            )
        cacheable = (
            anonymous
            and not result.errors
            and operation.operation is OperationType.QUERY
            and key is not None
        )
        if not cacheable:
            payload: dict[str, Any] = {"data": result.data}
            if result.errors:
                payload["errors"] = [self._format(e, call.request_id) for e in result.errors]
            payload["extensions"] = {"cost": cost}
            headers = (
                # Drafts and editorial data: never stored by a browser or a shared cache.
                {"Cache-Control": "private, no-store", "Vary": "Authorization"}
                if not anonymous
                else {"Cache-Control": "no-store"}
            )
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            if len(body) > max_bytes:
                return self._too_large(call, max_bytes, cost)
            if "errors" in payload:
                count_errors(payload)
            return Response(
                body,
                media_type=call.media,
                headers={"X-Request-Id": call.request_id, **headers},
            )
        # What every client gets; each answer adds its own actual cost and budget.
        stored = {"data": result.data, "extensions": {"cost": {"requested": measured.cost}}}
        body = json.dumps(stored, ensure_ascii=False, separators=(",", ":")).encode()
        if len(body) > max_bytes:
            return self._too_large(call, max_bytes, cost)
        fast = (request.scope["query_string"], call.media) if request.method == "GET" else None
        assert key is not None
        entry = await cache.put(key, body, call.media, context.tags, fast)
        return self._cached(call, entry, meter.actual, hit=False)

    def _cached(self, call: Call, entry: Entry, actual: int, hit: bool) -> Response:
        """A cacheable anonymous answer (server/cached_response.py, shared with the fast
        path): ETag and Surrogate-Key; public caching for GET."""
        request = call.request
        return _send(
            answer(
                entry,
                get=request.method == "GET",
                if_none_match=request.headers.get("if-none-match"),
                accept_encoding=request.headers.get("accept-encoding"),
                tail=cost_tail(actual, call.status),
                request_id=call.request_id,
                hit=hit,
                cache_control=self.cache_control,
            )
        )


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _request_id(request: Request) -> str:
    """The caller's X-Request-Id when it is a sane token (it is echoed and logged), else a new one."""
    given = request.headers.get("x-request-id")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
