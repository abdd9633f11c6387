"""Review storage: the SQL behind generation and rendering.

Generation writes through SQLAlchemy Core in batches (one executemany per
table per batch) because it creates tens of thousands of reviews at a time;
the ORM's per-object bookkeeping would dominate the run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Text,
    and_,
    bindparam,
    cast,
    delete,
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
from db.bulk import bulk_settings, db_value, insert_ids, placeholders, send
from db.engine import RawJSON, to_json
from db.models import (
    Citation,
    Compound,
    Condition,
    Review,
    ReviewKind,
    ReviewSection,
    ReviewStatus,
    SectionOrigin,
    Template,
)
from db.queries import publisher_row
from db.tables import COMPOUND, CONDITION, EVIDENCE, REVIEW, REVIEW_SECTION, TEMPLATE


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


# --- batched writes ------------------------------------------------------------------------


@dataclass(slots=True)
class ReviewWrite:
    """One composed page to store for a compound x condition pair."""

    pair: PairRow
    slug: str
    title: str
    byline: str
    notice: str
    description: str
    fingerprint: str
    sections: list[dict[str, Any]]  # key, position, heading, blocks


def write_batch(
    session: Session,
    writes: Sequence[ReviewWrite],
    template: Template,
    kind: ReviewKind,
    now: datetime,
) -> tuple[int, int]:
    """Insert new reviews and refresh existing ones (in the template's locale); EDITED
    sections are kept as they are."""
    bulk_settings(session)
    new = [w for w in writes if w.pair.review_id is None]
    old = [w for w in writes if w.pair.review_id is not None]
    if new:
        _insert_reviews(session, new, template, kind, now)
    kept: set[tuple[int, str]] = set()
    if old:
        _refresh_reviews(session, old, template, now)
        kept = _drop_changed_sections(session, old)
    # Sent to the driver as they are: blocks encoded once (by a worker, or here), the
    # clock processed once.
    dialect = session.get_bind().dialect
    ph, json_ph = placeholders(dialect)
    stamp = db_value(dialect, REVIEW_SECTION.c.updated_at, now)
    section_rows = [
        (
            w.pair.review_id,
            s["key"],
            s["position"],
            s["heading"],
            to_json(s["blocks"]),
            SectionOrigin.GENERATED.value,
            1,
            stamp,
        )
        for w in writes
        for s in w.sections
        if (w.pair.review_id, s["key"]) not in kept
    ]
    if section_rows:
        send(
            session,
            f"INSERT INTO {REVIEW_SECTION.name} (review_id, key, position, heading, blocks, "
            f"origin, revision, updated_at) VALUES ({ph}, {ph}, {ph}, {ph}, {json_ph}, {ph}, "
            f"{ph}, {ph})",
            section_rows,
        )
    return len(new), len(old)


def _insert_reviews(
    session: Session, new: list[ReviewWrite], template: Template, kind: ReviewKind, now: datetime
) -> None:
    """Insert the drafts of pairs that have no review yet (their ids noted on each pair)."""
    rows = [
        {
            "slug": w.slug,
            "kind": kind,
            "locale": template.locale,
            "source_revision_id": w.pair.source_revision_id,
            "compound_id": w.pair.compound_id,
            "condition_id": w.pair.condition_id,
            "status": "DRAFT",
            "research": w.pair.research,
            "title": w.title,
            "byline": w.byline,
            "notice": w.notice,
            "description": w.description,
            "template_id": template.id,
            "template_version": template.version,
            "fingerprint": w.fingerprint,
            "current_fingerprint": w.fingerprint,
            "revision": 1,
            "created_at": now,
            "updated_at": now,
            "generated_at": now,
        }
        for w in new
    ]
    created = insert_ids(session, REVIEW, rows, ["slug"])
    for w in new:
        w.pair.review_id = created[w.slug]


def _refresh_reviews(
    session: Session, old: list[ReviewWrite], template: Template, now: datetime
) -> None:
    """Rewrite the working copies of existing reviews with their newly composed text.

    One statement for the batch, its rows sent to the driver as they are (the clock and
    the template processed once, not once per row)."""
    dialect = session.get_bind().dialect
    ph, _ = placeholders(dialect)
    # New facts make a new draft: a published page keeps serving its approved revision
    # until a reviewer approves the new one; a submitted one goes back.
    back_to_draft = (
        f"CASE WHEN {ph} AND status IN ('{ReviewStatus.PUBLISHED.value}', "
        f"'{ReviewStatus.IN_REVIEW.value}') THEN '{ReviewStatus.DRAFT.value}' ELSE status END"
    )
    sql = (
        f"UPDATE {REVIEW.name} SET research = {ph}, title = {ph}, byline = {ph}, "
        f"notice = {ph}, description = {ph}, template_id = {ph}, template_version = {ph}, "
        f"fingerprint = {ph}, current_fingerprint = {ph}, source_revision_id = {ph}, "
        f"status = {back_to_draft}, "
        f"revision = revision + 1, updated_at = {ph}, generated_at = {ph} WHERE id = {ph}"
    )
    stamp = db_value(dialect, REVIEW.c.updated_at, now)
    send(
        session,
        sql,
        [
            (
                str(w.pair.research),
                w.title,
                w.byline,
                w.notice,
                w.description,
                template.id,
                template.version,
                w.fingerprint,
                w.fingerprint,
                w.pair.source_revision_id,
                # (a translation also when its source changed)
                w.fingerprint != w.pair.fingerprint
                or w.pair.source_revision_id != w.pair.review_source_revision_id,
                stamp,
                stamp,
                w.pair.review_id,
            )
            for w in old
        ],
    )


def _drop_changed_sections(session: Session, old: list[ReviewWrite]) -> set[tuple[int, str]]:
    """Delete the reviews' GENERATED sections that the new composition changes (or no
    longer has); the (review, key) of the sections kept as they are: the EDITED ones, and
    the GENERATED ones whose position, heading and blocks are what was just composed
    (at revision 1, as a rewrite would leave them), so a new template version that
    changes no text rewrites no section."""
    composed: dict[tuple[int, str], dict[str, Any]] = {}
    for w in old:
        for s in w.sections:
            if not isinstance(s["blocks"], RawJSON):  # (encoded once, compared and stored)
                s["blocks"] = RawJSON(to_json(s["blocks"]))
            composed[(w.pair.review_id or 0, s["key"])] = s
    ids = sorted({w.pair.review_id for w in old if w.pair.review_id is not None})
    kept: set[tuple[int, str]] = set()
    gone: list[int] = []
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(
                REVIEW_SECTION.c.id,
                REVIEW_SECTION.c.review_id,
                REVIEW_SECTION.c.key,
                REVIEW_SECTION.c.position,
                REVIEW_SECTION.c.heading,
                cast(REVIEW_SECTION.c.blocks, Text),  # (the stored JSON text, not decoded)
                REVIEW_SECTION.c.origin,
                REVIEW_SECTION.c.revision,
            ).where(REVIEW_SECTION.c.review_id.in_(ids[start : start + 1000]))
        )
        for sid, rid, key, position, heading, blocks, origin, revision in rows:
            if origin == SectionOrigin.EDITED:
                kept.add((rid, key))
                continue
            new = composed.get((rid, key))
            if (
                new is not None
                and revision == 1
                and position == new["position"]
                and heading == new["heading"]
                and blocks == new["blocks"]
            ):
                kept.add((rid, key))
            else:
                gone.append(sid)
    for start in range(0, len(gone), 5000):
        session.execute(
            delete(REVIEW_SECTION).where(REVIEW_SECTION.c.id.in_(gone[start : start + 5000]))
        )
    return kept


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
