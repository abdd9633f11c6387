"""(c) Bad input to the feed, and (d) its statement count."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import Api
from tests.server.changes.feed import POSITION, SYNC

# --- (c) bad input ------------------------------------------------------------------------


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "since",
    [
        "not a cursor!",
        "",
        _b64("change:abc"),
        _b64("change:-1"),
        _b64("change:99999999999999999999"),
        _b64('["SLUG_ASC","ketamine--als",1]'),  # a list cursor is not a feed cursor
    ],
)
async def test_a_malformed_cursor_is_bad_user_input(api: Api, since: str) -> None:
    payload = (await api.post(SYNC, {"since": since, "first": 5})).json()
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert payload["errors"][0]["extensions"]["argument"] == "since"
    assert payload.get("data") is None


async def test_first_is_capped(api: Api) -> None:
    payload = (await api.post(POSITION.replace("100", "101"), {"since": None})).json()
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert payload["errors"][0]["extensions"]["argument"] == "first"


# --- (d) batching -------------------------------------------------------------------------


async def test_feed_query_count_is_constant(api: Api) -> None:
    query = """query Feed($since: String, $first: Int!) { changes(since: $since, first: $first) {
        cursor changes { op node {
          ... on Review { title text(format: PLAIN) compound { name } condition { name }
                          sections { heading } }
          ... on Compound { name citations { value } }
          ... on Condition { name }
        } } } }"""

    # After the 36 compounds and 16 conditions come the published reviews: pages of reviews
    # only, and pages mixing the three kinds. (Sizes stay within the query cost limit.)
    async def cursor_after(n: int) -> str:
        return (await api.data(query, {"since": None, "first": n}))["changes"]["cursor"]  # type: ignore[no-any-return]

    for since, sizes in (
        (await cursor_after(52), (1, 10, 40)),
        (await cursor_after(30), (25, 35, 45)),
    ):
        counts = {}
        for first in sizes:
            api.statements.clear()
            data = await api.data(query, {"since": since, "first": first})
            assert len(data["changes"]["changes"]) == first
            counts[first] = len(api.statements)
        assert len(set(counts.values())) == 1 and max(counts.values()) <= 6, counts
