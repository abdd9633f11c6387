"""Per-request DataLoaders, one per relation, named ``<Target>By<Key>Loader``.

Each batches every key asked for in one tick of the event loop into one SQL
statement, so the number of statements of a request does not grow with the
number of items in it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from db import public, queries
from db.tables import COMPOUND, CONDITION, PUBLIC_COMPOUND, PUBLIC_CONDITION, REVIEW

if TYPE_CHECKING:
    from resolvers.context import Context


class _Loader(DataLoader[Any, Any]):
    """Loads rows by key with one batched query; missing keys load as None (or [])."""

    def __init__(
        self,
        ctx: Context,
        fetch: Callable[..., dict[Any, Any]],
        *args: Any,
        default: Callable[[], Any] = lambda: None,
    ):
        async def load(keys: Sequence[Any]) -> list[Any]:
            found = await ctx.db(fetch, *args, keys)
            return [found.get(k, default()) for k in keys]

        super().__init__(load_fn=load)


class CompoundByIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.compounds_by_ids)


class ConditionByIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.conditions_by_ids)


class ReviewByIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.reviews_by_ids)


class RevisionByIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.revisions_by_ids)


class SectionsByReviewIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.sections_by_review_ids, default=list)


class CitationsByCompoundIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.citations_by_owner, "compound_id", default=list)


class CitationsByEvidenceIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.citations_by_owner, "evidence_id", default=list)


class EvidenceByPairLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.evidence_by_pairs)


class RevisionsByReviewIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.revisions_by_review_ids, default=list)


class EvidenceByIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.evidence_by_ids)


class CompoundBySlugLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.by_slugs, COMPOUND)


class ConditionBySlugLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.by_slugs, CONDITION)


class ReviewBySlugLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, queries.by_slugs, REVIEW)


# --- the published read model (readers; editors' `approved` fields) -------------------------


class FactVersionByIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, public.fact_versions_by_ids)


class ApprovedCompoundByIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, public.approved_by_ids, PUBLIC_COMPOUND)


class ApprovedConditionByIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, public.approved_by_ids, PUBLIC_CONDITION)


class ApprovedCompoundBySlugLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, public.approved_by_slugs, PUBLIC_COMPOUND)


class ApprovedConditionBySlugLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, public.approved_by_slugs, PUBLIC_CONDITION)


class ApprovedEvidenceByPairLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, public.approved_evidence_by_pairs)


class PublicReviewByIdLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, public.reviews_by_ids)


class PublicReviewBySlugLoader(_Loader):
    def __init__(self, ctx: Context):
        super().__init__(ctx, public.reviews_by_slugs)


class Loaders:
    """The loaders of one request (created with its context, discarded with it)."""

    def __init__(self, ctx: Context):
        self.compound_by_id = CompoundByIdLoader(ctx)
        self.condition_by_id = ConditionByIdLoader(ctx)
        self.review_by_id = ReviewByIdLoader(ctx)
        self.revision_by_id = RevisionByIdLoader(ctx)
        self.sections_by_review_id = SectionsByReviewIdLoader(ctx)
        self.citations_by_compound_id = CitationsByCompoundIdLoader(ctx)
        self.citations_by_evidence_id = CitationsByEvidenceIdLoader(ctx)
        self.evidence_by_pair = EvidenceByPairLoader(ctx)
        self.evidence_by_id = EvidenceByIdLoader(ctx)
        self.revisions_by_review_id = RevisionsByReviewIdLoader(ctx)
        self.compound_by_slug = CompoundBySlugLoader(ctx)
        self.condition_by_slug = ConditionBySlugLoader(ctx)
        self.review_by_slug = ReviewBySlugLoader(ctx)
        self.fact_version_by_id = FactVersionByIdLoader(ctx)
        self.approved_compound_by_id = ApprovedCompoundByIdLoader(ctx)
        self.approved_condition_by_id = ApprovedConditionByIdLoader(ctx)
        self.approved_compound_by_slug = ApprovedCompoundBySlugLoader(ctx)
        self.approved_condition_by_slug = ApprovedConditionBySlugLoader(ctx)
        self.approved_evidence_by_pair = ApprovedEvidenceByPairLoader(ctx)
        self.public_review_by_id = PublicReviewByIdLoader(ctx)
        self.public_review_by_slug = PublicReviewBySlugLoader(ctx)
