"""restoreRevision through real HTTP: a published revision becomes the draft again, goes
through review, and only a reviewer's publish shows it to readers; the audit log,
conflicts, unknown revisions and changed facts."""

from __future__ import annotations

from typing import Any

from tests.server.editing import Client

SLUG = "ketamine--als"

READER = """
query Reader($slug: String!) {
  review(slug: $slug) { status revision text(format: PLAIN) restoredFrom { revision } }
}
"""
EDITOR = """
query Editor($slug: String!) {
  review(slug: $slug) {
    status revision text(format: PLAIN) hasUnpublishedChanges
    consider: section(key: CONSIDERATIONS) { revision origin }
    sections { key origin }
    restoredFrom { revision approvedBy factsCurrent }
    revisions { number approvedBy }
  }
}
"""
RESTORE = """
mutation Restore($slug: String!, $number: Int!, $rev: Int!) {
  restoreRevision(review: $slug, revision: $number, expectedRevision: $rev) {
    review {
      status revision text(format: PLAIN)
      restoredFrom { revision approvedBy approvedAt factsCurrent }
      sections { key origin }
    }
  }
}
"""
UPDATE_SECTION = """
mutation Edit($slug: String!, $key: SectionKey!, $rev: Int!, $body: String!) {
  updateSection(review: $slug, key: $key, expectedRevision: $rev, body: $body) {
    review { status revision }
  }
}
"""
SUBMIT = """
mutation Submit($slug: String!, $rev: Int!) {
  submitForReview(review: $slug, expectedRevision: $rev) {
    review { status revision } findings { id }
  }
}
"""
PUBLISH = """
mutation Publish($slug: String!, $rev: Int!, $ack: [String!]) {
  publishReview(review: $slug, expectedRevision: $rev, acknowledge: $ack) {
    review { status revision }
  }
}
"""
NEW_TEXT = "Our editors rewrote this section for the second revision."


async def edit_and_submit(editor: Client, slug: str, body: str) -> int:
    """Edit CONSIDERATIONS and submit; the review's revision to publish."""
    view = (await editor.data(EDITOR, {"slug": slug}))["review"]
    edited = await editor.data(
        UPDATE_SECTION,
        {"slug": slug, "key": "CONSIDERATIONS", "rev": view["consider"]["revision"], "body": body},
    )
    return await submit(editor, slug, edited["updateSection"]["review"]["revision"])


async def submit(editor: Client, slug: str, rev: int) -> int:
    submitted = await editor.data(SUBMIT, {"slug": slug, "rev": rev})
    assert submitted["submitForReview"]["review"]["status"] == "IN_REVIEW"
    return int(submitted["submitForReview"]["review"]["revision"])


async def findings(editor: Client, slug: str) -> list[str]:
    got = await editor.data(
        "query F($slug: String!) { review(slug: $slug) { findings { id } } }", {"slug": slug}
    )
    return [f["id"] for f in got["review"]["findings"]]


async def publish(reviewer: Client, editor: Client, slug: str, rev: int) -> None:
    """Publish, acknowledging whatever the content check finds."""
    ack = await findings(editor, slug)
    done = await reviewer.data(PUBLISH, {"slug": slug, "rev": rev, "ack": ack})
    assert done["publishReview"]["review"]["status"] == "PUBLISHED"


async def test_restore_then_publish_shows_the_old_text(as_role: Any) -> None:
    anonymous, editor, reviewer = as_role(None), as_role("editor"), as_role("reviewer")
    first = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    assert first["restoredFrom"] is None and NEW_TEXT not in first["text"]

    # Revision 2 replaces a section.
    await publish(reviewer, editor, SLUG, await edit_and_submit(editor, SLUG, NEW_TEXT))
    second = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    assert NEW_TEXT in second["text"]
    view = (await editor.data(EDITOR, {"slug": SLUG}))["review"]
    assert [r["number"] for r in view["revisions"]] == [1, 2]

    # Restoring revision 1: the draft has its text, readers keep revision 2.
    restored = (await editor.data(RESTORE, {"slug": SLUG, "number": 1, "rev": view["revision"]}))[
        "restoreRevision"
    ]["review"]
    assert restored["status"] == "DRAFT" and restored["revision"] == view["revision"] + 1
    assert restored["text"] == first["text"]
    assert restored["restoredFrom"]["revision"] == 1
    assert restored["restoredFrom"]["factsCurrent"] is True
    assert restored["restoredFrom"]["approvedBy"] == view["revisions"][0]["approvedBy"]
    assert {s["origin"] for s in restored["sections"]} == {"EDITED"}
    assert (await anonymous.data(READER, {"slug": SLUG}))["review"] == second

    # Through review again; once published, readers get the old text as revision 3.
    rev = await submit(editor, SLUG, restored["revision"])
    assert (await anonymous.data(READER, {"slug": SLUG}))["review"] == second
    await publish(reviewer, editor, SLUG, rev)
    third = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    assert third["text"] == first["text"] and third["revision"] == 3
    after = (await editor.data(EDITOR, {"slug": SLUG}))["review"]
    assert after["restoredFrom"] is None  # published: the draft is the page now
    assert [r["number"] for r in after["revisions"]] == [1, 2, 3]


