"""The fault tests' tools: catalogs to import, and the processes they run and kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, ROOT

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
