"""Relay plumbing: global ids, opaque cursors, page-size limits."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from resolvers.errors import BadUserInput

NODE_TYPES = ("Compound", "Condition", "Review")


def to_global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def from_global_id(gid: str) -> tuple[str, int] | None:
    """The (type, primary key) of a global id, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode()
        type_name, pk = raw.split(":", 1)
        if type_name in NODE_TYPES and pk.isdigit():
            return type_name, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    return None


def encode_cursor(order: str, value: Any, pk: int) -> str:
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    blob = json.dumps([order, value, pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(blob.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, order: str) -> list[Any] | None:
    """The keyset [value, id] of a cursor made for the same ordering."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, value, pk = json.loads(raw)
        if name == order and isinstance(pk, int) and isinstance(value, (str, int, float)):
            return [value, pk]
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        pass
    raise BadUserInput(
        "`after` is not a cursor of this list (cursors are only valid with the same orderBy)",
        argument="after",
    )


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
