"""Statements publishing and generation send to the driver as they are (db/bulk.py): the
values stored must be those SQLAlchemy would have stored, clock values included, and a
refresh that changes no text must leave the sections as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, text, update

from db.bulk import bulk_settings
from db.engine import BULK_CACHE_KIB, session_scope
from db.publishing import publish_reviews
from db.tables import PUBLIC_REVIEW, REVIEW, REVIEW_REVISION, REVIEW_SECTION, TEMPLATE
from editorial.generation import generate

# A whole second: the driver's own datetime adapter would drop ".000000" on SQLite.
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _publish(engine: Engine, now: datetime) -> list[int]:
    with session_scope(engine) as session:
        ids = list(session.execute(select(REVIEW.c.id).order_by(REVIEW.c.id)).scalars())
        publish_reviews(session, ids, "Dr. Test (fictional)", now, timedelta(days=30))
    return ids


def test_published_clock_values_as_sqlalchemy_stores_them(seed_engine: Engine) -> None:
    generate(seed_engine)
    ids = _publish(seed_engine, NOW)
    assert ids
    with session_scope(seed_engine) as session:
        for column in (
            REVIEW_REVISION.c.approved_at,
            REVIEW.c.published_at,
            REVIEW.c.updated_at,
            PUBLIC_REVIEW.c.published_at,
            PUBLIC_REVIEW.c.review_due_at,
        ):
            values = set(session.execute(select(column)).scalars())
            expected = NOW + timedelta(days=30) if column.name == "review_due_at" else NOW
            assert values == {expected}, column
        if seed_engine.dialect.name == "sqlite":
            raw = set(session.execute(text("SELECT approved_at FROM review_revision")).scalars())
            assert raw == {"2026-01-02 03:04:05.000000"}
        # Published twice: revision 2, and the review and its approved copy point at it.
        latest = dict(session.execute(select(REVIEW.c.id, REVIEW.c.published_revision_id)).all())
    _publish(seed_engine, NOW + timedelta(hours=1))
    with session_scope(seed_engine) as session:
        rows = session.execute(
            select(REVIEW.c.id, REVIEW.c.published_revision_id, REVIEW_REVISION.c.number).join(
                REVIEW_REVISION, REVIEW_REVISION.c.id == REVIEW.c.published_revision_id
            )
        ).all()
        assert {number for _, _, number in rows} == {2}
        assert all(vid != latest[rid] for rid, vid, _ in rows)
        public = dict(
            session.execute(select(PUBLIC_REVIEW.c.id, PUBLIC_REVIEW.c.revision_id)).all()
        )
        assert public == {rid: vid for rid, vid, _ in rows}


def test_refresh_without_text_changes_keeps_sections(seed_engine: Engine) -> None:
    generate(seed_engine)
    with session_scope(seed_engine) as session:
        before = session.execute(
            select(REVIEW_SECTION.c.id, REVIEW_SECTION.c.key, REVIEW_SECTION.c.blocks).order_by(
                REVIEW_SECTION.c.id
            )
        ).all()
        # A new template version that changes no text (as bench/scale.py's regeneration).
        session.execute(update(TEMPLATE).values(version=TEMPLATE.c.version + "-b"))
    report = generate(seed_engine, stale_only=True)
    assert report.refreshed > 0
    with session_scope(seed_engine) as session:
        after = session.execute(
            select(REVIEW_SECTION.c.id, REVIEW_SECTION.c.key, REVIEW_SECTION.c.blocks).order_by(
                REVIEW_SECTION.c.id
            )
        ).all()
        versions = set(session.execute(select(REVIEW.c.template_version)).scalars())
    assert after == before
    assert all(v.endswith("-b") for v in versions)


def test_bulk_settings_last_one_transaction(engine: Engine) -> None:
    """A bulk writer's settings (db.bulk.bulk_settings) are its transaction's: the pooled
    connection a reader gets next has the defaults (SQLite: the 2 MB page cache, not the
    writer's 64 MB; PostgreSQL: JIT as configured)."""
    setting = (
        "PRAGMA cache_size" if engine.dialect.name == "sqlite" else "SELECT current_setting('jit')"
    )
    with engine.connect() as conn:
        default = conn.exec_driver_sql(setting).scalar()
        first = conn.connection.dbapi_connection
    with session_scope(engine) as session:
        bulk_settings(session)
        assert session.connection().connection.dbapi_connection is first
        bulk = session.connection().exec_driver_sql(setting).scalar()
    assert bulk == (-BULK_CACHE_KIB if engine.dialect.name == "sqlite" else "off")
    assert bulk != default
    with engine.connect() as conn:
        assert conn.connection.dbapi_connection is first
        assert conn.exec_driver_sql(setting).scalar() == default
