"""Review storage: what generation reads (templates, facts, pairs), the fingerprints
that say which pages are stale, and lookups. Its batched writes are in
``db/review_writes.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    func,
    null,
    select,
    update,
)
from sqlmodel import Session, col

from config import get_settings
from content.facts import (
    citations_of,
    compound_facts,
    condition_facts,
    evidence_facts,
    publisher_facts,
    review_fingerprint,
)
from content.locales import localize_facts
from db.models import (
    Citation,
    Compound,
    Condition,
    Review,
    ReviewKind,
    ReviewSection,
    Template,
)
from db.queries import publisher_row
from db.tables import COMPOUND, CONDITION, EVIDENCE, REVIEW, TEMPLATE


class NoTemplate(LookupError):
    pass


class NoPublisher(LookupError):
    pass


def review_slug(compound_slug: str, condition_slug: str, kind: str = "SAFETY") -> str:
    # Slugs never contain "--", so the pair is unambiguous and stable forever.
    base = f"{compound_slug}--{condition_slug}"
    return base if kind == "SAFETY" else f"{base}--{kind.lower()}"


def active_template(
    session: Session, kind: ReviewKind = ReviewKind.SAFETY, locale: str | None = None
) -> Template:
    """The active template of ``kind`` in ``locale`` (default: the default locale)."""
    locale = locale or get_settings().default_locale
    row = (
        session.execute(
            select(Template)
            .where(
                col(Template.kind) == kind,
                col(Template.locale) == locale,
                col(Template.active).is_(True),
            )
            .order_by(col(Template.id).desc())
        )
        .scalars()
        .first()
    )
    if row is None:
        raise NoTemplate(
            f"no active {kind} template for locale '{locale}'; import one "
            "(the default locale's are in db/catalog/templates.yaml)"
        )
    return row


@dataclass(slots=True)
class FactsIndex:
    """Every compound and condition of the catalog with its facts and hash."""

    compounds: dict[int, tuple[dict[str, Any], str]]
    conditions: dict[int, tuple[dict[str, Any], str]]
    publisher: dict[str, Any]
    publisher_hash: str
    # Each record's translations by locale (``("compound", id)``, ``("publisher", 0)``...).
    translations: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)


def load_facts(session: Session) -> FactsIndex:
    cites: dict[int, list[Citation]] = {}
    for c in session.execute(
        select(Citation).where(col(Citation.compound_id).is_not(None))
    ).scalars():
        cites.setdefault(c.compound_id or 0, []).append(c)
    translations: dict[tuple[str, int], dict[str, Any]] = {}
    compounds = {}
    for c in session.execute(select(COMPOUND)):
        compounds[c.id] = (compound_facts(c, citations_of(cites.get(c.id, []))), c.content_hash)
        if c.translations:
            translations[("compound", c.id)] = c.translations
    conditions = {}
    for d in session.execute(select(CONDITION)):
        conditions[d.id] = (condition_facts(d), d.content_hash)
        if d.translations:
            translations[("condition", d.id)] = d.translations
    pub = publisher_row(session)
    if pub is not None and pub.translations:
        translations[("publisher", 0)] = pub.translations
    return FactsIndex(
        compounds=compounds,
        conditions=conditions,
        publisher=publisher_facts(pub),
        publisher_hash=pub.content_hash if pub else "",
        translations=translations,
    )


@dataclass(slots=True)
class PairRow:
    evidence_id: int
    compound_id: int
    condition_id: int
    research: str
    notes: str
    evidence_hash: str
    review_id: int | None
    fingerprint: str | None
    evidence_translations: dict[str, Any] | None = None
    # A translation: the default locale's published revision now (what it is made from),
    # and the one the translation's working copy was made from.
    source_revision_id: int | None = None
    review_source_revision_id: int | None = None


def generation_pairs(
    session: Session,
    kind: ReviewKind = ReviewKind.SAFETY,
    compound_ids: Sequence[int] | None = None,
    condition_ids: Sequence[int] | None = None,
    locale: str | None = None,
) -> list[PairRow]:
    """Every evidence row with the review in ``locale`` (if any) built from it, in a
    stable order; with the default locale's published revision for a translation (the
    default locale's own pages have no source: None)."""
    default = get_settings().default_locale
    locale = locale or default
    source = REVIEW.alias("source")
    translation = locale != default

    def pair(table: Any, tag: str) -> Any:
        return and_(
            table.c.compound_id == EVIDENCE.c.compound_id,
            table.c.condition_id == EVIDENCE.c.condition_id,
            table.c.kind == kind,
            table.c.locale == tag,
        )

    q = (
        select(
            EVIDENCE.c.id,
            EVIDENCE.c.compound_id,
            EVIDENCE.c.condition_id,
            EVIDENCE.c.research,
            EVIDENCE.c.notes,
            EVIDENCE.c.content_hash,
            REVIEW.c.id,
            REVIEW.c.fingerprint,
            EVIDENCE.c.translations,
            source.c.published_revision_id if translation else null(),
            REVIEW.c.source_revision_id,
        )
        .select_from(
            EVIDENCE.outerjoin(REVIEW, pair(REVIEW, locale)).outerjoin(
                source, pair(source, default)
            )
            if translation
            else EVIDENCE.outerjoin(REVIEW, pair(REVIEW, locale))
        )
        .order_by(EVIDENCE.c.compound_id, EVIDENCE.c.condition_id)
    )
    if compound_ids is not None:
        q = q.where(EVIDENCE.c.compound_id.in_(compound_ids))
    if condition_ids is not None:
        q = q.where(EVIDENCE.c.condition_id.in_(condition_ids))
    return [PairRow(*row) for row in session.execute(q)]


