"""The editorial workflow through real HTTP requests: fix a fact, edit, submit, publish,
the publish gate, the audit trail, and what anonymous readers get at every step.

Roles are in test_editorial_roles.py, conflicts and refused inputs in
test_editorial_inputs.py, what publishing sets off in test_editorial_effects.py; the client
and the documents they share in tests/server/editing.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from db.engine import make_engine, session_scope
from tests.server.editing import (
    COMPOUND,
    EDITOR_VIEW,
    OTHER_KETAMINE,
    PUBLISH,
    READER,
    SLUG,
    SUBMIT,
    UPDATE_COMPOUND,
    UPDATE_SECTION,
    Client,
    submit_with,
)

# --- the whole workflow -------------------------------------------------------------------


async def fix_the_fact(editor: Client, new_level: str) -> tuple[int, dict[str, Any]]:
    """1. Fix a fact: the compound's revision before, and the mutation's answer."""
    rev = (await editor.data(COMPOUND))["compound"]["revision"]
    fixed = (await editor.data(UPDATE_COMPOUND, {"rev": rev, "level": new_level}))["updateCompound"]
    assert fixed["compound"]["revision"] == rev + 1
    assert fixed["effect"]["affectedReviews"] >= 1
    assert fixed["effect"]["regeneratedReviews"] == fixed["effect"]["affectedReviews"]
    return rev, fixed


async def assert_in_the_stale_queue(editor: Client, affected: int) -> None:
    """The stale queue holds the fixed compound's pages; stale and fresh add up."""
    queue = await editor.data(
        'query Q { reviews(first: 100, filter: {stale: true, compound: ["ketamine"]}) { totalCount edges { node { slug } } } }'
    )
    assert SLUG in [e["node"]["slug"] for e in queue["reviews"]["edges"]]
    # The queue is per locale: the English pages, and the demo's Spanish translations.
    translations = await editor.data(
        'query Q { reviews(first: 100, locale: "es", filter: {stale: true, compound: ["ketamine"]}) { totalCount } }'
    )
    assert queue["reviews"]["totalCount"] + translations["reviews"]["totalCount"] == affected
    fresh = await editor.data(
        "query F { reviews(first: 100, filter: {stale: false}) { totalCount } }"
    )
    total = await editor.data("query T { reviews(first: 1) { totalCount } }")
    assert (
        fresh["reviews"]["totalCount"] + queue["reviews"]["totalCount"]
        == total["reviews"]["totalCount"]
    )


async def edit_the_intro(editor: Client, draft: dict[str, Any]) -> dict[str, Any]:
    """3. Edit a section: the intro, with markup."""
    body = "Our editors checked this section.\n\n- **Monitoring:** ask your specialist about **liver tests**."
    edited = (
        await editor.data(
            UPDATE_SECTION,
            {"slug": SLUG, "key": "INTRO", "rev": draft["intro"]["revision"], "body": body},
        )
    )["updateSection"]
    assert edited["section"]["origin"] == "EDITED"
    assert edited["section"]["revision"] == draft["intro"]["revision"] + 1
    assert (
        edited["section"]["body"]
        == "Our editors checked this section.\nMonitoring: ask your specialist about liver tests."
    )
    return edited  # type: ignore[no-any-return]


async def assert_history_and_diff(editor: Client, new_level: str) -> None:
    """Two revisions, the second approved by the reviewer; their diff shows the edit and
    the fact changed, and nothing else."""
    history = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]["revisions"]
    assert [r["number"] for r in history] == [1, 2]
    assert history[1]["approvedBy"] == "reviewer-ann"
    diff = await editor.data(
        'query D { review(slug: "ketamine--als") { diff(from: 1, to: 2) { key change before after unifiedDiff } } }'
    )
    changes = {d["key"]: d for d in diff["review"]["diff"]}
    assert changes["INTRO"]["change"] == "CHANGED"
    assert "+Our editors checked this section." in changes["INTRO"]["unifiedDiff"]
    assert "Our editors" not in (changes["INTRO"]["before"] or "")
    # The fact changed lives in the considerations' list; the rest did not move.
    assert changes["CONSIDERATIONS"]["change"] == "CHANGED"
    assert (
        f"+Evidence quality: Current evidence level: {new_level}"
        in changes["CONSIDERATIONS"]["unifiedDiff"]
    )
    assert changes["DISCLAIMER"]["change"] == "UNCHANGED"
    assert changes["SAFETY_PROFILE"]["change"] == "UNCHANGED"
    # Against the working copy (identical to revision 2 now): nothing changed.
    live = await editor.data(
        'query D { review(slug: "ketamine--als") { diff(from: 2) { change } } }'
    )
    assert {d["change"] for d in live["review"]["diff"]} == {"UNCHANGED"}


