"""The scale benchmark's catalogs (bench/scale.py): fresh databases on each backend, and
the demo and synthetic catalogs built in them with the real command line, timed."""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench.generate import synthetic
from db.engine import make_engine, session_scope
from db.models import Compound, Condition, Review, utcnow
from db.publishing import publish_reviews

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "db" / "catalog" / "templates.yaml"
DEMO_REVIEWS = 576
FULL_REVIEWS = 200_000
STEP_TIMEOUT = 3600  # seconds any one CLI step may take


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


def publish_all(
    url: str, batch: int = 5000, on_batch: Callable[[int, float], None] | None = None
) -> int:
    """Publish every unpublished review, ``batch`` per transaction (``on_batch(number
    published so far, seconds the batch took)`` after each)."""
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
            started = time.perf_counter()
            with session_scope(engine) as session:
                approval = publish_reviews(
                    session,
                    ids[start : start + batch],
                    "Dr. Bench (fictional) (bench sign-off)",
                    utcnow(),
                    timedelta(days=365),
                )
                published += len(approval.reviews)
            if on_batch is not None:
                on_batch(published, time.perf_counter() - started)
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
