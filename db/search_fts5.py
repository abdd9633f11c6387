"""The default locale's search on SQLite (FTS5): the best ``first`` rows by bm25 without
scoring every match when a bound proves the rest cannot enter the page.

Ranking by bm25 scores every row that matches any word: a word typed as a prefix (the
last one) matches thousands of reviews in a large catalog, and scoring them is most of a
search's time (at 200,000 reviews, "12 Cond17": 11,000 rows scored for a page of 20).

FTS5's bm25 (fts5_aux.c) adds, for each phrase of the query, ``idf * f * (k1 + 1) /
(f + k1 * (1 - b + b * D / avgdl))``: ``f`` the phrase's weighted count in the row, ``D``
the row's length, ``idf = log((rows - hits + 0.5) / (hits + 0.5))`` (at least 1e-6) from
the phrase's own matches in the whole index, k1 = 1.2, b = 0.75. A phrase the row lacks adds
exactly 0, and each phrase adds less than ``idf * (k1 + 1)``. So (MaxScore):

* a row that matches only the last phrase scores less than that phrase's bound (its idf
  from at least as many matches as ``total - others``: a lower count only raises it);
* the rows that match one of the other phrases are scored alone: ``(others) AND last``
  keeps every phrase in the same order, so each row gets exactly the score the whole
  query gives it (same phrases, same idf, the same sum); ``others`` scores them without
  the last phrase, the same score for the rows that lack it (it adds 0 at the end);
* when they fill the page and its last score beats the bound, the page is theirs, in
  the same order (score, then rowid) as ranking every match; otherwise the same
  statement ranks every match, as before (and when the other phrases match more than a
  quarter of the rows, every match is ranked straight away: proving would cost more).

The counts are read by a statement before the one that ranks (SQLite reads outside a
transaction each see the latest commit): the ranking statement checks that the bound still
holds for what it reads (the same averages record, at least as many matches of the last
phrase), or ranks every match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

BM25 = "bm25(search_index, 0, 0, 10.0, 6.0, 1.0)"
# bm25's k1 (fts5_aux.c): a phrase adds less than idf * (k1 + 1) to a row's score.
K1 = 1.2
# FTS5's averages record (%_data id 1): the number of rows, then tokens per column.
AVERAGES_ROWID = 1

_MATCHES = (
    "SELECT rowid AS r, " + BM25 + " AS score FROM search_index "
    "WHERE search_index MATCH {match} AND rowid > 0"
)
# The rows matching one of the other phrases, ranked: ``:both`` scores those that also
# match the last phrase, ``:others`` all of them without it (the same score for those
# that lack it, a higher one for the others: the lower, bm25 being negative, is theirs).
# Taken when they fill the page and its last score is below the last phrase's bound;
# else (a constant condition, tested once before any row is read) every match ranked.
PRUNED = (
    "WITH part AS MATERIALIZED (SELECT r, min(score) AS score FROM ("
    + _MATCHES.format(match=":both")
    + " UNION ALL "
    + _MATCHES.format(match=":others")
    + ") GROUP BY r ORDER BY score, r LIMIT :limit), "
    "proven AS MATERIALIZED (SELECT CASE WHEN count(*) = :limit AND max(score) < :bound "
    # (The bound holds for this statement's snapshot too: as many rows, as many matches
    # of the last phrase or more. Reads are not one transaction: a write may come between.)
    "THEN (SELECT block FROM search_index_data WHERE id = :averages) = :blob "
    "AND (SELECT count(*) FROM search_index WHERE search_index MATCH :last) >= :hits "
    "ELSE 0 END AS ok FROM part), "
    "page AS (SELECT r, score FROM part WHERE (SELECT ok FROM proven) "
    "UNION ALL SELECT * FROM ("
    + _MATCHES.format(match=":match")
    + " AND NOT (SELECT ok FROM proven) ORDER BY score, r LIMIT :limit)) "
    "SELECT s.kind, s.ref_id, page.score, (SELECT ok FROM proven) AS proven "
    "FROM page JOIN search_index s ON s.rowid = page.r "
    "ORDER BY page.score, page.r"
)
RANKED = (
    "SELECT kind, ref_id, " + BM25 + " AS score FROM search_index "
    "WHERE search_index MATCH :match AND rowid > 0 ORDER BY score, rowid LIMIT :limit"
)
# The whole index's rows (FTS5's averages record), the matches, and the matches of the
# other phrases (the rest match the last phrase only).
STATS = (
    "SELECT (SELECT block FROM search_index_data WHERE id = :averages) AS averages, "
    "(SELECT count(*) FROM search_index WHERE search_index MATCH :match AND rowid > 0) AS total, "
    "(SELECT count(*) FROM search_index WHERE search_index MATCH :others AND rowid > 0) AS others"
)
COUNT = "SELECT count(*) FROM search_index WHERE search_index MATCH :match AND rowid > 0"
# Proving costs scoring the other phrases' rows and reading the last phrase's twice more:
# tried when they are at most this share of the matches.
PRUNE_SHARE = 0.25


def varint(blob: bytes) -> int:
    """The first SQLite varint of ``blob`` (big-endian, 7 bits a byte, a 9th byte of 8)."""
    value = 0
    for i, byte in enumerate(blob[:9]):
        if i == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value
    raise ValueError("truncated varint")


def bound(rows: int, hits: int) -> float:
    """A bm25 score (negative) that every row matching only the last phrase is above.

    ``hits``: at most the last phrase's matches in the whole index (bm25's idf counts them
    all, other locales' too): fewer only raises the bound."""
    if hits <= 0:
        return math.inf  # (no such row)
    idf = math.log((rows - hits + 0.5) / (hits + 0.5))
    if idf <= 0.0:
        idf = 1e-6
    # (A margin far above the rounding of FTS5's arithmetic: never a bound too low.)
    return -(idf * (K1 + 1.0) * (1.0 + 1e-9) + 1e-12)


def ranked(
    session: Session, phrases: list[str], first: int, share: float = PRUNE_SHARE
) -> tuple[Sequence[Any], int]:
    """(kind, ref_id, score) of the best ``first`` rows, and how many rows match.

    ``phrases``: the quoted FTS5 phrases of the query (any of them matches), in order.
    ``share``: the largest share of the matches the other phrases may have for a proof to
    be tried (rows from a tried proof also have ``proven``: whether it held)."""
    match = " OR ".join(phrases)
    if len(phrases) < 2:
        rows = session.execute(text(RANKED), {"match": match, "limit": first}).all()
        total = session.execute(text(COUNT), {"match": match}).scalar_one()
        return rows, int(total)
    others, last = " OR ".join(phrases[:-1]), phrases[-1]
    stats = session.execute(
        text(STATS), {"averages": AVERAGES_ROWID, "match": match, "others": others}
    ).one()
    total = int(stats.total)
    if not stats.averages or stats.others > total * share:
        rows = session.execute(text(RANKED), {"match": match, "limit": first}).all()
        return rows, total
    params = {
        "both": f"({others}) AND {last}",
        "others": others,
        "match": match,
        "limit": first,
        "averages": AVERAGES_ROWID,
        "blob": stats.averages,
        "last": last,
        # The rows that match the last phrase only: at least the matches less the others'.
        "hits": total - int(stats.others),
        "bound": bound(varint(stats.averages), total - int(stats.others)),
    }
    return session.execute(text(PRUNED), params).all(), total
