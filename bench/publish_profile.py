"""Publishing and regeneration at a size that runs in a minute or two, profiled.

Builds a synthetic catalog of COMPOUNDS x CONDITIONS with the real command line (`db
upgrade`, `import`, `generate`), then, in this process, publishes every review (as
bench/scale.py does: db.publishing in batches of 5,000) and regenerates every review
after a new template version (editorial.generation, as `compendium generate --stale`),
each timed, and with ``--profile`` under cProfile (top lines by cumulative and own time
printed). ``--digest`` prints a digest of what readers see after each step (the read
model, the change feed and the search index; ids kept, clock values left out), to compare
two versions of the code on the same catalog.

    .venv/bin/python bench/publish_profile.py [--backend sqlite|postgresql]
        [--compounds 100] [--conditions 200] [--profile] [--digest]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

PostgreSQL: a scratch database is created next to the given one and dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event, text  # noqa: E402

from bench.generate import synthetic  # noqa: E402
from bench.scale_build import (  # noqa: E402
    TEMPLATES,
    PostgresBackend,
    SQLiteBackend,
    cli,
    database_size,
    mb,
    publish_all,
)
from db.engine import make_engine  # noqa: E402
from editorial.generation import generate  # noqa: E402

# What readers see, in a stable order, without clock values (those differ by run).
DIGESTED = {
    "review_revision": "SELECT id, review_id, number, title, byline, notice, description, "
    "fingerprint, template_version, research, compound_version_id, condition_version_id, "
    "evidence_version_id, publisher_version_id, sections, approved_by, acknowledged "
    "FROM review_revision ORDER BY id",
    "fact_version": "SELECT id, kind, record_id, number, content_hash, facts "
    "FROM fact_version ORDER BY id",
    "public_review": "SELECT id, slug, kind, compound_id, condition_id, revision_id, number, "
    "title, research, template_version, compound_version_id, condition_version_id, "
    "evidence_version_id, publisher_version_id FROM public_review ORDER BY id",
    "public_compound": "SELECT id, slug, name, aliases, drug_class, rxnorm, mesh, version_id "
    "FROM public_compound ORDER BY id",
    "public_condition": "SELECT id, slug, name, full_name, aliases, icd10, mesh, version_id "
    "FROM public_condition ORDER BY id",
    "public_evidence": "SELECT id, compound_id, condition_id, research, version_id "
    "FROM public_evidence ORDER BY id",
    "public_publisher": "SELECT id, version_id FROM public_publisher ORDER BY id",
    "change_log": "SELECT id, entity, entity_id, slug, op FROM change_log ORDER BY id",
    "review": "SELECT id, slug, status, published_revision_id, published_fingerprint, "
    "fingerprint, current_fingerprint, template_version, title, revision, restored_from "
    "FROM review ORDER BY id",
    "review_section": "SELECT review_id, key, position, heading, blocks, origin, revision "
    "FROM review_section ORDER BY review_id, position, key",
}
SEARCH = {
    "sqlite": "SELECT rowid, kind, ref_id, name, aliases, body FROM search_index ORDER BY rowid",
    "postgresql": "SELECT kind, ref_id, name, aliases, body FROM search_index "
    "ORDER BY kind, ref_id",
}


def digest(url: str) -> dict[str, str]:
    """A short hash of each table readers' answers come from (and the working copy)."""
    engine = make_engine(url)
    out: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            queries = {**DIGESTED, "search_index": SEARCH[engine.dialect.name]}
            for name, sql in queries.items():
                h = hashlib.sha256()
                n = 0
                for row in conn.execute(text(sql)):
                    h.update(repr(tuple(_norm(v) for v in row)).encode())
                    n += 1
                out[name] = f"{n} rows {h.hexdigest()[:16]}"
    finally:
        engine.dispose()
    return out


def _norm(value: Any) -> Any:
    # JSON columns come back decoded on PostgreSQL, as text on SQLite (via text()).
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if hasattr(value, "value"):  # enums
        return str(value.value)
    return value


# Time in each kind of statement (its first words), summed: where the SQL time goes.
SQL_TIME: dict[str, list[float]] = {}


def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    conn.info["bench_started"] = time.perf_counter()


def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    words = " ".join(statement.split()[:4])[:60]
    spent = SQL_TIME.setdefault(words, [0.0, 0])
    spent[0] += time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
    spent[1] += 1


