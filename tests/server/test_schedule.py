"""Scheduled publishing through real HTTP: scheduling, the runner at its time (exactly once,
even with several runners racing), a failing gate, cancelling, restarts, the CLI, and
readers never seeing the schedule."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from db import scheduling
from db.engine import make_engine, session_scope
from db.operations import WebhookDelivery
from db.tables import REVIEW, SCHEDULED_ACTION
from db.tokens import revoke_token
from tests.conftest import ROOT, Api
from tests.server.editing import Client
from tests.server.test_history import EDITOR, READER, edit_and_submit, findings

SLUG = "ketamine--als"
NEW_TEXT = "A scheduled rewrite of this section."

SCHEDULE = """
mutation Schedule($slug: String!, $at: DateTime!, $rev: Int!, $ack: [String!]) {
  schedulePublish(review: $slug, at: $at, expectedRevision: $rev, acknowledge: $ack) {
    review { status revision schedule { id action status scheduledBy expectedRevision } }
  }
}
"""
SCHEDULE_UNPUBLISH = """
mutation Unschedule($slug: String!, $at: DateTime!, $rev: Int!) {
  scheduleUnpublish(review: $slug, at: $at, expectedRevision: $rev) {
    review { schedule { id action status } }
  }
}
"""
CANCEL = """
mutation Cancel($slug: String!, $rev: Int!, $action: Int) {
  cancelSchedule(review: $slug, expectedRevision: $rev, action: $action) {
    review { schedule { id status finishedAt } }
  }
}
"""
SCHEDULE_VIEW = """
query S($slug: String!) {
  review(slug: $slug) {
    status revision
    schedule { id action status at finishedAt failure { code reason message details } }
    revisions { number approvedBy }
  }
}
"""


def later(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


async def schedule_new_text(as_role: Any, at: datetime, ack: bool = True) -> int:
    """Edit, submit and schedule the publishing at ``at``; the scheduled action's id."""
    editor, reviewer = as_role("editor"), as_role("reviewer")
    rev = await edit_and_submit(editor, SLUG, NEW_TEXT)
    acknowledge = await findings(editor, SLUG) if ack else []
    done = await reviewer.data(
        SCHEDULE, {"slug": SLUG, "at": at.isoformat(), "rev": rev, "ack": acknowledge}
    )
    review = done["schedulePublish"]["review"]
    assert review["revision"] == rev and review["status"] == "IN_REVIEW"
    [action] = review["schedule"]
    assert action["status"] == "PENDING" and action["action"] == "PUBLISH"
    assert action["scheduledBy"] == "reviewer-ann" and action["expectedRevision"] == rev
    return int(action["id"])


def runner(api: Api) -> Any:
    return api.app.state.compendium.scheduler


async def test_scheduled_publish_runs_once_at_its_time(api: Api, as_role: Any) -> None:
    anonymous, editor, admin = as_role(None), as_role("editor"), as_role("admin")
    at = later(hours=2)
    action = await schedule_new_text(as_role, at)
    before = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    assert NEW_TEXT not in before["text"]

    # Not yet due: nothing happens.
    assert (await runner(api).run_once(now=at - timedelta(seconds=5))).done == []
    assert (await anonymous.data(READER, {"slug": SLUG}))["review"] == before

    report = await runner(api).run_once(now=at + timedelta(seconds=1))
    assert report.done == [action] and report.failed == []
    # Published, and the reader's cached answer was purged at once (the after-commit
    # outcome of a manual publish).
    after = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    assert NEW_TEXT in after["text"] and after["revision"] == before["revision"] + 1
    view = (await editor.data(SCHEDULE_VIEW, {"slug": SLUG}))["review"]
    assert view["status"] == "PUBLISHED"
    assert view["revisions"][-1] == {"number": after["revision"], "approvedBy": "reviewer-ann"}
    assert [a["status"] for a in view["schedule"]] == ["DONE"]
    assert view["schedule"][0]["finishedAt"] is not None

    # Once only.
    assert (await runner(api).run_once(now=at + timedelta(minutes=30))).done == []
    assert (await editor.data(SCHEDULE_VIEW, {"slug": SLUG}))["review"] == view
    log = await admin.data(
        "query A { auditLog(first: 10) { edges { node { actor action detail } } } }"
    )
    actions = [(e["node"]["actor"], e["node"]["action"]) for e in log["auditLog"]["edges"]]
    assert actions[:3] == [
        ("reviewer-ann", "scheduledPublish"),
        ("reviewer-ann", "publishReview"),
        ("reviewer-ann", "schedulePublish"),
    ]
    assert log["auditLog"]["edges"][0]["node"]["detail"]["schedule"] == action


