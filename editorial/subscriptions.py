"""Webhook subscriptions (admins): receivers subscribed through the API.

A subscription names an http(s) URL (no credentials in it), the events it wants and,
optionally, the compounds and conditions (slugs) whose reviews it follows; its events
are signed with a secret shown once, when it is created. What is announced and to whom
is ``editorial/announce.py``; delivery is the outbox's, as for the configured URL list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session

from db import editorial as ed
from db import subscriptions as subs
from editorial.announce import Event
from editorial.outcome import Done, Outcome
from editorial.permissions import Actor
from resolvers.errors import BadUserInput

MAX_URL_CHARS = 2000
MAX_FILTER_SLUGS = 100
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription as asked for, checked."""

    url: str
    events: list[str]
    compounds: list[str]
    conditions: list[str]


def _url_problem(url: str) -> str | None:
    if not url or len(url) > MAX_URL_CHARS:
        return f"1-{MAX_URL_CHARS} characters"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "no spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "an http or https URL"
    if not parts.hostname:
        return "a URL with a host"
    if parts.username is not None or parts.password is not None:
        return "no credentials in the URL (the signature authenticates the sender)"
    return None


def check_subscription(
    url: str, events: Sequence[str], compounds: Sequence[str], conditions: Sequence[str]
) -> Subscription:
    """The subscription asked for, or BAD_USER_INPUT naming every problem."""
    url = url.strip()
    problems: list[dict[str, str]] = []
    if (problem := _url_problem(url)) is not None:
        problems.append({"path": "input.url", "message": problem})
    if not events:
        problems.append({"path": "input.events", "message": "at least one event"})
    for path, slugs in (
        ("input.filter.compounds", compounds),
        ("input.filter.conditions", conditions),
    ):
        if len(slugs) > MAX_FILTER_SLUGS:
            problems.append({"path": path, "message": f"at most {MAX_FILTER_SLUGS} slugs"})
        bad = [s for s in slugs if not _SLUG.match(s) or len(s) > 200]
        if bad:
            problems.append({"path": path, "message": f"not slugs: {', '.join(bad[:5])}"})
    if problems:
        raise BadUserInput("the webhook subscription is not valid", problems=problems)
    return Subscription(
        url,
        [str(Event(e)) for e in dict.fromkeys(events)],
        list(dict.fromkeys(compounds)),
        list(dict.fromkeys(conditions)),
    )


def create_subscription(
    session: Session, actor: Actor, subscription: Subscription
) -> Done[tuple[str, Any]]:
    """The new subscription's secret (shown once) and its row. The dispatcher is woken:
    it runs (delivering and checking due reviews) once there is a subscription."""
    secret, row = subs.create_subscription(
        session,
        subscription.url,
        subscription.events,
        subscription.compounds,
        subscription.conditions,
        actor.name,
    )
    actor.audit(
        session,
        "createWebhookSubscription",
        "WebhookSubscription",
        record_id=row.id,
        record_key=_origin(subscription.url),
        before=None,
        after=None,
        detail={"events": subscription.events},
    )
    return Done((secret, row), Outcome(wake_webhooks=True))


def delete_subscription(session: Session, actor: Actor, id: int) -> Done[Any]:
    """Delete a subscription; its undelivered events are dropped."""
    row = subs.delete_subscription(session, id)
    if row is None:
        raise ed.NotFound("webhook subscription", str(id))
    actor.audit(
        session,
        "deleteWebhookSubscription",
        "WebhookSubscription",
        record_id=row.id,
        record_key=_origin(row.url),
        before=None,
        after=None,
    )
    return Done(row)


def _origin(url: str) -> str:
    """What the audit log names of a URL: paths and queries often carry a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
