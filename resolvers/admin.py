"""Admin reads: the audit log, the API tokens and the webhook subscriptions (their fields name the permission:
``editorial.permissions.CanAdmin``)."""

from __future__ import annotations

from db import queries, subscriptions, tokens
from db.rows import ApiTokenRow as ApiTokenRow  # re-exported: the rows these reads give
from db.rows import AuditRow as AuditRow
from db.rows import WebhookSubscriptionRow as WebhookSubscriptionRow
from resolvers.context import Context
from resolvers.relay import Listing, check_first, keyset, listing
from resolvers.reviews import as_utc

# The criteria of the audit log (every one given must hold).
AuditCriteria = queries.AuditFilter


async def audit_page(
    ctx: Context, first: int, after: str | None, f: AuditCriteria
) -> Listing[AuditRow]:
    check_first(first, ctx.settings.max_page_size)
    if f.since is not None:
        f.since = as_utc(f.since, "since")
    order = queries.AUDIT_ORDER
    result = await ctx.db(queries.list_audit, f, first, keyset(after, "AT_DESC", order))
    return listing(result, "AT_DESC", order, result.rows)


async def api_tokens(ctx: Context) -> list[ApiTokenRow]:
    return await ctx.db(tokens.list_tokens)


async def webhook_subscriptions(ctx: Context) -> list[WebhookSubscriptionRow]:
    return await ctx.db(subscriptions.list_subscriptions)
