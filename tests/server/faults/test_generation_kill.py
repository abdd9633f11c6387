"""2. A generation run killed between batches leaves whole reviews."""

from __future__ import annotations

import copy
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from catalog.importing import import_data
from content.facts import review_fingerprint
from db.engine import make_engine, session_scope
from db.models import Compound, Condition, Evidence, Publisher, Review, ReviewSection
from tests.conftest import TEMPLATES, load
from tests.server.faults.probe import Probe
from tests.server.faults.tools import (
    CLI_TIMEOUT,
    KILL_DEADLINE,
    POLL,
    SECTION_KEYS,
    SEED,
    alive,
    catalog,
    cli,
    cli_env,
    descendants,
    log_tail,
    sigkill,
    started,
    wait_until,
    write_json,
)

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
    the same transaction as the review row or before it (a regeneration keeps a generated
    section whose text it composes again unchanged, db/reviews.py); the sections the new
    template changes are checked apart (``count_old_or_new``: the INTRO)."""
    keys = [key for key, _, _, _ in review["sections"]]
    assert sorted(keys) == sorted(SECTION_KEYS), keys
    for _key, origin, updated_at, _blocks in review["sections"]:
        assert origin == "GENERATED"
        assert updated_at <= review["generated_at"]


def generated_catalog(db_url: str, tmp_path: Path, compounds: int, conditions: int) -> None:
    """The seed pairs and a catalog of ``compounds × conditions`` pairs, all generated."""
    load_engine = make_engine(db_url)
    try:
        load(load_engine, TEMPLATES, SEED)
    finally:
        load_engine.dispose()
    path = write_json(tmp_path / "gen.json", catalog("gen", compounds, conditions))
    cli(db_url, "import", str(path))
    cli(db_url, "generate")


def kill_stale_generation(db_url: str, probe: Probe, logs: Path) -> set[int]:
    """Runs ``generate --stale`` and SIGKILLs it once 1,000 reviews are renewed; returns
    the processes it had spawned."""
    renewed = select(Review.id).where(Review.template_version == NEW_VERSION)
    command = [sys.executable, "-m", "server.cli", "generate", "--stale"]
    with started(command, cli_env(db_url), logs) as process:
        deadline = time.monotonic() + KILL_DEADLINE
        while process.poll() is None and probe.count(renewed) < 1000:
            assert time.monotonic() < deadline, log_tail(logs)
            time.sleep(POLL)
        assert process.poll() is None, f"generation ended before the kill\n{log_tail(logs)}"
        workers = descendants(process.pid)
        sigkill(process)
    return workers


def assert_workers_exit(workers: set[int]) -> None:
    """No orphan: the workers notice their parent is gone and exit on their own."""
    killed = time.monotonic()
    try:
        wait_until(lambda: not any(alive(pid) for pid in workers), 20, "the pool's workers to exit")
    finally:
        for pid in workers:  # never leave our own stragglers behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    print(f"pool processes {sorted(workers)} gone {time.monotonic() - killed:.1f} s after the kill")


def count_old_or_new(
    now: dict[int, dict[str, Any]],
    old: dict[int, dict[str, Any]],
    new_fp: dict[int, str],
    old_version: str,
) -> int:
    """Every review is entirely old or entirely new; returns how many are new."""
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
            # The changed section was written with the review row, in one transaction.
            intro_at = next(at for k, _, at, _ in review["sections"] if k == "INTRO")
            assert intro_at == review["generated_at"]
        else:
            assert review["version"] == old_version
            assert review["fingerprint"] == old[rid]["fingerprint"]
            assert review["generated_at"] == old[rid]["generated_at"]
            assert review["sections"] == old[rid]["sections"]
            assert MARKER not in intro
    return fresh


def assert_all_renewed(probe: Probe, new_fp: dict[int, str]) -> None:
    probe.check_integrity()
    final = reviews_state(probe)
    for rid, review in final.items():
        assert_whole(review)
        assert review["version"] == NEW_VERSION
        assert review["fingerprint"] == review["current"] == new_fp[rid]
    assert (
        probe.count(select(Review.id).where(Review.fingerprint != Review.current_fingerprint)) == 0
    )


def test_generation_killed_midway_leaves_whole_reviews(db_url: str, tmp_path: Path) -> None:
    compounds, conditions = 100, 60  # 6,000 pairs (+2 seed pairs): the worker pool, 7 batches
    generated_catalog(db_url, tmp_path, compounds, conditions)
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

        workers = kill_stale_generation(db_url, probe, tmp_path / "generate")
        if (os.cpu_count() or 1) > 1:
            # Spawned composer processes (and multiprocessing's resource tracker).
            assert len(workers) >= 2, workers
        assert_workers_exit(workers)
        probe.wait_for_dead_sessions()
        probe.check_integrity()

        # Every review is entirely old or entirely new; whole batches only.
        fresh = count_old_or_new(reviews_state(probe), old, new_fp, old_version)
        print(f"generation killed with {fresh} of {total} reviews regenerated")
        assert 1000 <= fresh < total, fresh  # killed mid-run: some new, some old
        assert fresh % 1000 == 0, fresh  # batches of 1,000 committed whole, or not at all
        after_kill = probe.snapshot()
        assert after_kill["review"][0] == before_kill["review"][0]
        assert after_kill["review_section"][0] == before_kill["review_section"][0]

        # Restart: the stale pass finishes exactly what is left.
        summary = cli(db_url, "generate", "--stale").stdout
        assert f"{total} pairs: 0 created, {total - fresh} refreshed, {fresh} unchanged" in summary
        assert_all_renewed(probe, new_fp)
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
