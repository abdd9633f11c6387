"""Scale benchmark: 1,000 compounds x 200 conditions (200,000 reviews) against the demo catalog.

For each backend (SQLite in a temporary file, PostgreSQL in a fresh database that is
dropped at the end) it builds two catalogs with the real command line:

* the demo catalog (`compendium demo`: 576 reviews), the baseline of the same run;
* a synthetic one of COMPOUNDS x CONDITIONS (the catalog of bench/generate.py):
  `compendium db upgrade`, `compendium import` of a generated JSON file, `compendium
  generate` (worker processes), then every review published (db.publishing, in batches).

It prints import, generation and publishing times and the database size, then starts
`compendium serve` (one worker, response cache off so every request executes, no rate
limit) on each catalog and loads both alternately, round after round, with a fixed number
of requests from 8 concurrent clients (httpx, loopback): a review page by a random slug,
a filtered list (`reviews(first: 20, filter: {condition: [random], research: LIMITED},
orderBy: UPDATED_AT_DESC)`) and a search. It prints p50/p99 for each, the ratio big/demo,
the servers' resident memory (peak while loaded, and after), the SQL one request of each
kind runs on both catalogs (recorded from the app, each statement timed alone, with its
plan where it matters), and the aims, met or not. PostgreSQL gets VACUUM (ANALYZE) after
loading, as autovacuum would; `--keep` leaves the databases for EXPLAIN by hand.

    .venv/bin/python bench/scale.py [--backends sqlite,postgresql] [--compounds 1000]
        [--conditions 200] [--requests 100] [--rounds 10]
        [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/test] [--keep]
        [--no-search] [--no-explain]

A quick try: `--compounds 100 --conditions 20`. The full size takes several minutes per
backend on a small machine.
"""

# ruff: noqa: E402  (sys.path is fixed before the imports: bench/http.py shadows `http`)
from __future__ import annotations

import sys

# bench/http.py would shadow the standard library's `http` package (httpx needs it):
# keep this folder off the import path.
sys.path[:] = [p for p in sys.path if p and not p.rstrip("/").endswith("bench")]

import argparse
import asyncio
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from bench.generate import synthetic
from config import Settings
from db.engine import make_engine, session_scope
from db.models import Compound, Condition, Review, utcnow
from db.publishing import publish_reviews
from server.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # (Starlette's notice about TestClient on httpx)
    from starlette.testclient import TestClient

TEMPLATES = ROOT / "db" / "catalog" / "templates.yaml"
DEMO_REVIEWS = 576
FULL_REVIEWS = 200_000
STEP_TIMEOUT = 3600  # seconds any one CLI step may take

# Aims (production-scale issue, item 5).
AIM_LATENCY_RATIO = 1.2
AIM_RSS_MB = 400
AIM_GENERATION_S = 240
# The speed issue: search within 1.5x of the demo; publishing (or regenerating) every
# review of the full size in under a minute.
AIM_SEARCH_RATIO = 1.5
AIM_PUBLISH_S = 60

REVIEW_QUERY = """query ReviewPage($slug: String!) { review(slug: $slug) { title
  byline { text notice } sections { key heading body(format: HTML) } faq { question answer }
  seo { title description canonicalPath jsonLd } publishedAt lastReviewedAt } }"""
LIST_QUERY = """query ReviewList($condition: String!) { reviews(first: 20,
  filter: {condition: [$condition], research: LIMITED}, orderBy: UPDATED_AT_DESC) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { id slug title research updatedAt compound { name } condition { name } } } } }"""
SEARCH_QUERY = """query Search($q: String!) { search(query: $q, first: 20) { totalCount
  edges { score node { __typename ... on Review { slug title } ... on Compound { slug name }
  ... on Condition { slug name } } } } }"""
HEADERS = {"accept": "application/graphql-response+json", "content-type": "application/json"}


