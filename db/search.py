"""Full-text search over the approved records (SQLite FTS5, PostgreSQL tsvector).

The index holds approved records only (triggers on the public_* tables, see the
published_read_model migration): what readers may find. Editors find the same
records and get their working copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, func, select, text
from sqlalchemy.orm import Session

from db.tables import PUBLIC_COMPOUND, PUBLIC_CONDITION, PUBLIC_REVIEW

_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text_: str) -> str | None:
    """User text as a safe FTS5 query: every word quoted, the last one as a prefix.

    Operators and syntax characters (``"``, ``*``, ``NEAR``, ``)``...) are never
    passed through: they become plain words or disappear."""
    words = _WORD.findall(text_)[:12]
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    # OR: a record matching more of the words ranks higher (bm25), none is required.
    return " OR ".join(quoted)


@dataclass(slots=True)
class Hit:
    kind: str
    ref_id: int
    score: float


def search(session: Session, text_: str, first: int) -> tuple[list[Hit], int]:
    """The index holds approved records only (triggers on the public_* tables): what
    readers may find; editors find the same records and get their working copies."""
    match = fts_query(text_)
    if match is None:
        return [], 0
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # Ranked by bm25 (lower is better), ties by rowid: FTS5 keeps only the best
        # `first` rows and reads the columns of those alone (ordering by a column such as
        # `kind` would read every match's row, three times slower at 200,000 reviews).
        # Counted apart: counting walks the index's doclists and computes no rank.
        rows = session.execute(
            text(
                "SELECT kind, ref_id, bm25(search_index, 0, 0, 10.0, 6.0, 1.0) AS score "
                "FROM search_index WHERE search_index MATCH :match "
                "ORDER BY score, rowid LIMIT :limit"
            ),
            {"match": match, "limit": first},
        ).all()
        total = session.execute(
            text("SELECT count(*) FROM search_index WHERE search_index MATCH :match"),
            {"match": match},
        ).scalar_one()
        # Expose higher-is-better scores.
        return [Hit(r.kind, r.ref_id, -float(r.score)) for r in rows], int(total)
    if dialect == "postgresql":
        return _search_postgres(session, _WORD.findall(text_)[:12], first)
    return _search_portable(session, _WORD.findall(text_)[:12], first)


def _search_postgres(session: Session, words: list[str], first: int) -> tuple[list[Hit], int]:
    """Full-text search over the tsvector index (GIN), same semantics as the FTS5 path:
    any word may match, the last one as a prefix, names weigh most."""
    # Words are \w+ runs only, so no tsquery operator can reach the query.
    terms = [w.lower() for w in words]
    terms[-1] += ":*"
    # Weights {D, C, B, A}; normalization 1 divides by 1 + log(length): a short record
    # (a compound's name) ranks above a long one that merely mentions it.
    sql = text(
        "SELECT kind, ref_id, ts_rank_cd('{0.1, 0.1, 0.6, 1.0}', document, q, 1) AS score, "
        "count(*) OVER () AS total "
        "FROM search_index, to_tsquery('simple', :q) AS q "
        "WHERE document @@ q "
        "ORDER BY score DESC, kind, ref_id LIMIT :limit"
    )
    rows = session.execute(sql, {"q": " | ".join(terms), "limit": first}).all()
    total = rows[0].total if rows else 0
    return [Hit(r.kind, r.ref_id, float(r.score)) for r in rows], int(total)


def _search_portable(session: Session, words: list[str], first: int) -> tuple[list[Hit], int]:
    """Substring search for databases without the FTS index (ranked by where words match)."""
    hits: list[Hit] = []
    for kind, table in (("compound", PUBLIC_COMPOUND), ("condition", PUBLIC_CONDITION)):
        name_col = table.c.name
        cond = and_(*[func.lower(name_col).contains(w.lower(), autoescape=True) for w in words])
        for row in session.execute(select(table.c.id).where(cond).limit(first)):
            hits.append(Hit(kind, row.id, 2.0))
    title = PUBLIC_REVIEW.c.title
    cond = and_(*[func.lower(title).contains(w.lower(), autoescape=True) for w in words])
    q = select(PUBLIC_REVIEW.c.id).where(cond)
    for row in session.execute(q.order_by(PUBLIC_REVIEW.c.id).limit(first)):
        hits.append(Hit("review", row.id, 1.0))
    return hits[:first], len(hits)
