"""GraphQL errors with a stable ``extensions.code`` (see the README's error table)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class ApiError(GraphQLError):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any):
        super().__init__(message, extensions={"code": self.code, **extensions})


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class NotFound(ApiError):
    code = "NOT_FOUND"


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class Conflict(ApiError):
    code = "CONFLICT"


class QueryTooComplex(ApiError):
    code = "QUERY_TOO_COMPLEX"


class ServiceUnavailable(ApiError):
    code = "SERVICE_UNAVAILABLE"