async def test_restore_is_in_the_audit_log(as_role: Any) -> None:
    editor, admin = as_role("editor"), as_role("admin")
    view = (await editor.data(EDITOR, {"slug": SLUG}))["review"]
    await editor.data(RESTORE, {"slug": SLUG, "number": 1, "rev": view["revision"]})
    log = await admin.data(
        'query A { auditLog(first: 5, filter: {action: "restoreRevision"}) '
        "{ totalCount edges { node { actor recordKey beforeRevision afterRevision detail } } } }"
    )
    assert log["auditLog"]["totalCount"] == 1
    entry = log["auditLog"]["edges"][0]["node"]
    assert entry["actor"] == "editor-ann" and entry["recordKey"] == SLUG
    assert entry["beforeRevision"] == view["revision"]
    assert entry["afterRevision"] == view["revision"] + 1
    assert entry["detail"] == {"revision": 1, "factsCurrent": True}


async def test_conflict_unknown_revision_and_permissions(as_role: Any) -> None:
    anonymous, editor, reviewer = as_role(None), as_role("editor"), as_role("reviewer")
    view = (await editor.data(EDITOR, {"slug": SLUG}))["review"]
    stale = await editor.error(RESTORE, {"slug": SLUG, "number": 1, "rev": view["revision"] - 1})
    assert stale["extensions"]["code"] == "CONFLICT"
    assert stale["extensions"]["actualRevision"] == view["revision"]
    missing = await editor.error(RESTORE, {"slug": SLUG, "number": 7, "rev": view["revision"]})
    assert missing["extensions"]["code"] == "NOT_FOUND"
    nowhere = await editor.error(RESTORE, {"slug": "no--such", "number": 1, "rev": 1})
    assert nowhere["extensions"]["code"] == "NOT_FOUND"
    denied = await anonymous.error(RESTORE, {"slug": SLUG, "number": 1, "rev": view["revision"]})
    assert denied["extensions"]["code"] == "UNAUTHENTICATED"
    # Nothing changed by the refusals.
    assert (await editor.data(EDITOR, {"slug": SLUG}))["review"] == view
    # A reviewer may restore too (the edit permission).
    done = await reviewer.data(RESTORE, {"slug": SLUG, "number": 1, "rev": view["revision"]})
    assert done["restoreRevision"]["review"]["restoredFrom"]["revision"] == 1


async def test_restored_draft_over_changed_facts(as_role: Any) -> None:
    """The revision's facts are no longer today's: editors see it, the gate refuses until the
    draft is regenerated, which keeps the restored sections."""
    editor, reviewer, anonymous = as_role("editor"), as_role("reviewer"), as_role(None)
    before = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    compound = await editor.data('query C { compound(slug: "ketamine") { revision } }')
    await editor.data(
        'mutation F($rev: Int!) { updateCompound(slug: "ketamine", expectedRevision: $rev, '
        'input: {evidenceLevel: "Newer evidence level."}) { compound { revision } } }',
        {"rev": compound["compound"]["revision"]},
    )
    view = (await editor.data(EDITOR, {"slug": SLUG}))["review"]
    restored = (await editor.data(RESTORE, {"slug": SLUG, "number": 1, "rev": view["revision"]}))[
        "restoreRevision"
    ]["review"]
    assert restored["restoredFrom"] == {
        "revision": 1,
        "approvedBy": restored["restoredFrom"]["approvedBy"],
        "approvedAt": restored["restoredFrom"]["approvedAt"],
        "factsCurrent": False,
    }
    refused = await editor.error(SUBMIT, {"slug": SLUG, "rev": restored["revision"]})
    assert refused["extensions"]["reason"] == "NOT_READY"
    regenerated = await editor.data(
        'mutation G { generateReview(compound: "ketamine", condition: "als") '
        "{ review { revision text(format: PLAIN) restoredFrom { factsCurrent } } } }"
    )
    review = regenerated["generateReview"]["review"]
    assert review["text"] == before["text"]  # the restored sections were kept
    rev = await submit(editor, SLUG, review["revision"])
    await publish(reviewer, editor, SLUG, rev)
    assert (await anonymous.data(READER, {"slug": SLUG}))["review"]["revision"] == 2
