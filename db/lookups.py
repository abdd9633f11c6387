"""Prebuilt key lookups: the statements a DataLoader runs on every request, built once.

Building a ``select`` for each call, and an ``IN`` list the driver must expand,
costs several times what SQLite needs to answer it (bench: 100 µs against 22 µs
for one row). A ``Lookup`` holds two prepared statements over one key column:
equality for the common single key, an expanding ``IN`` for a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam
from sqlalchemy.orm import Session


class Lookup:
    """``query`` restricted to rows whose ``column`` is one of the keys asked for."""

    def __init__(self, query: Select[Any], column: Any):
        self.one = query.where(column == bindparam("key"))
        self.many = query.where(column.in_(bindparam("keys", expanding=True)))

    def rows(self, session: Session, keys: Sequence[Any]) -> list[Any]:
        connection = session.connection()
        if len(keys) == 1:
            return list(connection.execute(self.one, {"key": keys[0]}))
        return list(connection.execute(self.many, {"keys": list(keys)}))
