"""Resolvers for reviews: lookups, lists, content, SEO and staleness.

Readers get the published read model (db/public.py); editors the working copies
(db/queries.py). Which one is decided here, once per lookup.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from content import document
from db import public, queries
from resolvers import catalog, locales, tags
from resolvers.content import (
    PendingView,
    ReviewView,
    canonical_path,
    published_views,
    working_views,
)
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.records import EvidenceRecord
from resolvers.relay import Listing, check_first, empty, keyset, listing

# A review as a field gets it: loaded (an editor's, or prepared) or pending (a reader's).
AnyView = ReviewView | PendingView

# The criteria of a review list (every one given must hold).
ReviewCriteria = queries.ReviewFilter


async def review(
    ctx: Context,
    slug: str | None,
    compound: str | None,
    condition: str | None,
    kind: str,
    locale: str | None = None,
) -> AnyView | None:
    """The page in the locale asked for, else in the next locale of its chain that has
    one (readers: approved in; editors: a working copy in)."""
    asked = locales.requested(ctx, locale)
    preview = ctx.viewer.can_preview
    if slug is not None:
        if compound is not None or condition is not None:
            raise BadUserInput("give either `slug`, or `compound` and `condition`, not both")
        loader = ctx.loaders.review_by_slug if preview else ctx.loaders.public_review_by_slug
        rows = await loader.load(slug)
    elif compound is not None and condition is not None:
        fetch = queries.review_by_pair if preview else public.review_by_pair
        rows = await ctx.db(fetch, compound, condition, kind)
    else:
        raise BadUserInput("give `slug`, or both `compound` and `condition`")
    order = locales.chain(ctx, asked)
    row = locales.pick(rows, order)
    # The answer changes when the page is approved in a locale the chain prefers to the one
    # served (or, when none is served, in any of them). The served page's own approvals and
    # withdrawals purge its `review:{id}`: a page served in the locale asked for depends on
    # no list (approving another page of that locale leaves it cached).
    tried = order if row is None else order[: order.index(row.locale)]
    ctx.depends(*tags.per_locale(tags.REVIEWS, tried))
    return await view(ctx, row, asked)


async def review_by_id(
    ctx: Context, review_id: int, requested: str | None = None
) -> AnyView | None:
    loader = ctx.loaders.review_by_id if ctx.viewer.can_preview else ctx.loaders.public_review_by_id
    return await view(ctx, await loader.load(review_id), requested)


async def published_review(ctx: Context, review_id: int) -> ReviewView | None:
    """What anonymous readers get of a review, loaded whole (the reader view of previews)."""
    row = await ctx.loaders.public_review_by_id.load(review_id)
    if row is None:
        return None
    return (await published_views(ctx, [row]))[0]


async def view(ctx: Context, row: Any, requested: str | None = None) -> AnyView | None:
    """The view of a row loaded for this viewer (public_review for readers)."""
    if row is None:
        # "Not there" changes when a review is first published.
        ctx.depends(*tags.per_locale(tags.REVIEWS, ctx.settings.default_locale))
        return None
    return (await views(ctx, [row], requested))[0]


async def views(ctx: Context, rows: list[Any], requested: str | None = None) -> list[AnyView]:
    if ctx.viewer.can_preview:
        return list(await working_views(ctx, rows, requested))
    return public_views(ctx, rows, requested)


def public_views(ctx: Context, rows: list[Any], requested: str | None = None) -> list[AnyView]:
    """Readers' reviews, their content loaded when a field needs it (``prepare``)."""
    ctx.depends(*(tags.review(r.id) for r in rows))
    return [PendingView(r, requested=requested) for r in rows]


async def prepare(ctx: Context, view: AnyView) -> ReviewView:
    """The view with its content (a published review's is loaded now; batched with the
    other reviews prepared in the same tick)."""
    if isinstance(view, PendingView):
        return (await published_views(ctx, [view.row], [view.requested]))[0]
    return view


async def reviews_page(
    ctx: Context,
    first: int,
    after: str | None,
    order: str,
    f: ReviewCriteria,
    locale: str | None = None,
) -> Listing[AnyView]:
    """Editors: the working copies in the locale asked for. Readers: each page once, in
    the first locale of the chain a reviewer approved it in."""
    asked = locales.requested(ctx, locale)
    checked(ctx, first, f)
    if ctx.viewer.can_preview:
        f.locale = asked
        spec = queries.REVIEW_ORDERS[order]
        key = keyset(after, order, spec)
        result = await ctx.db(queries.list_reviews, f, order, first, key)
        return listing(result, order, spec, list(await working_views(ctx, result.rows, asked)))
    spec = public.REVIEW_ORDERS[order]
    key = keyset(after, order, spec)
    readers = readers_filter(ctx, f, locales.chain(ctx, asked))
    if readers is None:
        return empty()
    result = await ctx.db(public.list_reviews, readers, order, first, key)
    return listing(result, order, spec, public_views(ctx, result.rows, asked))


