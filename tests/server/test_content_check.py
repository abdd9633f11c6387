"""The content check reads text as a reader sees it, through real HTTP requests (issue 17,
item 7): claims hidden by zero-width characters, soft hyphens, non-breaking hyphens and
spaces or look-alike letters are found and must be acknowledged, and the stored section
no longer carries the invisible characters."""

from __future__ import annotations

from typing import Any

import pytest

from db.engine import make_engine, session_scope
from db.tokens import create_token
from tests.conftest import Api
from tests.server.editing import EDITOR_VIEW, PUBLISH, SUBMIT, UPDATE_SECTION, Client

SLUG = "ketamine--als"
FINDINGS = 'query F { review(slug: "ketamine--als") { findings { id rule section excerpt } } }'
INTRO = 'query I { review(slug: "ketamine--als") { section(key: INTRO) { body(format: PLAIN) } } }'

# The shapes, each hiding a claim the check finds in plain text.
HIDDEN = [
    ("Ketamine cu\u200bres ALS.", {"INTRO/ABSOLUTE_CLAIM/cures"}),
    ("It is completely s\u200bafe.", {"INTRO/ABSOLUTE_CLAIM/it is completely safe"}),
    (
        "Ta\u200bke 50\u200b mg twice a d\u200bay.",
        {"INTRO/DOSING/take 50", "INTRO/DOSING/50 mg", "INTRO/DOSING/twice a day"},
    ),
    ("A risk\u2011free option.", {"INTRO/ABSOLUTE_CLAIM/risk-free"}),
    ("Some call it a mir\u00adacle.", {"INTRO/ABSOLUTE_CLAIM/miracle"}),
    ("Patients report no side\u00a0effects.", {"INTRO/ABSOLUTE_CLAIM/no side effects"}),
    # A Cyrillic 'с' (U+0441) and a combining grapheme joiner (U+034F, not category Cf).
    ("Ketamine \u0441ures fatigue and \u034fcu\u034fres pain.", {"INTRO/ABSOLUTE_CLAIM/cures"}),
]


@pytest.fixture
def editors(demo_url: str) -> dict[str, str]:
    engine = make_engine(demo_url)
    out: dict[str, str] = {}
    with session_scope(engine) as session:
        for role in ("editor", "reviewer"):
            out[role], _ = create_token(session, f"{role}-text", role)
    engine.dispose()
    return out


@pytest.fixture
def editor(api: Api, editors: dict[str, str]) -> Client:
    return Client(api, editors["editor"])


@pytest.fixture
def reviewer(api: Api, editors: dict[str, str]) -> Client:
    return Client(api, editors["reviewer"])


async def _edit_intro(editor: Client, body: str) -> dict[str, Any]:
    review = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    return await editor.payload(
        UPDATE_SECTION,
        {"slug": SLUG, "key": "INTRO", "rev": review["intro"]["revision"], "body": body},
    )


async def test_hidden_claims_are_found_and_must_be_acknowledged(
    editor: Client, reviewer: Client
) -> None:
    body = "\n\n".join(text for text, _ in HIDDEN)
    expected = set().union(*(ids for _, ids in HIDDEN))
    edited = await _edit_intro(editor, body)
    assert "errors" not in edited, edited

    found = (await editor.data(FINDINGS))["review"]["findings"]
    assert {f["id"] for f in found} == expected
    # Excerpts show the text as it reads (no invisible characters in them).
    assert all(ch not in f["excerpt"] for f in found for ch in "\u200b\u00ad\u034f")

    rev = edited["data"]["updateSection"]["review"]["revision"]
    submitted = await editor.data(SUBMIT, {"slug": SLUG, "rev": rev})
    rev = submitted["submitForReview"]["review"]["revision"]
    refused = await reviewer.error(PUBLISH, {"slug": SLUG, "rev": rev})
    assert refused["extensions"]["reason"] == "UNACKNOWLEDGED_FINDINGS"
    assert {f["id"] for f in refused["extensions"]["findings"]} == expected
    done = await reviewer.data(PUBLISH, {"slug": SLUG, "rev": rev, "ack": sorted(expected)})
    assert {f["id"] for f in done["publishReview"]["findings"]} == expected


async def test_section_text_is_stored_without_invisible_characters(editor: Client) -> None:
    body = (
        "\ufeffKeta\u200bmine\u2060 is \u202eoften\u202c discussed.\n\n"
        "- Platelets of 150\u00d710\u2079/L and 1.5\u00a0mg/m\u00b2: kept as written."
    )
    edited = await _edit_intro(editor, body)
    plain = edited["data"]["updateSection"]["section"]["body"]
    assert plain == (
        "Ketamine is often discussed.\n"
        "Platelets of 150\u00d710\u2079/L and 1.5\u00a0mg/m\u00b2: kept as written."
    )
    assert (await editor.data(INTRO))["review"]["section"]["body"] == plain


async def test_a_heading_is_stored_without_invisible_characters(editor: Client) -> None:
    review = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    edited = await editor.data(
        """mutation H($rev: Int!, $h: String) {
          updateSection(review: "ketamine--als", key: INTRO, expectedRevision: $rev,
                        body: "Plain text.", heading: $h) { section { heading } } }""",
        {"rev": review["intro"]["revision"], "h": "Why it is s\u200bafe\u200f"},
    )
    assert edited["updateSection"]["section"]["heading"] == "Why it is safe"
    found = (await editor.data(FINDINGS))["review"]["findings"]
    assert {f["id"] for f in found} == {"INTRO/ABSOLUTE_CLAIM/it is safe"}
