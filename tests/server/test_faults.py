"""Fault tests: a process killed in the middle of a write leaves a consistent database.

Each test runs the real program in a real process against a real database of the
backend under test (SQLite files or PostgreSQL databases, see tests/databases.py) and
SIGKILLs it while it is writing, at a point observed in the database itself:

- ``compendium import`` of a large catalog, killed while it writes the evidence rows:
  the database is exactly as before (every table, row for row), and a re-run completes;
- ``compendium generate --stale`` with its spawned worker pool, killed after some
  batches committed: every review is entirely its old or entirely its new version,
  only whole batches were written, no worker process outlives the run, and a re-run
  finishes exactly the rest;
- the server (uvicorn) during a burst of ``importCatalog`` mutations: every import is
  applied whole or not at all, every import that was answered is applied, and the
  restarted server answers normally.

Every kill is proven to have hit a running write (exit status -9, the write seen in
progress in the database just before). A run that ends before the kill point is
retried bigger rather than passing vacuously.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from catalog.importing import import_data
from content.facts import review_fingerprint
from db.engine import is_sqlite, make_engine, session_scope
from db.models import Citation, Compound, Condition, Evidence, Publisher, Review, ReviewSection
from db.operations import AuditEntry
from db.tokens import create_token
from editorial.generation import generate
from tests.conftest import FIXTURES, ROOT, TEMPLATES, load
from tests.live import free_port

SEED = FIXTURES / "seed-pages.yaml"
SECTION_KEYS = {
    "INTRO",
    "SAFETY_PROFILE",
    "CONSIDERATIONS",
    "LITERATURE",
    "BOTTOM_LINE",
    "DISCLAIMER",
    "CTA",
    "FAQ",
}
CLI_TIMEOUT = 180.0
KILL_DEADLINE = 60.0  # how long a run may take to reach its kill point
POLL = 0.02


# --- catalogs --------------------------------------------------------------------------------


def catalog(
    tag: str, compounds: int, conditions: int, publisher: str | None = None
) -> dict[str, Any]:
    """A synthetic catalog of ``compounds`` x ``conditions`` evidence rows (all slugs start
    with ``tag-``), each compound and evidence row with a citation."""
    data: dict[str, Any] = {
        "compounds": [
            {
                "slug": f"{tag}-compound-{i}",
                "name": f"Compound {tag.upper()} {i}",
                "aliases": [f"{tag}c{i}"],
                "drug_class": f"Class {i % 13}",
                "safety_profile": ["Nausea", f"effect {i}"],
                "regulatory_status": f"Approved for indication {i % 11}",
                "evidence_level": f"Phase {i % 4} data",
                "mechanisms": [f"mechanism {i % 5}", "receptor modulation"],
                "citations": [{"pmid": str(1000 + i)}],
            }
            for i in range(compounds)
        ],
        "conditions": [
            {
                "slug": f"{tag}-condition-{j}",
                "name": f"Cond {tag.upper()} {j}",
                "full_name": f"Condition {tag.upper()} number {j}",
                "specialist": f"specialist {j % 9}",
            }
            for j in range(conditions)
        ],
        "evidence": [
            {
                "compound": f"{tag}-compound-{i}",
                "condition": f"{tag}-condition-{j}",
                "research": "specific" if (i + j) % 5 == 0 else "limited",
                "notes": f"Synthetic evidence {i}/{j}.",
                "citations": [{"doi": f"10.5555/{tag}.{i}.{j}"}],
            }
            for i in range(compounds)
            for j in range(conditions)
        ],
    }
    if publisher is not None:
        data["publisher"] = {
            "name": publisher,
            "medical_advisor": {"name": "Dr. Fault (fictional)", "credentials": "MD"},
            "cta": "Fault-test content, not medical advice.",
            "notice": "Synthetic test content.",
        }
    return data


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --- processes -------------------------------------------------------------------------------


def cli_env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "COMPENDIUM_DATABASE_URL": url, "PYTHONUNBUFFERED": "1", **extra}


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``compendium ARGS`` to completion; fail with its output when it fails."""
    run = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=cli_env(url),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert run.returncode == 0, f"compendium {' '.join(args)}: {run.stdout}\n{run.stderr[-4000:]}"
    return run


