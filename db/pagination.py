"""Keyset pagination and its cursors, for every list of the API.

An ``Order`` names a sort column, its direction and the *kind* of its values
(text, an instant, an integer), so a cursor can be checked before it reaches the
database: a forged one with another kind of value is refused, never compared.

A list cursor is base64url JSON ``[order, value, id]``; a change-feed cursor is
``change:<position>``. Both are opaque to clients.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

# Keys and feed positions are 32-bit integers: anything larger is no row of ours.
MAX_KEY = 2**31 - 1


class Kind(enum.StrEnum):
    """What an ordering's values are."""

    TEXT = "text"
    INSTANT = "instant"
    INT = "int"


@dataclass(frozen=True, slots=True)
class Order:
    """A sort: the row attribute holding the value, the column, direction and value kind."""

    name: str
    column: Any
    descending: bool
    kind: Kind = Kind.TEXT


@dataclass(slots=True)
class Page:
    rows: list[Any]
    total: int
    has_next: bool


EMPTY = Page(rows=[], total=0, has_next=False)


class InvalidCursor(ValueError):
    """A cursor this list did not make (another ordering, or forged)."""


def keyset_after(order: Order, key: list[Any], id_col: Any) -> Any:
    value, last_id = key
    if order.kind is Kind.INSTANT:
        value = datetime.fromisoformat(value)
    col = order.column
    if order.descending:
        return or_(col < value, and_(col == value, id_col < last_id))
    return or_(col > value, and_(col == value, id_col > last_id))


def page(
    session: Session,
    query: Select[Any],
    order: Order,
    id_col: Any,
    first: int,
    after: list[Any] | None,
) -> Page:
    """One page of ``query`` in ``order``, after the keyset ``after`` (from a cursor)."""
    # Two statements: an index-only count of the filtered list, and the page itself
    # read in index order with LIMIT (a window count would materialise every row).
    total_q = select(func.count()).select_from(query.with_only_columns(id_col).subquery())
    total = int(session.execute(total_q).scalar() or 0)
    if total == 0:
        return EMPTY
    paged = query if after is None else query.where(keyset_after(order, after, id_col))
    direction = (lambda c: c.desc()) if order.descending else (lambda c: c.asc())
    paged = paged.order_by(direction(order.column), direction(id_col)).limit(first + 1)
    rows = list(session.execute(paged).all())
    return Page(rows=rows[:first], total=total, has_next=len(rows) > first)


# --- cursors -------------------------------------------------------------------------------


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _unb64(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def encode_cursor(order_name: str, order: Order, row: Any) -> str:
    """The cursor of a row of a page in the ordering called ``order_name``."""
    return encode_keyset(order_name, getattr(row, order.name), row.id)


def encode_keyset(order_name: str, value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return _b64(json.dumps([order_name, value, pk], separators=(",", ":")))


def decode_cursor(cursor: str | None, order_name: str, order: Order) -> list[Any] | None:
    """The keyset [value, id] of a cursor made for the same ordering; None for no cursor."""
    if cursor is None:
        return None
    try:
        name, value, pk = json.loads(_unb64(cursor))
        if name == order_name and _is_key(pk) and _fits(value, order.kind):
            return [value, pk]
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError):
        pass
    raise InvalidCursor(cursor)


def encode_position(position: int) -> str:
    """A change-feed cursor."""
    return _b64(f"change:{position}")


def decode_position(cursor: str | None) -> int:
    """The feed position of a change-feed cursor; 0 (the start) for none."""
    if cursor is None:
        return 0
    try:
        kind, _, digits = _unb64(cursor).decode().partition(":")
        if kind == "change" and digits.isascii() and digits.isdigit():
            position = int(digits)
            if position <= MAX_KEY:
                return position
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidCursor(cursor)


def _is_key(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_KEY


def _fits(value: Any, kind: Kind) -> bool:
    if kind is Kind.INT:
        return _is_key(value)
    if not isinstance(value, str) or len(value) > 1000 or "\x00" in value:
        return False
    if kind is Kind.INSTANT:
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                parsed.astimezone(UTC)  # the calendar's edges have no UTC equivalent
        except (ValueError, OverflowError):
            return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
