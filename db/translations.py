"""A page's locales: which of them a reader gets, and which translations are behind.

Both worlds share these shapes (``review`` for editors, ``public_review`` for readers;
``served`` names the column of the revision each serves): a review is one page in one
locale, the pages of one (compound, condition, kind) are its translations, and a
translation records the default locale's revision it was made from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, and_, case, cast, or_, select
from sqlalchemy.orm import Session

from config import get_settings
from db.engine import key_lookup
from db.tables import PUBLIC_REVIEW, REVIEW, REVIEW_REVISION

# What a revision says besides its sections (the text a translation is made from).
TEXT_COLUMNS = ("title", "byline", "notice", "description")
# Each world's table and the column naming the revision it serves.
WORLDS = {"public": (PUBLIC_REVIEW, "revision_id"), "working": (REVIEW, "published_revision_id")}


def _rank(column: Any, chain: list[str]) -> Any:
    return case({tag: i for i, tag in enumerate(chain)}, value=column, else_=len(chain))


def in_locales(table: Any, chain: list[str]) -> Any:
    """Each page once, in the first locale of ``chain`` it has a row of ``table`` in."""
    if len(chain) == 1:
        return table.c.locale == chain[0]
    better = table.alias("better_locale")
    found = (
        select(better.c.id)
        .where(
            better.c.compound_id == table.c.compound_id,
            better.c.condition_id == table.c.condition_id,
            better.c.kind == table.c.kind,
            _rank(better.c.locale, chain) < _rank(table.c.locale, chain),
        )
        .exists()
    )
    return and_(table.c.locale.in_(chain), ~found)


def behind(world: str) -> Any:
    """A translation whose source page has since been approved with other text: the
    default locale's published revision is another one, with another title, byline,
    notice, description or sections (compared as stored: both written the same way)."""
    table, served = WORLDS[world]
    source = table.alias("source_review")
    made_from = REVIEW_REVISION.alias("made_from")
    source_now = REVIEW_REVISION.alias("source_now")
    return and_(
        table.c.source_revision_id.is_not(None),
        select(source.c.id)
        .join(source_now, source_now.c.id == source.c[served])
        .join(made_from, made_from.c.id == table.c.source_revision_id)
        .where(
            source.c.compound_id == table.c.compound_id,
            source.c.condition_id == table.c.condition_id,
            source.c.kind == table.c.kind,
            source.c.locale == get_settings().default_locale,
            source_now.c.id != made_from.c.id,
            or_(
                *(source_now.c[c] != made_from.c[c] for c in TEXT_COLUMNS),
                cast(source_now.c.sections, Text) != cast(made_from.c.sections, Text),
            ),
        )
        .exists(),
    )


@key_lookup
def behind_by_ids(session: Session, world: str, ids: Sequence[int]) -> dict[int, bool]:
    """Which of these reviews (of ``world``) are translations behind their source."""
    table, _ = WORLDS[world]
    q = select(table.c.id).where(table.c.id.in_(list(ids)), behind(world))
    late = set(session.execute(q).scalars())
    return {i: i in late for i in ids}


@key_lookup
def by_pairs(
    session: Session, world: str, keys: Sequence[tuple[int, int, str]]
) -> dict[tuple[int, int, str], list[Any]]:
    """The reviews (of ``world``) of each (compound id, condition id, kind), one per
    locale, in locale order: a page's translations."""
    table, _ = WORLDS[world]
    wanted = set(keys)
    q = select(table).where(table.c.compound_id.in_({c for c, _, _ in wanted}))
    out: dict[tuple[int, int, str], list[Any]] = {}
    for row in session.execute(q.order_by(table.c.locale)):
        key = (row.compound_id, row.condition_id, str(row.kind))
        if key in wanted:
            out.setdefault(key, []).append(row)
    return out
