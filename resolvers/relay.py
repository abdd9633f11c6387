"""Relay plumbing: global ids, cursors as API errors, page-size limits."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from db.pagination import (
    MAX_KEY,
    InvalidCursor,
    Order,
    Page,
    decode_cursor,
    decode_position,
    encode_cursor,
)
from resolvers.errors import BadUserInput

NODE_TYPES = ("Compound", "Condition", "Evidence", "Review")

T = TypeVar("T")


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A page of a list, ready for a Relay connection: each item with its cursor."""

    edges: list[tuple[str, T]]
    has_next: bool
    total: int


def listing(page: Page, order_name: str, order: Order, items: Sequence[T]) -> Listing[T]:
    """``items`` (one per row of ``page``, in order) with the cursors of their rows."""
    return Listing(
        [
            (encode_cursor(order_name, order, row), item)
            for row, item in zip(page.rows, items, strict=True)
        ],
        page.has_next,
        page.total,
    )


def empty() -> Listing[Any]:
    return Listing([], False, 0)


def to_global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def from_global_id(gid: str, types: tuple[str, ...] = NODE_TYPES) -> tuple[str, int] | None:
    """The (type, primary key) of a global id of one of ``types`` (by default the
    Node types), or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode()
        type_name, pk = raw.split(":", 1)
        # (Keys are 32-bit integers: anything longer is no record of ours.)
        if type_name in types and pk.isascii() and pk.isdigit() and int(pk) <= MAX_KEY:
            return type_name, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    return None


def keyset(after: str | None, order_name: str, order: Order) -> list[Any] | None:
    """The keyset of an `after` cursor of this list, or BAD_USER_INPUT."""
    try:
        return decode_cursor(after, order_name, order)
    except InvalidCursor:
        raise BadUserInput(
            "`after` is not a cursor of this list (cursors are only valid with the same orderBy)",
            argument="after",
        ) from None


def feed_position(since: str | None) -> int:
    """The change-feed position of a `since` cursor, or BAD_USER_INPUT."""
    try:
        return decode_position(since)
    except InvalidCursor:
        raise BadUserInput(
            "`since` is not a cursor of the change feed (pass a `cursor` it returned, or null "
            "to start from the beginning)",
            argument="since",
        ) from None


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
