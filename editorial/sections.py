"""Sections: an editor's text (checked before anything is written) and resets to the
generated text.

A written section becomes EDITED (regeneration keeps it) or GENERATED (a reset), and
its review's own revision moves with it: a reviewer approving revision N of a review
approves exactly the sections it had then.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from content import claims, document
from content.markup import MarkupError, parse_markup
from content.text_safety import clean_text
from db import editorial as ed
from db.models import ReviewKind, ReviewStatus, SectionOrigin, utcnow
from db.reviews import NoTemplate
from db.rows import ReviewRow, SectionRow
from db.tables import REVIEW_SECTION
from editorial.outcome import Done, ReviewChange
from editorial.pages import compose_pair
from editorial.permissions import Actor
from editorial.refs import ReviewRef
from resolvers.errors import BadUserInput

MAX_SECTION_CHARS = 20_000
MAX_HEADING_CHARS = 300


# --- input checks that need no database ------------------------------------------------------


def section_blocks(body: str, key: str, path: str = "body") -> list[dict[str, Any]]:
    """An editor's section text (the templates' light markup) as blocks, or BAD_USER_INPUT.

    Stored as read: invisible characters dropped and NFC (``text_safety.clean_text``),
    so readers get exactly the text the content check read."""
    problems = []
    # (NFC may turn a few characters into two: the limit holds for what is stored too.)
    if len(body) > MAX_SECTION_CHARS or len(body := clean_text(body)) > MAX_SECTION_CHARS:
        problems.append({"path": path, "message": f"longer than {MAX_SECTION_CHARS} characters"})
    elif any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in body):
        problems.append({"path": path, "message": "must not contain control characters"})
    blocks: list[dict[str, Any]] = []
    if not problems:
        try:
            blocks = parse_markup(body.replace("\r\n", "\n"))
        except MarkupError as exc:
            problems.append({"path": path, "message": str(exc)})
    if not problems and document.is_empty(blocks) and key.lower() in claims.MANDATORY:
        problems.append({"path": path, "message": f"the {key} section may not be empty"})
    if problems:
        raise BadUserInput("the section text is not valid", problems=problems)
    return blocks


def check_heading(heading: str | None) -> str | None:
    """The heading as stored (cleaned like section text), or BAD_USER_INPUT."""
    if heading is None:
        return None
    if len(heading) <= MAX_HEADING_CHARS:
        heading = clean_text(heading)
    if len(heading) > MAX_HEADING_CHARS or any(ord(ch) < 32 or ord(ch) == 127 for ch in heading):
        raise BadUserInput(
            "the heading is not valid",
            problems=[
                {
                    "path": "heading",
                    "message": f"one line of at most {MAX_HEADING_CHARS} characters",
                }
            ],
        )
    return heading


# --- units of work ---------------------------------------------------------------------------


def update_section(
    session: Session,
    actor: Actor,
    ref: ReviewRef,
    key: str,
    expected: int,
    blocks: list[dict[str, Any]],
    heading: str | None,
    keep_heading: bool,
) -> Done[ReviewChange]:
    review, section = _claim_section(session, ref, key, expected)
    heading = section.heading if keep_heading else heading
    return _write_section(
        session,
        actor,
        "updateSection",
        ref,
        review,
        section,
        expected,
        blocks,
        heading,
        SectionOrigin.EDITED,
    )


def reset_section(
    session: Session, actor: Actor, ref: ReviewRef, key: str, expected: int
) -> Done[ReviewChange]:
    review, section = _claim_section(session, ref, key, expected)
    try:
        page = compose_pair(
            session,
            ReviewKind(str(review.kind)),
            review.compound_id,
            review.condition_id,
            review.locale,
        )
    except NoTemplate as exc:
        raise ed.Refused(str(exc), "NO_TEMPLATE") from None
    if page is None:
        raise ed.Refused("the pair has no evidence any more", "NO_EVIDENCE")
    generated = next((s for s in page.sections if s.key == key), None)
    if generated is None:
        raise ed.Refused(f"the current template has no {key} section", "NO_SUCH_SECTION")
    return _write_section(
        session,
        actor,
        "resetSection",
        ref,
        review,
        section,
        expected,
        generated.blocks,
        generated.heading,
        SectionOrigin.GENERATED,
    )


def _claim_section(
    session: Session, ref: ReviewRef, key: str, expected: int
) -> tuple[ReviewRow, SectionRow]:
    """The review and its section, the section locked at ``expected`` (or CONFLICT)."""
    review = ed.review_by_slug(session, ref.slug, ref.locale)
    if review.status == ReviewStatus.ARCHIVED:
        raise ed.Refused("the review is archived; restore it first", "ARCHIVED")
    section = ed.section_row(session, review.id, key, str(ref))
    ed.claim(session, REVIEW_SECTION, section.id, expected, "section", f"{ref}/{key}")
    return review, section


def _write_section(
    session: Session,
    actor: Actor,
    action: str,
    ref: ReviewRef,
    review: ReviewRow,
    section: SectionRow,
    expected: int,
    blocks: list[dict[str, Any]],
    heading: str | None,
    origin: str,
) -> Done[ReviewChange]:
    now = utcnow()
    after = ed.update_section(session, section.id, now, blocks, heading, origin)
    # The review's own revision moves too: a reviewer approving revision N of the
    # review approves exactly the sections it had then.
    ed.set_review(session, review.id, now, status=ed.draft_status(review.status))
    actor.audit(
        session,
        action,
        "ReviewSection",
        record_id=section.id,
        record_key=f"{review.slug}/{section.key}",
        before=expected,
        after=after,
        detail=ref.detail(),
    )
    return Done(ReviewChange(int(review.id)))