@contextmanager
def started(
    command: list[str], env: dict[str, str], logs: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A process of ours (output to files, never a pipe that could fill up); killed, by
    its id, if it is still running when the block ends."""
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "stdout.log").open("wb") as out, (logs / "stderr.log").open("wb") as err:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def log_tail(logs: Path, limit: int = 3000) -> str:
    parts = []
    for name in ("stdout.log", "stderr.log"):
        path = logs / name
        if path.exists():
            parts.append(f"--- {name}\n{path.read_text(errors='replace')[-limit:]}")
    return "\n".join(parts)


def sigkill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process of ours and prove it was still running when killed."""
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, (
        f"the process had exited with {process.returncode} before the kill"
    )


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, from /proc; None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (best effort, from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[1], []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return {p for p in found if alive(p)}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie has exited


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}", pytrace=False)
        time.sleep(POLL)


# --- looking at the database from outside ----------------------------------------------------


class Probe:
    """Looks at the database under test from the test process (never holding a connection
    between calls, so it neither blocks the program under test nor keeps its state)."""

    def __init__(self, url: str):
        self.url = url
        self.sqlite = is_sqlite(url)
        self.path = Path(make_url(url).database or "")
        self.engine = make_engine(url, poolclass=NullPool)

    def close(self) -> None:
        self.engine.dispose()

    def scalar(self, statement: Any, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(statement, params).scalar()

    def count(self, statement: Any) -> int:
        return int(self.scalar(select(func.count()).select_from(statement.subquery())) or 0)

    # Someone else is in the middle of a write transaction.
    def writer_active(self) -> bool:
        if self.sqlite:
            # The write lock: BEGIN IMMEDIATE fails at once while another connection holds it.
            con = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return True
                raise
            else:
                con.execute("ROLLBACK")
                return False
            finally:
                con.close()
        return bool(
            self.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                )
            )
        )

    def wal_size(self) -> int:
        wal = Path(f"{self.path}-wal")
        return wal.stat().st_size if wal.exists() else 0

    def writing_rows_of(self, table: str) -> bool:
        """PostgreSQL: another session holds a row-write lock on ``table`` (it has
        inserted or changed rows there that are not committed)."""
        return bool(
            self.scalar(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = :table AND l.mode = 'RowExclusiveLock' "
                    "AND l.pid <> pg_backend_pid() AND l.granted "
                    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                table=table,
            )
        )

    def other_sessions(self) -> int:
        """PostgreSQL: sessions on this database other than ours (0 on SQLite)."""
        if self.sqlite:
            return 0
        return int(
            self.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            )
            or 0
        )

    def wait_for_dead_sessions(self) -> None:
        """PostgreSQL notices a killed client and rolls its transaction back; wait for it
        (a killed client's session must not linger holding locks)."""
        wait_until(lambda: self.other_sessions() == 0, 30, "the killed client's session to end")

    def snapshot(self) -> dict[str, tuple[int, str]]:
        """Every table (search index included): its row count and a digest of its rows."""
        out: dict[str, tuple[int, str]] = {}
        with self.engine.connect() as conn:
            for table in sorted(inspect(conn).get_table_names()):
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                lines = sorted(repr(tuple(row)) for row in rows)
                out[table] = (len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest())
        return out

    def check_integrity(self) -> None:
        if self.sqlite:
            with self.engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        else:
            # PostgreSQL enforces its constraints; check that nothing dangles all the same.
            orphans = self.scalar(
                text(
                    "SELECT (SELECT count(*) FROM review_section s LEFT JOIN review r "
                    "ON r.id = s.review_id WHERE r.id IS NULL) + (SELECT count(*) FROM "
                    "evidence e LEFT JOIN compound c ON c.id = e.compound_id WHERE c.id IS NULL)"
                )
            )
            assert orphans == 0


@pytest.fixture
def make_database(databases: Any, migrated_template: str) -> Iterator[Callable[[], str]]:
    """Makes freshly migrated databases of the backend under test (dropped at the end)."""
    made: list[str] = []

    def make() -> str:
        made.append(databases.create(template=migrated_template))
        return made[-1]

    yield make
    for url in made:
        databases.drop(url)


