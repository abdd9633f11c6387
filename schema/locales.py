"""A page's locales: its translations and their alternates (hreflang)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.common import ReviewStatus

LocaleArg = Annotated[
    str | None,
    strawberry.argument(
        description="The locale wanted (BCP 47 tag, one of COMPENDIUM_LOCALES; default: the "
        "default locale). Readers get each page in it when a reviewer approved it there, else "
        "in the next locale of its fallback chain (`Review.isFallback`); an unknown tag is "
        "BAD_USER_INPUT."
    ),
]


@strawberry.type(description="A page in one locale, as this viewer may see it.")
class Translation:
    locale: str = strawberry.field(description="The locale (BCP 47 tag).")
    status: ReviewStatus = strawberry.field(
        description="Its editorial status (readers: PUBLISHED, the only ones they get)."
    )
    is_stale: bool = strawberry.field(
        description="Built from facts or a template that changed since, or (a translation) "
        "made from a source page that was approved with other text since: to be "
        "regenerated or edited, and approved again."
    )
    last_reviewed_at: datetime | None = strawberry.field(
        description="When a medical reviewer last approved the page in this locale (null: never)."
    )


@strawberry.type(description="The same page in another language (hreflang).")
class Alternate:
    locale: str = strawberry.field(description="The locale (BCP 47 tag; `hreflang`).")
    canonical_path: str = strawberry.field(description="The page's path in that locale.")