async def test_two_runners_race_and_one_publishes(api: Api, as_role: Any, make_api: Any) -> None:
    at = later(hours=1)
    action = await schedule_new_text(as_role, at)
    first, second = await make_api(), await make_api()  # two more instances
    reports = await asyncio.gather(
        *(runner(a).run_once(now=at + timedelta(seconds=1)) for a in (first, second, api))
    )
    assert sorted(a for r in reports for a in r.done) == [action]
    assert all(r.failed == [] for r in reports)
    view = (await as_role("editor").data(SCHEDULE_VIEW, {"slug": SLUG}))["review"]
    assert [r["number"] for r in view["revisions"]] == [1, 2]  # one new revision


def test_two_claims_on_separate_sessions_one_wins(demo_url: str) -> None:
    """The claim itself: the second session waits for the first and then finds nothing."""
    engine = make_engine(demo_url)
    now = datetime.now(UTC)
    lease = timedelta(minutes=5)
    with session_scope(engine) as session:
        review_id = session.execute(select(REVIEW.c.id).where(REVIEW.c.slug == SLUG)).scalar()
        assert review_id is not None
        action = scheduling.insert_action(
            session, review_id, "PUBLISH", now - timedelta(seconds=1), "reviewer-ann", 1, [], now
        )
    results: dict[str, bool] = {}
    with session_scope(engine) as one:
        results["one"] = scheduling.claim(one, action, "one", now, lease)

        def other() -> None:
            with session_scope(engine) as two:
                results["two"] = scheduling.claim(two, action, "two", now, lease)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(0.3)
        assert thread.is_alive()  # it waits for the first claim's transaction
    thread.join(10)
    assert results == {"one": True, "two": False}
    with session_scope(engine) as session:
        claimed = session.execute(
            select(SCHEDULED_ACTION.c.claimed_by).where(SCHEDULED_ACTION.c.id == action)
        ).scalar()
    assert claimed == "one"
    engine.dispose()


async def test_a_crashed_claim_is_retried_after_its_lease(
    api: Api, as_role: Any, demo_url: str
) -> None:
    at = later(hours=1)
    action = await schedule_new_text(as_role, at)
    crashed_at = at + timedelta(seconds=1)
    engine = make_engine(demo_url)
    with session_scope(engine) as session:  # a runner that claims, then dies
        assert scheduling.claim(session, action, "crashed", crashed_at, timedelta(minutes=5))
    engine.dispose()
    assert (await runner(api).run_once(now=crashed_at + timedelta(minutes=1))).done == []
    report = await runner(api).run_once(now=crashed_at + timedelta(minutes=6))
    assert report.done == [action]
    reader = (await as_role(None).data(READER, {"slug": SLUG}))["review"]
    assert NEW_TEXT in reader["text"]