def evidence_citations(
    session: Session, evidence_ids: Iterable[int]
) -> dict[int, list[dict[str, Any]]]:
    ids = list(evidence_ids)
    out: dict[int, list[Citation]] = {}
    for chunk in range(0, len(ids), 5000):
        part = ids[chunk : chunk + 5000]
        for c in session.execute(
            select(Citation).where(col(Citation.evidence_id).in_(part))
        ).scalars():
            out.setdefault(c.evidence_id or 0, []).append(c)
    return {k: citations_of(v) for k, v in out.items()}


def pair_facts(
    facts: FactsIndex,
    pair: PairRow,
    citations: list[dict[str, Any]] | None = None,
    chain: Sequence[str] | None = None,
) -> dict[str, Any]:
    """What a template renders for a pair; with a locale's ``chain`` (a translation), each
    translatable field in the first locale of the chain that has it."""
    out = {
        "compound": facts.compounds[pair.compound_id][0],
        "condition": facts.conditions[pair.condition_id][0],
        "evidence": evidence_facts(pair, citations),
        "publisher": facts.publisher,
    }
    if chain is None or len(chain) < 2:
        return out
    given = {
        "compound": facts.translations.get(("compound", pair.compound_id)),
        "condition": facts.translations.get(("condition", pair.condition_id)),
        "evidence": pair.evidence_translations,
        "publisher": facts.translations.get(("publisher", 0)),
    }
    return {kind: localize_facts(kind, out[kind], given[kind], chain).values for kind in out}


def refresh_fingerprints(
    session: Session,
    compound_ids: Sequence[int] | None = None,
    condition_ids: Sequence[int] | None = None,
) -> int:
    """Recompute what each review's facts and template make now (``current_fingerprint``).

    Every write of facts calls this for the reviews it affects (all of them for a
    publisher or template change), so staleness is a column comparison that
    lists and filters can use. Returns how many reviews' fingerprints changed."""
    pub = publisher_row(session)
    pub_hash = pub.content_hash if pub else ""
    versions = {
        (kind, locale): version
        for kind, locale, version in session.execute(
            select(TEMPLATE.c.kind, TEMPLATE.c.locale, TEMPLATE.c.version)
            .where(TEMPLATE.c.active.is_(True))
            .order_by(TEMPLATE.c.id)
        )
    }
    pair = and_(
        EVIDENCE.c.compound_id == REVIEW.c.compound_id,
        EVIDENCE.c.condition_id == REVIEW.c.condition_id,
    )
    q = select(
        REVIEW.c.id,
        REVIEW.c.kind,
        REVIEW.c.locale,
        REVIEW.c.current_fingerprint,
        COMPOUND.c.content_hash,
        CONDITION.c.content_hash,
        EVIDENCE.c.content_hash,
    ).select_from(
        REVIEW.join(COMPOUND, COMPOUND.c.id == REVIEW.c.compound_id)
        .join(CONDITION, CONDITION.c.id == REVIEW.c.condition_id)
        .outerjoin(EVIDENCE, pair)
    )
    if compound_ids is not None:
        q = q.where(REVIEW.c.compound_id.in_(list(compound_ids)))
    if condition_ids is not None:
        q = q.where(REVIEW.c.condition_id.in_(list(condition_ids)))
    changes = []
    for rid, kind, locale, current, c_hash, d_hash, e_hash in session.execute(q):
        version = versions.get((kind, locale))
        # No evidence or no active template: nothing can be generated, so nothing served is current.
        fp = (
            review_fingerprint(version, c_hash, d_hash, e_hash, pub_hash)
            if version is not None and e_hash is not None
            else "none"
        )
        if fp != current:
            changes.append({"rid": rid, "fp": fp})
    if changes:
        session.execute(
            update(REVIEW)
            .where(REVIEW.c.id == bindparam("rid"))
            .values(current_fingerprint=bindparam("fp")),
            changes,
        )
    return len(changes)


def sections_of(session: Session, review_ids: Sequence[int]) -> dict[int, list[ReviewSection]]:
    out: dict[int, list[ReviewSection]] = {rid: [] for rid in review_ids}
    rows = session.execute(
        select(ReviewSection)
        .where(col(ReviewSection.review_id).in_(review_ids))
        .order_by(col(ReviewSection.review_id), col(ReviewSection.position))
    ).scalars()
    for s in rows:
        out[s.review_id].append(s)
    return out


def review_for_pair(
    session: Session,
    compound_slug: str,
    condition_slug: str,
    kind: ReviewKind = ReviewKind.SAFETY,
    locale: str | None = None,
) -> Review | None:
    return (
        session.execute(
            select(Review)
            .join(Compound, col(Compound.id) == col(Review.compound_id))
            .join(Condition, col(Condition.id) == col(Review.condition_id))
            .where(
                col(Compound.slug) == compound_slug,
                col(Condition.slug) == condition_slug,
                col(Review.kind) == kind,
                col(Review.locale) == (locale or get_settings().default_locale),
            )
        )
        .scalars()
        .first()
    )


def ids_by_slugs(session: Session, table: Any, slugs: Sequence[str]) -> list[int]:
    """The ids of the records of ``table`` (compounds, conditions) with these slugs."""
    return list(session.execute(select(table.c.id).where(table.c.slug.in_(list(slugs)))).scalars())


def pair_ids(
    session: Session, compound_slug: str, condition_slug: str
) -> tuple[int | None, int | None]:
    cid = session.execute(select(COMPOUND.c.id).where(COMPOUND.c.slug == compound_slug)).scalar()
    did = session.execute(select(CONDITION.c.id).where(CONDITION.c.slug == condition_slug)).scalar()
    return cid, did


def count_reviews(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(REVIEW)).scalar() or 0)
