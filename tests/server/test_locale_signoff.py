"""Per-locale sign-off through real HTTP (issue 16): every mutation that acts on a review
takes `locale`; a translation is a review of its own, generated from the default
locale's published page and approved by a reviewer on its own, without moving the
default locale's page; its revisions, audit entries and webhook bodies say its locale."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from db.engine import make_engine, session_scope
from tests.conftest import Api
from tests.server.editing import Client
from tests.workflow import approve

# A demo pair published in English with no Spanish page (the demo translates ketamine
# and ALS, not multiple sclerosis); ketamine--als is published in both.
SLUG = "ketamine--multiple-sclerosis"
BOTH = "ketamine--als"

READER = "query R($slug: String!) { review(slug: $slug) { revision text(format: PLAIN) } }"
VIEW = """
query V($slug: String!, $locale: String) {
  review(slug: $slug, locale: $locale) {
    locale status revision text(format: PLAIN)
    section(key: CONSIDERATIONS) { revision }
    revisions { number approvedBy locale }
  }
}
"""
GENERATE = """
mutation G($condition: String!, $locale: String) {
  generateReview(compound: "ketamine", condition: $condition, locale: $locale) {
    review { slug locale status revision title }
  }
}
"""
EDIT = """
mutation E($slug: String!, $rev: Int!, $locale: String) {
  updateSection(review: $slug, key: CONSIDERATIONS, expectedRevision: $rev,
                body: "Texto revisado.", locale: $locale) {
    review { locale status revision }
  }
}
"""
SUBMIT = """
mutation S($slug: String!, $rev: Int!, $locale: String) {
  submitForReview(review: $slug, expectedRevision: $rev, locale: $locale) {
    review { locale status revision }
  }
}
"""
PUBLISH = """
mutation P($slug: String!, $rev: Int!, $locale: String, $ack: [String!]) {
  publishReview(review: $slug, expectedRevision: $rev, locale: $locale, acknowledge: $ack) {
    review { locale status revision revisions { number approvedBy locale } }
  }
}
"""
UNPUBLISH = """
mutation U($slug: String!, $rev: Int!, $locale: String) {
  unpublishReview(review: $slug, expectedRevision: $rev, locale: $locale, reason: "checking") {
    review { locale status revision }
  }
}
"""
AUDIT = """
query A($slug: String!) {
  auditLog(first: 20, filter: {recordKey: $slug, action: "publishReview"}) {
    edges { node { actor action detail } }
  }
}
"""


def row(url: str, sql: str, **params: Any) -> Any:
    engine = make_engine(url)
    with session_scope(engine) as session:
        found = session.execute(text(sql), params).first()
    engine.dispose()
    return found


def review_row(url: str, slug: str, locale: str) -> Any:
    return row(
        url,
        "SELECT id, status, revision, published_revision_id, source_revision_id FROM review "
        "WHERE slug = :slug AND locale = :locale",
        slug=slug,
        locale=locale,
    )


async def spanish_in_review(editor: Client) -> int:
    """Generate ketamine--multiple-sclerosis in Spanish and submit it (as an editor)."""
    generated = await editor.data(GENERATE, {"condition": "multiple-sclerosis", "locale": "es"})
    review = generated["generateReview"]["review"]
    assert (review["slug"], review["locale"], review["status"]) == (SLUG, "es", "DRAFT")
    assert review["title"].startswith("¿Es ")  # the Spanish template's title
    submitted = await editor.data(SUBMIT, {"slug": SLUG, "rev": review["revision"], "locale": "es"})
    review = submitted["submitForReview"]["review"]
    assert (review["locale"], review["status"]) == ("es", "IN_REVIEW")
    return int(review["revision"])


async def publish_spanish(reviewer: Client, slug: str, rev: int) -> dict[str, Any]:
    """Publish a Spanish page as a reviewer, acknowledging the findings it shows."""
    variables: dict[str, Any] = {"slug": slug, "rev": rev, "locale": "es"}
    payload = await reviewer.payload(PUBLISH, variables)
    if payload.get("errors"):
        ext = payload["errors"][0]["extensions"]
        assert ext.get("reason") == "UNACKNOWLEDGED_FINDINGS", payload
        variables["ack"] = [f["id"] for f in ext["findings"]]
        payload = await reviewer.payload(PUBLISH, variables)
    assert "errors" not in payload, payload
    return payload["data"]["publishReview"]["review"]  # type: ignore[no-any-return]


async def test_an_editor_cannot_publish_a_translation(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    editor = as_role("editor")
    rev = await spanish_in_review(editor)
    error = await editor.error(PUBLISH, {"slug": SLUG, "rev": rev, "locale": "es"})
    assert error["extensions"]["code"] == "FORBIDDEN"
    es = (await editor.data(VIEW, {"slug": SLUG, "locale": "es"}))["review"]
    assert (es["locale"], es["status"], es["revision"], es["revisions"]) == (
        "es",
        "IN_REVIEW",
        rev,
        [],
    )
    # Nor a published translation's new text (the demo's Spanish ketamine--als).
    es = (await editor.data(VIEW, {"slug": BOTH, "locale": "es"}))["review"]
    assert (es["locale"], es["status"]) == ("es", "PUBLISHED")
    edited = await editor.data(
        EDIT, {"slug": BOTH, "rev": es["section"]["revision"], "locale": "es"}
    )
    assert edited["updateSection"]["review"]["locale"] == "es"
    rev = edited["updateSection"]["review"]["revision"]
    await editor.data(SUBMIT, {"slug": BOTH, "rev": rev, "locale": "es"})
    error = await editor.error(PUBLISH, {"slug": BOTH, "rev": rev + 1, "locale": "es"})
    assert error["extensions"]["code"] == "FORBIDDEN"
    after = (await editor.data(VIEW, {"slug": BOTH, "locale": "es"}))["review"]
    assert (after["status"], after["revisions"]) == ("IN_REVIEW", es["revisions"])


async def test_a_spanish_approval_leaves_the_english_page_untouched(
    as_role: Callable[[str | None], Client],
    api: Api,
    make_api: Callable[..., Any],
    demo_url: str,
) -> None:
    editor, reviewer = as_role("editor"), as_role("reviewer")
    for slug, new in ((SLUG, True), (BOTH, False)):
        en_before = (await editor.data(VIEW, {"slug": slug}))["review"]
        assert (en_before["locale"], en_before["status"]) == ("en", "PUBLISHED")
        page_before = (await api.post(READER, {"slug": slug})).content
        assert b"revision" in page_before

        if new:
            rev = await spanish_in_review(editor)
        else:
            es = (await editor.data(VIEW, {"slug": slug, "locale": "es"}))["review"]
            edit = {"slug": slug, "rev": es["section"]["revision"], "locale": "es"}
            edited = (await editor.data(EDIT, edit))["updateSection"]["review"]
            submit = {"slug": slug, "rev": edited["revision"], "locale": "es"}
            rev = (await editor.data(SUBMIT, submit))["submitForReview"]["review"]["revision"]
        published = await publish_spanish(reviewer, slug, rev)
        assert (published["locale"], published["status"]) == ("es", "PUBLISHED")

        # The English page: same status, revision number, approvers and text...
        assert (await editor.data(VIEW, {"slug": slug}))["review"] == en_before
        # ...and a fresh app (no cached answer to replay) serves readers the same bytes.
        fresh = await make_api()
        assert (await fresh.post(READER, {"slug": slug})).content == page_before
        es_row, en_row = review_row(demo_url, slug, "es"), review_row(demo_url, slug, "en")
        assert es_row.id != en_row.id and es_row.published_revision_id is not None
        assert es_row.source_revision_id == en_row.published_revision_id


async def test_the_revision_records_who_approved_which_locale(
    as_role: Callable[[str | None], Client], make_api: Callable[..., Any], demo_url: str
) -> None:
    hooks = await make_api(webhook_urls=["http://127.0.0.1:9/hook"], webhook_secret="s" * 32)
    editor = Client(hooks, as_role("editor").token)
    reviewer = Client(hooks, as_role("reviewer").token)
    admin = Client(hooks, as_role("admin").token)
    rev = await spanish_in_review(editor)
    published = await publish_spanish(reviewer, SLUG, rev)
    mine = {"number": 1, "approvedBy": "reviewer-ann", "locale": "es"}
    assert published["revisions"] == [mine]
    es = (await editor.data(VIEW, {"slug": SLUG, "locale": "es"}))["review"]
    assert es["revisions"] == [mine]
    en = (await editor.data(VIEW, {"slug": SLUG}))["review"]
    assert en["revisions"] and {r["locale"] for r in en["revisions"]} == {"en"}
    assert "reviewer-ann" not in {r["approvedBy"] for r in en["revisions"]}
    stored = row(
        demo_url,
        "SELECT r.locale, r.approved_by, r.source_revision_id FROM review_revision r "
        "JOIN review v ON v.published_revision_id = r.id WHERE v.slug = :slug "
        "AND v.locale = 'es'",
        slug=SLUG,
    )
    source = review_row(demo_url, SLUG, "en").published_revision_id
    assert tuple(stored) == ("es", "reviewer-ann", source)

    # The audit entry of the approval says its locale...
    entries = (await admin.data(AUDIT, {"slug": SLUG}))["auditLog"]["edges"]
    approvals = [e["node"] for e in entries if e["node"]["actor"] == "reviewer-ann"]
    assert len(approvals) == 1 and approvals[0]["detail"]["locale"] == "es"
    # ...and so does the webhook body of its publication.
    body = row(
        demo_url,
        "SELECT body FROM webhook_delivery WHERE event = 'review.published' ORDER BY id DESC",
    ).body
    announced = json.loads(body)["data"]["review"]
    assert (announced["slug"], announced["locale"], announced["publishedRevision"]) == (
        SLUG,
        "es",
        1,
    )


async def test_the_default_locale_publishes_as_before(
    as_role: Callable[[str | None], Client], make_api: Callable[..., Any], demo_url: str
) -> None:
    """The default locale's audit entries and webhook bodies carry no locale (unchanged)."""
    hooks = await make_api(webhook_urls=["http://127.0.0.1:9/hook"], webhook_secret="s" * 32)
    editor = Client(hooks, as_role("editor").token)
    admin = Client(hooks, as_role("admin").token)
    reviewer = as_role("reviewer").token
    en = review_row(demo_url, SLUG, "en")
    await editor.data(UNPUBLISH, {"slug": SLUG, "rev": en.revision})
    assert editor.token and reviewer
    await approve(hooks, editor.token, reviewer, SLUG)
    entries = (await admin.data(AUDIT, {"slug": SLUG}))["auditLog"]["edges"]
    approvals = [e["node"] for e in entries if e["node"]["actor"] == "reviewer-ann"]
    assert len(approvals) == 1 and "locale" not in approvals[0]["detail"]
    body = row(
        demo_url,
        "SELECT body FROM webhook_delivery WHERE event = 'review.published' ORDER BY id DESC",
    ).body
    announced = json.loads(body)["data"]["review"]
    assert announced["slug"] == SLUG and "locale" not in announced


