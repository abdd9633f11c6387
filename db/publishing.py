"""Publishing: freeze a review's working copy into an immutable revision.

What readers get is the published revision, never the working copy: a
revision is a snapshot of exactly what the reviewer approved (title, byline,
notice, description and every section's blocks), so later regeneration or
edits cannot change a published page until it is approved again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlmodel import Session

from db.models import Review, ReviewRevision, ReviewSection, ReviewStatus

R = Review.__table__  # type: ignore[attr-defined]
V = ReviewRevision.__table__  # type: ignore[attr-defined]
S = ReviewSection.__table__  # type: ignore[attr-defined]


def publish_reviews(
    session: Session,
    review_ids: Sequence[int],
    approved_by: str,
    now: datetime,
    review_interval: timedelta,
    acknowledged: list[dict] | None = None,  # type: ignore[type-arg]
) -> int:
    """Publish the given reviews' working copies; returns how many were published."""
    published = 0
    for start in range(0, len(review_ids), 500):
        ids = list(review_ids[start : start + 500])
        reviews = {r.id: r for r in session.execute(select(R).where(R.c.id.in_(ids)))}
        sections: dict[int, list[dict]] = {rid: [] for rid in ids}  # type: ignore[type-arg]
        for s in session.execute(select(S).where(S.c.review_id.in_(ids)).order_by(S.c.position)):
            sections[s.review_id].append(
                {
                    "key": s.key,
                    "position": s.position,
                    "heading": s.heading,
                    "blocks": s.blocks,
                    "origin": str(s.origin),
                }
            )
        numbers = dict(
            session.execute(
                select(V.c.review_id, func.max(V.c.number))
                .where(V.c.review_id.in_(ids))
                .group_by(V.c.review_id)
            ).all()
        )
        rows = [
            {
                "review_id": rid,
                "number": (numbers.get(rid) or 0) + 1,
                "title": r.title,
                "byline": r.byline,
                "notice": r.notice,
                "description": r.description,
                "sections": sections[rid],
                "fingerprint": r.fingerprint,
                "template_version": r.template_version,
                "research": r.research,
                "approved_by": approved_by,
                "approved_at": now,
                "acknowledged": acknowledged or [],
            }
            for rid, r in reviews.items()
        ]
        if not rows:
            continue
        result = session.execute(
            insert(V).returning(V.c.id, V.c.review_id, sort_by_parameter_order=True), rows
        )
        for revision_id, rid in result.all():
            fingerprint = reviews[rid].fingerprint
            session.execute(
                update(R)
                .where(R.c.id == rid)
                .values(
                    status=ReviewStatus.PUBLISHED,
                    published_revision_id=revision_id,
                    published_fingerprint=fingerprint,
                    published_at=now,
                    last_reviewed_at=now,
                    review_due_at=now + review_interval,
                    revision=R.c.revision + 1,
                    updated_at=now,
                )
            )
            published += 1
    return published


def unpublished_review_ids(session: Session, slugs: Sequence[str]) -> list[int]:
    """Reviews among ``slugs`` that have never been published."""
    out: list[int] = []
    for start in range(0, len(slugs), 500):
        out.extend(
            session.execute(
                select(R.c.id).where(
                    R.c.published_revision_id.is_(None), R.c.slug.in_(slugs[start : start + 500])
                )
            ).scalars()
        )
    return out