def _auto_explain(seconds: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if "psycopg" not in type(dbapi_connection).__module__:
            return
        cursor = dbapi_connection.cursor()
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute(f"SET auto_explain.log_min_duration = {int(seconds * 1000)}")
        cursor.execute("SET auto_explain.log_analyze = on")
        cursor.close()
        dbapi_connection.commit()

    return on_connect


def batch_report(top: int = 3) -> Callable[[int, float], None]:
    """``on_batch`` for publish_all: each batch's time and its costliest statements (the
    growth of one statement's time with the table sizes is what to look for)."""
    seen: dict[str, list[float]] = {}

    def report(published: int, seconds: float) -> None:
        spent = {w: t - seen.get(w, [0.0, 0])[0] for w, (t, _) in SQL_TIME.items()}
        seen.update({w: list(v) for w, v in SQL_TIME.items()})
        worst = sorted(spent.items(), key=lambda kv: -kv[1])[:top]
        print(
            f"  {published:>9,} published: batch {seconds:6.2f} s  "
            + "  ".join(f"{t:5.2f} s {w[:38]}" for w, t in worst),
            flush=True,
        )

    return report


def timed(label: str, fn: Callable[[], Any], profile: bool, top: int) -> tuple[float, Any]:
    prof = cProfile.Profile() if profile else None
    SQL_TIME.clear()
    started, cpu = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    result = fn()
    if prof:
        prof.disable()
    seconds = time.perf_counter() - started
    print(f"\n{label}: {seconds:.1f} s wall, {time.process_time() - cpu:.1f} s CPU of this process")
    if profile:
        print(f"--- {label}: time in statements (sent by this process) ---")
        for words, (spent, n) in sorted(SQL_TIME.items(), key=lambda kv: -kv[1][0])[:12]:
            print(f"{spent:8.2f} s {n:6d}x  {words}")
    if prof:
        for order in ("cumulative", "tottime"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats(order).print_stats(top)
            lines = buf.getvalue().splitlines()
            start = next(i for i, line in enumerate(lines) if "ncalls" in line)
            print(f"\n--- {label}: top {top} by {order} ---")
            print("\n".join(lines[start - 4 : start + top + 1]))
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--compounds", type=int, default=100)
    parser.add_argument("--conditions", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--digest", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--explain-over",
        type=float,
        metavar="SECONDS",
        help="PostgreSQL: auto_explain (ANALYZE) into the server's log every statement "
        "slower than this",
    )
    parser.add_argument("--per-batch", action="store_true", help="print each publish batch's time")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()
    if args.profile or args.per_batch:
        event.listen(Engine, "before_cursor_execute", _before)
        event.listen(Engine, "after_cursor_execute", _after)
    if args.explain_over is not None:
        event.listen(Engine, "connect", _auto_explain(args.explain_over))
    backend: Any = (
        SQLiteBackend() if args.backend == "sqlite" else PostgresBackend(args.postgres_url)
    )
    workdir = Path(tempfile.mkdtemp(prefix="compendium_pubprof_"))
    try:
        url = backend.create("pub")
        os.environ["COMPENDIUM_DATABASE_URL"] = url
        build: dict[str, float] = {}
        build["migrate"], _, _ = cli(url, "db", "upgrade")
        catalog_file = workdir / "catalog.json"
        catalog_file.write_text(json.dumps(synthetic(args.compounds, args.conditions)))
        build["import"], _, _ = cli(url, "import", str(TEMPLATES), str(catalog_file))
        build["generate"], _, _ = cli(url, "generate")
        n = args.compounds * args.conditions
        print(f"{args.backend}, {n:,} reviews; load average {os.getloadavg()[0]:.2f}")
        print(f"generate (CLI):   {build['generate']:7.1f} s  ({n / build['generate']:,.0f}/s)")

        seconds, published = timed(
            "publish",
            lambda: publish_all(url, on_batch=batch_report() if args.per_batch else None),
            args.profile,
            args.top,
        )
        print(f"publish:          {seconds:7.1f} s  ({published / seconds:,.0f} reviews/s)")
        if args.digest:
            for name, d in digest(url).items():
                print(f"  after publish {name:<18}{d}")

        template_text = TEMPLATES.read_text()
        version = re.search(r'version: "([^"]+)"', template_text).group(1)  # type: ignore[union-attr]
        bumped = workdir / "templates-bumped.yaml"
        bumped.write_text(
            template_text.replace(f'version: "{version}"', f'version: "{version}-bench"')
        )
        cli(url, "import", str(bumped))
        engine = make_engine(url)
        try:
            seconds, report = timed(
                "regenerate",
                lambda: generate(engine, stale_only=True),
                args.profile,
                args.top,
            )
        finally:
            engine.dispose()
        print(
            f"regenerate:       {seconds:7.1f} s  ({n / seconds:,.0f} reviews/s)  "
            f"({report.summary()})"
        )
        if args.digest:
            for name, d in digest(url).items():
                print(f"  after regenerate {name:<15}{d}")
        print(f"database size: {mb(database_size(url))}; load average {os.getloadavg()[0]:.2f}")
    finally:
        backend.close()


if __name__ == "__main__":
    main()
