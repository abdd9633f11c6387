"""Per-request DataLoaders, one per relation, named ``<Target>By<Key>Loader``.

Each batches every key asked for in one tick of the event loop into one SQL
statement, so the number of statements of a request does not grow with the
number of items in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from db import public, queries, scheduling
from db.tables import COMPOUND, CONDITION, PUBLIC_COMPOUND, PUBLIC_CONDITION

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


@dataclass(frozen=True, slots=True)
class Batch:
    """What the keys of one batch share besides their parent: the query function's other
    arguments (a nested list's filter, order and page; `related`'s size), compared by their
    ``repr`` (a filter holds lists, which do not hash). Key: ``(parent id, Batch)``."""

    key: str
    args: tuple[Any, ...] = field(compare=False)

    @staticmethod
    def of(*args: Any) -> Batch:
        return Batch(repr(args), args)


class _GroupedLoader(DataLoader[Any, Any]):
    """Loads by ``(parent id, Batch)``: one query call per distinct Batch of a tick (the
    same field under every item of a list: one), each for all its parents at once."""

    def __init__(self, run: Run, fetch: Callable[..., dict[int, Any]], *args: Any):
        async def load(keys: Sequence[tuple[int, Batch]]) -> list[Any]:
            groups: dict[Batch, list[int]] = {}
            for parent, batch in keys:
                groups.setdefault(batch, []).append(parent)
            found: dict[tuple[int, Batch], Any] = {}
            for batch, parents in groups.items():
                result = await run(fetch, *args, *batch.args, parents)
                found.update(((p, batch), result[p]) for p in parents)
            return [found[k] for k in keys]

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


class ScheduledActionsByReviewIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, scheduling.actions_by_review_ids, default=list)


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
    """A slug's working reviews, one per locale."""

    def __init__(self, run: Run):
        super().__init__(run, queries.reviews_by_slugs, default=list)


class TranslationBehindByReviewIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.translations_behind, default=bool)


class TranslationsByPairLoader(_Loader):
    """Key: (compound id, condition id, kind); the working reviews of every locale."""

    def __init__(self, run: Run):
        super().__init__(run, queries.translations_by_pairs, default=list)


class PublicTranslationBehindByReviewIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.translations_behind, default=bool)


class PublicTranslationsByPairLoader(_Loader):
    """Key: (compound id, condition id, kind); the published reviews of every locale."""

    def __init__(self, run: Run):
        super().__init__(run, public.translations_by_pairs, default=list)


class ReviewsByCompoundIdLoader(_GroupedLoader):
    def __init__(self, run: Run):
        super().__init__(run, queries.reviews_by_parents, "compound")


class ReviewsByConditionIdLoader(_GroupedLoader):
    def __init__(self, run: Run):
        super().__init__(run, queries.reviews_by_parents, "condition")


class RelatedByReviewIdLoader(_GroupedLoader):
    def __init__(self, run: Run):
        super().__init__(run, queries.related_reviews)


class ReviewByPairLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, queries.reviews_by_pairs)


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
    """A slug's published reviews, one per locale approved."""

    def __init__(self, run: Run):
        super().__init__(run, public.reviews_by_slugs, default=list)


class ApprovedEvidenceByIdLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.approved_evidence_by_ids)


class PublicReviewsByCompoundIdLoader(_GroupedLoader):
    def __init__(self, run: Run):
        super().__init__(run, public.reviews_by_parents, "compound")


class PublicReviewsByConditionIdLoader(_GroupedLoader):
    def __init__(self, run: Run):
        super().__init__(run, public.reviews_by_parents, "condition")


class PublicRelatedByReviewIdLoader(_GroupedLoader):
    def __init__(self, run: Run):
        super().__init__(run, public.related_reviews)


class PublicReviewByPairLoader(_Loader):
    def __init__(self, run: Run):
        super().__init__(run, public.reviews_by_pairs)


