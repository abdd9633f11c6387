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
