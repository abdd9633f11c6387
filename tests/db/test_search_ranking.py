"""SQLite search (db/search_fts5.py): the page proven from the rows of the other words is
the page of ranking every match (the same records, order, scores and total), whether the
proof holds or every match is ranked after all, for any page size."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from db import search_fts5
from db.engine import make_engine, session_scope
from db.search import _WORD, fts_phrases
from tests.databases import is_postgres

QUERIES = [
    "ketamine sclerosis",  # (the proof holds: the ketamine rows fill small pages)
    "spravato neuropathic",  # (one compound alone: every match is ranked)
    "metformin als",
    "ketamine ketamine",  # (every match of the last word matches the others)
    "metformin type 2 diabetes",
    "psilocybin depression pain",
    "lateral amyotrophic",
    "patients research",
    "nothingmatches ketamine",
    "ketamine nothingmatches",
    "ketamine",
]


def every_match(session: Any, phrases: list[str], first: int) -> tuple[list[Any], int]:
    match = " OR ".join(phrases)
    rows = session.execute(text(search_fts5.RANKED), {"match": match, "limit": first}).all()
    total = session.execute(text(search_fts5.COUNT), {"match": match}).scalar_one()
    return [tuple(r) for r in rows], int(total)


@pytest.mark.skipif(is_postgres(), reason="FTS5: SQLite only")
def test_the_proven_page_is_the_page_of_every_match(demo_url: str) -> None:
    engine = make_engine(demo_url)
    proofs: list[bool] = []
    try:
        with session_scope(engine) as session:
            for query in QUERIES:
                phrases = fts_phrases(_WORD.findall(query))
                for first in (1, 3, 10, 50):
                    expected = every_match(session, phrases, first)
                    for share in (search_fts5.PRUNE_SHARE, 1.0):
                        rows, total = search_fts5.ranked(session, phrases, first, share)
                        got = ([(r.kind, r.ref_id, r.score) for r in rows], total)
                        assert got == expected, (query, first, share)
                        if rows and "proven" in rows[0]._fields:
                            proofs.append(bool(rows[0].proven))
    finally:
        engine.dispose()
    # Both ways were taken: pages proven, and pages where the proof failed.
    assert True in proofs and False in proofs, proofs


def test_varint_reads_sqlite_varints() -> None:
    assert search_fts5.varint(bytes([0x05])) == 5
    assert search_fts5.varint(bytes([0x8C, 0xA3, 0x70, 0x00])) == 201_200
    assert search_fts5.varint(bytes([0xFF] * 8 + [0x01])) == (1 << 64) - 255


@pytest.mark.skipif(is_postgres(), reason="FTS5: SQLite only")
def test_a_bound_from_another_snapshot_is_not_trusted(demo_url: str) -> None:
    """The counts are read by a statement before the ranking one: when the index changed
    in between (another averages record, fewer matches of the last word), the ranking
    statement ranks every match instead of trusting the bound."""
    engine = make_engine(demo_url)
    phrases = fts_phrases(["ketamine", "sclerosis"])
    others, last = phrases[0], phrases[1]
    try:
        with session_scope(engine) as session:
            expected = every_match(session, phrases, 3)
            stats = session.execute(
                text(search_fts5.STATS),
                {
                    "averages": search_fts5.AVERAGES_ROWID,
                    "match": " OR ".join(phrases),
                    "others": others,
                },
            ).one()
            hits = expected[1] - int(stats.others)
            params = {
                "both": f"({others}) AND {last}",
                "others": others,
                "match": " OR ".join(phrases),
                "limit": 3,
                "averages": search_fts5.AVERAGES_ROWID,
                "last": last,
                "bound": search_fts5.bound(search_fts5.varint(stats.averages), hits),
            }
            for blob, at_least, proven in (
                (stats.averages, hits, 1),
                (stats.averages + b"\x00", hits, 0),
                (stats.averages, 10**9, 0),
            ):
                rows = session.execute(
                    text(search_fts5.PRUNED), {**params, "blob": blob, "hits": at_least}
                ).all()
                assert [(r.kind, r.ref_id, r.score) for r in rows] == expected[0]
                assert {r.proven for r in rows} == {proven}, (blob, at_least)
    finally:
        engine.dispose()
