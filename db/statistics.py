"""The planner's statistics of the tables a bulk write grows (PostgreSQL).

Publishing or regenerating a catalog grows ``fact_version``, ``review_revision`` and the
approved copies from nothing to hundreds of thousands of rows in minutes. PostgreSQL
plans a statement from what it last sampled of each table (ANALYZE), and keeps the plan
of a statement the driver prepared (psycopg prepares one after five runs) until those
statistics change. Without fresh statistics a batch's lookups by key were planned for the
table as it was when small: ``fact_version`` was read by its ``kind`` alone and every row
of the kind filtered against the batch's ids, so each batch took longer than the one
before (publishing 100,000 reviews: 5 s per batch of 5,000 at first, 32 s at the end).
Autovacuum analyzes grown tables too, but only once a minute, and not at all where it is
off.

So a bulk writer calls ``refresh`` before each batch: a table whose file has grown to
more than twice the pages it had when last analyzed (and to at least ``MIN_PAGES``) is
analyzed first. Its size on disk is known at once (the cumulative statistics' counts of
changed rows reach other sessions up to seconds late) and includes what is not yet
committed. That is a handful of ANALYZEs per table over a whole catalog, each sampling
at most 30,000 rows (0.2-0.7 s at 100,000 rows). They run on a connection of their own,
in autocommit: the lock ANALYZE takes then lasts only as long as it does (two publishers
each holding one until commit could deadlock), and the statistics and the invalidated
plans apply to every connection at once, this batch's included. The rows the caller's
own transaction has not committed yet are not sampled: the statistics lag by at most
one transaction's rows.

A table analyzed while the first transaction that fills it was still open has no rows
in its statistics but all that transaction's pages (ANALYZE counts the pages on disk,
and only committed rows): the planner then takes it for empty however much it grows,
until it doubles again. So a table whose statistics hold no rows is analyzed again at
each batch once it has ``MIN_PAGES`` (cheap: it is small, and only until a
transaction's rows are committed).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, Table, text
from sqlalchemy.orm import Session

# A table smaller than this (8 KB pages: 512 KB) is never analyzed here: a small table's
# plans hardly matter. Past it, one ANALYZE per doubling: rare enough that the batch (or,
# now and then, an editor's publish) that runs one waits a fraction of a second.
MIN_PAGES = 64

STALE = text(
    "SELECT c.relname FROM pg_class c "
    "WHERE c.relnamespace = CAST(current_schema() AS regnamespace) AND c.relkind = 'r' "
    "AND c.relname = ANY(:tables) AND pg_relation_size(c.oid) "
    "/ CAST(current_setting('block_size') AS integer) "
    ">= CASE WHEN c.reltuples > 0 THEN greatest(2 * c.relpages, :least) ELSE :least END "
    "ORDER BY c.relname"
)


def refresh(session: Session, tables: Sequence[Table]) -> list[str]:
    """ANALYZE those of ``tables`` that more than doubled since they were last analyzed
    (PostgreSQL; elsewhere nothing). The names of the tables analyzed."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return []
    wanted = {"tables": [t.name for t in tables], "least": MIN_PAGES}
    stale = list(session.execute(STALE, wanted).scalars())
    if stale:
        engine: Engine = bind if isinstance(bind, Engine) else bind.engine
        with engine.connect() as conn:
            quote = conn.dialect.identifier_preparer.quote
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "ANALYZE " + ", ".join(quote(name) for name in stale)
            )
    return stale
