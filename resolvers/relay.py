"""Relay plumbing: global ids, opaque cursors, page-size limits."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from resolvers.errors import BadUserInput

NODE_TYPES = ("Compound", "Condition", "Review")
MAX_KEY = 2**31 - 1


def to_global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def from_global_id(gid: str) -> tuple[str, int] | None:
    """The (type, primary key) of a global id, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode()
        type_name, pk = raw.split(":", 1)
        # (Keys are 32-bit integers: anything longer is no record of ours.)
        if type_name in NODE_TYPES and pk.isascii() and pk.isdigit() and int(pk) <= MAX_KEY:
            return type_name, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    return None


def encode_cursor(order: str, value: Any, pk: int) -> str:
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    blob = json.dumps([order, value, pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(blob.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, order: str, kind: str = "str") -> list[Any] | None:
    """The keyset [value, id] of a cursor made for the same ordering.

    ``kind`` is what the ordering's values are (``str``, ``datetime`` or ``int``): a
    forged cursor with another kind of value, or an id past the key range, is refused
    here rather than reaching the database."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, value, pk = json.loads(raw)
        if (
            name == order
            and isinstance(pk, int)
            and not isinstance(pk, bool)
            and 0 <= pk <= MAX_KEY
            and _value_fits(value, kind)
        ):
            return [value, pk]
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError):
        pass
    raise BadUserInput(
        "`after` is not a cursor of this list (cursors are only valid with the same orderBy)",
        argument="after",
    )


def _value_fits(value: Any, kind: str) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_KEY
    if not isinstance(value, str) or len(value) > 1000 or "\x00" in value:
        return False
    if kind == "datetime":
        from datetime import UTC, datetime

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


def order_kind(column: Any) -> str:
    """The kind of values an ordering's cursors carry."""
    from sqlalchemy import DateTime, Integer

    column_type = getattr(column, "type", None)
    if (
        isinstance(column_type, DateTime)
        or getattr(column_type, "impl", None).__class__ is DateTime
    ):
        return "datetime"
    if isinstance(column_type, Integer):
        return "int"
    return "str"


def check_first(first: int, limit: int) -> int:
    if first < 0:
        raise BadUserInput("`first` must not be negative", argument="first")
    if first > limit:
        raise BadUserInput(
            f"`first` must be at most {limit} (got {first}); page with `after`",
            argument="first",
            limit=limit,
        )
    return first
