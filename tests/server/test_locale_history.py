"""A translation's schedule and history through real HTTP (issue 16): scheduled
publishes, cancelling and restoring a revision act on the locale named, and the
scheduler runs a translation's action on that translation only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Api
from tests.server.editing import Client
from tests.server.test_locale_signoff import (
    BOTH,
    EDIT,
    SLUG,
    SUBMIT,
    VIEW,
    review_row,
    spanish_in_review,
)

FINDINGS = """
query F($slug: String!, $locale: String) {
  review(slug: $slug, locale: $locale) { findings { id } }
}
"""
SCHEDULE = """
mutation S($slug: String!, $at: DateTime!, $rev: Int!, $ack: [String!], $locale: String) {
  schedulePublish(review: $slug, at: $at, expectedRevision: $rev, acknowledge: $ack,
                  locale: $locale) {
    review { locale status revision schedule { id action status } }
  }
}
"""
CANCEL = """
mutation C($slug: String!, $rev: Int!, $locale: String) {
  cancelSchedule(review: $slug, expectedRevision: $rev, locale: $locale) {
    review { locale schedule { status } }
  }
}
"""
RESTORE = """
mutation R($slug: String!, $number: Int!, $rev: Int!, $locale: String) {
  restoreRevision(review: $slug, revision: $number, expectedRevision: $rev, locale: $locale) {
    review { locale status restoredFrom { revision approvedBy } }
  }
}
"""


async def schedule_spanish(editor: Client, reviewer: Client, rev: int, at: datetime) -> int:
    found = await editor.data(FINDINGS, {"slug": SLUG, "locale": "es"})
    ack = [f["id"] for f in found["review"]["findings"]]
    variables = {"slug": SLUG, "at": at.isoformat(), "rev": rev, "ack": ack, "locale": "es"}
    review = (await reviewer.data(SCHEDULE, variables))["schedulePublish"]["review"]
    assert (review["locale"], review["status"]) == ("es", "IN_REVIEW")
    [action] = review["schedule"]
    assert (action["action"], action["status"]) == ("PUBLISH", "PENDING")
    return int(action["id"])


async def test_a_scheduled_translation_publishes_that_translation(
    api: Api, as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    editor, reviewer = as_role("editor"), as_role("reviewer")
    rev = await spanish_in_review(editor)
    en_before = (await editor.data(VIEW, {"slug": SLUG}))["review"]
    at = datetime.now(UTC) + timedelta(hours=2)
    action = await schedule_spanish(editor, reviewer, rev, at)

    report = await api.app.state.compendium.scheduler.run_once(now=at + timedelta(seconds=1))
    assert report.done == [action] and report.failed == []
    es = (await editor.data(VIEW, {"slug": SLUG, "locale": "es"}))["review"]
    assert es["status"] == "PUBLISHED"
    assert es["revisions"] == [{"number": 1, "approvedBy": "reviewer-ann", "locale": "es"}]
    assert (await editor.data(VIEW, {"slug": SLUG}))["review"] == en_before


async def test_cancelling_a_translations_schedule(
    api: Api, as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    editor, reviewer = as_role("editor"), as_role("reviewer")
    rev = await spanish_in_review(editor)
    at = datetime.now(UTC) + timedelta(hours=2)
    await schedule_spanish(editor, reviewer, rev, at)
    # The English page has nothing scheduled: cancelling there is refused.
    en = review_row(demo_url, SLUG, "en")
    error = await editor.error(CANCEL, {"slug": SLUG, "rev": en.revision})
    assert error["extensions"]["reason"] == "NOTHING_SCHEDULED"
    cancelled = await editor.data(CANCEL, {"slug": SLUG, "rev": rev, "locale": "es"})
    assert cancelled["cancelSchedule"]["review"] == {
        "locale": "es",
        "schedule": [{"status": "CANCELLED"}],
    }
    report = await api.app.state.compendium.scheduler.run_once(now=at + timedelta(seconds=1))
    assert report.done == [] and review_row(demo_url, SLUG, "es").status == "IN_REVIEW"


async def test_restoring_a_translations_revision(
    as_role: Callable[[str | None], Client], demo_url: str
) -> None:
    """The demo's Spanish ketamine--als revision 1 comes back as the Spanish draft."""
    editor = as_role("editor")
    es: dict[str, Any] = (await editor.data(VIEW, {"slug": BOTH, "locale": "es"}))["review"]
    en = review_row(demo_url, BOTH, "en")
    edit = {"slug": BOTH, "rev": es["section"]["revision"], "locale": "es"}
    edited = (await editor.data(EDIT, edit))["updateSection"]["review"]
    await editor.data(SUBMIT, {"slug": BOTH, "rev": edited["revision"], "locale": "es"})
    rev = review_row(demo_url, BOTH, "es").revision
    restored = await editor.data(RESTORE, {"slug": BOTH, "number": 1, "rev": rev, "locale": "es"})
    review = restored["restoreRevision"]["review"]
    assert (review["locale"], review["status"]) == ("es", "DRAFT")
    assert review["restoredFrom"]["revision"] == 1
    assert review["restoredFrom"]["approvedBy"] == es["revisions"][0]["approvedBy"]
    after = (await editor.data(VIEW, {"slug": BOTH, "locale": "es"}))["review"]
    assert after["text"] == es["text"]  # the approved Spanish text, not the edit
    assert review_row(demo_url, BOTH, "en") == en