def checked(ctx: Context, first: int, f: ReviewCriteria) -> None:
    """The page size and criteria of a review list checked (and `updatedSince` made UTC)."""
    check_first(first, ctx.settings.max_page_size)
    if f.updated_since is not None:
        f.updated_since = as_utc(f.updated_since, "updatedSince")


def readers_filter(
    ctx: Context, f: ReviewCriteria, chain: list[str] | None = None
) -> public.ReviewFilter | None:
    """Readers' criteria of a review list in the locales of ``chain`` (default: the default
    locale's); None when they can match nothing a reader sees."""
    chain = chain or [ctx.settings.default_locale]
    ctx.depends(*tags.per_locale(tags.REVIEWS, chain))
    if f.status is not None and "PUBLISHED" not in f.status:
        # Readers asking for drafts get an empty list, never an error that confirms they exist.
        return None
    if f.stale is not None:
        # The answer moves with approvals of any review's facts.
        ctx.depends(tags.COMPOUNDS, tags.CONDITIONS, tags.PUBLISHER)
    return public.ReviewFilter(
        compound=f.compound,
        condition=f.condition,
        research=f.research,
        kind=f.kind,
        updated_since=f.updated_since,
        stale=f.stale,
        overdue=f.overdue,
        now=f.now,
        locales=chain,
    )


def as_utc(value: datetime, argument: str) -> datetime:
    """An instant as UTC; the edges of the calendar (year 1 or 9999 in a far time zone)
    have no UTC equivalent and are refused."""
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise BadUserInput(
            f"`{argument}` is outside the range of dates this API handles", argument=argument
        ) from None


def text(v: ReviewView, fmt: str) -> str:
    return document.render_page(v.page, fmt)


def section(v: ReviewView, key: str) -> document.Section | None:
    return next((s for s in v.page.sections if s.key == key), None)


def faq(v: ReviewView) -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        (b["question"], b["answer"])
        for s in v.page.sections
        for b in s.blocks
        if b["type"] == "faq"
    ]


async def working_stale(ctx: Context, rows: list[Any]) -> list[bool]:
    """Editors: whether what each working review serves (its published revision; its draft
    when never published) was built from facts or a template that changed since, or (a
    translation) from a source approved with other text since (one batched load)."""
    behind = await ctx.loaders.translation_behind_by_review_id.load_many(
        [row.id for row in rows if row.source_revision_id is not None]
    )
    late = dict(zip([r.id for r in rows if r.source_revision_id is not None], behind, strict=True))
    out = []
    for row in rows:
        served = row.published_fingerprint if row.published_revision_id else row.fingerprint
        out.append(served != row.current_fingerprint or bool(late.get(row.id)))
    return out


async def is_stale(ctx: Context, v: ReviewView) -> bool:
    """Editors: whether what the review serves (its published revision; its draft when never
    published) was built from facts or a template that changed since. Readers: whether a
    reviewer has since approved newer facts than those the page was approved with."""
    if not v.published:
        return (await working_stale(ctx, [v.row]))[0]
    row = v.row
    if row.source_revision_id is not None:
        # A translation turns stale when its source page is approved with other text.
        ctx.depends(*tags.per_locale(tags.REVIEWS, ctx.settings.default_locale))
        if await ctx.loaders.public_translation_behind_by_review_id.load(row.id):
            return True
    # The answer moves with later approvals of the page's facts.
    ctx.depends(
        tags.record("compound", row.compound_id),
        tags.record("condition", row.condition_id),
        tags.PUBLISHER,
    )
    compound = await ctx.loaders.approved_compound_by_id.load(row.compound_id)
    condition = await ctx.loaders.approved_condition_by_id.load(row.condition_id)
    evidence = await ctx.loaders.approved_evidence_by_pair.load((row.compound_id, row.condition_id))
    if evidence is not None:
        ctx.depends(tags.record("evidence", evidence.id))
    publisher = await ctx.once("approved-publisher", public.approved_publisher)
    current = (
        compound.version_id if compound else None,
        condition.version_id if condition else None,
        evidence.version_id if evidence else None,
        publisher.version_id if publisher else None,
    )
    served = (
        row.compound_version_id,
        row.condition_version_id,
        row.evidence_version_id,
        row.publisher_version_id,
    )
    return current != served


async def evidence(ctx: Context, v: ReviewView) -> EvidenceRecord | None:
    """Readers: the evidence as approved with the page; editors: the working copy."""
    if v.published:
        version = await ctx.loaders.fact_version_by_id.load(v.row.evidence_version_id)
        return EvidenceRecord.snapshot(
            version, v.compound_id, v.condition_id, v.compound, v.condition
        )
    return await catalog.evidence_of_pair(ctx, v.compound_id, v.condition_id)


