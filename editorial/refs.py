"""Which review a mutation acts on: a slug and a locale (``ReviewRef``).

The same slug names a page in every locale; the default locale's page and each of its
translations are reviews of their own, with their own working copy, status, revisions
and sign-off. A mutation's ``locale`` argument is checked here, before any transaction
opens: a configured tag (``COMPENDIUM_LOCALES``), or BAD_USER_INPUT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config import get_settings
from resolvers.locales import checked


def check_locale(tag: str | None, argument: str = "locale") -> str:
    """A configured locale, as configured (default: the default locale), or BAD_USER_INPUT
    naming the configured ones (the read side's rule, ``resolvers.locales.checked``)."""
    return checked(get_settings(), tag, argument)


@dataclass(frozen=True, slots=True)
class ReviewRef:
    """One review: the page ``slug`` names, in ``locale`` (a configured tag)."""

    slug: str
    locale: str

    @staticmethod
    def of(slug: str, locale: str | None = None) -> ReviewRef:
        """The review a mutation names (``locale`` checked; default: the default locale)."""
        return ReviewRef(slug, check_locale(locale))

    @property
    def is_translation(self) -> bool:
        return self.locale != get_settings().default_locale

    def detail(self, detail: dict[str, Any] | None = None) -> dict[str, Any]:
        """An audit entry's detail, with the locale when the review is a translation (the
        default locale's entries are as they were before locales)."""
        return {**(detail or {}), "locale": self.locale} if self.is_translation else detail or {}

    def __str__(self) -> str:
        return f"{self.slug} ({self.locale})" if self.is_translation else self.slug
