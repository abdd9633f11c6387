"""Catalog mutations: importing a catalog file's content (editors)."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry

from editorial import imports
from editorial.permissions import CanEdit
from editorial.transaction import run
from resolvers.context import Context
from schema.mutations.common import FactsEffect

KINDS = ["publisher", "compounds", "conditions", "evidence", "templates"]


@strawberry.enum(description="Format of a catalog file's content.")
class CatalogFormat(enum.Enum):
    YAML = strawberry.enum_value("YAML", description="YAML (as `compendium import` reads).")
    JSON = strawberry.enum_value("JSON", description="JSON.")


@strawberry.type(description="Counts of one kind of record in an import.")
class ImportCount:
    kind: str = strawberry.field(
        description="publisher, compounds, conditions, evidence, templates."
    )
    created: int = strawberry.field(description="New records.")
    updated: int = strawberry.field(description="Changed records.")
    unchanged: int = strawberry.field(description="Records already as in the file.")


@strawberry.type(description="What an import did.")
class ImportPayload:
    counts: list[ImportCount] = strawberry.field(description="Per kind of record.")
    effect: FactsEffect = strawberry.field(description="What happened to the reviews.")


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description="Import a catalog file's content (editor): validated as a whole first, "
        "every problem reported with its path, then upserted by slug; nothing is written when "
        "anything is wrong.",
        permission_classes=[CanEdit],
    )
    async def import_catalog(
        self,
        info: strawberry.Info,
        content: Annotated[str, strawberry.argument(description="The file's text.")],
        format: Annotated[
            CatalogFormat, strawberry.argument(description="YAML or JSON.")
        ] = CatalogFormat.YAML,
        generate: Annotated[
            bool,
            strawberry.argument(
                description="Generate drafts for new and changed pairs (up to the limit)."
            ),
        ] = True,
    ) -> ImportPayload:
        ctx: Context = info.context
        limit = ctx.settings.inline_regeneration_limit
        r = await run(ctx, imports.import_catalog, content, format.name.lower(), generate, limit)
        report = r.report
        assert report is not None
        return ImportPayload(
            counts=[
                ImportCount(
                    kind=k,
                    created=report.created.get(k, 0),
                    updated=report.updated.get(k, 0),
                    unchanged=report.unchanged.get(k, 0),
                )
                for k in KINDS
            ],
            effect=FactsEffect.of(r),
        )
