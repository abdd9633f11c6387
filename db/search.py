"""Full-text search over the approved records (SQLite FTS5, PostgreSQL tsvector), per locale.

The index holds approved records only (triggers on the public_* tables, see the
published_read_model migration): what readers may find. Editors find the same
records and get their working copies. Each row has a locale (the search_per_locale
migration): a page's own; '' for a compound's or condition's approved names, which every
locale finds; a locale's tag for the names approved in it (``public_translation``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, String, and_, column, func, or_, select, text
from sqlalchemy.orm import Session

from config import get_settings
from db import search_fts5
from db.tables import PUBLIC_COMPOUND, PUBLIC_CONDITION, PUBLIC_REVIEW
from db.translations import in_locales

_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text_: str) -> str | None:
    """User text as a safe FTS5 query: every word quoted, the last one as a prefix.

    Operators and syntax characters (``"``, ``*``, ``NEAR``, ``)``...) are never
    passed through: they become plain words or disappear."""
    words = _WORD.findall(text_)[:12]
    if not words:
        return None
    # OR: a record matching more of the words ranks higher (bm25), none is required.
    return " OR ".join(fts_phrases(words))


def fts_phrases(words: list[str]) -> list[str]:
    """Words (runs of word characters) as FTS5 phrases: quoted, the last one a prefix."""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return quoted


@dataclass(slots=True)
class Hit:
    kind: str
    ref_id: int
    score: float


def search(
    session: Session, text_: str, first: int, chain: list[str] | None = None
) -> tuple[list[Hit], int]:
    """The index holds approved records only (triggers on the public_* tables): what
    readers may find; editors find the same records and get their working copies.

    ``chain``: a locale and its fallbacks (README "Locales"), each page once in the first
    of them a reviewer approved it in, compounds and conditions also by the names
    approved in them; None: the default locale's pages (as before locales)."""
    match = fts_query(text_)
    if match is None:
        return [], 0
    dialect = session.get_bind().dialect.name
    words = _WORD.findall(text_)[:12]
    if chain is not None and dialect in ("sqlite", "postgresql"):
        return _search_locales(session, match, words, first, chain)
    if dialect == "sqlite":
        # Ranked by bm25 (lower is better), ties by rowid, without scoring the rows that
        # match only the last word when a bound proves none of them makes the page
        # (db/search_fts5.py). Other locales' pages and translated names have negative
        # rowids (FTS5 bounds its doclists by the rowid: the default locale's search
        # costs what it did before).
        rows, total = search_fts5.ranked(session, fts_phrases(words), first)
        # Expose higher-is-better scores.
        return [Hit(r.kind, r.ref_id, -float(r.score)) for r in rows], total
    if dialect == "postgresql":
        return _search_postgres(session, words, first)
    return _search_portable(session, words, first, chain)


# Weights {D, C, B, A}; normalization 1 divides by 1 + log(length): a short record
# (a compound's name) ranks above a long one that merely mentions it.
_RANK = "ts_rank_cd('{0.1, 0.1, 0.6, 1.0}', document, %s, 1)"


def _tsquery(words: list[str]) -> str:
    """The words as a tsquery: any of them, the last a prefix. Words are runs of word
    characters only, so no tsquery operator can reach the query."""
    terms = [w.lower() for w in words]
    terms[-1] += ":*"
    return " | ".join(terms)


def _search_postgres(session: Session, words: list[str], first: int) -> tuple[list[Hit], int]:
    """Full-text search over the tsvector index (GIN), same semantics as the FTS5 path:
    any word may match, the last one as a prefix, names weigh most. Texts and query are
    folded (``search_fold``: accents removed) like FTS5's remove_diacritics."""
    sql = text(
        f"SELECT kind, ref_id, {_RANK % 'q'} AS score, count(*) OVER () AS total "
        "FROM search_index, to_tsquery('simple', search_fold(:q)) AS q "
        "WHERE document @@ q AND locale IN ('', :default) "
        "ORDER BY score DESC, kind, ref_id LIMIT :limit"
    )
    params = {"q": _tsquery(words), "limit": first, "default": get_settings().default_locale}
    rows = session.execute(sql, params).all()
    total = rows[0].total if rows else 0
    return [Hit(r.kind, r.ref_id, float(r.score)) for r in rows], int(total)


def _locale_hits(session: Session, match: str, words: list[str], chain: list[str]) -> Any:
    """Every match in the chain's locales (the approved names: locale ''), higher
    scores better, before the pages fall back and the records are counted once."""
    params: dict[str, Any] = {f"l{i}": tag for i, tag in enumerate(chain)}
    tags = ", ".join(f":l{i}" for i in range(len(chain)))
    if session.get_bind().dialect.name == "sqlite":
        sql = (
            "SELECT kind, ref_id, -bm25(search_index, 0, 0, 10.0, 6.0, 1.0) AS score "
            f"FROM search_index WHERE search_index MATCH :match AND locale IN ('', {tags})"
        )
        params["match"] = match
    else:
        # A translation's text is stemmed in its language's configuration, the default
        # locale's and the approved names are 'simple': both queries, the better rank.
        sql = (
            f"SELECT kind, ref_id, greatest({_RANK % 'qs'}, {_RANK % 'ql'}) AS score "
            "FROM search_index, to_tsquery('simple', search_fold(:q)) AS qs, "
            "to_tsquery(search_config(:l0), search_fold(:q)) AS ql "
            f"WHERE (document @@ qs OR document @@ ql) AND locale IN ('', {tags})"
        )
        params["q"] = _tsquery(words)
    columns = (
        text(sql)
        .bindparams(**params)
        .columns(column("kind", String), column("ref_id", Integer), column("score", Float))
    )
    return columns.cte("hits").prefix_with("MATERIALIZED")


def _search_locales(
    session: Session, match: str, words: list[str], first: int, chain: list[str]
) -> tuple[list[Hit], int]:
    """Search in a locale: a page's hit counts only in the first locale of ``chain`` a
    reviewer approved it in (never the same page in two languages), a compound or
    condition once, by the best of its names."""
    hits = _locale_hits(session, match, words, chain)
    served = (
        select(PUBLIC_REVIEW.c.id)
        .where(PUBLIC_REVIEW.c.id == hits.c.ref_id, in_locales(PUBLIC_REVIEW, chain))
        .exists()
    )
    found = (
        select(hits.c.kind, hits.c.ref_id, func.max(hits.c.score).label("score"))
        .where(or_(hits.c.kind != "review", served))
        .group_by(hits.c.kind, hits.c.ref_id)
        .subquery("found")
    )
    q = (
        select(found.c.kind, found.c.ref_id, found.c.score, func.count().over().label("total"))
        .order_by(found.c.score.desc(), found.c.kind, found.c.ref_id)
        .limit(first)
    )
    rows = session.execute(q).all()
    total = rows[0].total if rows else 0
    return [Hit(r.kind, r.ref_id, float(r.score)) for r in rows], int(total)


def _search_portable(
    session: Session, words: list[str], first: int, chain: list[str] | None
) -> tuple[list[Hit], int]:
    """Substring search for databases without the FTS index (ranked by where words match)."""
    hits: list[Hit] = []
    for kind, table in (("compound", PUBLIC_COMPOUND), ("condition", PUBLIC_CONDITION)):
        name_col = table.c.name
        cond = and_(*[func.lower(name_col).contains(w.lower(), autoescape=True) for w in words])
        for row in session.execute(select(table.c.id).where(cond).limit(first)):
            hits.append(Hit(kind, row.id, 2.0))
    title = PUBLIC_REVIEW.c.title
    cond = and_(*[func.lower(title).contains(w.lower(), autoescape=True) for w in words])
    q = select(PUBLIC_REVIEW.c.id).where(
        cond, in_locales(PUBLIC_REVIEW, chain or [get_settings().default_locale])
    )
    for row in session.execute(q.order_by(PUBLIC_REVIEW.c.id).limit(first)):
        hits.append(Hit("review", row.id, 1.0))
    return hits[:first], len(hits)
