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
from tests.server.editing import EDITOR_VIEW, SLUG, Client
from tests.workflow import approve

READER = 'query R { review(slug: "ketamine--als") { revision text(format: PLAIN) } }'
GENERATE = """
mutation G($locale: String) {
  generateReview(compound: "ketamine", condition: "als", locale: $locale) {
    review { slug status revision title }
  }
}
"""
SUBMIT = """
mutation S($rev: Int!, $locale: String) {
  submitForReview(review: "ketamine--als", expectedRevision: $rev, locale: $locale) {
    review { status revision }
  }
}
"""
PUBLISH = """
mutation P($rev: Int!, $locale: String, $ack: [String!]) {
  publishReview(review: "ketamine--als", expectedRevision: $rev, locale: $locale,
                acknowledge: $ack) {
    review { status revision revisions { number approvedBy locale } }
  }
}
"""
UNPUBLISH = """
mutation U($rev: Int!, $locale: String) {
  unpublishReview(review: "ketamine--als", expectedRevision: $rev, locale: $locale,
                  reason: "checking") {
    review { status revision }
  }
}
"""
AUDIT = """
query A {
  auditLog(first: 20, filter: {recordKey: "ketamine--als", action: "publishReview"}) {
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


def review_row(url: str, locale: str) -> Any:
    return row(
        url,
        "SELECT id, status, revision, published_revision_id, source_revision_id FROM review "
        "WHERE slug = :slug AND locale = :locale",
        slug=SLUG,
        locale=locale,
    )


async def spanish_in_review(editor: Client) -> int:
    """Generate ketamine--als in Spanish and submit it (as an editor): its revision."""
    generated = (await editor.data(GENERATE, {"locale": "es"}))["generateReview"]["review"]
    assert generated["slug"] == SLUG and generated["status"] == "DRAFT"
    assert generated["title"].startswith("¿Es ")  # the Spanish template's title
    submitted = await editor.data(SUBMIT, {"rev": generated["revision"], "locale": "es"})
    review = submitted["submitForReview"]["review"]
    assert review["status"] == "IN_REVIEW"
    return int(review["revision"])


async def publish_spanish(reviewer: Client, rev: int) -> dict[str, Any]:
    """Publish the Spanish page as a reviewer, acknowledging the findings it shows."""
    payload = await reviewer.payload(PUBLISH, {"rev": rev, "locale": "es"})
    if payload.get("errors"):
        ext = payload["errors"][0]["extensions"]
        assert ext.get("reason") == "UNACKNOWLEDGED_FINDINGS", payload
        ack = [f["id"] for f in ext["findings"]]
        payload = await reviewer.payload(PUBLISH, {"rev": rev, "locale": "es", "ack": ack})
    assert "errors" not in payload, payload
    return payload["data"]["publishReview"]["review"]  # type: ignore[no-any-return]


async def test_an_editor_cannot_publish_a_translation(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    editor = as_role("editor")
    rev = await spanish_in_review(editor)
    error = await editor.error(PUBLISH, {"rev": rev, "locale": "es"})
    assert error["extensions"]["code"] == "FORBIDDEN"
    es = review_row(demo_url, "es")
    assert (es.status, es.revision, es.published_revision_id) == ("IN_REVIEW", rev, None)


async def test_a_spanish_approval_leaves_the_english_page_untouched(
    as_role: Callable[[str | None], Client],
    api: Api,
    make_api: Callable[..., Any],
    demo_url: str,
) -> None:
    editor, reviewer = as_role("editor"), as_role("reviewer")
    en_before = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    assert en_before["status"] == "PUBLISHED"
    page_before = (await api.post(READER)).content
    public_before = row(
        demo_url,
        "SELECT revision_id, number FROM public_review WHERE slug = :slug AND locale = 'en'",
        slug=SLUG,
    )

    rev = await spanish_in_review(editor)
    published = await publish_spanish(reviewer, rev)
    assert published["status"] == "PUBLISHED"

    en_after = (await editor.data(EDITOR_VIEW, {"slug": SLUG}))["review"]
    for field in ("status", "revision", "revisions", "text"):
        assert en_after[field] == en_before[field], field
    assert [r["approvedBy"] for r in en_after["revisions"]] == [
        r["approvedBy"] for r in en_before["revisions"]
    ]
    # A fresh app (no cached answer to replay) serves the same English bytes.
    fresh = await make_api()
    assert (await fresh.post(READER)).content == page_before
    assert (
        row(
            demo_url,
            "SELECT revision_id, number FROM public_review WHERE slug = :slug AND locale = 'en'",
            slug=SLUG,
        )
        == public_before
    )
    es = review_row(demo_url, "es")
    en = review_row(demo_url, "en")
    assert es.id != en.id and es.published_revision_id is not None
    assert es.source_revision_id == en.published_revision_id


async def test_the_revision_records_who_approved_which_locale(
    as_role: Callable[[str | None], Client], make_api: Callable[..., Any], demo_url: str
) -> None:
    hooks = await make_api(webhook_urls=["http://127.0.0.1:9/hook"])
    editor = Client(hooks, as_role("editor").token)
    reviewer = Client(hooks, as_role("reviewer").token)
    admin = Client(hooks, as_role("admin").token)
    rev = await spanish_in_review(editor)
    published = await publish_spanish(reviewer, rev)
    assert published["revisions"] == [{"number": 1, "approvedBy": "reviewer-ann", "locale": "es"}]
    stored = row(
        demo_url,
        "SELECT r.locale, r.approved_by, r.source_revision_id FROM review_revision r "
        "JOIN review v ON v.published_revision_id = r.id WHERE v.slug = :slug "
        "AND v.locale = 'es'",
        slug=SLUG,
    )
    en = review_row(demo_url, "en")
    assert tuple(stored) == ("es", "reviewer-ann", en.published_revision_id)

    # The audit entry of the approval says its locale.
    entries = (await admin.data(AUDIT))["auditLog"]["edges"]
    mine = [e["node"] for e in entries if e["node"]["actor"] == "reviewer-ann"]
    assert len(mine) == 1 and mine[0]["detail"]["locale"] == "es"
    # So does the webhook body of its publication.
    body = row(
        demo_url,
        "SELECT body FROM webhook_delivery WHERE event = 'review.published' ORDER BY id DESC",
    ).body
    announced = json.loads(body)["data"]["review"]
    assert announced["slug"] == SLUG and announced["locale"] == "es"
    assert announced["publishedRevision"] == 1


async def test_the_english_page_publishes_as_before(
    as_role: Callable[[str | None], Client], make_api: Callable[..., Any], demo_url: str
) -> None:
    """The default locale's audit entries and webhook bodies carry no locale (unchanged)."""
    hooks = await make_api(webhook_urls=["http://127.0.0.1:9/hook"])
    editor = Client(hooks, as_role("editor").token)
    admin = Client(hooks, as_role("admin").token)
    en = review_row(demo_url, "en")
    await editor.data(UNPUBLISH, {"rev": en.revision})
    tokens = {"editor": editor.token, "reviewer": as_role("reviewer").token}
    await approve(hooks, tokens["editor"], tokens["reviewer"], SLUG)
    entries = (await admin.data(AUDIT))["auditLog"]["edges"]
    mine = [e["node"] for e in entries if e["node"]["actor"] == "reviewer-ann"]
    assert len(mine) == 1 and "locale" not in mine[0]["detail"]
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
    en = review_row(demo_url, "en")
    await editor.data(UNPUBLISH, {"rev": en.revision})
    error = await editor.error(GENERATE, {"locale": "es"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == "NO_SOURCE"
    assert review_row(demo_url, "es") is None
    # The default locale's page itself is generated as before.
    assert (await editor.data(GENERATE, {"locale": None}))["generateReview"]["review"]


async def test_a_locale_without_a_template_is_refused(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        session.execute(text("UPDATE template SET active = :no WHERE locale = 'es'"), {"no": False})
    engine.dispose()
    error = await as_role("editor").error(GENERATE, {"locale": "es"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == "NO_TEMPLATE"
    assert review_row(demo_url, "es") is None


async def test_unknown_locales_are_bad_user_input(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    editor, reviewer = as_role("editor"), as_role("reviewer")
    en = review_row(demo_url, "en")
    for client, query, variables in [
        (editor, GENERATE, {"locale": "fr"}),
        (editor, SUBMIT, {"rev": en.revision, "locale": "de"}),
        (editor, UNPUBLISH, {"rev": en.revision, "locale": "not a tag"}),
        (reviewer, PUBLISH, {"rev": en.revision, "locale": "xx-YY"}),
    ]:
        error = await client.error(query, variables)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"]["argument"] == "locale"
        assert "en, es" in error["message"]
    assert review_row(demo_url, "en").revision == en.revision  # nothing was changed
    # A configured locale in another case is that locale.
    assert (await editor.data(GENERATE, {"locale": "ES"}))["generateReview"]["review"]
    assert review_row(demo_url, "es") is not None


async def test_a_translation_has_its_own_workflow(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    """Sections, unpublishing and the scheduler's lookups act on the locale named."""
    editor, reviewer = as_role("editor"), as_role("reviewer")
    rev = await spanish_in_review(editor)
    await publish_spanish(reviewer, rev)
    es = review_row(demo_url, "es")
    en = review_row(demo_url, "en")
    unpublished = await editor.data(UNPUBLISH, {"rev": es.revision, "locale": "es"})
    assert unpublished["unpublishReview"]["review"]["status"] == "DRAFT"
    assert review_row(demo_url, "es").published_revision_id is None
    assert review_row(demo_url, "en") == en
    # A reset composes the Spanish section again, from the Spanish template.
    section = row(
        demo_url,
        "SELECT revision FROM review_section WHERE review_id = :id AND key = 'INTRO'",
        id=es.id,
    )
    reset = await editor.data(
        """mutation R($rev: Int!) { resetSection(review: "ketamine--als", key: INTRO,
             expectedRevision: $rev, locale: "es") { section { heading } } }""",
        {"rev": section.revision},
    )
    assert reset["resetSection"]["section"]["heading"].startswith("¿Es ")
