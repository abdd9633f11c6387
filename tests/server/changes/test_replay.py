"""(a) Replaying the feed mirrors the published catalog, (b) nothing new gives the same
cursor back; a page collapses repeated changes of a record, an entry's cursor resumes
right after it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.server.changes.feed import (
    ARCHIVE,
    COMPOUND_REVISION,
    CREATE_COMPOUND,
    CREATE_EVIDENCE,
    DELETE_COMPOUND,
    SYNC,
    UNPUBLISH,
    UPDATE_COMPOUND,
    Client,
    Mirror,
    edit_intro,
    end_cursor,
    live_catalog,
    publish,
    review_state,
)

# --- (a) replay ---------------------------------------------------------------------------


async def assert_no_news(client: Client, saved: str | None) -> None:
    """The feed since ``saved`` is empty: the same cursor back."""
    idle = (await client.data(SYNC, {"since": saved, "first": 7}))["changes"]
    assert idle == {"cursor": saved, "hasMore": False, "changes": []}


async def change_the_catalog(
    editor: Client, reviewer: Client, anonymous: Client, saved: str | None
) -> None:
    """Editorial changes of every kind; those readers cannot see stay out of the feed."""
    # A draft edit of a published review changes nothing readers see: nothing in the feed.
    await edit_intro(editor, "rapamycin--lupus", "An editor's draft, never published.")
    await assert_no_news(anonymous, saved)

    # A compound created and deleted between two syncs: never approved, never in the feed.
    created = await editor.data(CREATE_COMPOUND, {"slug": "zz-ephemeral", "name": "Ephemeral"})
    await editor.data(
        DELETE_COMPOUND,
        {"slug": "zz-ephemeral", "rev": created["createCompound"]["compound"]["revision"]},
    )
    # A compound's facts change: nothing in the feed until a reviewer approves a review
    # built from them; then the compound and that review (and no other of its reviews).
    rev = (await editor.data(COMPOUND_REVISION, {"slug": "ivermectin"}))["compound"]["revision"]
    await editor.data(UPDATE_COMPOUND, {"slug": "ivermectin", "rev": rev, "level": "Revised"})
    await assert_no_news(anonymous, saved)
    await publish(
        editor,
        reviewer,
        "ivermectin--als",
        (await review_state(editor, "ivermectin--als"))["revision"],
    )
    # A review published for the first time (its new compound is approved with it).
    await editor.data(CREATE_COMPOUND, {"slug": "zz-newdrug", "name": "Newdrug"})
    await editor.data(CREATE_EVIDENCE, {"compound": "zz-newdrug", "condition": "als"})
    new = await review_state(editor, "zz-newdrug--als")
    assert new["status"] == "DRAFT"
    await publish(editor, reviewer, "zz-newdrug--als", new["revision"])
    # One unpublished, one archived.
    for mutation, slug in ((UNPUBLISH, "melatonin--migraine"), (ARCHIVE, "melatonin--epilepsy")):
        rev = (await review_state(editor, slug))["revision"]
        await editor.data(mutation, {"slug": slug, "rev": rev})
    # A published review re-published with a new text, then edited again (a draft only).
    rev = await edit_intro(editor, "psilocybin--migraine", "Republished introduction.")
    await publish(editor, reviewer, "psilocybin--migraine", rev)
    await edit_intro(editor, "psilocybin--migraine", "A later draft, not published.")


def assert_mirrored_the_changes(mirror: Mirror) -> None:
    """The mirror has what was published, and saw nothing else."""
    text = mirror.records["REVIEW"]["psilocybin--migraine"]["text"]
    assert "Republished introduction." in text and "later draft" not in text
    assert "zz-newdrug--als" in mirror.records["REVIEW"]
    assert "zz-ephemeral" not in mirror.records["COMPOUND"]
    assert mirror.records["COMPOUND"]["ivermectin"]["evidenceLevel"] == "Revised"
    seen = {(entity, slug): op for entity, slug, op in mirror.seen}
    assert ("COMPOUND", "zz-ephemeral") not in seen  # never approved, never public
    assert seen[("COMPOUND", "zz-newdrug")] == "UPSERT"
    assert seen[("REVIEW", "melatonin--migraine")] == "DELETE"
    assert seen[("REVIEW", "melatonin--epilepsy")] == "DELETE"
    assert seen[("REVIEW", "zz-newdrug--als")] == "UPSERT"
    assert seen[("REVIEW", "psilocybin--migraine")] == "UPSERT"
    assert ("REVIEW", "rapamycin--lupus") not in seen
    # Regenerated drafts of ivermectin's other published reviews are no change for readers.
    assert [s for e, s, _ in mirror.seen if e == "REVIEW" and s.startswith("ivermectin--")] == [
        "ivermectin--als"
    ]


async def test_replaying_the_feed_mirrors_the_published_catalog(
    make_api: Any, tokens: dict[str, str]
) -> None:
    # The whole catalog is read several times over in a few seconds, as one anonymous
    # client: more than an anonymous cost budget holds (a real client waits on THROTTLED).
    api: Api = await make_api(budget_anonymous=1_000_000, cache_poll_seconds=3600)
    anonymous = Client(api)
    editor, reviewer = Client(api, tokens["editor"]), Client(api, tokens["reviewer"])

    # Initial full sync from the start: the whole current catalog.
    mirror = Mirror()
    await mirror.sync(anonymous, 50)
    assert len(mirror.records["COMPOUND"]) == 36 and len(mirror.records["CONDITION"]) == 16
    assert mirror.records == await live_catalog(api)

    await change_the_catalog(editor, reviewer, anonymous, mirror.cursor)

    # The editor syncs in small pages and still gets exactly the published catalog.
    mirror.seen.clear()
    pages = await mirror.sync(editor, 3)
    assert mirror.records == await live_catalog(api)
    assert pages >= 2  # the paging was exercised
    assert_mirrored_the_changes(mirror)

    # (b) Nothing new: the same cursor back, every time.
    for client in (anonymous, editor):
        await assert_no_news(client, mirror.cursor)


async def test_a_page_collapses_repeated_changes_of_one_record(
    api: Api, tokens: dict[str, str]
) -> None:
    anonymous, editor = Client(api), Client(api, tokens["editor"])
    reviewer = Client(api, tokens["reviewer"])
    cursor = await end_cursor(anonymous)
    for level in ("One", "Two", "Three"):
        rev = (await editor.data(COMPOUND_REVISION, {"slug": "ketamine"}))["compound"]["revision"]
        await editor.data(UPDATE_COMPOUND, {"slug": "ketamine", "rev": rev, "level": level})
        rev = (await review_state(editor, "ketamine--als"))["revision"]
        await publish(editor, reviewer, "ketamine--als", rev)
    rev = (await review_state(editor, "ketamine--als"))["revision"]
    await editor.data(UNPUBLISH, {"slug": "ketamine--als", "rev": rev})

    feed = (await anonymous.data(SYNC, {"since": cursor, "first": 50}))["changes"]
    got = [(c["entity"], c["slug"], c["op"]) for c in feed["changes"]]
    assert got == [("COMPOUND", "ketamine", "UPSERT"), ("REVIEW", "ketamine--als", "DELETE")]
    assert feed["changes"][0]["node"]["evidenceLevel"] == "Three"
    # Paged one entry at a time, the same changes arrive, in the same order.
    one_by_one = []
    since = cursor
    while True:
        page = (await anonymous.data(SYNC, {"since": since, "first": 1}))["changes"]
        one_by_one += [(c["entity"], c["slug"], c["op"]) for c in page["changes"]]
        since = page["cursor"]
        if not page["hasMore"]:
            break
    assert since == feed["cursor"]
    assert one_by_one[-1] == ("REVIEW", "ketamine--als", "DELETE")
    assert set(one_by_one) == set(got)


async def test_an_entry_cursor_resumes_right_after_it(api: Api) -> None:
    first = (await api.data(SYNC, {"since": None, "first": 10}))["changes"]
    assert first["hasMore"] is True and first["cursor"] == first["changes"][-1]["cursor"]
    resumed = await api.data(SYNC, {"since": first["changes"][4]["cursor"], "first": 5})
    assert resumed["changes"]["changes"] == first["changes"][5:]
    assert resumed["changes"]["cursor"] == first["cursor"]
    assert [c["entity"] for c in first["changes"]] == ["COMPOUND"] * 10
    assert first["changes"][0]["id"] == first["changes"][0]["node"]["id"]
