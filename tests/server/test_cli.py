"""The compendium command line, run as a real process against a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, SEEDS, TEMPLATES


def run(db_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COMPENDIUM_DATABASE_URL=db_url)
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_every_command_has_help(url: str) -> None:
    for cmd in (
        ["--help"],
        ["db", "upgrade", "--help"],
        ["import", "--help"],
        ["export", "--help"],
        ["generate", "--help"],
        ["render", "--help"],
        ["demo", "--help"],
    ):
        assert "Usage" in run(url, *cmd).stdout


def test_import_generate_render(url: str) -> None:
    run(url, "db", "upgrade")
    out = run(url, "import", str(TEMPLATES), str(FIXTURES / "seed-pages.yaml")).stdout
    assert "compounds: 1 created" in out
    gen = run(url, "generate")
    assert "2 pairs: 2 created" in gen.stdout
    assert "2/2" in gen.stderr  # the progress bar
    assert "0 refreshed, 2 unchanged" in run(url, "generate", "--stale").stdout
    plain = run(
        url, "render", "--compound", "ketamine", "--condition", "als", "--format", "plain"
    ).stdout
    seed = (next(Path(SEEDS).glob("003_*.txt"))).read_text()
    assert plain.splitlines()[0] == seed.splitlines()[0]
    html = run(
        url, "render", "--compound", "ketamine", "--condition", "als", "--format", "html"
    ).stdout
    assert html.startswith("<article>") and "<h2>Bottom Line on Safety</h2>" in html


def test_bad_import_exits_non_zero_with_every_error(url: str, tmp_path: Path) -> None:
    run(url, "db", "upgrade")
    bad = tmp_path / "bad.yaml"
    bad.write_text("compounds:\n  - {slug: 'Bad', name: ''}\nconditions: [{slug: ok}]\n")
    proc = run(url, "import", str(bad), check=False)
    assert proc.returncode == 1
    for fragment in (
        "compounds[0].slug",
        "compounds[0].name",
        "compounds[0].drug_class",
        "conditions[0].name",
        "conditions[0].specialist",
        "nothing was imported",
    ):
        assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_render_unknown_pair_is_a_clear_error(url: str) -> None:
    run(url, "db", "upgrade")
    proc = run(url, "render", "--compound", "nope", "--condition", "als", check=False)
    assert proc.returncode == 1 and "unknown compound 'nope'" in proc.stderr


def test_export_round_trip_via_cli(url: str, tmp_path: Path) -> None:
    run(url, "db", "upgrade")
    run(url, "import", str(TEMPLATES), str(FIXTURES / "seed-pages.yaml"))
    first = tmp_path / "a.yaml"
    run(url, "export", str(first))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    run(other, "db", "upgrade")
    run(other, "import", str(first))
    second = tmp_path / "b.yaml"
    run(other, "export", str(second))
    assert first.read_text() == second.read_text()
