"""Webhook subscriptions (admins): the types, and the mutations that create and delete
them (composed into the Mutation root by ``schema/mutation.py``)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry

from editorial import subscriptions
from editorial.announce import Event
from editorial.permissions import CanAdmin
from editorial.transaction import run
from resolvers.admin import WebhookSubscriptionRow
from resolvers.errors import NotFoundError
from resolvers.relay import from_global_id, to_global_id


@strawberry.enum(
    description="What a webhook announces. Every body is JSON `{id, event, occurredAt, data}` "
    "whose `event` is the name given with each value; it carries only published data."
)
class WebhookEvent(enum.Enum):
    REVIEW_PUBLISHED = strawberry.enum_value(
        Event.REVIEW_PUBLISHED.value, description="`review.published`: a revision was approved."
    )
    REVIEW_UNPUBLISHED = strawberry.enum_value(
        Event.REVIEW_UNPUBLISHED.value, description="`review.unpublished`: taken off the site."
    )
    REVIEW_ARCHIVED = strawberry.enum_value(
        Event.REVIEW_ARCHIVED.value, description="`review.archived`: withdrawn for good."
    )
    FACTS_APPROVED = strawberry.enum_value(
        Event.FACTS_APPROVED.value,
        description="`facts.approved`: a publish made newer facts (compounds, conditions, "
        "evidence, the publisher) public; `data.facts` names them by slug.",
    )
    REVIEW_STALE = strawberry.enum_value(
        Event.REVIEW_STALE.value,
        description="`review.stale`: newer facts approved since left this published page "
        "behind (see `Review.isStale`); once per published revision.",
    )
    REVIEW_DUE_FOR_REVIEW = strawberry.enum_value(
        Event.REVIEW_DUE_FOR_REVIEW.value,
        description="`review.due_for_review`: a published review reached its review date "
        "(`data.dueAt`); once per due date, found by a periodic check.",
    )


@strawberry.input(description="Which reviews a subscription follows; empty lists: all.")
class WebhookFilterInput:
    compounds: list[str] = strawberry.field(
        default_factory=list, description="Compound slugs (a review of any of them matches)."
    )
    conditions: list[str] = strawberry.field(
        default_factory=list, description="Condition slugs (a review of any of them matches)."
    )


@strawberry.input(description="A new webhook subscription.")
class WebhookSubscriptionInput:
    url: str = strawberry.field(
        description="Where events are POSTed: an http or https URL without credentials."
    )
    events: list[WebhookEvent] = strawberry.field(description="The events it wants (one or more).")
    filter: WebhookFilterInput | None = strawberry.field(
        default=None, description="Only reviews of these compounds and conditions; null: all."
    )


@strawberry.type(description="Which reviews a subscription follows (empty lists: all).")
class WebhookFilter:
    compounds: list[str] = strawberry.field(description="Compound slugs.")
    conditions: list[str] = strawberry.field(description="Condition slugs.")


@strawberry.type(
    description="A receiver subscribed through the API (admins). Its secret, which signs "
    "its deliveries, is shown only once, when it is created."
)
class WebhookSubscription:
    row: strawberry.Private[WebhookSubscriptionRow]

    @strawberry.field(description="Global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("WebhookSubscription", self.row.id))

    @strawberry.field(description="Where events are POSTed.")
    def url(self) -> str:
        return self.row.url

    @strawberry.field(description="The events it receives.")
    def events(self) -> list[WebhookEvent]:
        return [WebhookEvent(e) for e in self.row.events]

    @strawberry.field(description="Which reviews it follows.")
    def filter(self) -> WebhookFilter:
        return WebhookFilter(
            compounds=list(self.row.compounds), conditions=list(self.row.conditions)
        )

    @strawberry.field(description="The token that created it.")
    def created_by(self) -> str:
        return self.row.created_by

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.row.created_at


@strawberry.type(description="A new webhook subscription. Its secret is shown here once.")
class CreatedWebhookSubscription:
    secret: str = strawberry.field(
        description="Signs every delivery (`Compendium-Signature`, HMAC-SHA256): keep it; it "
        "is never shown again."
    )
    subscription: WebhookSubscription = strawberry.field(
        description="The stored subscription (without its secret)."
    )


SubscriptionId = Annotated[
    strawberry.ID, strawberry.argument(description="The subscription's global id.")
]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Subscribe a URL to webhook events (admin); its signing secret is shown "
        "once. Deliveries are signed, retried and delivered at least once, as for the "
        "configured URL list.",
        permission_classes=[CanAdmin],
    )
    async def create_webhook_subscription(
        self,
        info: strawberry.Info,
        input: Annotated[
            WebhookSubscriptionInput, strawberry.argument(description="URL, events, filter.")
        ],
    ) -> CreatedWebhookSubscription:
        f = input.filter or WebhookFilterInput()
        wanted = subscriptions.check_subscription(
            input.url, [Event[e.name].value for e in input.events], f.compounds, f.conditions
        )
        secret, row = await run(info.context, subscriptions.create_subscription, wanted)
        return CreatedWebhookSubscription(secret=secret, subscription=WebhookSubscription(row=row))

    @strawberry.mutation(
        description="Delete a webhook subscription (admin); its undelivered events are dropped.",
        permission_classes=[CanAdmin],
    )
    async def delete_webhook_subscription(
        self, info: strawberry.Info, id: SubscriptionId
    ) -> WebhookSubscription:
        return WebhookSubscription(
            row=await run(info.context, subscriptions.delete_subscription, subscription_pk(id))
        )


def subscription_pk(id: str) -> int:
    """The key of a WebhookSubscription id, or NOT_FOUND."""
    parsed = from_global_id(id, ("WebhookSubscription",))
    if parsed is None:
        raise NotFoundError(f"no webhook subscription '{id}'")
    return parsed[1]