async def test_a_failing_gate_publishes_nothing_and_says_why(api: Api, as_role: Any) -> None:
    anonymous, editor, admin = as_role(None), as_role("editor"), as_role("admin")
    before = (await anonymous.data(READER, {"slug": SLUG}))["review"]
    at = later(hours=1)
    # Findings in the text, not acknowledged when scheduling.
    editor_view = (await editor.data(EDITOR, {"slug": SLUG}))["review"]
    edited = await editor.data(
        'mutation E($rev: Int!) { updateSection(review: "ketamine--als", key: CONSIDERATIONS, '
        'expectedRevision: $rev, body: "Take 50 mg twice a day.") { review { revision } } }',
        {"rev": editor_view["consider"]["revision"]},
    )
    submitted = await editor.data(
        'mutation S($rev: Int!) { submitForReview(review: "ketamine--als", '
        "expectedRevision: $rev) { review { revision } } }",
        {"rev": edited["updateSection"]["review"]["revision"]},
    )
    rev = submitted["submitForReview"]["review"]["revision"]
    scheduled = await as_role("reviewer").data(
        SCHEDULE, {"slug": SLUG, "at": at.isoformat(), "rev": rev, "ack": []}
    )
    [action] = scheduled["schedulePublish"]["review"]["schedule"]

    report = await runner(api).run_once(now=at + timedelta(seconds=1))
    assert report.done == [] and report.failed == [action["id"]]
    assert (await anonymous.data(READER, {"slug": SLUG}))["review"] == before
    view = (await editor.data(SCHEDULE_VIEW, {"slug": SLUG}))["review"]
    assert view["status"] == "IN_REVIEW" and view["revision"] == rev
    [failed] = view["schedule"]
    assert failed["status"] == "FAILED"
    assert failed["failure"]["code"] == "BAD_USER_INPUT"
    assert failed["failure"]["reason"] == "UNACKNOWLEDGED_FINDINGS"
    assert {f["rule"] for f in failed["failure"]["details"]["findings"]} == {"DOSING"}
    log = await admin.data(
        "query A { auditLog(first: 1) { edges { node { actor action detail } } } }"
    )
    entry = log["auditLog"]["edges"][0]["node"]
    assert (entry["actor"], entry["action"]) == ("reviewer-ann", "scheduledPublishFailed")
    assert entry["detail"]["reason"] == "UNACKNOWLEDGED_FINDINGS"
    # Not retried.
    assert (await runner(api).run_once(now=at + timedelta(hours=1))).failed == []


async def test_an_edit_after_scheduling_or_a_revoked_reviewer_fails_it(
    api: Api, as_role: Any, demo_url: str
) -> None:
    editor = as_role("editor")
    at = later(hours=1)
    await schedule_new_text(as_role, at)
    # The text changes after the reviewer scheduled it: that text was not approved.
    await edit_and_submit(editor, SLUG, "Yet another text, never approved.")
    report = await runner(api).run_once(now=at + timedelta(seconds=1))
    assert len(report.failed) == 1
    view = (await editor.data(SCHEDULE_VIEW, {"slug": SLUG}))["review"]
    assert view["schedule"][0]["failure"]["code"] == "CONFLICT"
    assert [r["number"] for r in view["revisions"]] == [1]

    # The scheduling reviewer's token revoked before the time: no approver, no publish.
    scheduled = await as_role("reviewer").data(
        SCHEDULE, {"slug": SLUG, "at": at.isoformat(), "rev": view["revision"], "ack": []}
    )
    assert len(scheduled["schedulePublish"]["review"]["schedule"]) == 2
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        assert revoke_token(session, "reviewer-ann")
    engine.dispose()
    report = await runner(api).run_once(now=at + timedelta(seconds=2))
    assert len(report.failed) == 1
    view = (await editor.data(SCHEDULE_VIEW, {"slug": SLUG}))["review"]
    assert view["schedule"][1]["failure"]["reason"] == "APPROVER_INVALID"
    assert [r["number"] for r in view["revisions"]] == [1]


