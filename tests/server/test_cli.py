"""The compendium command line, run as a real process against a real database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from db.engine import make_engine, session_scope
from db.operations import Role
from db.tokens import TokenIdentity, hash_token, identify
from tests.conftest import FIXTURES, ROOT, SEEDS, TEMPLATES


def stored_bytes(db_url: str) -> bytes:
    """Everything the database holds: its files (SQLite) or a full dump (PostgreSQL)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        return b"".join(
            Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists()
        )
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed to inspect a PostgreSQL database"
    dump = subprocess.run(
        [
            pg_dump,
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "--data-only",
            url.database or "",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return dump.stdout


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
def url(new_db: Callable[[], str]) -> str:
    return new_db()


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


def test_export_round_trip_via_cli(url: str, tmp_path: Path, new_db: Callable[[], str]) -> None:
    run(url, "db", "upgrade")
    run(url, "import", str(TEMPLATES), str(FIXTURES / "seed-pages.yaml"))
    first = tmp_path / "a.yaml"
    run(url, "export", str(first))
    other = new_db()
    run(other, "db", "upgrade")
    run(other, "import", str(first))
    second = tmp_path / "b.yaml"
    run(other, "export", str(second))
    assert first.read_text() == second.read_text()


def test_token_commands_have_help(url: str) -> None:
    for cmd in (
        ["token", "--help"],
        ["token", "create", "--help"],
        ["token", "list", "--help"],
        ["token", "revoke", "--help"],
    ):
        assert "Usage" in run(url, *cmd).stdout


def _identify(url: str, secret: str) -> TokenIdentity | None:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            return identify(session, secret)
    finally:
        engine.dispose()


def test_token_create_list_revoke(url: str, tmp_path: Path) -> None:
    run(url, "db", "upgrade")
    created = run(url, "token", "create", "--name", "alice", "--role", "editor")
    # The secret alone on stdout (scripts capture it); the explanation on stderr.
    lines = created.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cmp_"), created.stdout
    secret = lines[0]
    assert secret not in created.stderr and "only time" in created.stderr

    identity = _identify(url, secret)
    assert identity is not None
    assert identity.name == "alice" and identity.role is Role.EDITOR

    # Only the hash is stored: the secret is nowhere in the database.
    stored = stored_bytes(url)
    assert b"alice" in stored  # (the dump does hold the token's row)
    assert secret.encode() not in stored

    run(url, "token", "create", "--name", "ci-bot", "--role", "REVIEWER")
    listing = run(url, "token", "list").stdout
    for fragment in ("name", "role", "prefix", "created", "revoked", "alice", "editor"):
        assert fragment in listing
    assert "ci-bot" in listing and "reviewer" in listing
    assert secret[:12] in listing  # the prefix, to tell tokens apart
    assert secret not in listing
    assert hash_token(secret) not in listing

    revoked = run(url, "token", "revoke", "alice")
    assert "revoked token 'alice'" in revoked.stdout
    assert _identify(url, secret) is None
    alice = next(line for line in run(url, "token", "list").stdout.splitlines() if "alice" in line)
    assert alice.count("UTC") == 2  # created and revoked

    again = run(url, "token", "revoke", "alice", check=False)
    assert again.returncode == 1 and "no active token named 'alice'" in again.stderr
    missing = run(url, "token", "revoke", "nobody", check=False)
    assert missing.returncode == 1 and "no active token named 'nobody'" in missing.stderr


def test_token_create_refuses_duplicates_and_bad_input(url: str) -> None:
    run(url, "db", "upgrade")
    run(url, "token", "create", "--name", "alice", "--role", "admin")
    dup = run(url, "token", "create", "--name", "alice", "--role", "editor", check=False)
    assert dup.returncode == 1 and dup.stdout == ""
    assert "a token named 'alice' exists already" in dup.stderr
    bad_role = run(url, "token", "create", "--name", "bob", "--role", "boss", check=False)
    assert bad_role.returncode == 2 and bad_role.stdout == ""
    assert "invalid --role 'boss'" in bad_role.stderr
    bad_name = run(url, "token", "create", "--name", " ", "--role", "editor", check=False)
    assert bad_name.returncode == 2 and "invalid --name" in bad_name.stderr
    for proc in (dup, bad_role, bad_name):
        assert "Traceback" not in proc.stderr
    listing = run(url, "token", "list").stdout
    assert "bob" not in listing and listing.count("alice") == 1


def test_token_commands_on_an_unmigrated_database(url: str) -> None:
    proc = run(url, "token", "list", check=False)
    assert proc.returncode == 1 and "compendium db upgrade" in proc.stderr
    assert "Traceback" not in proc.stderr
