"""3. The server killed while mutations are in flight applies each whole or not."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import select

from db.engine import make_engine, session_scope
from db.models import Citation, Compound, Condition, Evidence, Review, ReviewSection
from db.operations import AuditEntry
from db.tokens import create_token
from tests.live import free_port
from tests.server.faults.probe import Probe, seeded
from tests.server.faults.tools import (
    KILL_DEADLINE,
    POLL,
    SECTION_KEYS,
    catalog,
    cli_env,
    log_tail,
    sigkill,
    started,
)

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
