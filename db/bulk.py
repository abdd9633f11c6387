"""Bulk inserts that need the new rows' ids.

``INSERT ... RETURNING`` with many rows is one statement per batch, unless the ids
must come back in the order of the rows (``sort_by_parameter_order``): SQLite cannot
promise that order, so SQLAlchemy then inserts one row per statement (200,000
statements to publish 200,000 reviews). Rows of a batch are told apart by a unique key
instead, returned beside the id: any order will do.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from db.engine import BULK_CACHE, BULK_CACHE_KIB, to_json


def insert_ids(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str]
) -> dict[Any, int]:
    """Insert ``rows`` (all with the same columns); the id of each by its ``key`` (one
    column: its value; several: a tuple of them). The key must be unique among the rows.

    PostgreSQL: one statement over ``unnest`` of an array per column. (SQLAlchemy's
    batched ``VALUES`` for 1,000 reviews has 20,000 placeholders, and psycopg parses a
    statement that long anew for each batch: 0.1 s per 1,000 reviews generated.)"""
    if not rows:
        return {}
    dialect = session.get_bind().dialect
    columns = [table.c[name] for name in key]
    if dialect.name == "postgresql":
        inserted = [table.c[name] for name in rows[0]]
        quote = dialect.identifier_preparer.quote
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in inserted)}) "
            f"SELECT * FROM {_unnest(dialect, inserted)} "
            f"RETURNING id, {', '.join(quote(k) for k in key)}"
        )
        values = _driver_values(dialect, inserted, rows)
        arrays = tuple(list(column) for column in zip(*values, strict=True))
        result: Any = session.connection().exec_driver_sql(_driver_sql(session, sql), arrays)
    else:
        result = session.execute(insert(table).returning(table.c.id, *columns), list(rows))
    if len(columns) == 1:
        return {row[1]: row[0] for row in result}
    return {tuple(row[1:]): row[0] for row in result}


def db_value(dialect: Dialect, column: Column[Any], value: Any) -> Any:
    """``value`` as the driver gets it for ``column`` (its type's bind processing done
    once): for a constant of a statement sent to the driver as it is."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value


def placeholders(dialect: Dialect) -> tuple[str, str]:
    """The placeholder of a value, and of a JSON value given as its text, in a statement
    sent to the driver as it is (written with ``?``: ``send`` turns them into the
    driver's own)."""
    if dialect.name == "sqlite":
        return "?", "?"
    return "?", "CAST(? AS JSON)"


def typed(dialect: Dialect, sql_type: str) -> str:
    """The placeholder of a value whose type nothing around it says (a VALUES list, a
    SELECT list): PostgreSQL is told (asyncpg would take it for text), SQLite needs not
    (a CAST there would change the value's affinity)."""
    return "?" if dialect.name == "sqlite" else f"CAST(? AS {sql_type})"


def _driver_sql(session: Session, sql: str) -> str:
    """``sql`` written with ``?`` placeholders in the driver's own paramstyle."""
    style = session.get_bind().dialect.paramstyle
    if style in ("format", "pyformat"):  # psycopg
        return sql.replace("?", "%s")
    if style == "numeric_dollar":  # asyncpg
        numbers = itertools.count(1)
        return re.sub(r"\?", lambda _: f"${next(numbers)}", sql)
    if style != "qmark":
        raise NotImplementedError(f"paramstyle {style}")
    return sql


def send(session: Session, sql: str, params: Any) -> None:
    """Execute ``sql`` (``?`` placeholders, no other ``?`` or ``%``) through the driver
    as it is: one row of parameters, or an executemany of a list of them."""
    session.connection().exec_driver_sql(_driver_sql(session, sql), params)


