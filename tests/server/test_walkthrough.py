"""The README's new-user walkthrough, run as written: its catalog file, then each of its
commands through the installed `compendium` entry point on a fresh database (of the
backend under test), then `compendium serve` and the page over HTTP. Every command's
output must be the one the README shows, so the two cannot drift apart."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.live import _stop, _wait_healthy, free_port

README = ROOT / "README.md"
ENTRY_POINT = Path(sys.executable).parent / "compendium"
SECTION = "## Your own catalog: a walkthrough"


@dataclass
class Step:
    """One `$ command` of the README's console block and the output shown under it."""

    argv: list[str]
    expected: list[str] = field(default_factory=list)


def fenced_block(text: str, marker: str) -> str:
    """The fenced code block right after the HTML comment ``<!-- walkthrough: marker ... -->``."""
    found = re.search(
        rf"<!-- walkthrough: {re.escape(marker)}\b.*?-->\n```[a-z]*\n(.*?)\n```", text, re.S
    )
    assert found, f"README: no code block after `<!-- walkthrough: {marker} -->`"
    return found.group(1) + "\n"


def walkthrough() -> tuple[str, list[Step]]:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text
    steps: list[Step] = []
    for line in fenced_block(text, "commands").splitlines():
        if line.startswith("$ "):
            steps.append(Step(shlex.split(line[2:])))
        else:
            assert steps, f"output before any command: {line!r}"
            steps[-1].expected.append(line)
    return fenced_block(text, "my.yaml"), steps


def normalised(lines: list[str]) -> list[str]:
    # Generation prints how long it took.
    return [re.sub(r", in \d+(\.\d+)?s$", ", in <seconds>s", line) for line in lines]


@pytest.fixture
def fresh_url(new_db: Callable[[], str]) -> str:
    """An empty database, never migrated: what a new user starts from."""
    return new_db()


@contextlib.contextmanager
def serving(argv: list[str], env: dict[str, str], cwd: Path) -> Iterator[str]:
    """The README's `compendium serve ... &` on a free port; yields its base URL."""
    port = free_port()
    args = [*argv[:-1]] if argv[-1] == "&" else list(argv)
    if "--port" in args:
        args[args.index("--port") + 1] = str(port)
    else:
        args += ["--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    stderr_path = cwd / "serve.stderr.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr
        )
    try:
        _wait_healthy(process, base, stderr_path)
        yield base
    finally:
        _stop(process)


def curl(argv: list[str], base: str) -> dict[str, object]:
    """The README's `curl -s URL -H ... -d BODY`, sent with httpx to the server at ``base``."""
    url = next(a for a in argv if a.startswith("http://"))
    headers = dict(
        tuple(part.strip() for part in argv[i + 1].split(":", 1))
        for i, a in enumerate(argv)
        if a == "-H"
    )
    body = argv[argv.index("-d") + 1]
    path = url.split("/", 3)[3]
    response = httpx.post(f"{base}/{path}", content=body.encode(), headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_readme_walkthrough_runs_as_written(fresh_url: str, tmp_path: Path) -> None:
    assert ENTRY_POINT.is_file(), f"{ENTRY_POINT} is missing: run `make install`"
    catalog, steps = walkthrough()
    (tmp_path / "my.yaml").write_text(catalog, encoding="utf-8")
    env = dict(os.environ, COMPENDIUM_DATABASE_URL=fresh_url, PYTHONUNBUFFERED="1")
    names = [" ".join(step.argv[:2]) for step in steps]
    assert names[:5] == [
        "export COMPENDIUM_DATABASE_URL=sqlite:///./my.db",
        "compendium db",
        "compendium import",
        "compendium generate",
        "compendium publish",
    ], names
    with contextlib.ExitStack() as stack:
        base = None
        answers = []
        for step in steps:
            program = step.argv[0]
            if program == "export":
                continue  # (the test's own fresh database instead)
            if program == "curl":
                assert base is not None, "curl before `compendium serve`"
                shown = json.loads("\n".join(step.expected))
                answer = curl(step.argv, base)
                answers.append(answer)
                assert answer.get("data") == shown["data"], answer
                assert "errors" not in answer
                continue
            assert program == "compendium", step.argv
            if step.argv[1] == "serve":
                base = stack.enter_context(
                    serving([str(ENTRY_POINT), *step.argv[1:]], env, tmp_path)
                )
                continue
            proc = subprocess.run(
                [str(ENTRY_POINT), *step.argv[1:]],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert proc.returncode == 0, f"{step.argv}: {proc.stderr}"
            assert normalised(proc.stdout.splitlines()) == normalised(step.expected), step.argv
        assert base is not None, "the walkthrough never serves the page"
    # The published page, as an anonymous reader gets it.
    assert len(answers) == 1
    review = answers[0]["data"]["review"]  # type: ignore[index]
    assert review["title"] == "Is Melatonin Safe for Insomnia Patients? — Research Review"
    assert review["status"] == "PUBLISHED"
