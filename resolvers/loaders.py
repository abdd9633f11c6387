"""Per-request DataLoaders, one per relation, named ``<Target>By<Key>Loader``.

Each batches every key asked for in one tick of the event loop into one SQL
statement, so the number of statements of a request does not grow with the
number of items in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from db import public, queries
from db.tables import COMPOUND, CONDITION, PUBLIC_COMPOUND, PUBLIC_CONDITION, REVIEW

# How a loader runs a query function of db/ on the request's session (``Context.db``).
Run = Callable[..., Awaitable[Any]]


class _Loader(DataLoader[Any, Any]):
    """Loads rows by key with one batched query; missing keys load as None (or [])."""

    def __init__(
        self,
        run: Run,
        fetch: Callable[..., dict[Any, Any]],
        *args: Any,
        default: Callable[[], Any] = lambda: None,
    ):
        async def load(keys: Sequence[Any]) -> list[Any]:
            found = await run(fetch, *args, keys)
            return [found.get(k, default()) for k in keys]

        super().__init__(load_fn=load)


class CompoundByIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.compounds_by_ids)


class ConditionByIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.conditions_by_ids)


class ReviewByIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.reviews_by_ids)


class RevisionByIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.revisions_by_ids)


class SectionsByReviewIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.sections_by_review_ids, default=list)


class CitationsByCompoundIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.citations_by_owner, "compound_id", default=list)


class CitationsByEvidenceIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.citations_by_owner, "evidence_id", default=list)


class EvidenceByPairLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.evidence_by_pairs)


class RevisionsByReviewIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.revisions_by_review_ids, default=list)


class EvidenceByIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.evidence_by_ids)


class CompoundBySlugLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.by_slugs, COMPOUND)


class ConditionBySlugLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.by_slugs, CONDITION)


class ReviewBySlugLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.by_slugs, REVIEW)


# --- the published read model (readers; editors' `approved` fields) -------------------------


class FactVersionByIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.fact_versions_by_ids)


class ApprovedCompoundByIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.approved_by_ids, PUBLIC_COMPOUND)


class ApprovedConditionByIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.approved_by_ids, PUBLIC_CONDITION)


class ApprovedCompoundBySlugLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.approved_by_slugs, PUBLIC_COMPOUND)


class ApprovedConditionBySlugLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.approved_by_slugs, PUBLIC_CONDITION)


class ApprovedEvidenceByPairLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.approved_evidence_by_pairs)


class PublicReviewByIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.reviews_by_ids)


class PublicReviewBySlugLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.reviews_by_slugs)


class Loaders:
    """The loaders of one request (created with its context, discarded with it)."""

    def __init__(self, run: Run):
        self.compound_by_id = CompoundByIdLoader(run)
        self.condition_by_id = ConditionByIdLoader(run)
        self.review_by_id = ReviewByIdLoader(run)
        self.revision_by_id = RevisionByIdLoader(run)
        self.sections_by_review_id = SectionsByReviewIdLoader(run)
        self.citations_by_compound_id = CitationsByCompoundIdLoader(run)
        self.citations_by_evidence_id = CitationsByEvidenceIdLoader(run)
        self.evidence_by_pair = EvidenceByPairLoader(run)
        self.evidence_by_id = EvidenceByIdLoader(run)
        self.revisions_by_review_id = RevisionsByReviewIdLoader(run)
        self.compound_by_slug = CompoundBySlugLoader(run)
        self.condition_by_slug = ConditionBySlugLoader(run)
        self.review_by_slug = ReviewBySlugLoader(run)
        self.fact_version_by_id = FactVersionByIdLoader(run)
        self.approved_compound_by_id = ApprovedCompoundByIdLoader(run)
        self.approved_condition_by_id = ApprovedConditionByIdLoader(run)
        self.approved_compound_by_slug = ApprovedCompoundBySlugLoader(run)
        self.approved_condition_by_slug = ApprovedConditionBySlugLoader(run)
        self.approved_evidence_by_pair = ApprovedEvidenceByPairLoader(run)
        self.public_review_by_id = PublicReviewByIdLoader(run)
        self.public_review_by_slug = PublicReviewBySlugLoader(run)
