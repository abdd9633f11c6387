"""3. Generated mutations with an editor token: the database stays sound."""

from __future__ import annotations

import json

import graphql
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_graphql import mutations
from sqlalchemy import Engine, text

from content.document import body_plain
from db.engine import is_sqlite
from tests.conftest import Api
from tests.server.fuzz.client import post_graphql
from tests.server.fuzz.settings import LIMIT_CODES, SDL, fuzz
from tests.server.fuzz.strategies import as_node, scalars, steered

_MUTATION_NAMES = list(graphql.build_schema(SDL).mutation_type.fields)  # type: ignore[union-attr]
_MUTATION_NODES = st.one_of(
    mutations(SDL, custom_scalars=scalars(), print_ast=as_node),
    *[
        mutations(SDL, fields=[name], custom_scalars=scalars(), print_ast=as_node)
        for name in _MUTATION_NAMES
    ],
)
GENERATED_MUTATIONS = steered(_MUTATION_NODES)


def check_database(engine: Engine) -> None:
    """What must hold whatever the mutations did."""
    with engine.connect() as conn:
        if is_sqlite(str(engine.url)):
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").first() is None
        reviews = conn.execute(
            text("SELECT id, slug, status, published_revision_id FROM review")
        ).all()
        disclaimers = {
            row.review_id: row.blocks
            for row in conn.execute(
                text("SELECT review_id, blocks FROM review_section WHERE key = 'DISCLAIMER'")
            )
        }
        revisions = dict(conn.execute(text("SELECT id, review_id FROM review_revision")).all())
    assert reviews
    for review in reviews:
        blocks = disclaimers.get(review.id)
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        assert blocks and body_plain(blocks).strip(), f"{review.slug}: no disclaimer"
        if str(review.status).upper().endswith("PUBLISHED"):
            assert review.published_revision_id is not None, f"{review.slug}: no revision"
        if review.published_revision_id is not None:
            assert revisions.get(review.published_revision_id) == review.id, review.slug


@fuzz(50)
@given(document=GENERATED_MUTATIONS)
async def test_generated_mutations_keep_the_database_sound(
    api: Api, editor: str, demo_engine: Engine, document: str
) -> None:
    payload = await post_graphql(api, document, token=editor)
    if "data" not in payload:
        assert {e["extensions"]["code"] for e in payload["errors"]} <= LIMIT_CODES, payload
    # Anonymously, every mutation is refused.
    anonymous = await post_graphql(api, document)
    codes = {e["extensions"]["code"] for e in anonymous.get("errors") or []}
    assert codes and codes <= {"UNAUTHENTICATED", *LIMIT_CODES}, anonymous
    check_database(demo_engine)
