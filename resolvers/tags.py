"""Cache tags: the names of what an answer shows, per locale where it matters.

An answer notes the tags of what it was built from (``ctx.depends``); a change purges
the tags of what it changed (``editorial/outcome.py`` after a commit, the change-log
poller for other processes' changes). The same names are the ``Surrogate-Key`` header
a CDN purges by, so they are named here only.

* ``review:{id}``: one review (a review is one page in one locale: its id says which).
* ``compound:{id}``, ``condition:{id}``, ``evidence:{id}``, ``publisher``,
  ``list:compounds``, ``list:conditions``: the approved copies of the facts, the default
  locale's values, which every locale's readers read (through their fallback chain).
* ``translations:{locale}``: one locale's approved fact translations (``public_translation``),
  moved by any approval of a page in that locale.
* ``list:reviews:{locale}``, ``list:search:{locale}``, ``changes:{locale}``: which pages
  of a locale exist, its search, its change feed. A reader's list or search in a locale
  depends on every locale of its fallback chain that it was built from (``per_locale``
  with the chain); an approval in one locale purges that locale's only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

REVIEWS = "list:reviews"
SEARCH = "list:search"
CHANGES = "changes"
TRANSLATIONS = "translations"
COMPOUNDS = "list:compounds"
CONDITIONS = "list:conditions"
PUBLISHER = "publisher"
TRANSLATED = (REVIEWS, SEARCH, CHANGES, TRANSLATIONS)


def per_locale(name: str, locales: str | Iterable[str]) -> tuple[str, ...]:
    """``name`` (``REVIEWS``, ``SEARCH``, ``CHANGES``, ``TRANSLATIONS``) for one locale or
    each of several: ``per_locale(REVIEWS, ["es", "en"])`` is
    ``("list:reviews:es", "list:reviews:en")``. Readers pass the locales their answer was
    built from (the chain of the locale asked for, up to the one served); changes the
    locale they changed."""
    if isinstance(locales, str):
        return (f"{name}:{locales}",)
    return tuple(f"{name}:{locale}" for locale in locales)


def review(review_id: int) -> str:
    return f"review:{review_id}"


def record(kind: str, record_id: int | None) -> str:
    """A compound's, condition's or evidence's approved copy; with no id, the list of them."""
    return f"list:{kind}s" if record_id is None else f"{kind}:{record_id}"


def of_review(review_id: int, locale: str, default_locale: str) -> tuple[str, ...]:
    """What a review's approval or withdrawal changes: the page, its locale's lists, search
    and feed; a translation also its locale's approved fact translations."""
    names = (REVIEWS, SEARCH, CHANGES) if locale == default_locale else TRANSLATED
    return (review(review_id), *(f"{name}:{locale}" for name in names))


def of_record(kind: str, record_id: int, locales: Sequence[str]) -> tuple[str, ...]:
    """What a compound's or condition's approval or deletion changes: its approved copy and
    list, and every locale's search and feed (records are in each, translated or not)."""
    return (
        record(kind, record_id),
        record(kind, None),
        *per_locale(SEARCH, locales),
        *per_locale(CHANGES, locales),
    )


def of_change(
    entity: str, entity_id: int, locale: str | None, locales: Sequence[str]
) -> tuple[str, ...]:
    """The tags of a change-log entry (``locale``: a review entry's; None for records)."""
    if entity == "review":
        return of_review(entity_id, locale or locales[0], locales[0])
    if entity in ("compound", "condition"):
        return of_record(entity, entity_id, locales)
    if entity == "evidence":
        return (record("evidence", entity_id),)
    return (PUBLISHER,)