# --- helpers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def rss_kb(pid: int) -> int:
    """Resident memory of a process and its descendants (uvicorn with one worker: itself)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += rss_kb(int(child))
    except OSError:
        pass
    return total


def cli(url: str, *args: str) -> tuple[float, str, int]:
    """Run `compendium ARGS` on the database: (wall seconds, stdout, peak RSS in KB of the
    command and its worker processes together, sampled every 0.2 s)."""

    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env={**os.environ, "COMPENDIUM_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, rss_kb(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, errors = proc.communicate(timeout=STEP_TIMEOUT)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    seconds = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(
            f"compendium {' '.join(args)} failed ({proc.returncode}):\n{errors[-3000:]}"
        )
    return seconds, out, peak


def sqlite_size(url: str) -> int:
    path = make_url(url).database or ""
    return sum(
        Path(path + suffix).stat().st_size
        for suffix in ("", "-wal")
        if Path(path + suffix).exists()
    )


def database_size(url: str) -> int:
    if make_url(url).get_backend_name() == "sqlite":
        return sqlite_size(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            )
    finally:
        engine.dispose()


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:,.0f} MB"


# --- databases ------------------------------------------------------------------------------


class Backend:
    """Fresh databases on one backend, removed by close()."""

    name = ""
    keep = False  # leave the databases in place (for EXPLAIN by hand); say where they are

    def create(self, label: str) -> str:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix="compendium_scale_")

    def create(self, label: str) -> str:
        return f"sqlite:///{self.dir}/{label}.db"

    def close(self) -> None:
        if self.keep:
            print(f"kept the SQLite databases in {self.dir} (remove it when done)")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, server_url: str, keep: bool = False):
        self.keep = keep
        self.server = make_url(server_url)
        # AUTOCOMMIT: CREATE/DROP DATABASE cannot run in a transaction.
        self.admin = create_engine(
            self.server.set(drivername="postgresql+psycopg"),
            isolation_level="AUTOCOMMIT",
            pool_size=1,
        )
        self.prefix = f"compendium_scale_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def create(self, label: str) -> str:
        name = f"{self.prefix}_{label}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url(name)

    def url(self, name: str) -> str:
        return self.server.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        if self.keep:
            print(
                "kept the PostgreSQL databases "
                + ", ".join(self.url(name) for name in self.created)
                + " (DROP DATABASE them when done)"
            )
            self.created = []
        for name in self.created:
            try:
                with self.admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception as exc:  # best effort, but say so
                print(f"could not drop database {name}: {exc}", file=sys.stderr)
        self.admin.dispose()


# --- building -------------------------------------------------------------------------------


@dataclass
class Catalog:
    label: str
    url: str
    reviews: int = 0
    build: dict[str, float] = field(default_factory=dict)
    generate_summary: str = ""
    generate_peak_kb: int = 0
    regenerate_summary: str = ""
    size: int = 0
    slugs: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    search_words: list[str] = field(default_factory=list)
    port: int = 0
    server: subprocess.Popen[bytes] | None = None
    rss_idle_kb: int = 0
    rss_peak_kb: int = 0
    rss_after_kb: int = 0


def build_demo(url: str) -> Catalog:
    cat = Catalog("demo", url)
    cat.build["demo"], _, _ = cli(url, "demo")
    return cat


def publish_all(url: str, batch: int = 5000) -> int:
    engine = make_engine(url)
    R = Review.__table__  # type: ignore[attr-defined]
    try:
        with session_scope(engine) as session:
            ids = list(
                session.execute(
                    select(R.c.id).where(R.c.published_revision_id.is_(None)).order_by(R.c.id)
                ).scalars()
            )
        published = 0
        for start in range(0, len(ids), batch):
            with session_scope(engine) as session:
                approval = publish_reviews(
                    session,
                    ids[start : start + batch],
                    "Dr. Bench (fictional) (bench sign-off)",
                    utcnow(),
                    timedelta(days=365),
                )
                published += len(approval.reviews)
        return published
    finally:
        engine.dispose()


def build_big(url: str, compounds: int, conditions: int, workdir: Path) -> Catalog:
    cat = Catalog("big", url)
    cat.build["migrate"], _, _ = cli(url, "db", "upgrade")
    catalog_file = workdir / f"scale-{compounds}x{conditions}.json"
    catalog_file.write_text(json.dumps(synthetic(compounds, conditions)))
    cat.build["import"], _, _ = cli(url, "import", str(TEMPLATES), str(catalog_file))
    catalog_file.unlink()
    seconds, out, peak = cli(url, "generate")
    cat.build["generate"] = seconds
    cat.generate_summary = out.strip().splitlines()[-1] if out.strip() else ""
    cat.generate_peak_kb = peak
    started = time.perf_counter()
    published = publish_all(url)
    cat.build["publish"] = time.perf_counter() - started
    cat.build["published"] = published
    # Regeneration: a new template version makes every review stale; `generate --stale`
    # rebuilds every draft (the published pages keep serving until re-approved).
    bumped = workdir / "templates-bumped.yaml"
    text = TEMPLATES.read_text()
    version = re.search(r'version: "([^"]+)"', text).group(1)  # type: ignore[union-attr]
    bumped.write_text(text.replace(f'version: "{version}"', f'version: "{version}-bench"'))
    cli(url, "import", str(bumped))
    seconds, out, _ = cli(url, "generate", "--stale")
    cat.build["regenerate"] = seconds
    cat.regenerate_summary = out.strip().splitlines()[-1] if out.strip() else ""
    return cat


def vacuum_analyze(url: str) -> str:
    """PostgreSQL: what autovacuum does shortly after a bulk load (publishing rewrites every
    review row: without it half the table is dead rows, and no index-only scan is possible).
    Returns the server's autovacuum setting (test servers often turn it off)."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
            return str(conn.execute(text("SHOW autovacuum")).scalar())
    finally:
        engine.dispose()


