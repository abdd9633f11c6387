"""Webhook subscriptions over the API (admins): real HTTP to the app over the demo
database, events through the real outbox, delivered to a receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update

from db.engine import make_engine, session_scope
from db.models import utcnow
from db.operations import AuditEntry, WebhookDelivery
from db.tables import PUBLIC_REVIEW
from db.tokens import create_token
from tests.conftest import Api
from tests.server.test_webhooks import Receiver, verify
from tests.workflow import approve, edit_fact, graphql

ENV_SECRET = "whsec_env_0123456789"
SLUG = "ketamine--als"
OTHER_KETAMINE = "ketamine--neuropathic-pain"

CREATE = """
mutation C($input: WebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) {
    secret
    subscription { id url events filter { compounds conditions } createdBy createdAt }
  }
}
"""
LIST = """
query L { webhookSubscriptions { id url events filter { compounds conditions } createdBy } }
"""
DELETE = """
mutation D($id: ID!) { deleteWebhookSubscription(id: $id) { id url events } }
"""


@pytest.fixture
def tokens(demo_url: str) -> dict[str, str]:
    engine = make_engine(demo_url)
    out: dict[str, str] = {}
    with session_scope(engine) as session:
        for role in ("editor", "reviewer", "admin"):
            out[role], _ = create_token(session, f"{role}-hooks", role)
    engine.dispose()
    return out


async def call(api: Api, token: str | None, query: str, variables: Any = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await api.post(query, variables, headers=headers)
    assert response.status_code in (200, 401), response.text
    return response.json()  # type: ignore[no-any-return]


def code(payload: dict[str, Any]) -> str:
    assert payload.get("errors"), payload
    return str(payload["errors"][0]["extensions"]["code"])


def deliveries(url: str) -> list[Any]:
    engine = make_engine(url)
    with session_scope(engine) as session:
        rows = list(session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars())  # type: ignore[arg-type]
    engine.dispose()
    return rows


async def subscribe(api: Api, admin: str, url: str, events: list[str], **filter: Any) -> Any:
    variables = {"input": {"url": url, "events": events, "filter": filter or None}}
    return (await graphql(api, admin, CREATE, variables))["createWebhookSubscription"]


# --- the admin API ----------------------------------------------------------------------------


async def test_create_shows_the_secret_once_list_and_delete(
    api: Api, tokens: dict[str, str], demo_url: str
) -> None:
    admin = tokens["admin"]
    created = await subscribe(
        api,
        admin,
        "https://hooks.example/compendium?key=abc",
        ["REVIEW_PUBLISHED", "REVIEW_STALE", "REVIEW_PUBLISHED"],
        compounds=["ketamine"],
    )
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    sub = created["subscription"]
    assert sub["url"] == "https://hooks.example/compendium?key=abc"
    assert sub["events"] == ["REVIEW_PUBLISHED", "REVIEW_STALE"]  # each once
    assert sub["filter"] == {"compounds": ["ketamine"], "conditions": []}
    assert sub["createdBy"] == "admin-hooks"

    # Listed without the secret, which no field of the type can show again.
    listing = await call(api, admin, LIST)
    assert listing["data"]["webhookSubscriptions"] == [
        {k: v for k, v in sub.items() if k != "createdAt"}
    ]
    assert secret not in json.dumps(listing)
    fields = await call(api, admin, '{ __type(name: "WebhookSubscription") { fields { name } } }')
    names = {f["name"] for f in fields["data"]["__type"]["fields"]}
    assert names == {"id", "url", "events", "filter", "createdBy", "createdAt"}

    deleted = await call(api, admin, DELETE, {"id": sub["id"]})
    assert deleted.get("data"), deleted
    assert deleted["data"]["deleteWebhookSubscription"]["id"] == sub["id"]
    assert (await call(api, admin, LIST))["data"]["webhookSubscriptions"] == []
    assert code(await call(api, admin, DELETE, {"id": sub["id"]})) == "NOT_FOUND"
    assert code(await call(api, admin, DELETE, {"id": "bm9wZQ=="})) == "NOT_FOUND"

    # Audited, without the secret or the URL's query (it may carry a receiver's key).
    engine = make_engine(demo_url)
    with session_scope(engine) as session:
        audit = list(
            session.execute(
                select(AuditEntry.action, AuditEntry.record_key, AuditEntry.detail).where(
                    AuditEntry.record_type == "WebhookSubscription"
                )
            )
        )
    engine.dispose()
    assert [a.action for a in audit] == ["createWebhookSubscription", "deleteWebhookSubscription"]
    assert {a.record_key for a in audit} == {"https://hooks.example"}
    assert secret not in json.dumps([a.detail for a in audit])


async def test_only_admins(api: Api, tokens: dict[str, str]) -> None:
    variables = {"input": {"url": "https://hooks.example/x", "events": ["REVIEW_PUBLISHED"]}}
    for role in ("editor", "reviewer"):
        assert code(await call(api, tokens[role], CREATE, variables)) == "FORBIDDEN"
        assert code(await call(api, tokens[role], LIST)) == "FORBIDDEN"
        assert code(await call(api, tokens[role], DELETE, {"id": "x"})) == "FORBIDDEN"
    for query, args in ((CREATE, variables), (LIST, None), (DELETE, {"id": "x"})):
        assert code(await call(api, None, query, args)) == "UNAUTHENTICATED"
    # Nothing was created meanwhile.
    admin_list = await call(api, tokens["admin"], LIST)
    assert admin_list["data"]["webhookSubscriptions"] == []


@pytest.mark.parametrize(
    ("url", "events", "filter", "path"),
    [
        ("ftp://hooks.example/x", ["REVIEW_PUBLISHED"], None, "input.url"),
        ("https://user:pw@hooks.example/x", ["REVIEW_PUBLISHED"], None, "input.url"),
        ("https://token@hooks.example/x", ["REVIEW_PUBLISHED"], None, "input.url"),
        ("hooks.example/x", ["REVIEW_PUBLISHED"], None, "input.url"),
        ("https:///x", ["REVIEW_PUBLISHED"], None, "input.url"),
        ("https://hooks.example:99999/x", ["REVIEW_PUBLISHED"], None, "input.url"),
        ("https://hooks.example/a b", ["REVIEW_PUBLISHED"], None, "input.url"),
        ("https://hooks.example/x", [], None, "input.events"),
        (
            "https://hooks.example/x",
            ["REVIEW_STALE"],
            {"compounds": ["Not A Slug"]},
            "input.filter.compounds",
        ),
    ],
)
async def test_bad_input_is_refused(
    api: Api, tokens: dict[str, str], url: str, events: list[str], filter: Any, path: str
) -> None:
    payload = await call(
        api, tokens["admin"], CREATE, {"input": {"url": url, "events": events, "filter": filter}}
    )
    assert code(payload) == "BAD_USER_INPUT"
    problems = payload["errors"][0]["extensions"]["problems"]
    assert [p["path"] for p in problems] == [path]
    assert (await call(api, tokens["admin"], LIST))["data"]["webhookSubscriptions"] == []


async def test_unknown_event_is_a_validation_error(api: Api, tokens: dict[str, str]) -> None:
    variables = {"input": {"url": "https://hooks.example/x", "events": ["REVIEW_DELETED"]}}
    response = await api.post(
        CREATE, variables, headers={"authorization": f"Bearer {tokens['admin']}"}
    )
    assert response.status_code == 400, response.text  # refused before anything runs
    assert "REVIEW_DELETED" in response.json()["errors"][0]["message"]


# --- events -----------------------------------------------------------------------------------


async def test_publish_fans_out_to_matching_subscriptions_signed_with_their_secrets(
    make_api: Callable[..., Any], tokens: dict[str, str], demo_url: str, receiver: Receiver
) -> None:
    api: Api = await make_api(
        webhook_urls=[receiver.url("/env")],
        webhook_secret=ENV_SECRET,
        webhook_poll_seconds=3600,
        cache_poll_seconds=3600,
    )
    admin, editor, reviewer = tokens["admin"], tokens["editor"], tokens["reviewer"]
    ketamine = await subscribe(
        api, admin, receiver.url("/ketamine"), ["REVIEW_PUBLISHED"], compounds=["ketamine"]
    )
    elsewhere = await subscribe(
        api, admin, receiver.url("/elsewhere"), ["REVIEW_PUBLISHED"], compounds=["metformin"]
    )
    facts = await subscribe(
        api,
        admin,
        receiver.url("/facts"),
        ["FACTS_APPROVED", "REVIEW_STALE"],
        conditions=["neuropathic-pain"],
    )
    assert elsewhere["secret"] not in (ketamine["secret"], facts["secret"])

    # A fact change, approved with one page, leaves the other published ketamine page stale.
    await edit_fact(api, editor, "compound", "ketamine", evidenceLevel="Newer evidence.")
    await approve(api, editor, reviewer, SLUG)

    rows = deliveries(demo_url)
    by_path = {}
    for row in rows:
        by_path.setdefault(row.url.removeprefix(receiver.base), []).append(row)
    events = {path: [r.event for r in rs] for path, rs in by_path.items()}
    # The configured list receives every event, as before subscriptions.
    assert events["/env"][:2] == ["review.published", "facts.approved"]
    assert set(events["/env"][2:]) == {"review.stale"}
    assert events["/ketamine"] == ["review.published"]
    assert "/elsewhere" not in events  # its filter does not match
    # The condition filter matches the stale pages (neuropathic pain: the English page and
    # the demo's Spanish one, whose body says its locale), not the published one.
    assert events["/facts"] == ["review.stale", "review.stale"]
    stale = [json.loads(r.body)["data"] for r in by_path["/facts"]]
    assert {(s["review"]["slug"], s["review"].get("locale")) for s in stale} == {
        (OTHER_KETAMINE, None),
        (OTHER_KETAMINE, "es"),
    }
    assert all(s["facts"]["compounds"] == ["ketamine"] for s in stale)
    env_stale = [
        (d["slug"], d.get("locale"))
        for d in (json.loads(r.body)["data"]["review"] for r in by_path["/env"][2:])
    ]
    assert (OTHER_KETAMINE, None) in env_stale and (SLUG, None) not in env_stale
    # Bodies carry approved data only: slugs, numbers, no text of the working copy.
    published = json.loads(by_path["/ketamine"][0].body)
    assert set(published["data"]["review"]) == {
        "id",
        "slug",
        "revision",
        "publishedRevision",
        "url",
    }
    assert "Newer evidence" not in "".join(r.body for r in rows)
    # One event, one body: the rows of each share its id.
    assert by_path["/env"][0].body == by_path["/ketamine"][0].body

    dispatcher = api.app.state.compendium.webhooks
    dispatcher.wake()
    assert await asyncio.to_thread(receiver.wait_for, len(rows))
    for path, secret, other in (
        ("/ketamine", ketamine["secret"], ENV_SECRET),
        ("/facts", facts["secret"], ketamine["secret"]),
        ("/env", ENV_SECRET, facts["secret"]),
    ):
        for request in receiver.at(path):
            signature = request.headers["compendium-signature"]
            assert verify(secret, signature, request.body), path
            assert not verify(other, signature, request.body), path


async def test_deleting_a_subscription_drops_its_undelivered_events(
    api: Api, tokens: dict[str, str], demo_url: str
) -> None:
    admin, editor, reviewer = tokens["admin"], tokens["editor"], tokens["reviewer"]
    kept = await subscribe(api, admin, "http://127.0.0.1:9/kept", ["REVIEW_PUBLISHED"])
    dropped = await subscribe(api, admin, "http://127.0.0.1:9/dropped", ["REVIEW_PUBLISHED"])
    await edit_fact(api, editor, "compound", "ketamine", evidenceLevel="Other evidence.")
    await approve(api, editor, reviewer, SLUG)
    assert sorted(r.url for r in deliveries(demo_url)) == [
        "http://127.0.0.1:9/dropped",
        "http://127.0.0.1:9/kept",
    ]
    await graphql(api, admin, DELETE, {"id": dropped["subscription"]["id"]})
    rows = deliveries(demo_url)
    assert [r.url for r in rows] == ["http://127.0.0.1:9/kept"]
    assert kept["subscription"]["id"] != dropped["subscription"]["id"]


async def test_due_for_review_is_announced_once_per_due_date(
    make_api: Callable[..., Any], tokens: dict[str, str], demo_url: str
) -> None:
    api: Api = await make_api(webhook_poll_seconds=3600, cache_poll_seconds=3600)
    await subscribe(
        api,
        tokens["admin"],
        "http://127.0.0.1:9/due",
        ["REVIEW_DUE_FOR_REVIEW"],
        compounds=["ketamine"],
    )
    dispatcher = api.app.state.compendium.webhooks
    assert await dispatcher.check_due(force=True) == 0  # nothing is due yet
    engine = make_engine(demo_url)
    past = utcnow() - timedelta(days=1)
    with session_scope(engine) as session:
        session.execute(
            update(PUBLIC_REVIEW)
            .where(
                PUBLIC_REVIEW.c.slug.in_([SLUG, "metformin--type-2-diabetes"]),
                PUBLIC_REVIEW.c.locale == "en",  # (not the demo's Spanish pages)
            )
            .values(review_due_at=past)
        )
        known = (
            session.execute(
                select(PUBLIC_REVIEW.c.slug).where(PUBLIC_REVIEW.c.review_due_at <= utcnow())
            )
            .scalars()
            .all()
        )
    assert SLUG in known
    announced = await dispatcher.check_due(force=True)
    assert announced == len(known)
    assert await dispatcher.check_due(force=True) == 0  # once per due date
    rows = [r for r in deliveries(demo_url) if r.url == "http://127.0.0.1:9/due"]
    assert [json.loads(r.body)["data"]["review"]["slug"] for r in rows] == [SLUG]
    assert json.loads(rows[0].body)["event"] == "review.due_for_review"
    assert json.loads(rows[0].body)["data"]["dueAt"].endswith("Z")
    # A new due date (reviewed again, due again) is announced again.
    with session_scope(engine) as session:
        session.execute(
            update(PUBLIC_REVIEW)
            .where(PUBLIC_REVIEW.c.slug == SLUG, PUBLIC_REVIEW.c.locale == "en")
            .values(review_due_at=utcnow() + timedelta(seconds=1))
        )
    await asyncio.sleep(1.1)
    assert await dispatcher.check_due(force=True) == 1
    with session_scope(engine) as session:
        notices = session.execute(text("SELECT count(*) FROM webhook_notice")).scalar_one()
    engine.dispose()
    assert notices == len(known) + 1


async def test_the_dispatcher_runs_once_there_is_a_subscription(
    make_api: Callable[..., Any], tokens: dict[str, str]
) -> None:
    first: Api = await make_api(cache_poll_seconds=3600)
    dispatcher = first.app.state.compendium.webhooks
    assert not dispatcher.running  # no URL configured, no subscription
    await subscribe(first, tokens["admin"], "http://127.0.0.1:9/x", ["REVIEW_ARCHIVED"])
    assert dispatcher.running  # the first subscription started it
    # A process started later finds the subscription and runs its dispatcher at once.
    later: Api = await make_api(cache_poll_seconds=3600)
    assert later.app.state.compendium.webhooks.running
