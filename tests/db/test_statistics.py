"""Bulk writers keep PostgreSQL's statistics of the tables they grow (db/statistics.py).

Published batch after batch, a catalog's tables are analyzed as they double, so each
batch is planned from what they hold. (Planned from an empty ``fact_version``, a batch's
lookup of fact versions read every version of the kind and filtered them: 32 s per
5,000 reviews at 100,000, against 5 s at first. That plan needs a table far larger than
a test's to appear, so this test checks the statistics, and bench/publish_profile.py
--per-batch the times.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text

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
