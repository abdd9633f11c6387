"""Pages from stored reviews (working copy or published revision) and live compositions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from content.document import Page, Section
from db.models import Review, ReviewKind, ReviewSection
from db.reviews import (
    active_template,
    evidence_citations,
    generation_pairs,
    load_facts,
    pair_facts,
    pair_ids,
    review_for_pair,
    sections_of,
)
from editorial.generation import compiled_template, locale_chain


def page_from_review(review: Review, sections: Sequence[ReviewSection]) -> Page:
    return Page(
        title=review.title,
        byline=review.byline,
        notice=review.notice,
        description=review.description,
        sections=[
            Section(s.key, s.position, s.heading, list(s.blocks), str(s.origin))
            for s in sorted(sections, key=lambda s: s.position)
        ],
    )


class PairNotFound(LookupError):
    pass


def compose_pair(
    session: Session,
    kind: ReviewKind,
    compound_id: int,
    condition_id: int,
    locale: str | None = None,
) -> Page | None:
    """The page the current facts and template make for a pair (in ``locale``: its
    template, the facts localized along its chain); None without evidence."""
    pairs = generation_pairs(session, kind, [compound_id], [condition_id], locale)
    if not pairs:
        return None
    template_row = active_template(session, kind, locale)
    facts = load_facts(session)
    cites = evidence_citations(session, [pairs[0].evidence_id])
    template = compiled_template(template_row)
    chain = locale_chain(template_row.locale)
    return template.compose(pair_facts(facts, pairs[0], cites.get(pairs[0].evidence_id), chain))


def page_for_pair(
    session: Session, compound: str, condition: str, kind: ReviewKind = ReviewKind.SAFETY
) -> tuple[Page, bool]:
    """The stored working copy of a pair's review, or a live composition when none is stored.

    Returns the page and whether it came from the store."""
    review = review_for_pair(session, compound, condition, kind)
    if review is not None and review.id is not None:
        return page_from_review(review, sections_of(session, [review.id])[review.id]), True
    cid, did = pair_ids(session, compound, condition)
    if cid is None:
        raise PairNotFound(f"unknown compound '{compound}'")
    if did is None:
        raise PairNotFound(f"unknown condition '{condition}'")
    page = compose_pair(session, kind, cid, did)
    if page is None:
        raise PairNotFound(f"no evidence links '{compound}' and '{condition}'")
    return page, False
