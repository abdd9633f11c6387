"""Reading a GraphQL-over-HTTP request: media types, the body (bounded), the parameters.

Everything here refuses bad input with a ``RequestError`` (a status and a
message the endpoint turns into a ``BAD_USER_INPUT`` answer without ``data``).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Any

from graphql import DocumentNode, StringValueNode, Visitor, visit
from starlette.requests import Request

from server.deadlines import BodyTimeout, Deadlines

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MAX_QUERY_LENGTH = 100_000
# Parameters that make a GET an API request (answered with JSON, never with GraphiQL).
GRAPHQL_PARAMS = ("query", "extensions", "variables", "operationName")
# Where the fast path leaves the deadline of a body it began to read (server/fastpath.py).
BODY_DEADLINE = "compendium.body_deadline"


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


class LRU:
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


def media_type(accept: str | None) -> str | None:
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


def wants_html(request: Request) -> bool:
    """A browser opening the bare endpoint: GraphiQL. A URL with GraphQL parameters (a
    query, a persisted query's hash, variables) is an API request whatever it accepts."""
    accept = request.headers.get("accept", "")
    params = request.query_params
    return "text/html" in accept and not any(p in params for p in GRAPHQL_PARAMS)


async def read_body(request: Request, limit: int, timeout: float, deadlines: Deadlines) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise RequestError(413, f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    deadline = request.scope.get(BODY_DEADLINE) or asyncio.get_running_loop().time() + timeout
    stream = request.stream()
    try:
        while True:
            try:
                chunk = await deadlines.read(anext(stream), deadline)
            except StopAsyncIteration:
                break
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"the request body is larger than {limit} bytes")
            chunks.append(chunk)
    except BodyTimeout:
        raise RequestError(408, f"the request body did not arrive within {timeout:g} s") from None
    finally:
        await stream.aclose()
    return b"".join(chunks)


async def read_params(
    request: Request, body_limit: int, body_timeout: float, deadlines: Deadlines
) -> tuple[dict[str, Any], bytes | None]:
    """The request's parameters, and the raw body of a POST (the fast path's key)."""
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
        return params, None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise RequestError(415, "POST bodies must be application/json", {"Accept-Post": JSON})
    body = await read_body(request, body_limit, body_timeout, deadlines)
    try:
        params = json.loads(body)
    except (ValueError, RecursionError):
        # (RecursionError: JSON nested deeper than the parser goes.)
        raise RequestError(400, "the request body is not valid JSON") from None
    if not isinstance(params, dict):
        raise RequestError(400, "the request body must be a JSON object (batching is off)")
    return params, body


def check_params(params: dict[str, Any]) -> None:
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
    # What cannot be text (NUL, lone surrogates) is refused before it reaches a message, a
    # log line, a metric label or the database.
    for key in ("operationName", "variables"):
        problem = bad_text(params.get(key), key)
        if problem:
            path, message = problem
            raise RequestError(
                400, f"`{path}` {message}", problems=[{"path": path, "message": message}]
            )


def text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not Unicode text)"
    return None


def bad_text(value: Any, path: str, depth: int = 0) -> tuple[str, str] | None:
    """Where and why a JSON value holds what cannot be text for the database (NUL, lone
    surrogates: PostgreSQL and the drivers refuse them), or None."""
    if isinstance(value, str):
        problem = text_problem(value)
        return (path, problem) if problem else None
    if depth > 64:
        return path, "is nested too deeply"
    if isinstance(value, dict):
        for k, v in value.items():
            found = bad_text(k, path, depth + 1) or bad_text(v, f"{path}.{k}", depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = bad_text(v, f"{path}[{i}]", depth + 1)
            if found:
                return found
    return None


_LITERAL_CHECKS = LRU(1024)


def bad_literals(query: str, document: DocumentNode) -> str | None:
    """The same check for the string literals of a document (cached by its text)."""
    cached = _LITERAL_CHECKS.get(query)
    if cached is not None:
        return cached or None
    problem = ""
    for node in _string_values(document):
        found = text_problem(node)
        if found:
            problem = found
            break
    _LITERAL_CHECKS.put(query, problem)
    return problem or None


def _string_values(document: DocumentNode) -> list[str]:
    found: list[str] = []

    class Collect(Visitor):
        def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
            found.append(node.value)

    visit(document, Collect())
    return found
