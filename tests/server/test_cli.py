"""The compendium command line, run as a real process against a real database."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from db import editorial as ed
from db.engine import make_engine, session_scope
from db.operations import Role
from db.tables import AUDIT_LOG
from db.tokens import TokenIdentity, hash_token, identify
from editorial import sections
from editorial.permissions import Actor
from editorial.refs import ReviewRef
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


# --- a new database, and the operator's sign-off -------------------------------------------


def test_db_upgrade_installs_the_default_templates_once(url: str) -> None:
    first = run(url, "db", "upgrade").stdout
    assert "installed the default templates (templates.yaml): templates: 1 created" in first
    # Nothing but the catalog: generation works at once, with the default template.
    run(url, "import", str(FIXTURES / "seed-pages.yaml"))
    assert "2 pairs: 2 created" in run(url, "generate").stdout
    again = run(url, "db", "upgrade").stdout
    assert again.strip() == "database at revision head"


def _seeded(url: str) -> None:
    run(url, "db", "upgrade")
    run(url, "import", str(FIXTURES / "seed-pages.yaml"))
    run(url, "generate")


def _audit(url: str) -> list[tuple[str, str, str]]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            rows = session.execute(
                select(AUDIT_LOG.c.actor, AUDIT_LOG.c.role, AUDIT_LOG.c.action).order_by(
                    AUDIT_LOG.c.id
                )
            )
            return [(r.actor, r.role, r.action) for r in rows]
    finally:
        engine.dispose()


def _approval(url: str, slug: str) -> tuple[int, str] | None:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            review = ed.review_by_slug(session, slug)
            return ed.published_approval(session, review.id)
    finally:
        engine.dispose()


def test_publish_signs_off_through_the_gate_as_the_named_reviewer(url: str) -> None:
    _seeded(url)
    proc = run(url, "publish", "ketamine--als", "--reviewer", "Dr. Rita Reviewer")
    assert proc.stdout.splitlines() == [
        "ketamine--als: published revision 1, approved by Dr. Rita Reviewer",
        "1 published, 0 already published, 0 refused",
    ]
    assert _approval(url, "ketamine--als") == (1, "Dr. Rita Reviewer")
    assert _approval(url, "ketamine--neuropathic-pain") is None  # only the one named
    # A DRAFT is submitted, then published: both in the audit log, by the operator's name.
    assert _audit(url) == [
        ("Dr. Rita Reviewer", "operator", "submitForReview"),
        ("Dr. Rita Reviewer", "operator", "publishReview"),
    ]
    again = run(url, "publish", "ketamine--als", "--reviewer", "Dr. Rita Reviewer")
    assert "ketamine--als: already published (revision 1)" in again.stdout
    assert len(_audit(url)) == 2  # nothing written

    every = run(url, "publish", "--all", "--reviewer", "Dr. Rita Reviewer").stdout
    assert every.splitlines() == [
        "ketamine--neuropathic-pain: published revision 1, approved by Dr. Rita Reviewer",
        "1 published, 0 already published, 0 refused",
    ]
    assert (
        "no review waits for publishing"
        in run(url, "publish", "--all", "--reviewer", "Dr. Rita Reviewer").stdout
    )


def _edit_intro(url: str, slug: str, body: str) -> None:
    """An editor's change, through the same unit of work as the updateSection mutation."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            review = ed.review_by_slug(session, slug)
            section = ed.section_row(session, review.id, "INTRO", slug)
            sections.update_section(
                session,
                Actor("ann", "editor", None),
                ReviewRef.of(slug),
                "INTRO",
                section.revision,
                sections.section_blocks(body, "INTRO"),
                None,
                True,
            )
    finally:
        engine.dispose()


def test_publish_refuses_unacknowledged_findings_and_unknown_reviews(url: str) -> None:
    _seeded(url)
    _edit_intro(url, "ketamine--als", "Our editors say ketamine is completely safe here.")
    proc = run(url, "publish", "ketamine--als", "nope--als", "--reviewer", "Dr. Rita", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "ketamine--als: refused: 1 content finding(s) need the reviewer's acknowledgement" in (
        proc.stderr
    )
    finding = re.search(r"finding '([^']+)' in INTRO: ", proc.stderr)
    assert finding and "completely safe" in finding.group(1)
    assert "pass --acknowledge ID" in proc.stderr
    assert "nope--als: refused: no review 'nope--als'" in proc.stderr
    assert proc.stdout.splitlines() == ["0 published, 0 already published, 2 refused"]
    assert _approval(url, "ketamine--als") is None and _audit(url) == [
        ("ann", "editor", "updateSection")  # the refusal rolled the submit back
    ]

    ok = run(
        url,
        "publish",
        "ketamine--als",
        "--reviewer",
        "Dr. Rita",
        "--acknowledge",
        finding.group(1),
    )
    assert "ketamine--als: published revision 1, approved by Dr. Rita" in ok.stdout
    assert _audit(url)[-1] == ("Dr. Rita", "operator", "publishReview")


def test_publish_and_unpublish_command_line_errors(url: str) -> None:
    _seeded(url)
    for args, message in (
        (["ketamine--als"], "--reviewer NAME is required"),
        (["ketamine--als", "--reviewer", " padded "], "--reviewer NAME is required"),
        (["--reviewer", "Dr. Rita"], "name the reviews to publish (SLUG...) or pass --all"),
        (["ketamine--als", "--all", "--reviewer", "Dr. Rita"], "not both"),
    ):
        proc = run(url, "publish", *args, check=False)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
    proc = run(url, "unpublish", "ketamine--als", check=False)
    assert proc.returncode == 2 and "--by NAME is required" in proc.stderr
    long = run(
        url, "unpublish", "ketamine--als", "--by", "ops", "--reason", "x" * 1001, check=False
    )
    assert long.returncode == 2 and "--reason: the reason is too long" in long.stderr
    assert _audit(url) == []


def test_unpublish_takes_a_review_off_the_site(url: str) -> None:
    _seeded(url)
    run(url, "publish", "--all", "--reviewer", "Dr. Rita")
    proc = run(url, "unpublish", "ketamine--als", "--by", "ops desk", "--reason", "recheck")
    assert proc.stdout.splitlines() == [
        "ketamine--als: unpublished (now DRAFT)",
        "1 unpublished, 0 refused",
    ]
    assert _approval(url, "ketamine--als") is None
    assert _approval(url, "ketamine--neuropathic-pain") == (1, "Dr. Rita")
    assert _audit(url)[-1] == ("ops desk", "operator", "unpublishReview")
    again = run(url, "unpublish", "ketamine--als", "--by", "ops desk", check=False)
    assert again.returncode == 1
    assert "ketamine--als: refused: the review is not published" in again.stderr
    # Published again: a new revision, approved by whoever signs off now.
    back = run(url, "publish", "ketamine--als", "--reviewer", "Dr. Sam").stdout
    assert "ketamine--als: published revision 2, approved by Dr. Sam" in back
