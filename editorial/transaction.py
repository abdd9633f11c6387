"""Running a unit of work: its own transaction, refusals as API errors, then its outcome.

A unit of work is a synchronous function ``unit(session, actor, *args) -> Done[T]`` of
editorial/: it reads and writes through db/, records itself in the audit log (and
enqueues its webhook events) in the same transaction, and never commits. ``run`` gives
it a transaction of its own (``Context.mutate``, i.e. ``Database.transact``: BEGIN
IMMEDIATE on SQLite, deadlock victims retried on PostgreSQL), committed when the unit
returns and rolled back when it raises, so a mutation lands whole or not at all; after
the commit it applies the unit's ``Outcome``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from catalog.problems import CatalogInvalid
from db import editorial as ed
from db import queries
from db.rows import ReviewRow, SectionRow
from editorial.outcome import Done, ReviewChange, apply
from editorial.permissions import Actor
from resolvers.context import Context
from resolvers.errors import BadUserInput, ConflictError, NotFoundError

T = TypeVar("T")


async def run(ctx: Context, unit: Callable[..., Done[T]], *args: Any) -> T:
    """Run ``unit(session, actor, *args)`` as the request's token; its result."""
    done = await _transact(ctx, unit, Actor.of(ctx), *args)
    await apply(done.outcome, ctx.effects)
    return done.result


async def run_review(
    ctx: Context, unit: Callable[..., Done[ReviewChange]], *args: Any
) -> ReviewChange:
    """``run`` for units that change one review: the payload shows the review exactly as
    this mutation left it (read in its own transaction), not as a later writer did; the
    `revision` it reports is the one to pass as `expectedRevision` next."""
    done = await _transact(ctx, _with_snapshot(unit), Actor.of(ctx), *args)
    snapshot = done.result
    review_id = snapshot.change.review_id
    ctx.loaders.review_by_id.prime(review_id, snapshot.review)
    ctx.loaders.sections_by_review_id.prime(review_id, snapshot.sections)
    await apply(done.outcome, ctx.effects)
    return snapshot.change


@dataclass(frozen=True, slots=True)
class _Snapshot:
    change: ReviewChange
    review: ReviewRow | None
    sections: list[SectionRow]


def _with_snapshot(unit: Callable[..., Done[ReviewChange]]) -> Callable[..., Done[_Snapshot]]:
    def snapshot(session: Session, *args: Any) -> Done[_Snapshot]:
        done = unit(session, *args)
        review_id = done.result.review_id
        rows = queries.reviews_by_ids(session, [review_id])
        sections = queries.sections_by_review_ids(session, [review_id])
        return Done(
            _Snapshot(done.result, rows.get(review_id), sections.get(review_id, [])),
            done.outcome,
        )

    return snapshot


async def _transact(ctx: Context, unit: Callable[..., T], *args: Any) -> T:
    """The unit's result, committed; a refusal (nothing written) as an API error."""
    try:
        return await ctx.mutate(unit, *args)
    except ed.NotFound as exc:
        raise NotFoundError(str(exc)) from None
    except ed.Conflict as exc:
        raise ConflictError(
            str(exc), expectedRevision=exc.expected, actualRevision=exc.actual
        ) from None
    except ed.Refused as exc:
        raise BadUserInput(str(exc), reason=exc.reason, **exc.details) from None
    except CatalogInvalid as exc:
        raise BadUserInput(
            f"{exc.total} problem(s) in the input; nothing was changed",
            problems=[
                {"path": p.path, "message": p.message, **({"line": p.line} if p.line else {})}
                for p in exc.problems
            ],
            problemCount=exc.total,  # the first MAX_REPORTED_PROBLEMS are listed
        ) from None
    except IntegrityError:
        # A unique key taken by a concurrent write between our check and our insert.
        raise ConflictError("the record was changed concurrently; reload and retry") from None