def send_plain_rows(
    session: Session, table: Table, names: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` of driver values (JSON as its text) into ``names`` of ``table``:
    one executemany; through psycopg, a COPY (PostgreSQL parses each JSON text as the
    INSERT would). psycopg sends an executemany as a pipeline of one prepared statement
    per row: for the 8,000 sections of 1,000 generated reviews, 0.18 s against 0.10 s
    by COPY, and more than twice the client's CPU."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    target = f"{quote(table.name)} ({', '.join(quote(n) for n in names)})"
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        cursor = session.connection().connection.cursor()  # (the DB-API cursor)
        try:
            with cursor.copy(f"COPY {target} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    ph, json_ph = placeholders(dialect)
    values = ", ".join(json_ph if isinstance(table.c[n].type, JSON) else ph for n in names)
    send(session, f"INSERT INTO {target} VALUES ({values})", rows)


def fetch(session: Session, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of a SELECT (written as for ``send``) as the driver returns them: no
    per-row processing of SQLAlchemy's (for reads of many thousands of rows)."""
    cursor = session.connection().connection.cursor()  # (the DB-API cursor)
    try:
        cursor.execute(_driver_sql(session, sql), tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def send_rows(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    upsert: bool = False,
    keys: Sequence[str] = ("id",),
) -> None:
    """INSERT ``rows`` (all with the same keys, none twice) sent to the driver as it is:
    one executemany; an upsert on PostgreSQL, one statement over ``unnest`` of an array
    per column (the approved copies' statement triggers then run once for all the rows,
    in their order). Each column's values processed as SQLAlchemy would, a value
    repeated from the row before (the clock) processed once. ``upsert``: ON CONFLICT (id)
    DO UPDATE the other columns (an update fires the UPDATE triggers, never a DELETE then
    INSERT); ``keys``: the conflict target (default the primary key ``id``)."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    ph, json_ph = placeholders(dialect)
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    quote = dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
    arrays = upsert and dialect.name == "postgresql"
    if arrays:
        # One statement for all the rows, each column an array parameter: one statement
        # trigger call for the batch, not one per row. (Plain inserts, of fact versions,
        # fire no trigger: their executemany is faster than an array of large JSON texts.)
        sql += "SELECT * FROM " + _unnest(dialect, columns)
    else:
        sql += (
            "VALUES ("
            + ", ".join(json_ph if isinstance(c.type, JSON) else ph for c in columns)
            + ")"
        )
    if upsert:
        target = ", ".join(quote(k) for k in keys)
        sql += f" ON CONFLICT ({target}) DO UPDATE SET " + ", ".join(
            f"{quote(n)} = excluded.{quote(n)}" for n in names if n not in keys
        )
    out = _driver_values(dialect, columns, rows)
    if arrays:
        send(session, sql, tuple(list(column) for column in zip(*out, strict=True)))
    else:
        send(session, sql, out)


def _driver_values(
    dialect: Dialect, columns: list[Column[Any]], rows: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Each row's values as the driver takes them: each column's processed as SQLAlchemy
    would, a value repeated from the row before (the clock) processed once."""
    names = [c.name for c in columns]
    processors = [
        to_json
        if isinstance(c.type, JSON)
        else c.type.dialect_impl(dialect).bind_processor(dialect)
        for c in columns
    ]
    last: list[Any] = [object()] * len(names)
    done: list[Any] = [None] * len(names)
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = []
        for i, name in enumerate(names):
            value = row[name]
            process = processors[i]
            if process is None or value is None:
                values.append(value)
                continue
            if value is not last[i]:
                last[i], done[i] = value, process(value)
            values.append(done[i])
        out.append(tuple(values))
    return out


def _unnest(dialect: Dialect, columns: list[Column[Any]]) -> str:
    """PostgreSQL: the rows of one array parameter per column."""
    return "unnest(" + ", ".join(_array(dialect, c) for c in columns) + ")"


def _array(dialect: Dialect, column: Column[Any]) -> str:
    """The placeholder of an array of ``column``'s values (strings as text: a cast to
    VARCHAR(n) would cut a value short; the insert's own cast rejects it)."""
    if isinstance(column.type, JSON):
        sql_type = "JSON"
    elif isinstance(column.type, String):
        sql_type = "TEXT"
    else:
        sql_type = column.type.compile(dialect=dialect)
    return f"CAST(? AS {sql_type}[])"


def bulk_settings(session: Session) -> None:
    """PostgreSQL, for the rest of this transaction only: no JIT compilation, and lz4 for
    the values it compresses (TOAST), where the server has it. SQLite: a 64 MB page
    cache until the connection goes back to the pool.

    A batch's statements are many small lookups that estimates of freshly loaded tables
    (not yet analyzed) price as huge: compiling them took 0.4 s per statement, running
    them 0.07 s. A revision's sections (5 KB) are compressed when stored: pglz took three
    times as long as lz4 for the same size. Readers read either the same."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT set_config('jit', 'off', true), (SELECT set_config("
                "'default_toast_compression', 'lz4', true) FROM pg_settings WHERE name = "
                "'default_toast_compression' AND 'lz4' = ANY(enumvals))"
            )
        )
    else:
        # A larger page cache until the connection returns to the pool (db/engine.py).
        connection = session.connection()
        connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        connection.connection.info[BULK_CACHE] = True


def among(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values`` for a batch's many values: on PostgreSQL ``= ANY`` of one
    array parameter, so the statement's text stays the same whatever the batch (short,
    parsed once by the driver, prepared once by the server) instead of a placeholder per
    value; SQLite: ``IN`` the values of one JSON array (``json_each``), probing the
    column's index for each as ``IN (?, ?, ...)`` does. SQLAlchemy then neither coerces
    nor renders a parameter per value: publishing 20,000 reviews took 5.1 s against
    5.6 s (four runs each, alternated; the statements themselves the same speed)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(
        select(literal_column("value")).select_from(
            func.json_each(bindparam(None, json.dumps(list(values)), type_=String))
        )
    )
