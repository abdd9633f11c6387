"""Generation: compose every compound x condition page from templates and facts.

Each review records the template version and a fingerprint of the facts it was
built from, so ``stale_only`` touches exactly the reviews whose inputs changed.
Each batch is one transaction: a review and its sections are written together
or not at all, and sections an editor changed (origin EDITED) are never
overwritten.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from config import get_settings
from content.document import Block
from content.facts import review_fingerprint
from content.markup import parse_markup
from content.templating import CompiledTemplate
from db.engine import RawJSON, session_scope, to_json
from db.models import ReviewKind, Template, utcnow
from db.review_writes import ReviewWrite, write_batch
from db.reviews import (
    NoTemplate,
    PairRow,
    active_template,
    evidence_citations,
    generation_pairs,
    load_facts,
    pair_facts,
    refresh_fingerprints,
    review_slug,
)

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class GenerationReport:
    total: int = 0
    created: int = 0
    refreshed: int = 0
    skipped: int = 0
    remaining: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.total} pairs: {self.created} created, {self.refreshed} refreshed, "
            f"{self.skipped} unchanged, in {self.seconds:.2f}s"
        )


@lru_cache(maxsize=16)
def _compiled(template_id: int, content_hash: str, source_json: str) -> CompiledTemplate:
    return CompiledTemplate(json.loads(source_json))


def locale_chain(locale: str) -> list[str]:
    """The fallback chain a page in ``locale`` is composed with (config.py)."""
    return list(get_settings().locale_chains[locale])


def compiled_template(t: Template) -> CompiledTemplate:
    """Compile a stored template once per process (keyed by its immutable content)."""
    return _compiled(t.id or 0, t.content_hash, json.dumps(t.source, sort_keys=True))


def compose_write(
    template: CompiledTemplate,
    facts: dict[str, Any],
    pair: PairRow,
    fingerprint: str,
    kind: str,
    parse: Callable[[str], list[Block]] = parse_markup,
) -> ReviewWrite:
    page = template.compose(facts, parse)
    return ReviewWrite(
        pair=pair,
        slug=review_slug(facts["compound"]["slug"], facts["condition"]["slug"], kind),
        title=page.title,
        byline=page.byline,
        notice=page.notice,
        description=page.description,
        fingerprint=fingerprint,
        sections=[
            {"key": s.key, "position": s.position, "heading": s.heading, "blocks": s.blocks}
            for s in page.sections
        ],
    )


# --- parallel composition ------------------------------------------------------------------
# Composing pages is pure CPU work (Jinja and markup parsing), so large runs
# spread it over worker processes while this process writes finished batches.
# Workers never touch the database; they are spawned (not forked) so no
# connection, lock or thread of this process leaks into them.

_worker_template: CompiledTemplate | None = None
PARALLEL_THRESHOLD = 2000


def _worker_init(source_json: str) -> None:
    global _worker_template
    _worker_template = CompiledTemplate(json.loads(source_json))


# A worker's memo of section markup, parsed and encoded: many pages share a section's text
# (the disclaimer, a compound's safety profile, a condition's bottom line), each read once.
# Bounded, least recently used first out (a page's own texts, never seen again, go first;
# a condition's, seen again on the next compound's page, stay), only between pages, so a
# page's blocks stay known. The parsed blocks it hands out are shared between pages: they
# are only encoded, here.
_worker_parsed: OrderedDict[str, list[Block]] = OrderedDict()
_worker_encoded: dict[int, RawJSON] = {}  # by id() of the blocks _worker_parsed holds
MEMO_ENTRIES = 4096


def _worker_parse(text: str) -> list[Block]:
    blocks = _worker_parsed.get(text)
    if blocks is None:
        blocks = _worker_parsed[text] = parse_markup(text)
        _worker_encoded[id(blocks)] = RawJSON(to_json(blocks))
    else:
        _worker_parsed.move_to_end(text)
    return blocks


def _worker_compose(job: tuple[str, list[dict[str, Any]]]) -> list[tuple[Any, ...]]:
    kind, facts_list = job
    assert _worker_template is not None
    out = []
    for facts in facts_list:
        while len(_worker_parsed) >= MEMO_ENTRIES:  # (between pages: a page's blocks stay known)
            _, blocks = _worker_parsed.popitem(last=False)
            del _worker_encoded[id(blocks)]
        w = compose_write(_worker_template, facts, None, "", kind, _worker_parse)  # type: ignore[arg-type]
        for section in w.sections:
            # Encoded here, in parallel, rather than in the writing process (once per text).
            section["blocks"] = _worker_encoded[id(section["blocks"])]
        out.append((w.slug, w.title, w.byline, w.notice, w.description, w.sections))
    return out


def _workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))


def _plan(
    session: Session,
    kind: ReviewKind,
    stale_only: bool,
    compound_ids: list[int] | None,
    condition_ids: list[int] | None,
    report: GenerationReport,
    locale: str | None = None,
    existing_only: bool = False,
) -> tuple[Template, Any, list[tuple[PairRow, str]], dict[int, list[dict[str, Any]]]]:
    """What to (re)generate: every pair with evidence, or only those whose inputs changed.

    A translation (another ``locale`` than the default) is made from the default locale's
    published page: pairs without one are left out, and a translation whose source was
    republished since it was made is regenerated (to be checked and approved again)."""
    template_row = active_template(session, kind, locale)
    facts = load_facts(session)
    pairs = generation_pairs(session, kind, compound_ids, condition_ids, template_row.locale)
    if template_row.locale != get_settings().default_locale:
        pairs = [p for p in pairs if p.source_revision_id is not None]
    if existing_only:
        pairs = [p for p in pairs if p.review_id is not None]
    report.total = len(pairs)
    todo: list[tuple[PairRow, str]] = []
    for pair in pairs:
        fp = review_fingerprint(
            template_row.version,
            facts.compounds[pair.compound_id][1],
            facts.conditions[pair.condition_id][1],
            pair.evidence_hash,
            facts.publisher_hash,
        )
        same_source = pair.source_revision_id == pair.review_source_revision_id
        if stale_only and pair.fingerprint == fp and same_source:
            report.skipped += 1
            continue
        todo.append((pair, fp))
    citations = evidence_citations(session, [p.evidence_id for p, _ in todo])
    return template_row, facts, todo, citations


def generate_in(
    session: Session,
    *,
    kind: ReviewKind = ReviewKind.SAFETY,
    stale_only: bool = True,
    compound_ids: list[int] | None = None,
    condition_ids: list[int] | None = None,
    limit: int | None = None,
    locale: str | None = None,
    existing_only: bool = False,
) -> GenerationReport:
    """Generate inside the caller's transaction (mutations): a few pages, composed here.

    With ``limit``, at most that many pages are written; ``report.remaining`` says
    how many were left for a later pass."""
    started = time.perf_counter()
    report = GenerationReport()
    template_row, facts, todo, citations = _plan(
        session, kind, stale_only, compound_ids, condition_ids, report, locale, existing_only
    )
    chain = locale_chain(template_row.locale)
    if limit is not None and len(todo) > limit:
        report.remaining = len(todo) - limit
        todo = todo[:limit]
    template = compiled_template(template_row)
    now = utcnow()
    for start in range(0, len(todo), 500):
        chunk = todo[start : start + 500]
        writes = [
            compose_write(
                template,
                pair_facts(facts, p, citations.get(p.evidence_id), chain),
                p,
                fp,
                kind.value,
            )
            for p, fp in chunk
        ]
        created, refreshed = write_batch(session, writes, template_row, kind, now)
        report.created += created
        report.refreshed += refreshed
    report.seconds = time.perf_counter() - started
    return report


def regenerate_stale_in(
    session: Session,
    *,
    limit: int,
    compound_ids: list[int] | None = None,
    condition_ids: list[int] | None = None,
) -> GenerationReport:
    """Regenerate stale reviews in the caller's transaction, at most ``limit``: the
    default locale's (new pairs included), then, in each other locale with an active
    template, the translations whose facts, template or source changed (a translation's
    source: the default locale's published revision it was made from). New translations
    are asked for one by one (``generateReview(locale:)``, ``compendium generate --locale``)."""
    report = generate_in(
        session,
        stale_only=True,
        compound_ids=compound_ids,
        condition_ids=condition_ids,
        limit=limit,
    )
    for locale in get_settings().locales[1:]:
        try:
            more = generate_in(
                session,
                stale_only=True,
                compound_ids=compound_ids,
                condition_ids=condition_ids,
                limit=max(0, limit - report.created - report.refreshed),
                locale=locale,
                existing_only=True,
            )
        except NoTemplate:
            continue  # no template in that locale: nothing of it can be generated
        report.total += more.total
        report.created += more.created
        report.refreshed += more.refreshed
        report.skipped += more.skipped
        report.remaining += more.remaining
        report.seconds += more.seconds
    return report


def generate(
    engine: Engine,
    *,
    stale_only: bool = False,
    kind: ReviewKind = ReviewKind.SAFETY,
    progress: Progress | None = None,
    batch_size: int = 1000,
    compound_ids: list[int] | None = None,
    condition_ids: list[int] | None = None,
    parallel: int | None = None,
    locale: str | None = None,
) -> GenerationReport:
    started = time.perf_counter()
    report = GenerationReport()
    with session_scope(engine) as session:
        template_row, facts, todo, citations = _plan(
            session, kind, stale_only, compound_ids, condition_ids, report, locale
        )
    chain = locale_chain(template_row.locale)
    template = compiled_template(template_row)
    if progress:
        progress(report.skipped, report.total)
    done = report.skipped
    chunks = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]

    def facts_of(chunk: list[tuple[PairRow, str]]) -> list[dict[str, Any]]:
        return [pair_facts(facts, p, citations.get(p.evidence_id), chain) for p, _ in chunk]

    def store(chunk: list[tuple[PairRow, str]], writes: list[ReviewWrite]) -> None:
        nonlocal done
        with session_scope(engine) as session:
            created, refreshed = write_batch(session, writes, template_row, kind, utcnow())
            # The facts may have changed since the plan was read (an editor, an import):
            # record what they make now, in this batch's transaction, so a page composed
            # from the older facts shows as stale rather than current.
            refresh_fingerprints(
                session,
                sorted({p.compound_id for p, _ in chunk}),
                sorted({p.condition_id for p, _ in chunk}),
            )
        report.created += created
        report.refreshed += refreshed
        done += len(chunk)
        if progress:
            progress(done, report.total)

    workers = _workers() if parallel is None else parallel
    if workers > 1 and len(todo) >= PARALLEL_THRESHOLD:
        ctx = multiprocessing.get_context("spawn")
        source_json = json.dumps(template_row.source)
        with ctx.Pool(workers, initializer=_worker_init, initargs=(source_json,)) as pool:
            jobs = ((kind.value, facts_of(chunk)) for chunk in chunks)
            for chunk, composed in zip(chunks, pool.imap(_worker_compose, jobs), strict=True):
                writes = [
                    ReviewWrite(pair, slug, title, byline, notice, description, fp, sections)
                    for (pair, fp), (slug, title, byline, notice, description, sections) in zip(
                        chunk, composed, strict=True
                    )
                ]
                store(chunk, writes)
    else:
        for chunk in chunks:
            writes = [
                compose_write(template, f, pair, fp, kind.value)
                for f, (pair, fp) in zip(facts_of(chunk), chunk, strict=True)
            ]
            store(chunk, writes)
    report.seconds = time.perf_counter() - started
    return report