def load_targets(cat: Catalog) -> None:
    """What the clients ask for: every published review's slug, every condition's slug."""
    engine = make_engine(cat.url)
    R = Review.__table__  # type: ignore[attr-defined]
    C = Compound.__table__  # type: ignore[attr-defined]
    D = Condition.__table__  # type: ignore[attr-defined]
    try:
        with session_scope(engine) as session:
            cat.slugs = list(
                session.execute(
                    select(R.c.slug).where(R.c.published_revision_id.is_not(None))
                ).scalars()
            )
            cat.conditions = list(session.execute(select(D.c.slug)).scalars())
            # Search: one compound's name and one condition's name, as a reader types them
            # (the synthetic names are "Compound 12 (Form 5)": "12" is its distinctive word).
            compound_words = [
                re.sub(r"^Compound (\d+).*", r"\1", n).split(" (")[0]
                for n in session.execute(select(C.c.name)).scalars()
            ]
            condition_names = list(session.execute(select(D.c.name)).scalars())
        cat.reviews = len(cat.slugs)
        rng = random.Random(7)
        cat.search_words = [
            f"{rng.choice(compound_words)} {rng.choice(condition_names)}" for _ in range(1000)
        ]
    finally:
        engine.dispose()


# --- serving and load -----------------------------------------------------------------------