def seeded(url: str) -> None:
    """The default templates, the two seed pairs and their generated reviews."""

    engine = make_engine(url)
    try:
        load(engine, TEMPLATES, SEED)
        generate(engine)
    finally:
        engine.dispose()


# --- 1. an import killed while it writes -----------------------------------------------------


def big_import(tag: str, compounds: int, conditions: int) -> dict[str, Any]:
    """A large catalog that also changes rows the database holds already: the publisher,
    the ketamine compound, and a new ketamine evidence row."""
    data = catalog(tag, compounds, conditions, publisher="Fault Test Press (fictional)")
    ketamine = copy.deepcopy(yaml.safe_load(SEED.read_text())["compounds"][0])
    ketamine["evidence_level"] = "Revised by the large import"
    data["compounds"].append(ketamine)
    data["evidence"].append(
        {"compound": "ketamine", "condition": f"{tag}-condition-0", "research": "limited"}
    )
    return data


def in_the_middle_of_the_import(probe: Probe, wal_before: int) -> bool:
    """Past validation and well into the evidence rows: on SQLite the import holds the
    write lock and its uncommitted pages already spill into the WAL file; on PostgreSQL
    it holds uncommitted evidence rows."""
    if not probe.writer_active():
        return False
    if probe.sqlite:
        return probe.wal_size() > wal_before + 1_000_000
    return probe.writing_rows_of("evidence")


def kill_import_midway(probe: Probe, path: Path, logs: Path) -> str | None:
    """Run ``compendium import PATH`` and SIGKILL it in the middle of its writes; what was
    seen at the kill, or None when it finished before it got there."""
    wal_before = probe.wal_size()
    command = [sys.executable, "-m", "server.cli", "import", str(path)]
    with started(command, cli_env(probe.url), logs) as process:
        started_at = time.monotonic()
        while process.poll() is None and not in_the_middle_of_the_import(probe, wal_before):
            assert time.monotonic() < started_at + KILL_DEADLINE, log_tail(logs)
            time.sleep(POLL)
        if process.poll() is not None:
            assert process.returncode == 0, log_tail(logs)
            return None
        seen = f"{time.monotonic() - started_at:.1f} s in, " + (
            f"with {probe.wal_size():,} bytes in the WAL"
            if probe.sqlite
            else "holding uncommitted evidence rows"
        )
        sigkill(process)
    return seen


