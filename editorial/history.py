"""History: make a published revision the working copy again (``restoreRevision``).

A revision is exactly what a reviewer approved; restoring copies its text (title,
byline, sections) into the working copy as a DRAFT, which goes through review again.
Its sections become EDITED, so regenerating keeps them. The working copy also takes
the revision's fingerprint (the facts and template it was approved with) and records
the revision's number (``restored_from``): the publish gate then passes only while
today's facts are those facts, and ``Review.restoredFrom.factsCurrent`` tells editors
whether they still are. Readers keep the published revision until a reviewer publishes.
"""

from __future__ import annotations

from sqlmodel import Session

from db import editorial as ed
from db import history
from db.models import ReviewStatus, utcnow
from db.tables import REVIEW
from editorial.outcome import Done, ReviewChange
from editorial.permissions import Actor
from editorial.refs import ReviewRef


def restore_revision(
    session: Session, actor: Actor, ref: ReviewRef, number: int, expected: int
) -> Done[ReviewChange]:
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    ed.claim(session, REVIEW, review.id, expected, "review", str(ref))
    if review.status == ReviewStatus.ARCHIVED:
        raise ed.Refused(
            "the review is archived: bring it back with restoreReview first",
            "INVALID_STATUS",
            status=str(review.status),
        )
    revision = history.revision_by_number(session, review.id, number)
    if revision is None:
        raise ed.NotFound("revision", f"{ref} #{number}")
    now = utcnow()
    history.replace_sections(session, review.id, list(revision.sections), now)
    after = ed.set_review(
        session,
        review.id,
        now,
        status=ReviewStatus.DRAFT,
        title=revision.title,
        byline=revision.byline,
        notice=revision.notice,
        description=revision.description,
        research=revision.research or review.research,
        template_version=revision.template_version,
        fingerprint=revision.fingerprint,
        restored_from=number,
    )
    actor.audit(
        session,
        "restoreRevision",
        "Review",
        record_id=review.id,
        record_key=ref.slug,
        before=expected,
        after=after,
        detail=ref.detail(
            {
                "revision": number,
                "factsCurrent": revision.fingerprint == review.current_fingerprint,
            }
        ),
    )
    return Done(ReviewChange(int(review.id)))
