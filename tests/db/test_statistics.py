"""Bulk writers keep PostgreSQL's statistics of the tables they grow (db/statistics.py).

Published batch after batch, a catalog's tables are analyzed as they double, so each
batch is planned from what they hold. (Planned from an empty ``fact_version``, a batch's
lookup of fact versions read every version of the kind and filtered them: 32 s per
5,000 reviews at 100,000, against 5 s at first. That plan needs a table far larger than
a test's to appear, so this test checks the statistics, and bench/publish_profile.py
--per-batch the times.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, Engine, MetaData, Table, Text, event, select, text
from sqlalchemy.orm import Session

from catalog.importing import import_data, import_file
from db import statistics
from db.engine import session_scope
from db.publishing import PUBLISH_READS, publish_reviews
from db.tables import FACT_VERSION, REVIEW
from editorial.generation import generate
from tests.conftest import TEMPLATES
from tests.databases import is_postgres
from tests.server.faults.tools import catalog

pytestmark = pytest.mark.skipif(not is_postgres(), reason="PostgreSQL's planner statistics")

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def analyzed(engine: Engine) -> dict[str, tuple[int, int]]:
    """Each table's pages when last analyzed (0: never), and its pages now."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, relpages, pg_relation_size(oid) / 8192 FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = CAST(current_schema() AS regnamespace)"
            )
        ).all()
    return {name: (then, now) for name, then, now in rows}


def test_generating_and_publishing_in_batches_analyze_what_they_grow(engine: Engine) -> None:
    with session_scope(engine) as session:
        import_file(session, TEMPLATES)
        import_data(session, catalog("stat", 40, 50))  # 2,000 reviews
    generate(engine)
    with session_scope(engine) as session:
        ids = list(session.execute(select(REVIEW.c.id).order_by(REVIEW.c.id)).scalars())
    assert len(ids) == 2000
    before = analyzed(engine)
    # Generation analyzed the sections it wrote (db/review_writes.py); nothing is published.
    assert before["review_section"][0] > 0
    assert before[FACT_VERSION.name] == (0, 0)
    for start in range(0, len(ids), 400):
        with session_scope(engine) as session:
            publish_reviews(
                session, ids[start : start + 400], "Dr. Test (fictional)", NOW, timedelta(days=30)
            )
    after = analyzed(engine)
    assert after[FACT_VERSION.name][0] > 0
    assert after["review_revision"][0] > 0
    # Nothing has doubled since: the next batch analyzes nothing.
    with session_scope(engine) as session:
        assert statistics.refresh(session, PUBLISH_READS) == []


def test_a_table_analyzed_before_its_first_rows_committed_is_analyzed_again(
    engine: Engine,
) -> None:
    """ANALYZE on its own connection counts the pages of a transaction still open but not
    its rows: the table looks empty to the planner until it is analyzed again."""
    scratch = Table("stat_scratch", MetaData(), Column("x", Text))
    scratch.create(engine)
    filled = "x" * 100
    with session_scope(engine) as session:
        session.execute(scratch.insert(), [{"x": filled}] * 10_000)  # ~150 pages
        assert statistics.refresh(session, [scratch]) == ["stat_scratch"]
        assert tuples(engine, "stat_scratch") == 0  # (the rows were not committed yet)
    with session_scope(engine) as session:
        assert statistics.refresh(session, [scratch]) == ["stat_scratch"]
    assert tuples(engine, "stat_scratch") == 10_000
    with session_scope(engine) as session:
        assert statistics.refresh(session, [scratch]) == []


def tuples(engine: Engine, table: str) -> float:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
        ).scalar_one()
    return float(found)


def test_a_review_s_approved_copy_reads_its_revision_by_key_whatever_the_statistics(
    engine: Engine,
) -> None:
    """Planned from statistics that call ``review_revision`` empty (analyzed while the
    transaction filling it was open), a join could scan every revision for each review;
    the approved copies' statement looks each revision up by its key instead."""
    with session_scope(engine) as session:
        import_file(session, TEMPLATES)
        import_data(session, catalog("plan", 10, 60))  # 600 reviews
    generate(engine)
    with session_scope(engine) as session:
        ids = list(session.execute(select(REVIEW.c.id).order_by(REVIEW.c.id)).scalars())
    plans: list[Any] = []

    def explain(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> Any:
        if statement.startswith("INSERT INTO public_review "):
            statement = "EXPLAIN (FORMAT JSON) " + statement
        return statement, params

    def keep(_c: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("EXPLAIN"):
            plans.append(cursor.fetchall()[0][0])

    with Session(engine) as session:
        publish_reviews(session, ids[:500], "Dr. Test (fictional)", NOW, timedelta(days=30))
        session.flush()
        # Another connection's ANALYZE: the pages of the open transaction, none of its rows.
        with engine.connect() as other:
            other.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "ANALYZE review_revision"
            )
        assert tuples(engine, "review_revision") == 0
        event.listen(engine, "before_cursor_execute", explain, retval=True)
        event.listen(engine, "after_cursor_execute", keep)
        try:
            publish_reviews(session, ids[500:], "Dr. Test (fictional)", NOW, timedelta(days=30))
        finally:
            event.remove(engine, "before_cursor_execute", explain)
            event.remove(engine, "after_cursor_execute", keep)
        session.rollback()
    assert len(plans) == 1
    scans = [n for n in nodes(plans[0][0]["Plan"]) if n.get("Relation Name") == "review_revision"]
    assert scans, plans
    for scan in scans:
        assert "published_revision_id" in scan.get("Index Cond", ""), scan


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan] + [n for child in plan.get("Plans", []) for n in nodes(child)]
