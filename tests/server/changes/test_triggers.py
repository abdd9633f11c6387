"""The triggers that write the change log: what readers see, and only that."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from db.engine import make_engine

# --- the triggers themselves ----------------------------------------------------------------


def test_triggers_log_what_readers_see_only(demo_url: str) -> None:
    engine = make_engine(demo_url)

    def log_after(conn: Any, position: int) -> list[tuple[str, str, str]]:
        rows = conn.execute(
            text("SELECT entity, slug, op FROM change_log WHERE id > :p ORDER BY id"),
            {"p": position},
        )
        return [(str(e), s, str(o)) for e, s, o in rows]

    try:
        with engine.begin() as conn:
            start = conn.execute(text("SELECT max(id) FROM change_log")).scalar()
            # Working-copy writes, however real, log nothing: readers do not see them.
            conn.execute(text("UPDATE compound SET name = 'Renamed', revision = revision + 1"))
            conn.execute(text("UPDATE condition SET name = 'Renamed', revision = revision + 1"))
            conn.execute(
                text("UPDATE review SET title = title || '!', fingerprint = 'x' WHERE slug = :s"),
                {"s": "ketamine--als"},
            )
            # Neither does rewriting an approved copy's columns without a new version.
            conn.execute(text("UPDATE public_condition SET approved_at = approved_at"))
            assert log_after(conn, start) == []
            # An approval (a new version of the approved copy) logs one UPSERT.
            version = conn.execute(
                text(
                    "SELECT v.id FROM fact_version v JOIN public_condition p "
                    "ON p.version_id = v.id WHERE p.slug = 'lupus'"
                )
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO fact_version (kind, record_id, number, content_hash, facts, "
                    "created_at) SELECT kind, record_id, number + 1, 'new', facts, created_at "
                    "FROM fact_version WHERE id = :v"
                ),
                {"v": version},
            )
            conn.execute(
                text(
                    "UPDATE public_condition SET version_id = (SELECT max(id) FROM fact_version) "
                    "WHERE slug = 'lupus'"
                )
            )
            assert log_after(conn, start) == [("condition", "lupus", "UPSERT")]
        # A rolled-back change leaves nothing behind.
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.execute(text("DELETE FROM public_compound WHERE slug = 'ketamine'"))
            raise RuntimeError("roll back")
        with engine.begin() as conn:
            after_update = conn.execute(text("SELECT max(id) FROM change_log")).scalar()
            assert after_update == start + 1
            # Deleting a compound cascades to its approved copy and its (published) reviews
            # and their evidence: every one is a DELETE.
            conn.execute(text("DELETE FROM compound WHERE slug = 'ivermectin'"))
            logged = log_after(conn, after_update)
        reviews = [slug for entity, slug, _ in logged if entity == "review"]
        assert len(reviews) == 16 and all(s.startswith("ivermectin--") for s in reviews)
        assert sorted(logged) == sorted(
            [("compound", "ivermectin", "DELETE")]
            + [("review", slug, "DELETE") for slug in reviews]
            + [(e, s, o) for e, s, o in logged if e == "evidence"]
        )
        assert {o for e, _, o in logged if e == "evidence"} == {"DELETE"}
        assert len([e for e, _, _ in logged if e == "evidence"]) == 16
    finally:
        engine.dispose()


def test_postgres_log_writers_serialize(demo_url: str) -> None:
    """Ids must become visible in order: a second writer of the log waits for the first."""
    if not demo_url.startswith("postgresql"):
        pytest.skip("SQLite serializes every writer already (this run is on SQLite)")

    engine = make_engine(demo_url)
    try:
        with engine.connect() as first, engine.connect() as second:
            # Withdrawing an approved copy logs a DELETE (and takes the log's lock).
            first.execute(text("DELETE FROM public_compound WHERE slug = 'ketamine'"))
            second.execute(text("SET lock_timeout = '200ms'"))
            # Another row entirely: only the log's lock can make it wait.
            with pytest.raises(OperationalError, match="lock timeout"):
                second.execute(text("DELETE FROM public_compound WHERE slug = 'melatonin'"))
            second.rollback()
            # Writes that log nothing (the working copy) do not wait.
            second.execute(text("UPDATE review SET title = 'x' WHERE slug = 'melatonin--als'"))
            second.execute(text("UPDATE compound SET name = 'x' WHERE slug = 'melatonin'"))
            second.rollback()
            first.commit()
            second.execute(text("DELETE FROM public_compound WHERE slug = 'melatonin'"))
            second.commit()
    finally:
        engine.dispose()