async def assert_audit_trail(admin: Client, rev: int) -> None:
    """The audit trail has every step with the token and the revisions."""
    audit = await admin.data(
        "query A { auditLog(first: 10) { edges { node { actor action recordType recordKey beforeRevision afterRevision requestId } } } }"
    )
    steps = [e["node"] for e in audit["auditLog"]["edges"]][::-1]
    assert [s["action"] for s in steps] == [
        "updateCompound",
        "updateSection",
        "submitForReview",
        "publishReview",
    ]
    assert [s["actor"] for s in steps] == ["editor-ann", "editor-ann", "editor-ann", "reviewer-ann"]
    assert steps[0]["beforeRevision"] == rev and steps[0]["afterRevision"] == rev + 1
    assert steps[1]["recordKey"] == f"{SLUG}/INTRO"
    assert all(s["requestId"] for s in steps)


async def test_fix_fact_edit_submit_publish(as_role: Any, demo_url: str) -> None:
    """The issue's "done when": through GraphQL alone, and no draft ever reaches a reader."""
    anonymous, editor, reviewer = as_role(None), as_role("editor"), as_role("reviewer")
    before = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    assert before["status"] == "PUBLISHED" and before["isStale"] is False
    new_level = "Phase III data for treatment-resistant depression; Phase II for ALS fatigue."

    async def reader_sees_only_approved(expected_text: str) -> None:
        got = (await anonymous.data(READER, {"slug": SLUG}))["review"]
        assert got["text"] == expected_text and got["status"] == "PUBLISHED"

    # 1. Fix a fact.
    rev, fixed = await fix_the_fact(editor, new_level)

    # 2. Editors see the published page flagged stale; readers keep the approved text and
    #    learn nothing of the edit (the staleness of a draft is editorial state).
    reader = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    assert reader == before
    assert (await editor.data(READER, {"slug": SLUG}))["review"]["isStale"] is True
    await reader_sees_only_approved(before["text"])
    await assert_in_the_stale_queue(editor, fixed["effect"]["affectedReviews"])

    # The editor's preview is the fresh draft.
    draft = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    assert draft["status"] == "DRAFT" and draft["hasUnpublishedChanges"] is True
    assert new_level.split(";")[0] in draft["text"]

    # 3. Edit a section.
    edited = await edit_the_intro(editor, draft)
    await reader_sees_only_approved(before["text"])

    # 4. Submit, 5. publish.
    submitted = await editor.data(SUBMIT, {"slug": SLUG, "rev": edited["review"]["revision"]})
    assert submitted["submitForReview"]["review"]["status"] == "IN_REVIEW"
    assert submitted["submitForReview"]["findings"] == []
    await reader_sees_only_approved(before["text"])
    published = (
        await reviewer.data(
            PUBLISH, {"slug": SLUG, "rev": submitted["submitForReview"]["review"]["revision"]}
        )
    )["publishReview"]["review"]
    assert published["status"] == "PUBLISHED" and published["isStale"] is False
    assert published["hasUnpublishedChanges"] is False

    after = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    assert (
        new_level.split(";")[0] in after["text"]
        and "Our editors checked this section." in after["text"]
    )
    assert after["isStale"] is False and after["publishedAt"] > before["publishedAt"]
    # Another published page of the compound still has the facts it was approved with: for
    # readers it is now stale (a reviewer approved newer facts of its compound).
    other = (await anonymous.data(READER, {"slug": OTHER_KETAMINE}))["review"]
    assert other["isStale"] is True and new_level.split(";")[0] not in other["text"]

    await assert_history_and_diff(editor, new_level)
    await assert_audit_trail(as_role("admin"), rev)


# --- the publish gate ---------------------------------------------------------------------


