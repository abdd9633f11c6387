"""Admin reads: the audit log and the API tokens."""

from __future__ import annotations

from typing import Any

from db import queries
from db.pagination import Page
from resolvers.context import Context
from resolvers.editorial import require
from resolvers.relay import check_first, keyset
from resolvers.reviews import as_utc


async def audit_page(ctx: Context, first: int, after: str | None, f: queries.AuditFilter) -> Page:
    require(ctx, "admin")
    check_first(first, ctx.settings.max_page_size)
    if f.since is not None:
        f.since = as_utc(f.since, "since")
    return await ctx.db(queries.list_audit, f, first, keyset(after, "AT_DESC", queries.AUDIT_ORDER))


async def api_tokens(ctx: Context) -> list[Any]:
    require(ctx, "admin")
    return await ctx.db(queries.api_tokens)
