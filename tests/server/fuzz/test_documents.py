"""1. Documents generated from the schema, valid and invalid."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from hypothesis_graphql import Mode, queries

from tests.conftest import Api
from tests.server.fuzz.client import post_graphql
from tests.server.fuzz.settings import LIMIT_CODES, SDL, fuzz
from tests.server.fuzz.strategies import POSITIVE_QUERIES, scalars

NEGATIVE_QUERIES = queries(SDL, custom_scalars=scalars(), mode=Mode.NEGATIVE)


@fuzz(80)
@given(document=POSITIVE_QUERIES, as_editor=st.booleans())
async def test_generated_queries_get_well_formed_answers(
    api: Api, editor: str, document: str, as_editor: bool
) -> None:
    payload = await post_graphql(api, document, token=editor if as_editor else None)
    # Valid documents are executed (their errors are field errors), unless an abuse
    # limit refuses the whole request.
    if "data" not in payload:
        assert {e["extensions"]["code"] for e in payload["errors"]} <= LIMIT_CODES, payload


@fuzz(50)
@given(document=NEGATIVE_QUERIES, as_editor=st.booleans())
async def test_generated_invalid_queries_are_refused_cleanly(
    api: Api, editor: str, document: str, as_editor: bool
) -> None:
    payload = await post_graphql(api, document, token=editor if as_editor else None)
    assert payload.get("errors"), payload
