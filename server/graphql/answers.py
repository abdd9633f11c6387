"""The answers the endpoint sends: GraphQL errors with a stable code, as JSON.

Per the GraphQL-over-HTTP spec, under ``application/graphql-response+json`` a
request error answers 4xx without ``data``; under the legacy ``application/json``
GraphQL-level request errors answer 200.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.responses import Response

from resolvers.context import Viewer
from server.cached_response import Answer
from server.graphql.request import JSON
from server.metering import ResponseTooLarge
from server.observability import count_errors
from server.ratelimit import Policy, ThrottleStatus

log = logging.getLogger("compendium.http")


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


class Answered(Exception):
    """A stage's final answer: the pipeline stops and sends it."""

    def __init__(self, response: Response):
        super().__init__()
        self.response = response


def error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extensions}}


def send(prepared: Answer) -> Response:
    """A prepared answer (server/cached_response.py), sent with exactly its headers."""
    response = Response(prepared.body, status_code=prepared.status)
    response.raw_headers = list(prepared.headers)
    return response


def json_answer(
    call: Call, payload: dict[str, Any], status: int, headers: dict[str, str] | None = None
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


def request_error(
    call: Call, status: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> Response:
    # Under the legacy media type GraphQL-level request errors are 200 (spec).
    if call.media == JSON and status == 400:
        status = 200
    return json_answer(call, {"errors": errors}, status, headers)


def formatted(exc: GraphQLError, request_id: str) -> dict[str, Any]:
    """A GraphQL error as sent: an unexpected one is logged and sent without its details."""
    original = exc.original_error
    if original is not None and not isinstance(original, GraphQLError):
        log.error("unexpected error in %s (request %s)", exc.path, request_id, exc_info=original)
        out = error("Internal server error", "INTERNAL_SERVER_ERROR", requestId=request_id)
        if exc.path:
            out["path"] = exc.path
        return out
    sent = exc.formatted
    extensions = dict(sent.get("extensions") or {})
    extensions.setdefault("code", "BAD_USER_INPUT" if not exc.path else "INTERNAL_SERVER_ERROR")
    sent["extensions"] = extensions
    return dict(sent)


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether an error means the database cannot be reached (or is too busy) right now."""
    while exc is not None:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout, ConnectionError)):
            return True
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def unavailable(call: Call) -> Response:
    message = "the database is unavailable; try again shortly"
    err = error(message, "SERVICE_UNAVAILABLE", requestId=call.request_id)
    return json_answer(call, {"errors": [err]}, 503, {"Retry-After": "5"})


def too_large(call: Call, limit: int, cost: dict[str, Any]) -> Response:
    """The answer would pass the request's byte limit: refused as a whole, no data (like
    QUERY_TOO_COMPLEX, found while executing rather than before)."""
    status = 200 if call.media == JSON else 400
    errors = [ResponseTooLarge(limit).formatted]
    return json_answer(call, {"errors": errors, "extensions": {"cost": cost}}, status)


def internal_error(call: Call) -> Response:
    call.media = JSON
    err = error("Internal server error", "INTERNAL_SERVER_ERROR", requestId=call.request_id)
    return json_answer(call, {"errors": [err]}, 500)
