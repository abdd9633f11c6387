"""1. An import killed while it writes changes nothing."""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from db.models import Citation, Compound, Condition, Evidence, Publisher, Review
from tests.server.faults.probe import Probe, seeded
from tests.server.faults.tools import (
    KILL_DEADLINE,
    POLL,
    SEED,
    catalog,
    cli,
    cli_env,
    log_tail,
    sigkill,
    started,
    write_json,
)


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
