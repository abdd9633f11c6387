"""No editor change reaches any reader path; an approval makes exactly its facts public
and purges exactly the cached answers that held them."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import Api
from tests.server.reader_paths import (
    READS,
    answer,
    editor_changes_everything,
    feed_end,
    persisted_get,
    readers_view,
    tokens,
)
from tests.workflow import approve, graphql


@pytest.fixture
def secrets(demo_url: str) -> dict[str, str]:
    return tokens(demo_url)


async def test_no_editor_change_reaches_any_reader_path(
    api: Api, secrets: dict[str, str], purged: list[list[str]]
) -> None:
    since = await feed_end(api)
    before = await readers_view(api, since)
    assert b"UNREVIEWED" not in b"".join(before.values())
    await editor_changes_everything(api, secrets["editor"])
    # The editor sees every change (the template's title included) ...
    mine = await graphql(
        api,
        secrets["editor"],
        'query { review(slug: "ketamine--als") { title compound { name } evidence { notes } } }',
        {},
    )
    assert "UNREVIEWED" in json.dumps(mine)
    # ... readers nothing of them, on any path, and no cached answer was purged.
    await api.app.state.compendium.cache.purges.join()
    after = await readers_view(api, since)
    changed = [name for name in before if before[name] != after[name]]
    assert changed == []
    assert purged == []
    # The cached GETs were answered from the cache (the edits invalidated nothing).
    query, variables = READS["review"]
    assert (await persisted_get(api, query, variables)).headers["x-cache"] == "HIT"


async def test_an_approval_makes_exactly_its_facts_public(
    api: Api, secrets: dict[str, str], purged: list[list[str]]
) -> None:
    since = await feed_end(api)
    await editor_changes_everything(api, secrets["editor"])
    before = await readers_view(api, since)
    # A page of the same compound, without the fields that follow later approvals (isStale).
    other_query = (
        "query Other($slug: String!) { review(slug: $slug) { title text(format: PLAIN) "
        "compound { name safetyProfile } seo { jsonLd } } }",
        {"slug": "ketamine--neuropathic-pain"},
    )
    other = await persisted_get(api, *other_query)
    await approve(api, secrets["editor"], secrets["reviewer"], "ketamine--als")
    after = await readers_view(api, since)

    review = json.loads(after["POST review"])["data"]["review"]
    assert review["compound"]["name"] == "Ketamine UNREVIEWED"
    assert review["condition"]["fullName"] == "ALS UNREVIEWED"
    assert review["evidence"]["notes"].startswith("UNREVIEWED")
    assert review["research"] == "SPECIFIC"
    assert "UNREVIEWED Aardvark Review" in review["title"]
    assert "Dr. UNREVIEWED" in review["byline"]["text"]
    about = review["seo"]["jsonLd"]["@graph"][0]["about"]
    assert about[0]["name"] == "Ketamine UNREVIEWED" and about[1]["name"] == "ALS UNREVIEWED"
    compound = json.loads(after["POST compound"])["data"]["compound"]
    assert compound["name"] == "Ketamine UNREVIEWED" and compound["revision"] == 2
    publisher = json.loads(after["POST publisher"])["data"]["publisher"]
    assert publisher["advisorName"] == "Dr. UNREVIEWED"
    feed = json.loads(after["feed"])["data"]["changes"]["changes"]
    assert [(c["entity"], c["slug"], c["op"]) for c in feed] == [
        ("COMPOUND", "ketamine", "UPSERT"),
        ("CONDITION", "als", "UPSERT"),
        ("REVIEW", "ketamine--als", "UPSERT"),
    ]
    # Records never approved stay invisible; the other pages keep what was approved with them.
    assert json.loads(after["POST new-compound"])["data"]["compound"] is None
    found = json.loads(after["POST search-unreviewed"])["data"]["search"]["edges"]
    assert {e["node"]["slug"] for e in found} == {"ketamine", "als", "ketamine--als"}
    again = await persisted_get(api, *other_query)
    assert again.headers["x-cache"] == "HIT" and answer(again) == answer(other)
    assert "Ketamine UNREVIEWED" not in again.text

    # One purge, of exactly the approved records and the lists they are in.
    await api.app.state.compendium.cache.purges.join()
    assert len(purged) == 1
    ids = await graphql(
        api,
        secrets["editor"],
        'query { review(slug: "ketamine--als") { id compound { id } condition { id } } }',
        {},
    )
    assert set(purged[0]) == {
        f"review:{_pk(ids['review']['id'])}",
        f"compound:{_pk(ids['review']['compound']['id'])}",
        f"condition:{_pk(ids['review']['condition']['id'])}",
        *[k for k in purged[0] if k.startswith("evidence:")],
        "publisher",
        "list:reviews:en",
        "list:compounds",
        "list:conditions",
        # The records are in every locale's search and feed (es falls back to them).
        "list:search:en",
        "list:search:es",
        "changes:en",
        "changes:es",
    }
    assert len([k for k in purged[0] if k.startswith("evidence:")]) == 1
    # Every answer that changed contains one of those records; the rest are byte-identical.
    assert {name.split(" ", 1)[-1] for name in before if before[name] != after[name]} == {
        "compound",
        "compounds",
        "condition",
        "conditions",
        "review",
        "reviews-filtered",
        "search",
        "search-unreviewed",
        "node",
        "publisher",
        "feed",
    }


def _pk(global_id: str) -> int:

    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return int(raw.split(":")[1])