async def test_cancel(api: Api, as_role: Any) -> None:
    editor = as_role("editor")
    at = later(hours=1)
    action = await schedule_new_text(as_role, at)
    rev = (await editor.data(SCHEDULE_VIEW, {"slug": SLUG}))["review"]["revision"]
    stale = await editor.error(CANCEL, {"slug": SLUG, "rev": rev - 1})
    assert stale["extensions"]["code"] == "CONFLICT"
    wrong = await editor.error(CANCEL, {"slug": SLUG, "rev": rev, "action": action + 100})
    assert wrong["extensions"]["code"] == "NOT_FOUND"
    cancelled = await editor.data(CANCEL, {"slug": SLUG, "rev": rev, "action": action})
    [row] = cancelled["cancelSchedule"]["review"]["schedule"]
    assert row["status"] == "CANCELLED" and row["finishedAt"] is not None
    assert (await runner(api).run_once(now=at + timedelta(seconds=1))).done == []
    again = await editor.error(CANCEL, {"slug": SLUG, "rev": rev})
    assert again["extensions"]["reason"] == "NOTHING_SCHEDULED"
    reader = (await as_role(None).data(READER, {"slug": SLUG}))["review"]
    assert NEW_TEXT not in reader["text"]


async def test_a_schedule_survives_a_restart(as_role: Any, make_api: Any) -> None:
    """Stored in the database: another instance, started later, runs it with its own
    runner (the lifespan task), at its time."""
    at = later(seconds=2)
    action = await schedule_new_text(as_role, at)
    restarted = await make_api(scheduler_interval=0.2)
    anonymous = Client(restarted, None)
    for _ in range(100):
        reader = (await anonymous.data(READER, {"slug": SLUG}))["review"]
        if NEW_TEXT in reader["text"]:
            break
        await asyncio.sleep(0.2)
    assert NEW_TEXT in reader["text"]
    view = (await as_role("editor").data(SCHEDULE_VIEW, {"slug": SLUG}))["review"]
    assert [(a["id"], a["status"]) for a in view["schedule"]] == [(action, "DONE")]


async def test_scheduled_unpublish_and_the_cli(as_role: Any, demo_url: str) -> None:
    anonymous, reviewer = as_role(None), as_role("reviewer")
    rev = (await as_role("editor").data(SCHEDULE_VIEW, {"slug": SLUG}))["review"]["revision"]
    at = later(seconds=1)
    await reviewer.data(SCHEDULE_UNPUBLISH, {"slug": SLUG, "at": at.isoformat(), "rev": rev})
    await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.2)
    env = dict(os.environ, COMPENDIUM_DATABASE_URL=demo_url)
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "schedule", "run-due"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "1 scheduled action(s) done, 0 failed" in done.stdout
    missing = await anonymous.payload(READER, {"slug": SLUG})
    assert missing["data"]["review"] is None
    view = (await as_role("editor").data(SCHEDULE_VIEW, {"slug": SLUG}))["review"]
    assert view["status"] == "DRAFT" and view["schedule"][0]["status"] == "DONE"


async def test_who_may_schedule_and_when(as_role: Any) -> None:
    anonymous, editor, reviewer = as_role(None), as_role("editor"), as_role("reviewer")
    rev = await edit_and_submit(editor, SLUG, NEW_TEXT)
    ok = {"slug": SLUG, "at": later(hours=1).isoformat(), "rev": rev}
    assert (await editor.error(SCHEDULE, ok))["extensions"]["code"] == "FORBIDDEN"
    assert (await anonymous.error(SCHEDULE, ok))["extensions"]["code"] == "UNAUTHENTICATED"
    for at in (
        later(seconds=-1).isoformat(),
        later(days=366).isoformat(),
        "0001-01-01T00:00:00+01:00",  # (out of range in UTC)
    ):
        bad = await reviewer.error(SCHEDULE, {**ok, "at": at})
        assert bad["extensions"]["code"] == "BAD_USER_INPUT"
        assert bad["extensions"]["argument"] == "at"
    stale = await reviewer.error(SCHEDULE, {**ok, "rev": rev - 1})
    assert stale["extensions"]["code"] == "CONFLICT"
    assert (await reviewer.error(SCHEDULE, {**ok, "slug": "no--such"}))["extensions"][
        "code"
    ] == "NOT_FOUND"
    # Unpublishing what is not published is refused when scheduling.
    other = "ketamine--neuropathic-pain"
    got = await editor.data(SCHEDULE_VIEW, {"slug": other})
    off = await editor.data(
        "mutation U($slug: String!, $rev: Int!) { unpublishReview(review: $slug, "
        "expectedRevision: $rev) { review { revision } } }",
        {"slug": other, "rev": got["review"]["revision"]},
    )
    refused = await reviewer.error(
        SCHEDULE_UNPUBLISH,
        {"slug": other, "at": ok["at"], "rev": off["unpublishReview"]["review"]["revision"]},
    )
    assert refused["extensions"]["reason"] == "INVALID_STATUS"
    view = (await editor.data(SCHEDULE_VIEW, {"slug": SLUG}))["review"]
    assert view["schedule"] == []


