"""The ``/graphql`` endpoint: one request through named stages.

Parsing, validation and execution use graphql-core on the strawberry schema
directly, so the endpoint controls every status code and header (GraphQL over
HTTP; a browser asking for ``text/html`` at the bare endpoint gets GraphiQL).
A request goes through, in this order:

1. ``negotiate``: the method, GraphiQL, the response media type;
2. ``admit`` (server/graphql/admission.py): who is asking (a token is verified
   before anything else), request rates and the budget's status;
3. ``read``: the parameters (the body bounded by who is asking), the persisted
   document, and an answer from the response cache when there is one;
4. ``resolve``: the document parsed and validated (cached by text) and its operation;
5. ``check_limits``: depth, aliases and cost, and the requested cost taken from
   the client's budget;
6. ``run``: execution, metered (actual cost and bytes) within the time limit, and
   the budget settled against the actual cost;
7. ``respond``: the answer, stored in the response cache when it may be.

A stage that answers early raises ``Answered`` with its response.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from graphql import ExecutionResult, GraphQLError, GraphQLSchema, execute
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from resolvers.context import Context
from server.cache.entry import Entry, cache_control, cache_key
from server.cached_response import answer, cost_tail
from server.fastpath import fast_key
from server.graphiql import CONTENT_SECURITY_POLICY, graphiql_html
from server.graphql.admission import Gate
from server.graphql.answers import (
    Answered,
    Call,
    database_unavailable,
    error,
    formatted,
    internal_error,
    json_answer,
    request_error,
    send,
    too_large,
    unavailable,
)
from server.graphql.documents import Documents, Operation
from server.graphql.request import (
    GRAPHQL_RESPONSE,
    JSON,
    RequestError,
    check_params,
    media_type,
    read_params,
    wants_html,
)
from server.limits import QueryLimits, TooComplex
from server.limits import check as check_limits
from server.metering import Meter
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
from server.ratelimit import client_key
from server.subtrees import CachingExecutor

log = logging.getLogger("compendium.http")


@dataclass(slots=True)
class Read:
    """What the ``read`` stage found: the parameters, the document and the cache key."""

    params: dict[str, Any]
    query: str
    key: str | None  # the response cache's key (anonymous requests with the cache on)
    # What the fast path knows this request by: the raw query string of a GET, the raw
    # body of a POST (server/fastpath.py).
    fast: tuple[bytes, str] | None


@dataclass(slots=True)
class Ran:
    """What the ``run`` stage produced."""

    result: ExecutionResult
    context: Context
    cost: dict[str, Any]
    meter: Meter


class GraphQLHTTP:
    """The ``/graphql`` endpoint."""

    def __init__(self, schema: GraphQLSchema, app_state: Any):
        self.schema = schema
        self.state = app_state
        self.settings = s = app_state.settings
        self.gate = Gate(app_state)
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
        self.documents = Documents(schema, s.max_query_tokens, s.introspection)
        self.cache_control = cache_control(s)

    async def handle(self, request: Request) -> Response:
        """One request, counted in the metrics and logged."""
        request_id = _request_id(request)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        client = request.client.host if request.client else None
        call = Call(request, request_id, {}, client_key(client))
        try:
            response = await self._pipeline(call)
        except Exception:
            # Never a traceback, a path or SQL to the client: the detail goes to the log.
            log.exception("unexpected error handling request %s", request_id)
            response = internal_error(call)
        self._observe(call, response, time.perf_counter() - started)
        request_id_var.reset(token)
        return response

    async def _pipeline(self, call: Call) -> Response:
        try:
            self.negotiate(call)
            await self.gate.authenticate(call)
            await self.gate.admit(call)
            read = await self.read(call)
            operation = self.resolve(call, read)
            requested = await self.check_limits(call, read, operation)
            ran = await self.run(call, operation, requested)
            return await self.respond(call, read, operation, ran)
        except Answered as answered:
            return answered.response

    # --- the stages ----------------------------------------------------------------------------

    def negotiate(self, call: Call) -> None:
        """The method, GraphiQL for a browser at the bare endpoint, the response type."""
        request = call.request
        if request.method not in ("GET", "POST"):
            raise Answered(Response(status_code=405, headers={"Allow": "GET, POST"}))
        if request.method == "GET" and wants_html(request):
            # The IDE is never an answer to a query: not stored, and varying on Accept.
            headers = {
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "Cache-Control": "no-store",
                "Vary": "Accept",
            }
            raise Answered(HTMLResponse(graphiql_html(), headers=headers))
        media = media_type(request.headers.get("accept"))
        if media is None:
            err = error(f"Accept one of {GRAPHQL_RESPONSE}, {JSON}", "BAD_USER_INPUT")
            raise Answered(json_answer(call, {"errors": [err]}, 406))
        call.media = media

    async def read(self, call: Call) -> Read:
        """The parameters and the persisted document; a cached answer ends the request here."""
        settings, anonymous = self.settings, call.anonymous
        call.meta["trusted"] = not anonymous
        limit = settings.max_body_bytes if anonymous else settings.max_body_bytes_authenticated
        try:
            params, body = await read_params(
                call.request, limit, settings.body_timeout_seconds, self.state.deadlines
            )
            check_params(params)
            call.meta["operation"] = params.get("operationName")
            resolved = await self.state.persisted.resolve(params, anonymous)
        except PersistedError as exc:
            raise Answered(request_error(call, 400, [error(exc.message, exc.code)])) from None
        except RequestError as exc:
            err = error(exc.message, "BAD_USER_INPUT", **exc.extensions)
            raise Answered(json_answer(call, {"errors": [err]}, exc.status, exc.headers)) from None
        if resolved is None:
            err = error("`query` is required", "BAD_USER_INPUT")
            raise Answered(json_answer(call, {"errors": [err]}, 400))
        call.meta["trusted"] = call.meta["trusted"] or resolved.trusted
        fast = (fast_key(call.request.scope["query_string"], body), call.media)
        cache = self.state.cache
        key = None
        if anonymous and cache.enabled:
            # Before parsing anything: a cached answer for this document and these variables.
            key = cache_key(
                resolved.doc_hash, params.get("operationName"), params.get("variables"), call.media
            )
            entry = await cache.get(key)
            CACHE.labels("miss" if entry is None else "hit").inc()
            if entry is not None:
                call.meta["cached"] = True
                cache.link_fast(key, fast)
                raise Answered(self._cached(call, entry, 0, hit=True))
        return Read(params, resolved.query, key, fast)

    def resolve(self, call: Call, read: Read) -> Operation:
        """The document (parsed and validated once per text) and the operation to run."""
        try:
            return self.documents.operation(call, read.query, read.params)
        except TooComplex as exc:
            raise Answered(_too_complex(call, exc)) from None
        except GraphQLError as exc:
            raise Answered(request_error(call, 400, [formatted(exc, call.request_id)])) from None

    async def check_limits(self, call: Call, read: Read, operation: Operation) -> int:
        """Depth, aliases and cost within the limits; the requested cost taken from the budget."""
        measured = self.documents.measure(read.query, operation, self.settings.max_page_size)
        try:
            check_limits(measured, self.anonymous_limits if call.anonymous else self.token_limits)
        except TooComplex as exc:
            raise Answered(_too_complex(call, exc)) from None
        await self.gate.spend(call, measured.cost)
        return measured.cost

    async def run(self, call: Call, operation: Operation, requested: int) -> Ran:
        """Execute, metered, within the time limit; settle the budget on the actual cost."""
        settings = self.settings
        meter = Meter(self._max_bytes(call))
        context = Context(
            self.state.database,
            settings,
            call.viewer,
            request=call.request,
            request_id=call.request_id,
            effects=self.state.effects,
        )
        try:
            async with asyncio.timeout(settings.execution_timeout_seconds):
                operation_name = call.meta.get("operation") or ""
                with span("graphql", operation=operation_name, request_id=call.request_id):
                    outcome = execute(
                        self.schema,
                        operation.document,
                        context_value=context,
                        variable_values=operation.variables,
                        operation_name=operation.name,
                        executor_class=CachingExecutor,
                        meter=meter,
                        subtrees=self.state.subtrees,
                    )
                    result = await outcome if hasattr(outcome, "__await__") else outcome  # type: ignore[misc]
        except TimeoutError:
            log.warning("request %s stopped after the execution timeout", call.request_id)
            await self.gate.settle(call, requested, meter.actual)
            message = (
                f"the request took longer than {settings.execution_timeout_seconds:g} s "
                "and was stopped"
            )
            err = error(message, "TIMEOUT", requestId=call.request_id)
            raise Answered(json_answer(call, {"errors": [err]}, 503)) from None
        finally:
            await context.close(commit=False)
        await self.gate.settle(call, requested, meter.actual)
        cost: dict[str, Any] = {"requested": requested, "actual": meter.actual}
        if call.status is not None:
            cost["throttleStatus"] = call.status.as_json()
        return Ran(result, context, cost, meter)

    async def respond(self, call: Call, read: Read, operation: Operation, ran: Ran) -> Response:
        """The answer: stored in the response cache when it is a clean anonymous query."""
        result, max_bytes = ran.result, self._max_bytes(call)
        if result.errors and any(database_unavailable(e.original_error) for e in result.errors):
            log.warning("database unavailable (request %s)", call.request_id)
            return unavailable(call)
        if ran.meter.exceeded:
            return too_large(call, max_bytes, ran.cost)
        if result.errors and result.data is None and all(not e.path for e in result.errors):
            # Variables that do not fit the operation: a request error.
            return request_error(call, 400, [formatted(e, call.request_id) for e in result.errors])
        if not (call.anonymous and not result.errors and operation.is_query and read.key):
            return self._uncached(call, result, ran.cost, max_bytes)
        # What every client gets; each answer adds its own actual cost and budget.
        stored = {"data": result.data, "extensions": {"cost": {"requested": ran.cost["requested"]}}}
        body = json.dumps(stored, ensure_ascii=False, separators=(",", ":")).encode()
        if len(body) > max_bytes:
            return too_large(call, max_bytes, ran.cost)
        entry = await self.state.cache.put(read.key, body, call.media, ran.context.tags, read.fast)
        return self._cached(call, entry, ran.meter.actual, hit=False)

    # --- answers -------------------------------------------------------------------------------

    def _max_bytes(self, call: Call) -> int:
        s = self.settings
        return s.max_response_bytes if call.anonymous else s.max_response_bytes_authenticated

    def _uncached(
        self, call: Call, result: ExecutionResult, cost: dict[str, Any], max_bytes: int
    ) -> Response:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [formatted(e, call.request_id) for e in result.errors]
        payload["extensions"] = {"cost": cost}
        headers = (
            {"Cache-Control": "no-store"}
            if call.anonymous
            # Drafts and editorial data: never stored by a browser or a shared cache.
            else {"Cache-Control": "private, no-store", "Vary": "Authorization"}
        )
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        if len(body) > max_bytes:
            return too_large(call, max_bytes, cost)
        if "errors" in payload:
            count_errors(payload)
        return Response(
            body, media_type=call.media, headers={"X-Request-Id": call.request_id, **headers}
        )

    def _cached(self, call: Call, entry: Entry, actual: int, hit: bool) -> Response:
        """A cacheable anonymous answer (server/cached_response.py, shared with the fast
        path): ETag and Surrogate-Key; public caching for GET."""
        request = call.request
        return send(
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

    def _observe(self, call: Call, response: Response, elapsed: float) -> None:
        meta = call.meta
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


def _too_complex(call: Call, exc: TooComplex) -> Response:
    err = error(str(exc), "QUERY_TOO_COMPLEX", limit=exc.limit, value=exc.value, measure=exc.what)
    return request_error(call, 400, [err])


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _request_id(request: Request) -> str:
    """The caller's X-Request-Id when it is a sane token (it is echoed and logged), else a new one."""
    given = request.headers.get("x-request-id")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