def test_import_killed_midway_changes_nothing(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    conditions = 40
    for attempt, compounds in enumerate((1500, 3000, 6000)):
        url = make_database()
        seeded(url)
        data = big_import("big", compounds, conditions)
        path = write_json(tmp_path / f"big-{attempt}.json", data)
        probe = Probe(url)
        try:
            before = probe.snapshot()
            probe.check_integrity()
            seen = kill_import_midway(probe, path, tmp_path / f"import-{attempt}")
            if seen is None:
                continue  # it finished before the kill point: try a bigger file
            print(f"import of {compounds} x {conditions} killed {seen}")

            probe.wait_for_dead_sessions()
            probe.check_integrity()
            assert probe.snapshot() == before  # not one row of the killed import is left
            ketamine = select(Compound.evidence_level).where(Compound.slug == "ketamine")
            assert probe.scalar(ketamine) != "Revised by the large import"

            # Run again: it completes, all of it.
            cli(url, "import", str(path))
            probe.check_integrity()
            assert probe.count(select(Compound.id)) == 1 + compounds
            assert probe.count(select(Condition.id)) == 2 + conditions
            assert probe.count(select(Evidence.id)) == 2 + compounds * conditions + 1
            citations = before["citation"][0] + compounds + compounds * conditions
            assert probe.count(select(Citation.id)) == citations
            assert probe.scalar(select(Publisher.name)) == "Fault Test Press (fictional)"
            assert probe.scalar(ketamine) == "Revised by the large import"
            # The seed reviews are flagged stale (their facts changed), in the same transaction.
            stale = select(Review.id).where(Review.fingerprint != Review.current_fingerprint)
            assert probe.count(stale) == 2
            return
        finally:
            probe.close()
    pytest.fail("every import finished before it could be killed, even the largest")


# --- 2. a generation run killed between batches ----------------------------------------------

NEW_VERSION = "2026.11.1-fault"
MARKER = "Revised wording for the fault test."


def new_template_file(path: Path) -> tuple[Path, str]:
    """A new version of the default template whose intro ends with MARKER."""
    source = yaml.safe_load(TEMPLATES.read_text())["templates"][0]
    old_version = str(source["version"])
    new = copy.deepcopy(source)
    new["version"] = NEW_VERSION
    for section in new["sections"]:
        if section["key"] == "intro":
            section["body"] = section["body"].rstrip() + "\n\n" + MARKER + "\n"
    return write_json(path, {"templates": [new]}), old_version


def reviews_state(probe: Probe) -> dict[int, dict[str, Any]]:
    """Every review with its version, fingerprints, generation time and sections."""
    out: dict[int, dict[str, Any]] = {}
    with probe.engine.connect() as conn:
        for row in conn.execute(
            select(
                Review.id,
                Review.template_version,
                Review.fingerprint,
                Review.current_fingerprint,
                Review.generated_at,
            )
        ):
            out[row[0]] = {
                "version": row[1],
                "fingerprint": row[2],
                "current": row[3],
                "generated_at": row[4],
                "sections": [],
            }
        for rid, key, origin, updated_at, blocks in conn.execute(
            select(
                ReviewSection.review_id,
                ReviewSection.key,
                ReviewSection.origin,
                ReviewSection.updated_at,
                ReviewSection.blocks,
            )
        ):
            out[rid]["sections"].append((str(key), str(origin), updated_at, json.dumps(blocks)))
    for review in out.values():
        review["sections"].sort()
    return out


def expected_fingerprints(probe: Probe, version: str) -> dict[int, str]:
    """What each review's fingerprint must be when generated from the current facts."""
    with probe.engine.connect() as conn:
        pub_hash = conn.execute(select(Publisher.content_hash)).scalar() or ""
        rows = conn.execute(
            select(Review.id, Compound.content_hash, Condition.content_hash, Evidence.content_hash)
            .join(Compound, Compound.id == Review.compound_id)
            .join(Condition, Condition.id == Review.condition_id)
            .join(
                Evidence,
                (Evidence.compound_id == Review.compound_id)
                & (Evidence.condition_id == Review.condition_id),
            )
        ).all()
    return {rid: review_fingerprint(version, c, d, e, pub_hash) for rid, c, d, e in rows}


def assert_whole(review: dict[str, Any]) -> None:
    """A review and its sections were written together: every section, once, generated in
    the same transaction as the review row."""
    keys = [key for key, _, _, _ in review["sections"]]
    assert sorted(keys) == sorted(SECTION_KEYS), keys
    for _key, origin, updated_at, _blocks in review["sections"]:
        assert origin == "GENERATED"
        assert updated_at == review["generated_at"]


def test_generation_killed_midway_leaves_whole_reviews(db_url: str, tmp_path: Path) -> None:
    compounds, conditions = 100, 60  # 6,000 pairs (+2 seed pairs): the worker pool, 7 batches
    load_engine = make_engine(db_url)
    try:
        load(load_engine, TEMPLATES, SEED)
    finally:
        load_engine.dispose()
    path = write_json(tmp_path / "gen.json", catalog("gen", compounds, conditions))
    cli(db_url, "import", str(path))
    cli(db_url, "generate")
    probe = Probe(db_url)
    try:
        old = reviews_state(probe)
        total = len(old)
        assert total == compounds * conditions + 2
        for review in old.values():
            assert_whole(review)

        # A new template version: every review is stale now.
        template_path, old_version = new_template_file(tmp_path / "template.json")
        cli(db_url, "import", str(template_path))
        new_fp = expected_fingerprints(probe, NEW_VERSION)
        assert (
            probe.count(select(Review.id).where(Review.fingerprint != Review.current_fingerprint))
            == total
        )
        before_kill = probe.snapshot()

        renewed = select(Review.id).where(Review.template_version == NEW_VERSION)
        logs = tmp_path / "generate"
        command = [sys.executable, "-m", "server.cli", "generate", "--stale"]
        with started(command, cli_env(db_url), logs) as process:
            deadline = time.monotonic() + KILL_DEADLINE
            while process.poll() is None and probe.count(renewed) < 1000:
                assert time.monotonic() < deadline, log_tail(logs)
                time.sleep(POLL)
            assert process.poll() is None, f"generation ended before the kill\n{log_tail(logs)}"
            workers = descendants(process.pid)
            sigkill(process)
        if (os.cpu_count() or 1) > 1:
            # Spawned composer processes (and multiprocessing's resource tracker).
            assert len(workers) >= 2, workers

        # No orphan: the workers notice their parent is gone and exit on their own.
        killed = time.monotonic()
        try:
            wait_until(
                lambda: not any(alive(pid) for pid in workers), 20, "the pool's workers to exit"
            )
        finally:
            for pid in workers:  # never leave our own stragglers behind
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        print(
            f"pool processes {sorted(workers)} gone {time.monotonic() - killed:.1f} s after the kill"
        )
        probe.wait_for_dead_sessions()
        probe.check_integrity()

        # Every review is entirely old or entirely new; whole batches only.
        now = reviews_state(probe)
        assert set(now) == set(old)
        fresh = 0
        for rid, review in now.items():
            assert_whole(review)
            intro = next(b for k, _, _, b in review["sections"] if k == "INTRO")
            assert review["current"] == new_fp[rid]  # the facts say: stale until regenerated
            if review["version"] == NEW_VERSION:
                fresh += 1
                assert review["fingerprint"] == new_fp[rid]
                assert MARKER in intro
            else:
                assert review["version"] == old_version
                assert review["fingerprint"] == old[rid]["fingerprint"]
                assert review["generated_at"] == old[rid]["generated_at"]
                assert review["sections"] == old[rid]["sections"]
                assert MARKER not in intro
        print(f"generation killed with {fresh} of {total} reviews regenerated")
        assert 1000 <= fresh < total, fresh  # killed mid-run: some new, some old
        assert fresh % 1000 == 0, fresh  # batches of 1,000 committed whole, or not at all
        after_kill = probe.snapshot()
        assert after_kill["review"][0] == before_kill["review"][0]
        assert after_kill["review_section"][0] == before_kill["review_section"][0]

        # Restart: the stale pass finishes exactly what is left.
        summary = cli(db_url, "generate", "--stale").stdout
        assert f"{total} pairs: 0 created, {total - fresh} refreshed, {fresh} unchanged" in summary
        probe.check_integrity()
        final = reviews_state(probe)
        for rid, review in final.items():
            assert_whole(review)
            assert review["version"] == NEW_VERSION
            assert review["fingerprint"] == review["current"] == new_fp[rid]
        assert (
            probe.count(select(Review.id).where(Review.fingerprint != Review.current_fingerprint))
            == 0
        )
    finally:
        probe.close()


def test_facts_changed_during_generation_show_as_stale(db_url: str, tmp_path: Path) -> None:
    """A run composes pages from the facts it read at its start; a fact that changes while
    it runs must leave the pages built from the older facts flagged stale (not current),
    so the work queue, the publish gate and ``generate --stale`` see them."""

    compounds, conditions = 100, 60
    data = catalog("race", compounds, conditions)
    engine = make_engine(db_url)
    probe = Probe(db_url)
    try:
        load(engine, TEMPLATES)
        with session_scope(engine) as session:
            import_data(session, data)
        last = data["compounds"][-1]  # its 60 reviews are written by the run's last batch
        of_last = select(Review.id).join(Compound, Compound.id == Review.compound_id)
        of_last = of_last.where(Compound.slug == last["slug"])
        logs = tmp_path / "generate"
        command = [sys.executable, "-m", "server.cli", "generate"]
        with started(command, cli_env(db_url), logs) as process:
            deadline = time.monotonic() + KILL_DEADLINE
            while process.poll() is None and probe.count(select(Review.id)) < 1000:
                assert time.monotonic() < deadline, log_tail(logs)
                time.sleep(POLL)
            changed = {**last, "evidence_level": "Changed while the run composed its pages"}
            with session_scope(engine) as session:
                import_data(session, {"compounds": [changed]})
            # The change committed after the run read its facts and before it wrote these.
            assert process.poll() is None and probe.count(of_last) == 0, log_tail(logs)
            assert process.wait(timeout=CLI_TIMEOUT) == 0, log_tail(logs)
        version = str(yaml.safe_load(TEMPLATES.read_text())["templates"][0]["version"])
        expected = expected_fingerprints(probe, version)
        with probe.engine.connect() as conn:
            ids = set(conn.execute(of_last).scalars())
        assert len(ids) == conditions
        state = reviews_state(probe)
        for rid in ids:  # composed from the older facts, and flagged so
            assert state[rid]["current"] == expected[rid] != state[rid]["fingerprint"]
            assert not any(changed["evidence_level"] in b for _, _, _, b in state[rid]["sections"])
        stale = select(Review.id).where(Review.fingerprint != Review.current_fingerprint)
        assert probe.count(stale) == conditions  # those, and only those

        summary = cli(db_url, "generate", "--stale").stdout
        assert f"0 created, {conditions} refreshed" in summary
        assert probe.count(stale) == 0
        state = reviews_state(probe)
        for rid in ids:
            assert any(changed["evidence_level"] in b for _, _, _, b in state[rid]["sections"])
    finally:
        probe.close()
        engine.dispose()


# --- 3. the server killed while mutations are in flight --------------------------------------

IMPORT = """mutation Import($c: String!) {
  importCatalog(content: $c, format: JSON) {
    counts { kind created }
    effect { regeneratedReviews }
  }
}"""
BATCH_COMPOUNDS, BATCH_CONDITIONS = 20, 15  # 300 evidence rows and reviews per import


def batch_rows(probe: Probe, tag: str) -> tuple[int, ...]:
    """What one import batch left: compounds, conditions, evidence, citations, reviews, sections."""
    like = f"{tag}-%"
    mine = Compound.slug.like(like)
    return (
        probe.count(select(Compound.id).where(mine)),
        probe.count(select(Condition.id).where(Condition.slug.like(like))),
        probe.count(
            select(Evidence.id).join(Compound, Compound.id == Evidence.compound_id).where(mine)
        ),
        probe.count(
            select(Citation.id)
            .outerjoin(Evidence, Evidence.id == Citation.evidence_id)
            .join(
                Compound,
                (Compound.id == Citation.compound_id) | (Compound.id == Evidence.compound_id),
            )
            .where(mine)
        ),
        probe.count(
            select(Review.id).join(Compound, Compound.id == Review.compound_id).where(mine)
        ),
        probe.count(
            select(ReviewSection.id)
            .join(Review, Review.id == ReviewSection.review_id)
            .join(Compound, Compound.id == Review.compound_id)
            .where(mine)
        ),
    )


def applied_rows() -> tuple[int, ...]:
    c, d = BATCH_COMPOUNDS, BATCH_CONDITIONS
    return (c, d, c * d, c + c * d, c * d, c * d * len(SECTION_KEYS))


@contextmanager
def server(url: str, logs: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "server.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    # Every import generates all its drafts in its own transaction.
    env = cli_env(url, COMPENDIUM_INLINE_REGENERATION_LIMIT="100000")
    with started(command, env, logs) as process:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"the server exited\n{log_tail(logs)}"
            assert time.monotonic() < deadline, f"the server never became healthy\n{log_tail(logs)}"
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield process, base


class Burst:
    """Client threads sending importCatalog mutations back to back, a new batch each."""

    def __init__(self, base: str, token: str, round_: int, threads: int = 3):
        self.base = base
        self.token = token
        self.round = round_
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.next = 0
        self.outcomes: dict[str, str] = {}  # tag -> "applied" | "error" | "in flight"
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        headers = {
            "authorization": f"Bearer {self.token}",
            "accept": "application/graphql-response+json",
        }
        with httpx.Client(base_url=self.base, timeout=60, headers=headers) as client:
            while not self.stop.is_set():
                with self.lock:
                    tag = f"r{self.round}b{self.next}"
                    self.next += 1
                content = json.dumps(catalog(tag, BATCH_COMPOUNDS, BATCH_CONDITIONS))
                with self.lock:
                    self.outcomes[tag] = "in flight"
                try:
                    response = client.post(
                        "/graphql", json={"query": IMPORT, "variables": {"c": content}}
                    )
                    payload = response.json()
                except (httpx.HTTPError, ValueError):
                    return  # the server died under this request: the outcome stays "in flight"
                if response.status_code != 200 or payload.get("errors"):
                    outcome = "error"
                elif payload["data"]["importCatalog"]["effect"]["regeneratedReviews"] == (
                    BATCH_COMPOUNDS * BATCH_CONDITIONS
                ):
                    outcome = "applied"
                else:
                    outcome = f"unexpected answer: {payload}"
                with self.lock:
                    self.outcomes[tag] = outcome

    def answered(self) -> int:
        with self.lock:
            return sum(1 for v in self.outcomes.values() if v == "applied")

    def in_flight(self) -> list[str]:
        with self.lock:
            return [k for k, v in self.outcomes.items() if v == "in flight"]

    def kill_server_midway(self, process: subprocess.Popen[bytes], probe: Probe) -> list[str]:
        """Send imports until two were answered and one is writing right now, SIGKILL the
        server at that moment; the batches that were in flight."""
        for thread in self.threads:
            thread.start()
        try:
            deadline = time.monotonic() + KILL_DEADLINE
            while not (self.answered() >= 2 and probe.writer_active()):
                assert process.poll() is None, "the server exited during the burst"
                assert time.monotonic() < deadline, f"no kill point: {self.outcomes}"
                time.sleep(POLL)
            flying = self.in_flight()
            sigkill(process)
        finally:
            self.stop.set()
            for thread in self.threads:
                thread.join(timeout=60)
        assert flying, "no request was in flight at the kill"
        return flying


def test_server_killed_during_mutations_applies_each_whole_or_not(
    db_url: str, tmp_path: Path
) -> None:
    seeded(db_url)
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            token, _ = create_token(session, "fault-editor", "editor")
    finally:
        engine.dispose()
    probe = Probe(db_url)
    applied: set[str] = set()
    interrupted: list[str] = []
    try:
        for round_ in range(3):  # until a kill cut an import short (the first one, in practice)
            with server(db_url, tmp_path / f"server-{round_}") as (process, base):
                burst = Burst(base, token, round_)
                flying = burst.kill_server_midway(process, probe)
            probe.wait_for_dead_sessions()
            probe.check_integrity()

            for tag, outcome in burst.outcomes.items():
                rows = batch_rows(probe, tag)
                assert rows in (applied_rows(), (0,) * 6), f"{tag} ({outcome}) is partial: {rows}"
                if rows == applied_rows():
                    applied.add(tag)
                if outcome == "applied":  # answered: committed, and still there
                    assert rows == applied_rows(), tag
                elif outcome == "error":  # refused: nothing of it
                    assert rows == (0,) * 6, tag
                else:
                    assert outcome == "in flight", f"{tag}: {outcome}"
                    if tag in flying and rows == (0,) * 6:
                        interrupted.append(tag)
            print(f"round {round_}: {burst.outcomes}; in flight at the kill: {flying}")
            audited = probe.count(select(AuditEntry.id).where(AuditEntry.action == "importCatalog"))
            assert audited == len(applied)  # the audit entry commits with its import
            if interrupted:
                break
        assert interrupted, "no import was cut short by the kills"

        # Restarted on the same database, the server answers normally.
        with server(db_url, tmp_path / "server-restarted") as (process, base):
            headers = {"authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
                query = (
                    '{ reviews(first: 1) { totalCount } review(slug: "ketamine--als") { status } }'
                )
                data = client.post("/graphql", json={"query": query}).json()["data"]
                assert (
                    data["reviews"]["totalCount"]
                    == 2 + len(applied) * BATCH_COMPOUNDS * BATCH_CONDITIONS
                )
                assert data["review"] == {"status": "DRAFT"}
                content = json.dumps(catalog("after", BATCH_COMPOUNDS, BATCH_CONDITIONS))
                answer = client.post(
                    "/graphql", json={"query": IMPORT, "variables": {"c": content}}
                )
                assert "errors" not in answer.json(), answer.text
            assert batch_rows(probe, "after") == applied_rows()
            process.terminate()
            process.wait(timeout=30)
        probe.check_integrity()
    finally:
        probe.close()
