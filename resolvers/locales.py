"""Which locale a request asks for, and which of a page's locales it gets.

A reader asking for ``es`` gets the page a reviewer approved in ``es``, else in the next
locale of ``es``'s chain (``COMPENDIUM_LOCALE_FALLBACKS``; every chain ends in the
default locale), and the answer says so (``Review.isFallback``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from config import Settings
from resolvers import tags
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.records import in_locale

T = TypeVar("T")


def checked(settings: Settings, locale: str | None, argument: str = "locale") -> str:
    """The locale asked for (default: the default locale); BAD_USER_INPUT for a tag that is
    not one of the configured locales (tags are compared as configured: ``es-MX``). The
    one rule for reads, mutations and the command line."""
    if locale is None:
        return settings.default_locale
    if locale not in settings.locale_chains:
        raise BadUserInput(
            f"unknown locale '{locale[:40]}'; this API serves: " + ", ".join(settings.locales),
            argument=argument,
        )
    return locale


def requested(ctx: Context, locale: str | None) -> str:
    """The locale a read asks for (``checked``)."""
    return checked(ctx.settings, locale)


def chain(ctx: Context, locale: str) -> list[str]:
    """``locale``, then the locales it falls back to, the default locale last."""
    return list(ctx.settings.locale_chains[locale])


def pick(rows: Iterable[Any], order: list[str]) -> Any:
    """Of one page's rows (one per locale), the first in ``order``; None when none is."""
    by_locale = {row.locale: row for row in rows}
    return next((by_locale[tag] for tag in order if tag in by_locale), None)


async def records_in(ctx: Context, kind: str, records: list[T], locale: str | None) -> list[T]:
    """Fact records (``kind``: compound, condition) in the locale asked for. Editors: the
    working translations. Readers: the translations a reviewer approved in each locale of
    the chain (with a page in it, ``public_translation``); the default locale's values are
    the approved copy's."""
    order = chain(ctx, requested(ctx, locale))
    if len(order) == 1 or not records:
        return records
    if ctx.viewer.can_preview:
        return [in_locale(r, kind, r.translations, order) for r in records]  # type: ignore[attr-defined]
    # (The answer moves when a page in one of these locales is approved.)
    ctx.depends(*tags.per_locale(tags.TRANSLATIONS, order[:-1]))
    keys = [(kind, r.id, tag) for r in records for tag in order[:-1]]  # type: ignore[attr-defined]
    versions = await ctx.loaders.translation_version_by_key.load_many(keys)
    given: dict[int, dict[str, Any]] = {}
    for (_, record_id, tag), version in zip(keys, versions, strict=True):
        if version is not None:
            values = (version.facts.get("translations") or {}).get(tag)
            if values:
                given.setdefault(record_id, {})[tag] = values
    return [in_locale(r, kind, given.get(r.id), order) for r in records]  # type: ignore[attr-defined]
