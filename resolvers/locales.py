"""Which locale a request asks for, and which of a page's locales it gets.

A reader asking for ``es`` gets the page a reviewer approved in ``es``, else in the next
locale of ``es``'s chain (``COMPENDIUM_LOCALE_FALLBACKS``; every chain ends in the
default locale), and the answer says so (``Review.isFallback``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from resolvers.context import Context
from resolvers.errors import BadUserInput


def requested(ctx: Context, locale: str | None) -> str:
    """The locale asked for (default: the default locale); BAD_USER_INPUT for a tag that is
    not one of the configured locales (tags are compared as configured: ``es-MX``)."""
    if locale is None:
        return ctx.settings.default_locale
    if locale not in ctx.settings.locale_chains:
        raise BadUserInput(
            f"unknown locale '{locale[:40]}'; this API serves: " + ", ".join(ctx.settings.locales),
            argument="locale",
        )
    return locale


def chain(ctx: Context, locale: str) -> list[str]:
    """``locale``, then the locales it falls back to, the default locale last."""
    return list(ctx.settings.locale_chains[locale])


def pick(rows: Iterable[Any], order: list[str]) -> Any:
    """Of one page's rows (one per locale), the first in ``order``; None when none is."""
    by_locale = {row.locale: row for row in rows}
    return next((by_locale[tag] for tag in order if tag in by_locale), None)