async def test_findings_block_publishing_until_acknowledged(as_role: Any) -> None:
    editor, reviewer, anonymous = as_role("editor"), as_role("reviewer"), as_role(None)
    before = (await anonymous.data(READER, {"slug": SLUG}))["review"]["text"]
    rev = await submit_with(
        editor,
        "INTRO",
        "Ketamine is completely safe and cures ALS.\n\nTake 50 mg twice a day.",
    )
    error = await reviewer.error(PUBLISH, {"slug": SLUG, "rev": rev})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == "UNACKNOWLEDGED_FINDINGS"
    found = {f["id"]: f for f in error["extensions"]["findings"]}
    assert {f["rule"] for f in found.values()} == {"ABSOLUTE_CLAIM", "DOSING"}
    assert "INTRO/ABSOLUTE_CLAIM/is completely safe" in found
    assert "INTRO/ABSOLUTE_CLAIM/cures" in found
    assert "INTRO/DOSING/50 mg" in found and "INTRO/DOSING/twice a day" in found
    assert (await anonymous.data(READER, {"slug": SLUG}))["review"]["text"] == before

    # Editors see the same findings before submitting; acknowledging only some is not enough.
    seen = await editor.data('query F { review(slug: "ketamine--als") { findings { id } } }')
    assert {f["id"] for f in seen["review"]["findings"]} == set(found)
    partial = await reviewer.error(PUBLISH, {"slug": SLUG, "rev": rev, "ack": sorted(found)[:1]})
    assert len(partial["extensions"]["findings"]) == len(found) - 1

    done = await reviewer.data(PUBLISH, {"slug": SLUG, "rev": rev, "ack": sorted(found)})
    assert {f["id"] for f in done["publishReview"]["findings"]} == set(found)
    history = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]["revisions"]
    assert {f["id"] for f in history[-1]["acknowledgedFindings"]} == set(found)
    assert (
        "Take 50 mg twice a day."
        in (await anonymous.data(READER, {"slug": SLUG}))["review"]["text"]
    )


async def test_gate_refuses_unready_reviews(as_role: Any, demo_url: str) -> None:
    editor, reviewer = as_role("editor"), as_role("reviewer")
    review = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    # A published review with nothing new cannot be submitted or published again.
    error = await editor.error(SUBMIT, {"slug": SLUG, "rev": review["revision"]})
    assert error["extensions"]["reason"] == "INVALID_STATUS"
    error = await reviewer.error(PUBLISH, {"slug": SLUG, "rev": review["revision"]})
    assert error["extensions"]["reason"] == "INVALID_STATUS"
    # A mandatory section may never be emptied (the disclaimer least of all).
    error = await editor.error(
        UPDATE_SECTION,
        {
            "slug": SLUG,
            "key": "DISCLAIMER",
            "rev": review["disclaimer"]["revision"],
            "body": "  \n",
        },
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"][0]["path"] == "body"
    # Bad markup and control characters are refused with the field's path.
    for body in ("Q: a question without answer", "bell \x07 here"):
        error = await editor.error(
            UPDATE_SECTION,
            {"slug": SLUG, "key": "INTRO", "rev": review["intro"]["revision"], "body": body},
        )
        assert error["extensions"]["problems"][0]["path"] == "body"

    # A draft the facts moved past cannot be submitted: simulate a change written
    # without regeneration (as a catalog import does until `generate` runs).
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        session.execute(
            text("UPDATE review SET current_fingerprint = 'changed' WHERE slug = :s"), {"s": SLUG}
        )
        session.execute(text("UPDATE review SET status = 'DRAFT' WHERE slug = :s"), {"s": SLUG})
    engine.dispose()
    review = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    error = await editor.error(SUBMIT, {"slug": SLUG, "rev": review["revision"]})
    assert error["extensions"]["reason"] == "NOT_READY"
    assert "regenerate" in error["extensions"]["problems"][0]["message"]
    regenerated = await editor.data(
        'mutation G { generateReview(compound: "ketamine", condition: "als") { review { revision isStale status } } }'
    )
    assert regenerated["generateReview"]["review"]["status"] == "DRAFT"
    rev = regenerated["generateReview"]["review"]["revision"]
    rev = (await editor.data(SUBMIT, {"slug": SLUG, "rev": rev}))["submitForReview"]["review"][
        "revision"
    ]
    assert (await reviewer.data(PUBLISH, {"slug": SLUG, "rev": rev}))["publishReview"]["review"][
        "isStale"
    ] is False
