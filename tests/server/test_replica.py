"""Anonymous readers may be served by a read replica; editors and writes never are."""

from __future__ import annotations

import uuid
from typing import Any

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.workflow import publish_elsewhere

QUERY = 'query C { compound(slug: "ketamine") { name } }'


async def test_readers_use_the_replica_editors_the_primary(
    make_api: Any, databases: Any, demo_template: str, demo_url: str
) -> None:
    # A "replica" that visibly differs from the primary (as a lagging one would).
    replica = databases.create(template=demo_template)
    try:
        publish_elsewhere(replica, "ketamine--als", "From the replica")
        engine = make_engine(demo_url)
        with session_scope(engine) as session:
            secret, _ = create_token(session, f"ed-{uuid.uuid4().hex[:6]}", "editor")
        engine.dispose()
        api: Api = await make_api(database_read_url=replica, response_cache=False)
        anonymous = await api.post(QUERY)
        assert anonymous.json()["data"]["compound"]["name"] == "From the replica"
        editor = await api.post(QUERY, headers={"authorization": f"Bearer {secret}"})
        assert editor.json()["data"]["compound"]["name"] == "Ketamine (IV / Esketamine)"
        assert (await api.client.get("/readyz")).status_code == 200
    finally:
        databases.drop(replica)