def start_server(cat: Catalog, log_dir: Path) -> None:
    cat.port = free_port()
    log = open(log_dir / f"server-{cat.label}.log", "wb")  # noqa: SIM115 - closed with the process
    cat.server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(cat.port)],
        cwd=ROOT,
        env={
            **os.environ,
            "COMPENDIUM_DATABASE_URL": cat.url,
            # Every request executes: we measure the database and query path, not the cache.
            "COMPENDIUM_RESPONSE_CACHE": "false",
            # Many requests from one address: no rate limit or budget here.
            "COMPENDIUM_RATE_LIMIT_ANONYMOUS": "100000000",
            "COMPENDIUM_RATE_LIMIT_AUTHENTICATED": "100000000",
            "COMPENDIUM_BUDGET_ANONYMOUS": "1000000000",
            "COMPENDIUM_BUDGET_ANONYMOUS_RESTORE_RATE": "1000000000",
            "COMPENDIUM_WORKERS": "1",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()


def wait_ready(cat: Catalog, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert cat.server is not None
        if cat.server.poll() is not None:
            raise SystemExit(f"the {cat.label} server exited ({cat.server.returncode})")
        try:
            if httpx.get(f"http://127.0.0.1:{cat.port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the {cat.label} server did not become ready")


def stop_server(cat: Catalog) -> None:
    if cat.server is not None and cat.server.poll() is None:
        cat.server.terminate()
        try:
            cat.server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            cat.server.kill()
            cat.server.wait()


def payloads(cat: Catalog, kind: str, n: int, rng: random.Random) -> list[bytes]:
    if kind == "review":
        items = [(REVIEW_QUERY, {"slug": rng.choice(cat.slugs)}) for _ in range(n)]
    elif kind == "list":
        items = [(LIST_QUERY, {"condition": rng.choice(cat.conditions)}) for _ in range(n)]
    else:
        items = [(SEARCH_QUERY, {"q": rng.choice(cat.search_words)}) for _ in range(n)]
    return [json.dumps({"query": q, "variables": v}).encode() for q, v in items]


@dataclass
class Run:
    latencies_ms: list[float]
    seconds: float
    errors: int
    first_error: str


async def load(
    client: httpx.AsyncClient, cat: Catalog, bodies: list[bytes], concurrency: int
) -> Run:
    url = f"http://127.0.0.1:{cat.port}/graphql"
    latencies: list[float] = []
    errors = 0
    first_error = ""
    queue = iter(bodies)
    assert cat.server is not None
    pid = cat.server.pid

    async def worker() -> None:
        nonlocal errors, first_error
        for body in queue:
            t0 = time.perf_counter()
            response = await client.post(url, content=body, headers=HEADERS)
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200 or b'"errors"' in response.content:
                errors += 1
                first_error = first_error or f"{response.status_code} {response.text[:300]}"

    async def sample() -> None:
        while True:
            cat.rss_peak_kb = max(cat.rss_peak_kb, rss_kb(pid))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    sampler.cancel()
    cat.rss_peak_kb = max(cat.rss_peak_kb, rss_kb(pid))
    return Run(latencies, seconds, errors, first_error)


def check_answers(cat: Catalog) -> str:
    """One request of each kind, checked; returns a line describing the list's size."""
    base = f"http://127.0.0.1:{cat.port}/graphql"
    rng = random.Random(1)
    bodies = {kind: payloads(cat, kind, 1, rng)[0] for kind in ("review", "list", "search")}
    answers = {}
    for kind, body in bodies.items():
        r = httpx.post(base, content=body, headers=HEADERS, timeout=30)
        data = r.json()
        if r.status_code != 200 or "errors" in data:
            raise SystemExit(f"{cat.label} {kind}: {r.status_code} {r.text[:500]}")
        answers[kind] = data["data"]
    if answers["review"]["review"] is None:
        raise SystemExit(f"{cat.label}: a published review is not visible to readers")
    listed = answers["list"]["reviews"]
    if not listed["edges"]:
        raise SystemExit(f"{cat.label}: the filtered list is empty")
    return f"{listed['totalCount']} LIMITED reviews in one condition"


async def measure(
    cats: list[Catalog], kinds: list[str], requests: int, rounds: int, concurrency: int
) -> dict[tuple[str, str], list[Run]]:
    results: dict[tuple[str, str], list[Run]] = {(c.label, k): [] for c in cats for k in kinds}
    rng = random.Random(42)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for cat in cats:  # warm-up: connections, the server's first queries
            cat.rss_idle_kb = rss_kb(cat.server.pid)  # type: ignore[union-attr]
            for kind in kinds:
                await load(client, cat, payloads(cat, kind, 50, rng), concurrency)
        for round_ in range(rounds):
            for kind in kinds:
                # Alternate which catalog goes first, so drift in the machine's load
                # does not always favour the same one.
                order = cats if round_ % 2 == 0 else list(reversed(cats))
                for cat in order:
                    # Search is the slowest request: a third as many keep the run short.
                    n = requests if kind != "search" else max(10, requests // 3)
                    bodies = payloads(cat, kind, n, rng)
                    results[(cat.label, kind)].append(await load(client, cat, bodies, concurrency))
    await asyncio.sleep(1.0)
    for cat in cats:
        cat.rss_after_kb = rss_kb(cat.server.pid)  # type: ignore[union-attr]
    return results


# --- the SQL behind one request, timed and explained ----------------------------------------


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


# --- report ---------------------------------------------------------------------------------


def pooled(runs: list[Run]) -> dict[str, float]:
    latencies = [x for r in runs for x in r.latencies_ms]
    return {
        "n": len(latencies),
        "rps": sum(len(r.latencies_ms) for r in runs) / sum(r.seconds for r in runs),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "errors": sum(r.errors for r in runs),
    }


def run_backend(backend: Backend, args: argparse.Namespace, workdir: Path) -> list[bool]:
    total = args.compounds * args.conditions
    print(
        f"\n== {backend.name}: {args.compounds:,} compounds x {args.conditions:,} conditions "
        f"= {total:,} reviews; baseline: the demo catalog ({DEMO_REVIEWS} reviews) ==",
        flush=True,
    )
    demo = build_demo(backend.create("demo"))
    print(f"demo catalog built (`compendium demo`) in {demo.build['demo']:.1f}s", flush=True)
    big = build_big(backend.create("big"), args.compounds, args.conditions, workdir)
    for cat in (demo, big):
        cat.size = database_size(cat.url)
    autovacuum = ""
    if backend.name == "postgresql":
        for cat in (demo, big):
            autovacuum = vacuum_analyze(cat.url)
    reviews = big.build["published"]
    print(f"migrate (`compendium db upgrade`):          {big.build['migrate']:8.1f} s")
    print(f"import (`compendium import`, JSON file):    {big.build['import']:8.1f} s")
    print(
        f"generate (`compendium generate`):           {big.build['generate']:8.1f} s  "
        f"({reviews / big.build['generate']:,.0f} reviews/s wall; {big.generate_summary}; "
        f"CLI peak RSS {big.generate_peak_kb / 1024:,.0f} MB)"
    )
    print(
        f"publish ({int(reviews):,} reviews, batches of 5,000): {big.build['publish']:8.1f} s  "
        f"({reviews / big.build['publish']:,.0f} reviews/s)"
    )
    print(
        f"regenerate (new template version, `generate --stale`): {big.build['regenerate']:8.1f} s"
        f"  ({big.regenerate_summary})"
    )
    print(
        f"database size: big {mb(big.size)}, demo {mb(demo.size)}"
        + (" (file + -wal)" if backend.name == "sqlite" else " (pg_database_size)")
    )
    if backend.name == "postgresql":
        print(
            f"(VACUUM (ANALYZE) run on both databases after loading, as autovacuum would; "
            f"this server has autovacuum {autovacuum})"
        )
    sys.stdout.flush()

    kinds = ["review", "list"] + (["search"] if args.search else [])
    cats = [demo, big]
    try:
        for cat in cats:
            load_targets(cat)
            start_server(cat, workdir)
        for cat in cats:
            wait_ready(cat)
            print(
                f"{cat.label} server up: {cat.reviews:,} published reviews; {check_answers(cat)}",
                flush=True,
            )
        results = asyncio.run(measure(cats, kinds, args.requests, args.rounds, args.concurrency))
    finally:
        for cat in cats:
            stop_server(cat)

    print(
        f"\n{args.concurrency} concurrent clients, {args.requests} requests per target x "
        f"{args.rounds} rounds, demo and big alternated; percentiles over all rounds"
    )
    header = (
        f"{'query':<8}{'catalog':<9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'p50 x':>8}{'p99 x':>8}{'errors':>8}"
    )
    print(header)
    ratios: dict[str, tuple[float, float]] = {}
    errors = 0
    for kind in kinds:
        base = pooled(results[("demo", kind)])
        for cat in cats:
            r = pooled(results[(cat.label, kind)])
            errors += int(r["errors"])
            p50x, p99x = r["p50"] / base["p50"], r["p99"] / base["p99"]
            if cat.label == "big":
                ratios[kind] = (p50x, p99x)
            print(
                f"{kind:<8}{cat.label:<9}{r['rps']:>8.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}"
                f"{p50x:>7.2f}x{p99x:>7.2f}x{int(r['errors']):>8}"
            )
        # Each round's big/demo ratio (the two ran back to back): how steady the ratio is
        # while the machine's load comes and goes.
        paired = sorted(
            percentile(b.latencies_ms, 50) / percentile(d.latencies_ms, 50)
            for d, b in zip(results[("demo", kind)], results[("big", kind)], strict=True)
        )
        print(
            f"{'':<8}p50 ratio per round: median {percentile(paired, 50):.2f}x, "
            f"range {paired[0]:.2f}x-{paired[-1]:.2f}x"
        )
    for kind in kinds:
        for label in ("demo", "big"):
            first = (
                next(r.first_error for r in results[(label, kind)] if r.first_error)
                if any(r.first_error for r in results[(label, kind)])
                else ""
            )
            if first:
                print(f"first error ({label} {kind}): {first}")
    print(
        "server RSS (MB): "
        + "; ".join(
            f"{c.label} idle {c.rss_idle_kb / 1024:.0f}, peak under load {c.rss_peak_kb / 1024:.0f}, "
            f"after {c.rss_after_kb / 1024:.0f}"
            for c in cats
        )
    )

    if args.explain:
        explain(demo, big, kinds)

    print("\naims:")
    met = []
    for kind in ("review", "list"):
        p50x, p99x = ratios[kind]
        ok = p50x <= AIM_LATENCY_RATIO and p99x <= AIM_LATENCY_RATIO
        met.append(ok)
        print(
            f"  {kind} latency within {AIM_LATENCY_RATIO}x of the demo catalog (p50 and p99): "
            f"{p50x:.2f}x / {p99x:.2f}x ({'met' if ok else 'NOT met'})"
        )
    if "search" in ratios:
        p50x, p99x = ratios["search"]
        ok = p50x <= AIM_SEARCH_RATIO and p99x <= AIM_SEARCH_RATIO
        met.append(ok)
        print(
            f"  search latency within {AIM_SEARCH_RATIO}x of the demo catalog (p50 and p99): "
            f"{p50x:.2f}x / {p99x:.2f}x ({'met' if ok else 'NOT met'})"
        )
    for step in ("publish", "regenerate"):
        seconds = big.build[step]
        if total == FULL_REVIEWS:
            ok = seconds < AIM_PUBLISH_S
            met.append(ok)
            verdict = "met" if ok else "NOT met"
        else:
            verdict = (
                f"not measured at this size; ~{seconds / total * FULL_REVIEWS:.0f} s at this rate"
            )
        print(f"  {step} all 200,000 under {AIM_PUBLISH_S} s: {seconds:.0f} s ({verdict})")
    ok = big.rss_peak_kb / 1024 < AIM_RSS_MB
    met.append(ok)
    print(
        f"  server RSS under {AIM_RSS_MB} MB: peak {big.rss_peak_kb / 1024:.0f} MB "
        f"({'met' if ok else 'NOT met'})"
    )
    seconds = big.build["generate"]
    if total == FULL_REVIEWS:
        ok = seconds < AIM_GENERATION_S
        met.append(ok)
        print(
            f"  generation of all 200,000 under {AIM_GENERATION_S} s: {seconds:.0f} s "
            f"({'met' if ok else 'NOT met'})"
        )
    else:
        # Worker processes start at PARALLEL_THRESHOLD pairs: below it a rate means little.
        estimate = (
            f"; ~{seconds / total * FULL_REVIEWS:.0f} s at the same rate" if total >= 2000 else ""
        )
        print(
            f"  generation of all 200,000 under {AIM_GENERATION_S} s: not measured at this "
            f"size ({total:,} in {seconds:.1f} s{estimate})"
        )
    if errors:
        print(f"  {errors} requests failed")
        met.append(False)
    return met


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--compounds", type=int, default=1000)
    parser.add_argument("--conditions", type=int, default=200)
    # Many short rounds: the demo and big catalogs alternate often, so a burst of load
    # from elsewhere on the machine lands on both rather than on one.
    parser.add_argument(
        "--requests", type=int, default=100, help="per target and round (search: a third)"
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument(
        "--no-search", dest="search", action="store_false", help="skip the search measurement"
    )
    parser.add_argument(
        "--no-explain",
        dest="explain",
        action="store_false",
        help="skip the SQL timings and plans per request",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases at the end (and print where)"
    )
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")

    # `timeout` sends SIGTERM: clean up (servers, temporary databases) as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"load average at start: {loadavg()} ({os.cpu_count()} CPUs)", flush=True)
    all_met: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="compendium_scale_work_") as tmp:
        for name in backends:
            backend: Backend = (
                SQLiteBackend(args.keep)
                if name == "sqlite"
                else PostgresBackend(args.postgres_url, args.keep)
            )
            started = time.perf_counter()
            try:
                all_met += run_backend(backend, args, Path(tmp))
            finally:
                backend.close()
            print(
                f"({name}: {time.perf_counter() - started:.0f} s in all; "
                f"load average now {loadavg()})",
                flush=True,
            )
    if not all(all_met):
        sys.exit(1)


if __name__ == "__main__":
    main()
