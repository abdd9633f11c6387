"""The command line per locale (issue 16): `compendium generate --locale`, and
`publish` / `unpublish --locale`, run as real processes against a real database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from db.engine import make_engine, session_scope
from tests.conftest import DEMO, FIXTURES
from tests.server.test_cli import run


@pytest.fixture
def url(new_db: Callable[[], str], tmp_path: Path) -> str:
    """The seed pages generated in English, and the demo's Spanish template imported."""
    url = new_db()
    run(url, "db", "upgrade")
    demo = yaml.safe_load(DEMO.read_text())
    spanish = tmp_path / "es.yaml"
    spanish.write_text(yaml.safe_dump({"templates": demo["templates"]}, allow_unicode=True))
    run(url, "import", str(FIXTURES / "seed-pages.yaml"), str(spanish))
    run(url, "generate")
    return url


def pages(url: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    """Each review's (slug, locale): its status and who approved its published revision."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            rows = session.execute(
                text(
                    "SELECT v.slug, v.locale, v.status, r.approved_by FROM review v "
                    "LEFT JOIN review_revision r ON r.id = v.published_revision_id"
                )
            )
            return {(r.slug, r.locale): (r.status, r.approved_by) for r in rows}
    finally:
        engine.dispose()


def test_generate_publish_and_unpublish_a_translation(url: str) -> None:
    # Nothing to translate while no English page is published.
    assert "0 pairs: 0 created" in run(url, "generate", "--locale", "es").stdout
    run(url, "publish", "ketamine--als", "--reviewer", "Dr. Rita")
    assert "1 pairs: 1 created" in run(url, "generate", "--locale", "es").stdout
    assert pages(url)[("ketamine--als", "es")] == ("DRAFT", None)

    proc = run(url, "publish", "--all", "--locale", "es", "--reviewer", "Dra. Sofía")
    assert proc.stdout.splitlines() == [
        "ketamine--als (es): published revision 1, approved by Dra. Sofía",
        "1 published, 0 already published, 0 refused",
    ]
    assert pages(url) == {
        ("ketamine--als", "en"): ("PUBLISHED", "Dr. Rita"),
        ("ketamine--neuropathic-pain", "en"): ("DRAFT", None),
        ("ketamine--als", "es"): ("PUBLISHED", "Dra. Sofía"),
    }
    again = run(url, "publish", "ketamine--als", "--locale", "es", "--reviewer", "Dra. Sofía")
    assert "ketamine--als (es): already published (revision 1)" in again.stdout

    down = run(url, "unpublish", "ketamine--als", "--locale", "es", "--by", "ops")
    assert down.stdout.splitlines() == [
        "ketamine--als (es): unpublished (now DRAFT)",
        "1 unpublished, 0 refused",
    ]
    assert pages(url)[("ketamine--als", "es")] == ("DRAFT", None)
    assert pages(url)[("ketamine--als", "en")] == ("PUBLISHED", "Dr. Rita")
    # A page that has no translation in that locale is refused by name.
    missing = run(
        url,
        "publish",
        "ketamine--neuropathic-pain",
        "--locale",
        "es",
        "--reviewer",
        "Dr. R",
        check=False,
    )
    assert missing.returncode == 1
    assert "no review 'ketamine--neuropathic-pain (es)'" in missing.stderr


def test_unknown_locales_on_the_command_line(url: str) -> None:
    before = pages(url)
    for args in (
        ["generate", "--locale", "fr"],
        ["publish", "ketamine--als", "--locale", "fr", "--reviewer", "Dr. Rita"],
        ["unpublish", "ketamine--als", "--locale", "de", "--by", "ops"],
    ):
        proc = run(url, *args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "--locale: unknown locale" in proc.stderr and "en, es" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert pages(url) == before