def medical_codes(*codes: tuple[str, str | None]) -> dict[str, Any]:
    """schema.org's `code` of a Drug or MedicalCondition: a MedicalCode per code the facts
    have (nothing when none, so pages without codes keep their JSON-LD unchanged)."""
    found = [
        {"@type": "MedicalCode", "code": code, "codingSystem": system}
        for system, code in codes
        if code
    ]
    if not found:
        return {}
    return {"code": found[0] if len(found) == 1 else found}


def seo(v: ReviewView, default_locale: str) -> dict[str, Any]:
    compound, condition = v.compound, v.condition
    page = v.page
    path = canonical_path(v.slug, v.locale, default_locale)
    faq_items = [
        {
            "@type": "Question",
            "name": question,
            "acceptedAnswer": {"@type": "Answer", "text": document.spans_text(answer)},
        }
        for question, answer in faq(v)
    ]
    web_page: dict[str, Any] = {
        "@type": "MedicalWebPage",
        "@id": path,
        "url": path,
        "name": page.title,
        "headline": page.title,
        "description": page.description,
        # (A translation's language; the default locale's pages stay as they were.)
        **({"inLanguage": v.locale} if v.locale != default_locale else {}),
        "about": [
            {
                "@type": "Drug",
                "name": compound.name,
                **({"alternateName": list(compound.aliases)} if compound.aliases else {}),
                "drugClass": {"@type": "DrugClass", "name": compound.drug_class},
                **medical_codes(("RxNorm", compound.rxnorm), ("MeSH", compound.mesh)),
            },
            {
                "@type": "MedicalCondition",
                "name": condition.full_name or condition.name,
                **({"alternateName": list(condition.aliases)} if condition.aliases else {}),
                **medical_codes(("ICD-10", condition.icd10), ("MeSH", condition.mesh)),
            },
        ],
    }
    if v.approved_at is not None:
        web_page["lastReviewed"] = v.approved_at.date().isoformat()
        web_page["dateModified"] = v.approved_at.isoformat()
    if v.published_at is not None:
        web_page["datePublished"] = v.published_at.isoformat()
    graph = [web_page]
    if faq_items:
        graph.append({"@type": "FAQPage", "@id": f"{path}#faq", "mainEntity": faq_items})
    return {
        "title": page.title,
        "description": page.description,
        "canonical_path": path,
        "in_language": v.locale,
        "json_ld": {"@context": "https://schema.org", "@graph": graph},
    }


async def translations(ctx: Context, v: ReviewView) -> list[dict[str, Any]]:
    """The page's locales this viewer may see (README "Locales")."""
    key = (v.compound_id, v.condition_id, v.kind)
    if not v.published:
        rows = await ctx.loaders.translations_by_pair.load(key)
        return [
            {
                "locale": row.locale,
                "status": str(row.status),
                "is_stale": stale,
                "last_reviewed_at": row.last_reviewed_at,
            }
            for row, stale in zip(rows, await working_stale(ctx, rows), strict=True)
        ]
    rows = await ctx.loaders.public_translations_by_pair.load(key)
    page_locales_shown(ctx, rows)
    behind = await ctx.loaders.public_translation_behind_by_review_id.load_many(
        [row.id for row in rows]
    )
    return [
        {
            "locale": row.locale,
            "status": "PUBLISHED",
            "is_stale": bool(late),
            "last_reviewed_at": row.last_reviewed_at,
        }
        for row, late in zip(rows, behind, strict=True)
    ]


async def alternates(ctx: Context, v: ReviewView) -> list[dict[str, Any]]:
    """The page in each locale a reviewer approved it in (hreflang alternates)."""
    rows = await ctx.loaders.public_translations_by_pair.load(
        (v.compound_id, v.condition_id, v.kind)
    )
    page_locales_shown(ctx, rows)
    default = ctx.settings.default_locale
    return [
        {"locale": row.locale, "canonical_path": canonical_path(row.slug, row.locale, default)}
        for row in rows
    ]


def page_locales_shown(ctx: Context, rows: list[Any]) -> None:
    """An answer shows the page's approved locales (``rows``, one per locale): it changes
    when one of them is approved again or withdrawn (its ``review:{id}``; a translation's
    staleness moves with its source, the default locale's row) or when the page is first
    approved in a locale it lacks (that locale's list). Another page's approval in a locale
    the page has leaves it cached (every page's SEO shows its alternates)."""
    present = {row.locale for row in rows}
    missing = [tag for tag in ctx.settings.locales if tag not in present]
    ctx.depends(*(tags.review(row.id) for row in rows), *tags.per_locale(tags.REVIEWS, missing))
