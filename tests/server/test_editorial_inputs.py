"""Editorial changes refused or contained: conflicts (no lost updates), input
validation, new pairs, the review lifecycle and catalog imports."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from db.engine import make_engine, session_scope
from db.models import Compound
from db.operations import AuditEntry
from tests.server.editing import (
    COMPOUND,
    EDITOR_VIEW,
    PUBLISH,
    READER,
    SLUG,
    SUBMIT,
    UPDATE_COMPOUND,
    UPDATE_SECTION,
    count,
    submit_with,
)


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
    rev = await submit_with(editor, "INTRO", "An introduction the reviewer read.")
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
    # The demo's Spanish page is a review of its own, still published: off the site too.
    es = (
        await editor.data(
            'query S { review(slug: "ketamine--als", locale: "es") { locale revision } }'
        )
    )["review"]
    assert es["locale"] == "es"
    await editor.data(
        'mutation U($rev: Int!) { unpublishReview(review: "ketamine--als", expectedRevision: $rev, locale: "es") { review { status } } }',
        {"rev": es["revision"]},
    )
    # The pair's evidence can go now: its unpublished reviews go with it, revisions too.
    evidence = await editor.data(
        'query E { review(slug: "ketamine--als") { evidence { revision } } }'
    )
    deleted = await editor.data(
        'mutation X($rev: Int!) { deleteEvidence(compound: "ketamine", condition: "als", expectedRevision: $rev) { key deletedReviews } }',
        {"rev": evidence["review"]["evidence"]["revision"]},
    )
    assert deleted["deleteEvidence"] == {"key": "ketamine/als", "deletedReviews": 2}
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