class Loaders:
    """The loaders of one request (discarded with it), each made when first used: a
    request touches a few of them, and a DataLoader is not free to build."""

    def __init__(self, run: Run):
        self._run = run

    @cached_property
    def compound_by_id(self) -> CompoundByIdLoader:
        return CompoundByIdLoader(self._run)

    @cached_property
    def condition_by_id(self) -> ConditionByIdLoader:
        return ConditionByIdLoader(self._run)

    @cached_property
    def review_by_id(self) -> ReviewByIdLoader:
        return ReviewByIdLoader(self._run)

    @cached_property
    def revision_by_id(self) -> RevisionByIdLoader:
        return RevisionByIdLoader(self._run)

    @cached_property
    def sections_by_review_id(self) -> SectionsByReviewIdLoader:
        return SectionsByReviewIdLoader(self._run)

    @cached_property
    def citations_by_compound_id(self) -> CitationsByCompoundIdLoader:
        return CitationsByCompoundIdLoader(self._run)

    @cached_property
    def citations_by_evidence_id(self) -> CitationsByEvidenceIdLoader:
        return CitationsByEvidenceIdLoader(self._run)

    @cached_property
    def evidence_by_pair(self) -> EvidenceByPairLoader:
        return EvidenceByPairLoader(self._run)

    @cached_property
    def evidence_by_id(self) -> EvidenceByIdLoader:
        return EvidenceByIdLoader(self._run)

    @cached_property
    def revisions_by_review_id(self) -> RevisionsByReviewIdLoader:
        return RevisionsByReviewIdLoader(self._run)

    @cached_property
    def scheduled_actions_by_review_id(self) -> ScheduledActionsByReviewIdLoader:
        return ScheduledActionsByReviewIdLoader(self._run)

    @cached_property
    def compound_by_slug(self) -> CompoundBySlugLoader:
        return CompoundBySlugLoader(self._run)

    @cached_property
    def condition_by_slug(self) -> ConditionBySlugLoader:
        return ConditionBySlugLoader(self._run)

    @cached_property
    def review_by_slug(self) -> ReviewBySlugLoader:
        return ReviewBySlugLoader(self._run)

    @cached_property
    def translation_behind_by_review_id(self) -> TranslationBehindByReviewIdLoader:
        return TranslationBehindByReviewIdLoader(self._run)

    @cached_property
    def translations_by_pair(self) -> TranslationsByPairLoader:
        return TranslationsByPairLoader(self._run)

    @cached_property
    def public_translation_behind_by_review_id(self) -> PublicTranslationBehindByReviewIdLoader:
        return PublicTranslationBehindByReviewIdLoader(self._run)

    @cached_property
    def public_translations_by_pair(self) -> PublicTranslationsByPairLoader:
        return PublicTranslationsByPairLoader(self._run)

    @cached_property
    def fact_version_by_id(self) -> FactVersionByIdLoader:
        return FactVersionByIdLoader(self._run)

    @cached_property
    def approved_compound_by_id(self) -> ApprovedCompoundByIdLoader:
        return ApprovedCompoundByIdLoader(self._run)

    @cached_property
    def approved_condition_by_id(self) -> ApprovedConditionByIdLoader:
        return ApprovedConditionByIdLoader(self._run)

    @cached_property
    def approved_compound_by_slug(self) -> ApprovedCompoundBySlugLoader:
        return ApprovedCompoundBySlugLoader(self._run)

    @cached_property
    def approved_condition_by_slug(self) -> ApprovedConditionBySlugLoader:
        return ApprovedConditionBySlugLoader(self._run)

    @cached_property
    def approved_evidence_by_pair(self) -> ApprovedEvidenceByPairLoader:
        return ApprovedEvidenceByPairLoader(self._run)

    @cached_property
    def public_review_by_id(self) -> PublicReviewByIdLoader:
        return PublicReviewByIdLoader(self._run)

    @cached_property
    def public_review_by_slug(self) -> PublicReviewBySlugLoader:
        return PublicReviewBySlugLoader(self._run)

    # The content graph (resolvers/graph.py).

    @cached_property
    def reviews_by_compound_id(self) -> ReviewsByCompoundIdLoader:
        return ReviewsByCompoundIdLoader(self._run)

    @cached_property
    def reviews_by_condition_id(self) -> ReviewsByConditionIdLoader:
        return ReviewsByConditionIdLoader(self._run)

    @cached_property
    def related_by_review_id(self) -> RelatedByReviewIdLoader:
        return RelatedByReviewIdLoader(self._run)

    @cached_property
    def review_by_pair(self) -> ReviewByPairLoader:
        return ReviewByPairLoader(self._run)

    @cached_property
    def approved_evidence_by_id(self) -> ApprovedEvidenceByIdLoader:
        return ApprovedEvidenceByIdLoader(self._run)

    @cached_property
    def public_reviews_by_compound_id(self) -> PublicReviewsByCompoundIdLoader:
        return PublicReviewsByCompoundIdLoader(self._run)

    @cached_property
    def public_reviews_by_condition_id(self) -> PublicReviewsByConditionIdLoader:
        return PublicReviewsByConditionIdLoader(self._run)

    @cached_property
    def public_related_by_review_id(self) -> PublicRelatedByReviewIdLoader:
        return PublicRelatedByReviewIdLoader(self._run)

    @cached_property
    def public_review_by_pair(self) -> PublicReviewByPairLoader:
        return PublicReviewByPairLoader(self._run)
