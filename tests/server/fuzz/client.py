"""The HTTP client and the checks every answer must pass."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from hypothesis import event
from hypothesis.control import currently_in_test_context

from tests.conftest import Api
from tests.server.fuzz.settings import CODES, LEAKS, REQUEST_SECONDS


def bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


async def timed(send: Any) -> httpx.Response:
    started = time.perf_counter()
    response = await send
    elapsed = time.perf_counter() - started
    assert elapsed < REQUEST_SECONDS, f"the request took {elapsed:.1f} s"
    return response


def check_answer(response: httpx.Response, sent: str) -> dict[str, Any]:
    """The invariants of every GraphQL answer; returns its payload."""
    body = response.text
    assert response.status_code < 500, f"{response.status_code}: {body[:2000]}"
    media = response.headers.get("content-type", "").split(";")[0]
    assert media in ("application/json", "application/graphql-response+json"), media
    payload = response.json()
    assert isinstance(payload, dict) and ("data" in payload or "errors" in payload), body[:2000]
    errors = payload.get("errors")
    assert errors is None or (isinstance(errors, list) and errors), payload
    for error in errors or []:
        assert isinstance(error, dict) and isinstance(error.get("message"), str), error
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str) and code in CODES, error
    for pattern in LEAKS:
        # An echo of what the client sent (e.g. in a syntax error) is no leak.
        if pattern.search(body) and not pattern.search(sent):
            raise AssertionError(f"internal detail {pattern.pattern!r} in: {body[:3000]}")
    codes = sorted({e["extensions"]["code"] for e in errors or []})
    assert "INTERNAL_SERVER_ERROR" not in codes, f"a bug, for {sent[:3000]!r}: {body[:3000]}"
    if currently_in_test_context():
        event(f"{response.status_code} {'data' if payload.get('data') else 'no data'} {codes}")
    return payload  # type: ignore[no-any-return]


async def post_graphql(
    api: Api, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    # json.dumps escapes to ASCII, so lone surrogates travel as valid JSON ("\ud800").
    content = json.dumps(body)
    headers = {
        "content-type": "application/json",
        "accept": "application/graphql-response+json",
        **bearer(token),
    }
    response = await timed(api.client.post("/graphql", content=content, headers=headers))
    return check_answer(response, content)
