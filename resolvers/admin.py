"""Admin reads: the audit log and the API tokens (their fields name the permission:
``editorial.permissions.CanAdmin``)."""

from __future__ import annotations

from db import queries
from db.pagination import Page
from db.rows import ApiTokenRow as ApiTokenRow  # re-exported: the rows these reads give
from db.rows import AuditRow as AuditRow
from resolvers.context import Context
from resolvers.relay import check_first, keyset
from resolvers.reviews import as_utc


async def audit_page(ctx: Context, first: int, after: str | None, f: queries.AuditFilter) -> Page:
    check_first(first, ctx.settings.max_page_size)
    if f.since is not None:
        f.since = as_utc(f.since, "since")
    return await ctx.db(queries.list_audit, f, first, keyset(after, "AT_DESC", queries.AUDIT_ORDER))


async def api_tokens(ctx: Context) -> list[ApiTokenRow]:
    return await ctx.db(queries.api_tokens)
