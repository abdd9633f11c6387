"""The SQL behind one request of the scale benchmark (bench/scale.py), timed and explained."""

from __future__ import annotations

import asyncio
import random
import re
import time
import warnings
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from config import Settings
from db.engine import make_engine
from server.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # (Starlette's notice about TestClient on httpx)
    from starlette.testclient import TestClient

from bench.scale_build import Catalog, percentile
from bench.scale_load import HEADERS, payloads


@dataclass
class Statement:
    sql: str
    ms: float  # median execution time, re-run alone on the database
    plan: list[str]


def request_sql(cat: Catalog, body: bytes) -> list[tuple[str, Any]]:
    """The statements one request runs: the real app, in process (Starlette's TestClient),
    on the catalog's database, with a listener on its engine. The second of two identical
    requests is the one recorded (the first fills per-process caches, as warm-up does)."""
    settings = Settings(
        database_url=cat.url,
        response_cache=False,
        rate_limit_anonymous=100_000_000,
        budget_anonymous=1_000_000_000,
        budget_anonymous_restore_rate=1_000_000_000,
    )
    app = create_app(settings)
    statements: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    with warnings.catch_warnings(), TestClient(app) as client:
        warnings.simplefilter("ignore")
        client.post("/graphql", content=body, headers=HEADERS)
        engine = app.state.compendium.database.sync_engine
        event.listen(engine, "before_cursor_execute", before)
        response = client.post("/graphql", content=body, headers=HEADERS)
        event.remove(engine, "before_cursor_execute", before)
    if response.status_code != 200 or "errors" in response.json():
        raise SystemExit(f"{cat.label}: {response.text[:500]}")
    return [
        (sql, params)
        for sql, params in statements
        if sql.lstrip().upper().startswith(("SELECT", "WITH"))
    ]


def time_statements(url: str, statements: list[tuple[str, Any]], repeat: int) -> list[Statement]:
    """Each statement re-run alone `repeat` times (median) and its plan: EXPLAIN QUERY PLAN
    on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL (through asyncpg, the server's
    driver, with the very parameters the server sent)."""
    out: list[Statement] = []
    if make_url(url).get_backend_name() == "sqlite":
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                for sql, params in statements:
                    times = []
                    for _ in range(repeat):
                        t0 = time.perf_counter()
                        conn.exec_driver_sql(sql, params).all()
                        times.append((time.perf_counter() - t0) * 1000)
                    plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
                    out.append(Statement(sql, percentile(times, 50), [str(r[-1]) for r in plan]))
        finally:
            engine.dispose()
        return out

    async def run() -> None:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            for sql, params in statements:
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    await conn.fetch(sql, *params)
                    times.append((time.perf_counter() - t0) * 1000)
                plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
                out.append(Statement(sql, percentile(times, 50), [r[0] for r in plan]))
        finally:
            await conn.close()

    asyncio.run(run())
    return out


def short_sql(sql: str) -> str:
    """A statement on one line, its long column list elided."""
    sql = " ".join(sql.split())
    sql = re.sub(r"^SELECT (\w+)\.id, \1\.\w+, .*? FROM ", r"SELECT \1.* FROM ", sql)
    return sql


def explain(demo: Catalog, big: Catalog, kinds: list[str], repeat: int = 20) -> None:
    """Per request kind: the SQL one request runs on each catalog (statements with the same
    text grouped: how many, and their summed median times), and the plans on the big
    catalog: always for the list's count and page, for any statement slower there."""
    rng = random.Random(3)
    print(
        f"\nSQL per request (recorded from the app in process; each statement re-run alone, "
        f"median of {repeat}; summed per statement text; ms demo -> big):"
    )
    for kind in kinds:
        grouped: dict[str, dict[str, list[Statement]]] = {}
        totals = {}
        for cat in (demo, big):
            body = payloads(cat, kind, 1, rng)[0]
            timed = time_statements(cat.url, request_sql(cat, body), repeat)
            totals[cat.label] = (len(timed), sum(x.ms for x in timed))
            for st in timed:
                grouped.setdefault(short_sql(st.sql), {"demo": [], "big": []})[cat.label].append(st)
        (n_d, ms_d), (n_b, ms_b) = totals["demo"], totals["big"]
        print(
            f"{kind}: {n_d} -> {n_b} statements, {ms_d:.2f} -> {ms_b:.2f} ms "
            f"({ms_b / ms_d if ms_d else 0:.2f}x)"
        )
        for sql, by in grouped.items():
            d_ms, b_ms = sum(x.ms for x in by["demo"]), sum(x.ms for x in by["big"])
            count = f"{len(by['demo'])}/{len(by['big'])}x"
            print(f"  {count:>7} {d_ms:7.2f} -> {b_ms:7.2f} ms  {sql}")
            slowest = max(by["big"], key=lambda x: x.ms, default=None)
            listing = kind == "list" and ("count(" in sql or "ORDER BY" in sql)
            if slowest and (listing or (b_ms > 1.5 * d_ms and b_ms - d_ms > 0.2)):
                print("\n".join(f"            | {line}" for line in slowest.plan))
