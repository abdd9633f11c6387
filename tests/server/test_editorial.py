"""The editorial workflow through real HTTP requests: roles, edits, the publish gate,
conflicts, the audit trail, and what anonymous readers get at every step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from config import Settings
from db.engine import make_engine, session_scope
from db.models import Compound, ReviewRevision
from db.operations import AuditEntry, WebhookDelivery
from db.tokens import create_token, revoke_token
from server.app import create_app
from tests.conftest import Api

SLUG = "ketamine--als"
OTHER_KETAMINE = "ketamine--neuropathic-pain"

READER = """
query Reader($slug: String!) {
  review(slug: $slug) { status isStale revision text(format: PLAIN) publishedAt }
}
"""
EDITOR_VIEW = """
query Editor($slug: String!) {
  review(slug: $slug) {
    status revision isStale hasUnpublishedChanges text(format: PLAIN)
    compound { slug }
    section(key: CONSIDERATIONS) { revision origin body(format: PLAIN) }
    intro: section(key: INTRO) { revision origin }
    disclaimer: section(key: DISCLAIMER) { revision }
    revisions { number approvedBy title acknowledgedFindings { id } }
  }
}
"""
COMPOUND = 'query C { compound(slug: "ketamine") { revision evidenceLevel } }'
UPDATE_COMPOUND = """
mutation Fix($rev: Int!, $level: String!) {
  updateCompound(slug: "ketamine", expectedRevision: $rev, input: {evidenceLevel: $level}) {
    compound { slug revision evidenceLevel }
    effect { affectedReviews regeneratedReviews staleReviews }
  }
}
"""
UPDATE_SECTION = """
mutation Edit($slug: String!, $key: SectionKey!, $rev: Int!, $body: String!) {
  updateSection(review: $slug, key: $key, expectedRevision: $rev, body: $body) {
    section { key origin revision body(format: PLAIN) }
    review { status revision }
  }
}
"""
SUBMIT = """
mutation Submit($slug: String!, $rev: Int!) {
  submitForReview(review: $slug, expectedRevision: $rev) {
    review { status revision } findings { id rule section }
  }
}
"""
PUBLISH = """
mutation Publish($slug: String!, $rev: Int!, $ack: [String!]) {
  publishReview(review: $slug, expectedRevision: $rev, acknowledge: $ack) {
    review { status revision isStale hasUnpublishedChanges }
    findings { id rule section excerpt }
  }
}
"""


@pytest.fixture
def tokens(demo_url: str) -> dict[str, str]:
    """One token per role in the demo database."""
    engine = make_engine(demo_url)
    out: dict[str, str] = {}
    with session_scope(engine) as session:
        for role in ("editor", "reviewer", "admin"):
            out[role], _ = create_token(session, f"{role}-ann", role)
    engine.dispose()
    return out


class Client:
    """GraphQL as a given token (or anonymously)."""

    def __init__(self, api: Api, token: str | None):
        self.api = api
        self.token = token

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        return await self.api.post(query, variables, headers=headers)

    async def payload(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.raw(query, variables)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = await self.payload(query, variables)
        assert "errors" not in payload, payload["errors"]
        return payload["data"]  # type: ignore[no-any-return]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = await self.payload(query, variables)
        assert payload.get("errors"), payload
        return payload["errors"][0]  # type: ignore[no-any-return]


@pytest.fixture
def as_role(api: Api, tokens: dict[str, str]) -> Callable[[str | None], Client]:
    return lambda role: Client(api, tokens[role] if role else None)


def count(url: str, model: Any) -> int:
    engine = make_engine(url)
    with session_scope(engine) as session:
        n = int(session.execute(select(func.count()).select_from(model)).scalar() or 0)
    engine.dispose()
    return n


# --- roles ------------------------------------------------------------------------------------


async def test_credentials_are_checked(api: Api, demo_url: str, as_role: Any) -> None:
    response = await api.post(COMPOUND, headers={"authorization": "Bearer cmp_nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = await api.post(COMPOUND, headers={"authorization": "Basic abc"})
    assert response.status_code == 401

    editor = as_role("editor")
    assert (await editor.data(COMPOUND))["compound"]["revision"] == 1
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        assert revoke_token(session, "editor-ann")
    engine.dispose()
    assert (await editor.raw(COMPOUND)).status_code == 401


async def test_each_role_allowed_and_refused(as_role: Any) -> None:
    anonymous, editor, reviewer, admin = (as_role(r) for r in (None, "editor", "reviewer", "admin"))
    fix = {"rev": 1, "level": "Updated evidence summary."}
    assert (await anonymous.error(UPDATE_COMPOUND, fix))["extensions"]["code"] == "UNAUTHENTICATED"
    for who in (editor, reviewer, admin):
        rev = (await who.data(COMPOUND))["compound"]["revision"]
        await who.data(UPDATE_COMPOUND, {**fix, "rev": rev, "level": f"Level {rev}."})

    # Only a reviewer publishes; editors and admins are refused before anything happens.
    review = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    submitted = await editor.data(SUBMIT, {"slug": SLUG, "rev": review["revision"]})
    rev = submitted["submitForReview"]["review"]["revision"]
    for who in (editor, admin):
        error = await who.error(PUBLISH, {"slug": SLUG, "rev": rev})
        assert error["extensions"]["code"] == "FORBIDDEN"
    await reviewer.data(PUBLISH, {"slug": SLUG, "rev": rev})

    audit = "query A { auditLog(first: 5) { totalCount edges { node { actor action } } } }"
    tokens_q = "query T { apiTokens { name role prefix revokedAt } }"
    for who in (editor, reviewer):
        assert (await who.error(audit))["extensions"]["code"] == "FORBIDDEN"
        assert (await who.error(tokens_q))["extensions"]["code"] == "FORBIDDEN"
    assert (await anonymous.error(audit))["extensions"]["code"] == "UNAUTHENTICATED"
    log = (await admin.data(audit))["auditLog"]
    assert log["edges"][0]["node"] == {"actor": "reviewer-ann", "action": "publishReview"}
    names = {t["name"]: t["role"] for t in (await admin.data(tokens_q))["apiTokens"]}
    assert names == {"editor-ann": "EDITOR", "reviewer-ann": "REVIEWER", "admin-ann": "ADMIN"}

    # Readers see no drafts and no editorial history.
    assert (
        await anonymous.error('query H { review(slug: "ketamine--als") { revisions { number } } }')
    )["extensions"]["code"] == "UNAUTHENTICATED"
    drafts = await anonymous.data(
        "query D { reviews(first: 100, filter: {status: [DRAFT, IN_REVIEW]}) { totalCount } }"
    )
    assert drafts["reviews"]["totalCount"] == 0


async def test_admin_manages_tokens(api: Api, as_role: Any) -> None:
    admin = as_role("admin")
    created = await admin.data(
        'mutation T { createApiToken(name: "night editor", role: EDITOR) { token apiToken { name role prefix } } }'
    )
    secret = created["createApiToken"]["token"]
    assert secret.startswith(created["createApiToken"]["apiToken"]["prefix"])
    night = Client(api, secret)
    assert (await night.data(COMPOUND))["compound"]["revision"] == 1
    duplicate = await admin.error(
        'mutation T { createApiToken(name: "night editor", role: EDITOR) { token } }'
    )
    assert duplicate["extensions"]["code"] == "BAD_USER_INPUT"
    assert (
        await as_role("editor").error(
            'mutation R { revokeApiToken(name: "night editor") { name } }'
        )
    )["extensions"]["code"] == "FORBIDDEN"
    await admin.data('mutation R { revokeApiToken(name: "night editor") { revokedAt } }')
    assert (await night.raw(COMPOUND)).status_code == 401


async def test_admins_cannot_mint_reviewer_tokens(as_role: Any) -> None:
    """Separation of duties: an admin may not publish, so may not create a token that can.
    Reviewer tokens come from the CLI only (an operator with database access)."""
    admin = as_role("admin")
    tokens_q = "query T { apiTokens { name role } }"
    before = (await admin.data(tokens_q))["apiTokens"]
    error = await admin.error(
        'mutation T { createApiToken(name: "rubber stamp", role: REVIEWER) { token } }'
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "compendium token create" in error["message"]
    assert (await admin.data(tokens_q))["apiTokens"] == before
    audit = await admin.data(
        'query A { auditLog(first: 5, filter: {action: "createApiToken"}) { totalCount } }'
    )
    assert audit["auditLog"]["totalCount"] == 0
    # Tokens that cannot publish are still the admin's to give.
    for role in ("EDITOR", "ADMIN"):
        created = await admin.data(
            f'mutation T {{ createApiToken(name: "new {role.lower()}", role: {role}) '
            "{ apiToken { role } } }"
        )
        assert created["createApiToken"]["apiToken"]["role"] == role
    minted = await admin.data(
        'query A { auditLog(first: 5, filter: {action: "createApiToken"}) '
        "{ edges { node { actor recordKey } } } }"
    )
    assert [e["node"] for e in minted["auditLog"]["edges"]] == [
        {"actor": "admin-ann", "recordKey": "new admin"},
        {"actor": "admin-ann", "recordKey": "new editor"},
    ]


# --- the whole workflow -------------------------------------------------------------------


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
    rev = (await editor.data(COMPOUND))["compound"]["revision"]
    fixed = (await editor.data(UPDATE_COMPOUND, {"rev": rev, "level": new_level}))["updateCompound"]
    assert fixed["compound"]["revision"] == rev + 1
    assert fixed["effect"]["affectedReviews"] >= 1
    assert fixed["effect"]["regeneratedReviews"] == fixed["effect"]["affectedReviews"]

    # 2. Editors see the published page flagged stale; readers keep the approved text and
    #    learn nothing of the edit (the staleness of a draft is editorial state).
    reader = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    assert reader == before
    assert (await editor.data(READER, {"slug": SLUG}))["review"]["isStale"] is True
    await reader_sees_only_approved(before["text"])
    queue = await editor.data(
        'query Q { reviews(first: 100, filter: {stale: true, compound: ["ketamine"]}) { totalCount edges { node { slug } } } }'
    )
    assert SLUG in [e["node"]["slug"] for e in queue["reviews"]["edges"]]
    assert queue["reviews"]["totalCount"] == fixed["effect"]["affectedReviews"]
    fresh = await editor.data(
        "query F { reviews(first: 100, filter: {stale: false}) { totalCount } }"
    )
    total = await editor.data("query T { reviews(first: 1) { totalCount } }")
    assert (
        fresh["reviews"]["totalCount"] + queue["reviews"]["totalCount"]
        == total["reviews"]["totalCount"]
    )

    # The editor's preview is the fresh draft.
    draft = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    assert draft["status"] == "DRAFT" and draft["hasUnpublishedChanges"] is True
    assert new_level.split(";")[0] in draft["text"]

    # 3. Edit a section.
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

    # The audit trail has every step with the token and the revisions.
    audit = await as_role("admin").data(
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


# --- the publish gate ---------------------------------------------------------------------


async def _submit_with(editor: Client, key: str, body: str) -> int:
    review = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    section = review["intro"] if key == "INTRO" else review["section"]
    edited = await editor.data(
        UPDATE_SECTION, {"slug": SLUG, "key": key, "rev": section["revision"], "body": body}
    )
    rev = edited["updateSection"]["review"]["revision"]
    return (await editor.data(SUBMIT, {"slug": SLUG, "rev": rev}))["submitForReview"]["review"][
        "revision"
    ]


async def test_findings_block_publishing_until_acknowledged(as_role: Any) -> None:
    editor, reviewer, anonymous = as_role("editor"), as_role("reviewer"), as_role(None)
    before = (await anonymous.data(READER, {"slug": SLUG}))["review"]["text"]
    rev = await _submit_with(
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


# --- no lost updates ------------------------------------------------------------------------


async def test_concurrent_section_edits_one_wins(as_role: Any, demo_url: str) -> None:
    editor_a = as_role("editor")
    editor_b = as_role("admin")
    section = (await editor_a.data(EDITOR_VIEW, {"slug": SLUG}))["review"]["section"]
    bodies = ["Text written by editor A.", "Text written by editor B."]
    results = await asyncio.gather(
        *(
            who.payload(
                UPDATE_SECTION,
                {"slug": SLUG, "key": "CONSIDERATIONS", "rev": section["revision"], "body": body},
            )
            for who, body in zip((editor_a, editor_b), bodies, strict=True)
        )
    )
    winners = [r for r in results if "errors" not in r]
    losers = [r for r in results if "errors" in r]
    assert len(winners) == 1 and len(losers) == 1
    error = losers[0]["errors"][0]
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["expectedRevision"] == section["revision"]
    assert error["extensions"]["actualRevision"] == section["revision"] + 1
    assert losers[0]["data"] is None
    now = (await editor_a.data(EDITOR_VIEW, {"slug": SLUG}))["review"]["section"]
    assert now["body"] == winners[0]["data"]["updateSection"]["section"]["body"]
    assert now["revision"] == section["revision"] + 1
    assert count(demo_url, AuditEntry) == 1  # the refused edit left no trace but its error


async def test_stale_revision_is_a_conflict_and_changes_nothing(as_role: Any) -> None:
    editor = as_role("editor")
    rev = (await editor.data(COMPOUND))["compound"]["revision"]
    await editor.data(UPDATE_COMPOUND, {"rev": rev, "level": "First edit."})
    error = await editor.error(UPDATE_COMPOUND, {"rev": rev, "level": "Second edit from old copy."})
    assert error["extensions"]["code"] == "CONFLICT"
    assert (await editor.data(COMPOUND))["compound"]["evidenceLevel"] == "First edit."


async def test_publish_conflicts_with_an_edit_after_submission(as_role: Any) -> None:
    editor, reviewer = as_role("editor"), as_role("reviewer")
    rev = await _submit_with(editor, "INTRO", "An introduction the reviewer read.")
    intro = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]["intro"]
    await editor.data(
        UPDATE_SECTION,
        {
            "slug": SLUG,
            "key": "INTRO",
            "rev": intro["revision"],
            "body": "Changed after submission.",
        },
    )
    error = await reviewer.error(PUBLISH, {"slug": SLUG, "rev": rev})
    assert error["extensions"]["code"] == "CONFLICT"
    reader = await as_role(None).data(READER, {"slug": SLUG})
    assert "Changed after submission." not in reader["review"]["text"]


# --- input validation -----------------------------------------------------------------------


async def test_fact_inputs_are_validated_with_paths(as_role: Any, demo_url: str) -> None:
    editor = as_role("editor")
    before = count(demo_url, Compound)
    error = await editor.error(
        """mutation New($input: CompoundInput!) { createCompound(input: $input) { compound { slug } } }""",
        {
            "input": {
                "slug": "Bad Slug",
                "name": "",
                "drugClass": "Class",
                "safetyProfile": ["ok"],
                "regulatoryStatus": "Approved",
                "evidenceLevel": "Some",
                "mechanisms": ["m"],
                "citations": [{"pmid": "abc"}, {"doi": "10.1000/x", "url": "https://x.org"}],
            }
        },
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    paths = {p["path"] for p in error["extensions"]["problems"]}
    assert {"input.slug", "input.name", "input.citations[0].pmid", "input.citations[1]"} <= paths
    assert count(demo_url, Compound) == before
    taken = await editor.error(
        """mutation New($input: CompoundInput!) { createCompound(input: $input) { compound { slug } } }""",
        {
            "input": {
                "slug": "ketamine",
                "name": "K",
                "drugClass": "C",
                "safetyProfile": ["s"],
                "regulatoryStatus": "r",
                "evidenceLevel": "e",
                "mechanisms": ["m"],
            }
        },
    )
    assert taken["extensions"]["reason"] == "SLUG_TAKEN"
    missing = await editor.error(
        'mutation U { updateCompound(slug: "nope", expectedRevision: 1, input: {name: "X"}) { compound { slug } } }'
    )
    assert missing["extensions"]["code"] == "NOT_FOUND"


async def test_new_pair_starts_as_a_hidden_draft(as_role: Any) -> None:
    editor, reviewer, anonymous = as_role("editor"), as_role("reviewer"), as_role(None)
    await editor.data(
        """mutation N { createCondition(input: {slug: "tinnitus", name: "Tinnitus", specialist: "ENT specialist"}) { condition { slug revision } } }"""
    )
    created = await editor.data(
        """mutation E { createEvidence(input: {compound: "ketamine", condition: "tinnitus", research: LIMITED,
           citations: [{pmid: "12345678", title: "A trial"}]}) {
             evidence { research revision citations { kind value } compound { slug } }
             effect { regeneratedReviews } } }"""
    )
    assert created["createEvidence"]["effect"]["regeneratedReviews"] == 1
    assert created["createEvidence"]["evidence"]["citations"] == [
        {"kind": "PMID", "value": "12345678"}
    ]
    slug = "ketamine--tinnitus"
    assert (await anonymous.data(READER, {"slug": slug}))["review"] is None
    draft = (await editor.data(EDITOR_VIEW, {"slug": slug}))["review"]
    assert draft["status"] == "DRAFT" and draft["revisions"] == []
    rev = (await editor.data(SUBMIT, {"slug": slug, "rev": draft["revision"]}))["submitForReview"][
        "review"
    ]["revision"]
    assert (await anonymous.data(READER, {"slug": slug}))["review"] is None
    await reviewer.data(PUBLISH, {"slug": slug, "rev": rev})
    assert (await anonymous.data(READER, {"slug": slug}))["review"]["status"] == "PUBLISHED"


async def test_unpublish_archive_restore_and_delete(as_role: Any, demo_url: str) -> None:
    editor, anonymous = as_role("editor"), as_role(None)
    review = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    # Deleting facts behind a published page is refused.
    rev = (await editor.data(COMPOUND))["compound"]["revision"]
    error = await editor.error(
        f'mutation D {{ deleteCompound(slug: "ketamine", expectedRevision: {rev}) {{ key }} }}'
    )
    assert error["extensions"]["reason"] == "HAS_PUBLISHED_REVIEWS"
    unpublished = await editor.data(
        'mutation U($rev: Int!) { unpublishReview(review: "ketamine--als", expectedRevision: $rev, reason: "Checking a claim") { review { status revision } } }',
        {"rev": review["revision"]},
    )
    assert unpublished["unpublishReview"]["review"]["status"] == "DRAFT"
    assert (await anonymous.data(READER, {"slug": SLUG}))["review"] is None
    rev = unpublished["unpublishReview"]["review"]["revision"]
    archived = await editor.data(
        'mutation A($rev: Int!) { archiveReview(review: "ketamine--als", expectedRevision: $rev) { review { status revision } } }',
        {"rev": rev},
    )
    assert archived["archiveReview"]["review"]["status"] == "ARCHIVED"
    intro = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]["intro"]
    error = await editor.error(
        UPDATE_SECTION, {"slug": SLUG, "key": "INTRO", "rev": intro["revision"], "body": "x"}
    )
    assert error["extensions"]["reason"] == "ARCHIVED"
    restored = await editor.data(
        'mutation R($rev: Int!) { restoreReview(review: "ketamine--als", expectedRevision: $rev) { review { status } } }',
        {"rev": archived["archiveReview"]["review"]["revision"]},
    )
    assert restored["restoreReview"]["review"]["status"] == "DRAFT"
    # The pair's evidence can go now: its unpublished review goes with it, revisions too.
    evidence = await editor.data(
        'query E { review(slug: "ketamine--als") { evidence { revision } } }'
    )
    deleted = await editor.data(
        'mutation X($rev: Int!) { deleteEvidence(compound: "ketamine", condition: "als", expectedRevision: $rev) { key deletedReviews } }',
        {"rev": evidence["review"]["evidence"]["revision"]},
    )
    assert deleted["deleteEvidence"] == {"key": "ketamine/als", "deletedReviews": 1}
    assert (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"] is None
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        orphans = session.execute(
            text(
                "SELECT count(*) FROM review_revision WHERE review_id NOT IN (SELECT id FROM review)"
            )
        ).scalar()
    engine.dispose()
    assert orphans == 0


async def test_import_catalog_mutation(as_role: Any, demo_url: str) -> None:
    editor = as_role("editor")
    bad = await editor.error(
        "mutation I($c: String!) { importCatalog(content: $c) { effect { regeneratedReviews } } }",
        {
            "c": "compounds:\n  - {slug: x, name: 1}\nevidence:\n  - {compound: nope, condition: als, research: limited}\n"
        },
    )
    paths = {p["path"] for p in bad["extensions"]["problems"]}
    assert {"compounds[0].name", "evidence[0].compound"} <= paths
    broken = await editor.error(
        "mutation I($c: String!) { importCatalog(content: $c, format: JSON) { effect { regeneratedReviews } } }",
        {"c": '{"compounds": ['},
    )
    assert broken["extensions"]["code"] == "BAD_USER_INPUT"
    assert count(demo_url, Compound) == 36  # nothing of the bad files was written
    good = await editor.data(
        "mutation I($c: String!) { importCatalog(content: $c) { counts { kind created updated } effect { regeneratedReviews } } }",
        {
            "c": "conditions:\n  - {slug: hiccups, name: Hiccups, specialist: family doctor}\n"
            "evidence:\n  - {compound: ketamine, condition: hiccups, research: limited}\n"
        },
    )
    counts = {c["kind"]: c for c in good["importCatalog"]["counts"]}
    assert counts["conditions"]["created"] == 1 and counts["evidence"]["created"] == 1
    assert good["importCatalog"]["effect"]["regeneratedReviews"] == 1
    assert (await editor.data(READER, {"slug": "ketamine--hiccups"}))["review"]["status"] == "DRAFT"
    assert (await as_role(None).data(READER, {"slug": "ketamine--hiccups"}))["review"] is None


# --- webhooks: enqueued in the publish transaction --------------------------------------------


@pytest.fixture
async def hooked_api(demo_url: str) -> AsyncIterator[Api]:
    settings = Settings(
        database_url=demo_url,
        webhook_urls=["http://127.0.0.1:9/hook"],
        webhook_secret="s3cret",
        webhook_poll_seconds=3600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(app, client)


async def test_publish_and_unpublish_enqueue_webhooks(
    hooked_api: Api, tokens: dict[str, str], demo_url: str
) -> None:
    editor, reviewer = Client(hooked_api, tokens["editor"]), Client(hooked_api, tokens["reviewer"])
    rev = await _submit_with(editor, "INTRO", "A reviewed introduction.")
    assert count(demo_url, WebhookDelivery) == 0
    refused = await reviewer.payload(PUBLISH, {"slug": SLUG, "rev": rev - 1})
    assert refused["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert count(demo_url, WebhookDelivery) == 0  # a refused publish announces nothing
    published = await reviewer.data(PUBLISH, {"slug": SLUG, "rev": rev})
    await editor.data(
        'mutation U($rev: Int!) { unpublishReview(review: "ketamine--als", expectedRevision: $rev) { review { status } } }',
        {"rev": published["publishReview"]["review"]["revision"]},
    )
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        events = [
            row.event
            for row in session.execute(
                select(WebhookDelivery).order_by(WebhookDelivery.id)
            ).scalars()  # type: ignore[arg-type]
        ]
        revisions = session.execute(select(func.count()).select_from(ReviewRevision)).scalar()
    engine.dispose()
    assert events == ["review.published", "review.unpublished"]
    assert revisions and revisions > 0


async def test_editor_list_query_count_is_constant(api: Api, as_role: Any) -> None:
    editor = as_role("editor")
    query = """query Work($first: Int!) { reviews(first: $first, filter: {stale: false}) { edges { node {
        status revision isStale hasUnpublishedChanges compound { revision } condition { revision }
        evidence { revision research citations { value } } sections { revision origin }
        findings { id } revisions { number approvedBy } } } } }"""
    counts = {}
    for first in (1, 10, 100):
        api.statements.clear()
        data = await editor.data(query, {"first": first})
        assert len(data["reviews"]["edges"]) == first
        counts[first] = len(api.statements)
    # One token lookup, the count and the page, then one statement per relation.
    assert counts[1] == counts[10] == counts[100] <= 10, counts


async def test_readers_keep_the_approved_research_level(as_role: Any) -> None:
    """Regeneration after an evidence change rewrites the draft; readers keep the level the
    reviewer approved (the text depends on it) until the new draft is published."""
    editor, anonymous = as_role("editor"), as_role(None)
    query = 'query R { review(slug: "ketamine--als") { research evidence { revision } } }'
    before = (await editor.data(query))["review"]
    assert before["research"] == "LIMITED"
    changed = await editor.data(
        'mutation E($rev: Int!) { updateEvidence(compound: "ketamine", condition: "als", '
        "expectedRevision: $rev, input: {research: SPECIFIC}) { effect { regeneratedReviews } } }",
        {"rev": before["evidence"]["revision"]},
    )
    assert changed["updateEvidence"]["effect"]["regeneratedReviews"] == 1
    assert (await editor.data(query))["review"]["research"] == "SPECIFIC"
    reader = await anonymous.data(
        'query R { review(slug: "ketamine--als") { research isStale evidence { research } } }'
    )
    # Nothing of the unapproved evidence reaches readers, not even that it changed.
    assert reader["review"] == {
        "research": "LIMITED",
        "isStale": False,
        "evidence": {"research": "LIMITED"},
    }
