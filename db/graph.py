"""The content graph's statement shapes: pages of reviews under many parents, and
related reviews, each in a fixed number of statements whatever the number of parents.

The world is the caller's: ``db/public.py`` applies them to the published read model
(readers), ``db/queries.py`` to the working copy (editors). Both shapes number rows
with ROW_NUMBER() OVER (PARTITION BY parent ...), which SQLite and PostgreSQL share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from db.pagination import EMPTY, Order, Page, keyset_after


def _direction(order: Order) -> Any:
    return (lambda c: c.desc()) if order.descending else (lambda c: c.asc())


def pages_by_parent(
    session: Session,
    query: Select[Any],
    order: Order,
    id_col: Any,
    parent_col: Any,
    parents: Sequence[int],
    first: int,
    after: list[Any] | None,
) -> dict[int, Page]:
    """The same page of ``query`` for each parent (the rows whose ``parent_col`` is it), in
    two statements whatever the number of parents: the totals grouped by parent, and every
    parent's first ``first + 1`` rows numbered in one window."""
    pages = dict.fromkeys(parents, EMPTY)
    scoped = query.where(parent_col.in_(sorted(set(parents))))
    counted = scoped.with_only_columns(parent_col.label("graph_parent"), id_col).subquery()
    totals: dict[int, int] = {
        parent: int(total)
        for parent, total in session.execute(
            select(counted.c.graph_parent, func.count()).group_by(counted.c.graph_parent)
        )
    }
    if not totals:
        return pages
    direction = _direction(order)
    rank = func.row_number().over(
        partition_by=parent_col, order_by=(direction(order.column), direction(id_col))
    )
    paged = scoped if after is None else scoped.where(keyset_after(order, after, id_col))
    # Ranked by keys only (read off the parent's index), then the rows of the first ranks.
    ranked = paged.with_only_columns(
        id_col.label("graph_id"), parent_col.label("graph_parent"), rank.label("graph_rank")
    ).subquery()
    rows: dict[int, list[Any]] = {}
    for row in session.execute(
        query.join(ranked, ranked.c.graph_id == id_col)
        .add_columns(ranked.c.graph_parent, ranked.c.graph_rank)
        .where(ranked.c.graph_rank <= first + 1)
        .order_by(ranked.c.graph_parent, ranked.c.graph_rank)
    ):
        rows.setdefault(row.graph_parent, []).append(row)
    for parent, total in totals.items():
        found = rows.get(parent, [])
        pages[parent] = Page(rows=found[:first], total=total, has_next=len(found) > first)
    return pages


def related_rows(
    session: Session,
    table: Any,
    sources: Sequence[int],
    first: int,
    candidates: Any = None,
) -> dict[int, list[Any]]:
    """For each source row of ``table``, at most ``first`` other rows of it (``candidates``
    only) sharing its compound or its condition, in one statement. The order (README
    "Hub pages"): those sharing the compound before those sharing the condition; then
    condition-specific research (SPECIFIC) before LIMITED; then the most recently
    published first; then by id. Related pages are in the source's locale."""
    source = table.alias("graph_source")
    same_compound = table.c.compound_id == source.c.compound_id
    rank = func.row_number().over(
        partition_by=source.c.id,
        order_by=(
            case((same_compound, 0), else_=1),
            case((table.c.research == "SPECIFIC", 0), else_=1),
            table.c.published_at.desc(),
            table.c.id,
        ),
    )
    shared = and_(
        table.c.id != source.c.id,
        table.c.locale == source.c.locale,
        or_(same_compound, table.c.condition_id == source.c.condition_id),
    )
    # Ranked by keys only, then the rows of the first ranks.
    ranked = (
        select(
            table.c.id.label("graph_id"),
            source.c.id.label("graph_parent"),
            rank.label("graph_rank"),
        )
        .select_from(source.join(table, shared))
        .where(source.c.id.in_(sorted(set(sources))), *([] if candidates is None else [candidates]))
        .subquery()
    )
    out: dict[int, list[Any]] = {s: [] for s in sources}
    for row in session.execute(
        select(table, ranked.c.graph_parent, ranked.c.graph_rank)
        .join(ranked, ranked.c.graph_id == table.c.id)
        .where(ranked.c.graph_rank <= first)
        .order_by(ranked.c.graph_parent, ranked.c.graph_rank)
    ):
        out[row.graph_parent].append(row)
    return out
