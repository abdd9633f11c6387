"""Who is asking, and whether they may ask now: the token, request rates, the cost budget.

A token is verified before anything else (an unverified token lifts no limit:
server/auth.py counts failures per address); then the request rates (per address,
or per token and address) and the client's cost budget. The budget is taken before
execution at the requested cost and settled afterwards against the actual cost.
"""

from __future__ import annotations

import logging
from typing import Any

from server.auth import TooManyFailures, Unauthenticated, bearer_token, guarded, viewer_for
from server.cached_response import admit, rate_limited, refusal
from server.graphql.answers import (
    Answered,
    Call,
    database_unavailable,
    error,
    json_answer,
    send,
    unavailable,
)
from server.ratelimit import Admission, address_key, rate_key

log = logging.getLogger("compendium.http")


class Gate:
    """The admission stages of the endpoint, over the app's limiter and policies."""

    def __init__(self, state: Any):
        self.state = state
        self.settings = state.settings
        self.anonymous_policy, self.token_policy = state.policies

    async def authenticate(self, call: Call) -> None:
        """A request with a token: the token is checked first, before its body is read or
        any larger limit applies."""
        if "authorization" not in call.request.headers:
            return
        try:
            token = bearer_token(call.request)
            assert token is not None
            call.viewer = await guarded(
                self.state, call.address, lambda: viewer_for(self.state.database, token)
            )
        except TooManyFailures as exc:
            message = f"too many requests with a bad token; retry after {exc.retry_after} s"
            raise Answered(
                send(refusal("RATE_LIMITED", message, exc.retry_after, call.media, call.request_id))
            ) from None
        except Unauthenticated as exc:
            raise Answered(
                json_answer(
                    call,
                    {"errors": [error(exc.message, "UNAUTHENTICATED")]},
                    401,
                    {"WWW-Authenticate": 'Bearer realm="compendium"'},
                )
            ) from None
        except Exception as exc:
            if database_unavailable(exc):
                log.warning("database unavailable (request %s): %s", call.request_id, exc)
                raise Answered(unavailable(call)) from None
            raise
        call.bucket = rate_key("token", token)
        call.policy = self.token_policy

    async def admit(self, call: Call) -> None:
        """Request rates (per address, or per token and address) and the budget's status."""
        window = self.settings.rate_limit_window_seconds
        if call.anonymous:
            call.bucket = address_key(call.address)
            call.policy = self.anonymous_policy
            client = call.request.client
            admission = await admit(self.state, client.host if client else None)
            if admission is None:
                return
            call.status = admission.status
            if not admission.allowed:
                raise Answered(send(rate_limited(admission, window, call.media, call.request_id)))
            return
        limiter = self.state.rate_limiter
        limit = self.settings.rate_limit_authenticated
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
            return
        if not admission.allowed:
            raise Answered(send(rate_limited(admission, window, call.media, call.request_id)))

    async def spend(self, call: Call, cost: int) -> None:
        """Take the requested cost from the client's budget, or refuse: THROTTLED."""
        assert call.policy is not None
        try:
            taken, retry, status = await self.state.rate_limiter.spend(
                call.bucket, call.policy, cost
            )
        except Exception:
            log.warning("cost budget unavailable; request let through", exc_info=True)
            call.status = None
            return
        call.status = status
        if taken:
            return
        message = (
            f"not enough budget for this query: it costs {cost} points, "
            f"{status.available} are available, {status.restore_rate} come back per second; "
            f"retry after {retry} s"
        )
        cost_info = {"requested": cost, "actual": 0, "throttleStatus": status.as_json()}
        raise Answered(
            send(refusal("THROTTLED", message, retry, call.media, call.request_id, cost_info))
        )

    async def settle(self, call: Call, requested: int, actual: int) -> None:
        """Give back (or take) the difference between the requested and the actual cost."""
        if call.status is None or call.policy is None or actual == requested:
            return
        try:
            call.status = await self.state.rate_limiter.settle(
                call.bucket, call.policy, actual - requested
            )
        except Exception:
            log.warning("cost budget unavailable (not settled)", exc_info=True)