async def test_readers_never_see_the_schedule(api: Api, as_role: Any) -> None:
    await schedule_new_text(as_role, later(hours=1))
    query = (
        'query R { review(slug: "ketamine--als") { slug schedule { id } '
        "restoredFrom { revision } } "
        "reviews(first: 5) { edges { node { slug schedule { status } } } } }"
    )
    for _ in range(2):  # (the second answer may come from the caches)
        got = await as_role(None).data(query)
        assert got["review"] == {"slug": SLUG, "schedule": None, "restoredFrom": None}
        assert all(e["node"]["schedule"] is None for e in got["reviews"]["edges"])
    editors = await as_role("editor").data(query)
    assert [a["id"] for a in editors["review"]["schedule"]] != []


async def test_editors_list_with_schedule_costs_constant_statements(api: Api, as_role: Any) -> None:
    await schedule_new_text(as_role, later(hours=1))
    editor = as_role("editor")
    query = """query Work($first: Int!) { reviews(first: $first) { edges { node {
        slug schedule { id status } restoredFrom { revision factsCurrent } } } } }"""
    counts = {}
    for first in (1, 10, 50):
        api.statements.clear()
        data = await editor.data(query, {"first": first})
        assert len(data["reviews"]["edges"]) == first
        counts[first] = len(api.statements)
    assert counts[1] == counts[10] == counts[50], counts


async def test_a_scheduled_publish_has_a_manual_publishs_effects(
    as_role: Any, make_api: Any, demo_url: str
) -> None:
    """Webhook events and the change feed, as for publishReview."""
    anonymous = as_role(None)
    cursor, more = None, True
    while more:  # to the end of the feed
        page = await anonymous.data(
            "query P($since: String) { changes(since: $since, first: 100) { cursor hasMore } }",
            {"since": cursor},
        )
        cursor, more = page["changes"]["cursor"], page["changes"]["hasMore"]
    at = later(hours=1)
    await schedule_new_text(as_role, at)
    hooked = await make_api(
        webhook_urls=["http://127.0.0.1:9/hook"], webhook_secret="s3cret", webhook_poll_seconds=60
    )
    assert len((await runner(hooked).run_once(now=at + timedelta(seconds=1))).done) == 1
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        events = session.execute(
            select(WebhookDelivery.event, WebhookDelivery.body)  # type: ignore[call-overload]
        ).all()
    engine.dispose()
    assert [e for e, _ in events] == ["review.published"]
    body = json.loads(events[0][1])
    assert body["data"]["review"]["slug"] == SLUG and body["data"]["actor"] == "reviewer-ann"
    feed = await anonymous.data(
        "query F($since: String) { changes(since: $since, first: 100) "
        "{ changes { op entity slug } } }",
        {"since": cursor},
    )
    assert {"op": "UPSERT", "entity": "REVIEW", "slug": SLUG} in feed["changes"]["changes"]
