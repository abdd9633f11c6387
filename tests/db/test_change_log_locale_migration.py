"""Upgrading a database whose change log predates locales: each review entry gets its
review's locale (the default locale's for reviews deleted since), record entries none, and
the feed per locale reads them so."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import text

from catalog.importing import import_data
from db.engine import make_engine, session_scope
from db.migrate import alembic_config, upgrade
from db.models import utcnow
from db.publishing import publish_reviews
from editorial.generation import generate
from tests.conftest import TEMPLATES, load
from tests.db.test_read_model_migration import CATALOG

REVISION = "f2c6d8b40013"  # change_log.locale


def before_locales() -> str:
    """The revision this migration upgrades from (whatever it is chained after)."""
    script = ScriptDirectory.from_config(alembic_config())
    down = script.get_revision(REVISION).down_revision
    assert isinstance(down, str)
    return down


def test_existing_review_entries_get_their_reviews_locale(new_db: Any) -> None:
    url = new_db()
    upgrade(url, before_locales())
    engine = make_engine(url)
    load(engine, TEMPLATES)
    with session_scope(engine) as session:
        import_data(session, CATALOG)
    generate(engine, parallel=1)
    with session_scope(engine) as session:
        ids = sorted(int(r.id) for r in session.execute(text("SELECT id FROM review")))
        publish_reviews(session, ids, "Dr. Old (fictional)", utcnow(), timedelta(days=365))
        # A translation logged before the upgrade (its review row says its locale) and an
        # entry of a review deleted since.
        session.execute(
            text("UPDATE review SET locale = 'es' WHERE slug = 'beta--gamma'"),
        )
        session.execute(
            text(
                "INSERT INTO change_log (at, entity, entity_id, slug, op) "
                "VALUES (:at, 'review', 9999, 'gone--gamma', 'DELETE')"
            ),
            {"at": utcnow()},
        )
    engine.dispose()

    upgrade(url)

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT entity, slug, locale FROM change_log ORDER BY id")).all()
    engine.dispose()
    reviews = {(slug, locale) for entity, slug, locale in rows if entity == "review"}
    assert reviews == {("alpha--gamma", "en"), ("beta--gamma", "es"), ("gone--gamma", "en")}
    records = [(entity, locale) for entity, _, locale in rows if entity != "review"]
    assert records and all(locale is None for _, locale in records)
    assert {entity for entity, _ in records} >= {"compound", "condition"}
