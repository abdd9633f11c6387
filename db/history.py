"""The SQL of restoring a published revision as the working copy (``restoreRevision``).

The revision is immutable; restoring copies its text into the working copy, where it
goes through review again. Sections keep their identity (updated in place, their
revision bumped) so an editor's `expectedRevision` of a section stays meaningful.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from db.models import SectionOrigin
from db.rows import RevisionRow
from db.tables import REVIEW_REVISION, REVIEW_SECTION


def revision_by_number(session: Session, review_id: int, number: int) -> RevisionRow | None:
    """A review's published revision ``number`` (sections decoded), or None."""
    return session.execute(  # type: ignore[no-any-return]
        select(REVIEW_REVISION).where(
            REVIEW_REVISION.c.review_id == review_id, REVIEW_REVISION.c.number == number
        )
    ).first()


def replace_sections(
    session: Session, review_id: int, sections: list[dict[str, Any]], now: datetime
) -> None:
    """Make the working copy's sections exactly ``sections`` (a revision's), as EDITED:
    the text is what a reviewer once approved, not what today's facts generate, so
    regeneration must keep it."""
    existing = dict(
        session.execute(
            select(REVIEW_SECTION.c.key, REVIEW_SECTION.c.id).where(
                REVIEW_SECTION.c.review_id == review_id
            )
        ).all()
    )
    wanted = {s["key"] for s in sections}
    gone = [sid for key, sid in existing.items() if key not in wanted]
    if gone:
        session.execute(delete(REVIEW_SECTION).where(REVIEW_SECTION.c.id.in_(gone)))
    for s in sections:
        values = {
            "position": int(s["position"]),
            "heading": s.get("heading"),
            "blocks": s["blocks"],
            "origin": SectionOrigin.EDITED,
            "updated_at": now,
        }
        section_id = existing.get(s["key"])
        if section_id is None:
            session.execute(
                REVIEW_SECTION.insert().values(
                    review_id=review_id, key=s["key"], revision=1, **values
                )
            )
        else:
            session.execute(
                update(REVIEW_SECTION)
                .where(REVIEW_SECTION.c.id == section_id)
                .values(revision=REVIEW_SECTION.c.revision + 1, **values)
            )
