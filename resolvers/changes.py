"""Delta sync for mobile apps: the change feed of the published catalog.

The database writes the log itself (triggers on the published read model's tables,
see the published_read_model migration): an approval is an UPSERT, a working-copy
edit logs nothing. This reads a page of it. The feed describes what anonymous
readers see, whoever asks: nodes are always the approved copies and the published
revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config import locale_tag
from db.changes import changes_after
from db.pagination import encode_position
from resolvers import tags
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.records import CompoundRecord, ConditionRecord
from resolvers.relay import check_first, feed_position, to_global_id
from resolvers.reviews import public_views

TYPE_NAMES = {"review": "Review", "compound": "Compound", "condition": "Condition"}


@dataclass(slots=True)
class Change:
    op: str  # UPSERT or DELETE
    entity: str  # review, compound or condition
    id: str  # global id
    slug: str
    cursor: str
    # A review entry's locale (the feed's); None for records.
    locale: str | None = None
    # A compound's or condition's approved record, or a review's published view; None for
    # DELETE.
    node: Any = None


@dataclass(slots=True)
class Feed:
    changes: list[Change]
    cursor: str
    has_more: bool


async def changes(ctx: Context, since: str | None, first: int, locale: str | None) -> Feed:
    """A page of ``locale``'s feed (default: the default locale's): its review entries and
    every record entry."""
    check_first(first, ctx.settings.max_page_size)
    locale = feed_locale(ctx, locale)
    # Any new entry of this locale's feed changes the answer (see the response cache).
    ctx.depends(*tags.per_locale(tags.CHANGES, locale))
    position = feed_position(since)
    rows, has_more = await ctx.db(changes_after, position, first, locale)
    if not rows:
        return Feed([], encode_position(position), has_more)
    # Several entries for one record within the page: only the last one matters. The slug
    # is part of the key: SQLite reuses the id of a deleted newest row, and the tombstone
    # of the old record must not be collapsed into the new one's upsert.
    last: dict[tuple[str, int, str], Any] = {}
    for row in rows:
        last[(str(row.entity), row.entity_id, row.slug)] = row
    entries = sorted(last.values(), key=lambda r: r.id)
    nodes = await _nodes(ctx, [r for r in entries if str(r.op) == "UPSERT"])
    out = []
    for r in entries:
        entity = str(r.entity)
        node = nodes.get((entity, r.entity_id, r.slug))
        # An upsert whose record has since been deleted or unpublished (a later page
        # says so too) is already a deletion for the client.
        out.append(
            Change(
                op="UPSERT" if node is not None else "DELETE",
                entity=entity,
                id=to_global_id(TYPE_NAMES[entity], r.entity_id),
                slug=r.slug,
                cursor=encode_position(r.id),
                locale=r.locale,
                node=node,
            )
        )
    return Feed(out, encode_position(rows[-1].id), has_more)


def feed_locale(ctx: Context, locale: str | None) -> str:
    """The configured locale ``locale`` names (any case), the default one for None;
    BAD_USER_INPUT otherwise."""
    if locale is None:
        return str(ctx.settings.default_locale)
    try:
        tag = locale_tag(locale)
    except ValueError as exc:
        raise BadUserInput(str(exc), argument="locale") from None
    if tag not in ctx.settings.locales:
        configured = ", ".join(ctx.settings.locales)
        raise BadUserInput(
            f"unknown locale '{tag}' (configured: {configured})", argument="locale"
        ) from None
    return tag


async def _nodes(ctx: Context, upserts: list[Any]) -> dict[tuple[str, int, str], Any]:
    """The approved state of the upserted records (what readers get, whoever asks), in a
    fixed number of batched loads whatever the page size."""
    ids: dict[str, list[int]] = {entity: [] for entity in TYPE_NAMES}
    for r in upserts:
        ids[str(r.entity)].append(r.entity_id)
    reviews = [
        r for r in await ctx.loaders.public_review_by_id.load_many(ids["review"]) if r is not None
    ]
    compounds = await ctx.loaders.approved_compound_by_id.load_many(ids["compound"])
    conditions = await ctx.loaders.approved_condition_by_id.load_many(ids["condition"])
    views = public_views(ctx, reviews)
    # Keyed by slug too: a reused id may name another record now (see above).
    out: dict[tuple[str, int, str], Any] = {}
    for version in compounds:
        if version is not None:
            compound = CompoundRecord.snapshot(version)
            out[("compound", compound.id, compound.slug)] = compound
    for version in conditions:
        if version is not None:
            condition = ConditionRecord.snapshot(version)
            out[("condition", condition.id, condition.slug)] = condition
    for view in views:
        out[("review", view.row.id, view.row.slug)] = view
    return out