async def test_a_translation_needs_the_published_source(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    editor = as_role("editor")
    en = review_row(demo_url, SLUG, "en")
    await editor.data(UNPUBLISH, {"slug": SLUG, "rev": en.revision})
    variables = {"condition": "multiple-sclerosis", "locale": "es"}
    error = await editor.error(GENERATE, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == "NO_SOURCE"
    assert review_row(demo_url, SLUG, "es") is None
    # Published again, the source makes the translation.
    await approve(editor.api, editor.token or "", _token(as_role, "reviewer"), SLUG)
    review = (await editor.data(GENERATE, variables))["generateReview"]["review"]
    assert (review["locale"], review["status"]) == ("es", "DRAFT")


def _token(as_role: Callable[[str | None], Client], role: str) -> str:
    return as_role(role).token or ""


async def test_a_locale_without_a_template_is_refused(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        session.execute(text("UPDATE template SET active = :no WHERE locale = 'es'"), {"no": False})
    engine.dispose()
    variables = {"condition": "multiple-sclerosis", "locale": "es"}
    error = await as_role("editor").error(GENERATE, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == "NO_TEMPLATE"
    assert review_row(demo_url, SLUG, "es") is None


async def test_unknown_locales_are_bad_user_input(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    editor, reviewer = as_role("editor"), as_role("reviewer")
    en = review_row(demo_url, BOTH, "en")
    es = review_row(demo_url, BOTH, "es")
    for client, query, variables in [
        (editor, GENERATE, {"condition": "als", "locale": "fr"}),
        (editor, SUBMIT, {"slug": BOTH, "rev": en.revision, "locale": "de"}),
        (editor, UNPUBLISH, {"slug": BOTH, "rev": es.revision, "locale": "not a tag"}),
        (reviewer, PUBLISH, {"slug": BOTH, "rev": en.revision, "locale": "ES"}),
    ]:
        error = await client.error(query, variables)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"]["argument"] == "locale"
        assert "en, es" in error["message"]
    # Nothing was changed.
    assert review_row(demo_url, BOTH, "en") == en
    assert review_row(demo_url, BOTH, "es") == es


async def test_a_translation_has_its_own_workflow(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    """Unpublishing and resetting act on the locale named, with its template."""
    editor = as_role("editor")
    es, en = review_row(demo_url, BOTH, "es"), review_row(demo_url, BOTH, "en")
    unpublished = await editor.data(UNPUBLISH, {"slug": BOTH, "rev": es.revision, "locale": "es"})
    assert unpublished["unpublishReview"]["review"] == {
        "locale": "es",
        "status": "DRAFT",
        "revision": es.revision + 1,
    }
    assert review_row(demo_url, BOTH, "es").published_revision_id is None
    assert review_row(demo_url, BOTH, "en") == en
    # A reset composes the section again from the Spanish template.
    section = row(
        demo_url,
        "SELECT revision FROM review_section WHERE review_id = :id AND key = 'INTRO'",
        id=es.id,
    )
    reset = await editor.data(
        """mutation R($rev: Int!) { resetSection(review: "ketamine--als", key: INTRO,
             expectedRevision: $rev, locale: "es") { review { locale } section { heading } } }""",
        {"rev": section.revision},
    )
    assert reset["resetSection"]["review"]["locale"] == "es"
    assert reset["resetSection"]["section"]["heading"].startswith("¿Es ")


REGENERATE = "mutation { regenerateStaleReviews { refreshed remaining } }"


async def test_regenerating_stale_reviews_remakes_a_translation_whose_source_changed(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    editor, reviewer = as_role("editor"), as_role("reviewer")
    es_before = review_row(demo_url, BOTH, "es")
    en = (await editor.data(VIEW, {"slug": BOTH}))["review"]
    assert es_before.source_revision_id == review_row(demo_url, BOTH, "en").published_revision_id
    # The English page is approved again with other text: its translation is behind.
    edit = {"slug": BOTH, "rev": en["section"]["revision"]}
    edited = (await editor.data(EDIT, edit))["updateSection"]["review"]
    await approve(editor.api, editor.token or "", reviewer.token or "", BOTH)
    source = review_row(demo_url, BOTH, "en").published_revision_id
    assert source != es_before.source_revision_id and edited["locale"] == "en"
    assert review_row(demo_url, BOTH, "es") == es_before  # nothing regenerated it yet
    # Edited but not remade from the new source, it cannot go to a reviewer.
    es_view = (await editor.data(VIEW, {"slug": BOTH, "locale": "es"}))["review"]
    edit = {"slug": BOTH, "rev": es_view["section"]["revision"], "locale": "es"}
    rev = (await editor.data(EDIT, edit))["updateSection"]["review"]["revision"]
    error = await editor.error(SUBMIT, {"slug": BOTH, "rev": rev, "locale": "es"})
    assert error["extensions"]["reason"] == "NOT_READY"
    assert "source page was approved with other text" in str(error["extensions"]["problems"])

    done = (await editor.data(REGENERATE))["regenerateStaleReviews"]
    assert done["refreshed"] >= 1 and done["remaining"] == 0
    es = review_row(demo_url, BOTH, "es")
    assert es.source_revision_id == source  # made from the new English text
    assert (es.status, es.published_revision_id) == ("DRAFT", es_before.published_revision_id)
    # Current now: another pass leaves it as it is, and it goes through the gate (with
    # the edit kept) to a reviewer, who approves a translation of the current source.
    await editor.data(REGENERATE)
    assert review_row(demo_url, BOTH, "es") == es
    kept = (await editor.data(VIEW, {"slug": BOTH, "locale": "es"}))["review"]
    assert "Texto revisado." in kept["text"]
    submitted = await editor.data(SUBMIT, {"slug": BOTH, "rev": es.revision, "locale": "es"})
    published = await publish_spanish(
        reviewer, BOTH, submitted["submitForReview"]["review"]["revision"]
    )
    assert published["revisions"][-1] == {
        "number": 2,
        "approvedBy": "reviewer-ann",
        "locale": "es",
    }
