"""What the mutation modules share: the expected revision, inputs as catalog records, and
the effect of a change of facts on the reviews built from them."""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated, Any

import strawberry

from editorial import facts

Expected = Annotated[
    int,
    strawberry.argument(
        description="The record's `revision` you last read; CONFLICT when it has changed since."
    ),
]

PageLocale = Annotated[
    str | None,
    strawberry.argument(
        description="The page's locale: a configured BCP 47 tag (`COMPENDIUM_LOCALES`, e.g. "
        '"es"); omitted, the default locale. Each locale\'s page is a review of its own '
        "(working copy, status, revisions, sign-off). An unknown tag is BAD_USER_INPUT."
    ),
]


def as_record(obj: Any) -> dict[str, Any]:
    """An input object as a catalog record: unset fields left out, nested inputs converted."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is strawberry.UNSET:
            continue
        if isinstance(value, list):
            value = [as_record(v) if dataclasses.is_dataclass(v) else v for v in value]
        elif isinstance(value, enum.Enum):
            value = value.name
        out[f.name] = value
    return out


@strawberry.type(description="What a change of facts did to the reviews built from them.")
class FactsEffect:
    affected_reviews: int = strawberry.field(
        description="Reviews whose inputs changed (published ones keep serving their approved "
        "revision and are now stale)."
    )
    regenerated_reviews: int = strawberry.field(
        description="Drafts regenerated from the new facts, ready for re-review."
    )
    stale_reviews: int = strawberry.field(
        description="Affected reviews left for `regenerateStaleReviews` (too many to do at once)."
    )

    @staticmethod
    def of(r: facts.FactsResult) -> FactsEffect:
        return FactsEffect(
            affected_reviews=r.affected_reviews,
            regenerated_reviews=r.regenerated_reviews,
            stale_reviews=r.stale_reviews,
        )
