"""Importing a catalog: validate everything, then upsert by slug in the caller's transaction.

A file is checked as a whole before anything is written (catalog/checks.py): every
problem is reported with its path (``compounds[3].slug``), and one bad row rejects
the whole file, leaving the database exactly as it was. Importing the same file
twice changes nothing the second time (records whose facts are unchanged keep their
revision and timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlmodel import Session

from catalog.checks import template_locale, validate
from catalog.loading import read_file
from catalog.model import CatalogIn, CitationIn, translations_of
from config import get_settings
from content.facts import (
    citation_facts,
    compound_facts,
    condition_facts,
    content_hash,
    evidence_facts,
    publisher_facts,
    with_translations,
)
from db import catalog_sql
from db.catalog_sql import RecordWrite
from db.models import Compound, Condition, Evidence, Publisher, Research, ReviewKind
from db.reviews import refresh_fingerprints

KINDS = ("publisher", "compounds", "conditions", "evidence", "templates")


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    affected_reviews: int = 0  # reviews whose inputs changed

    def count(self, what: str, outcome: str) -> None:
        bucket = getattr(self, outcome)
        bucket[what] = bucket.get(what, 0) + 1

    def summary(self) -> str:
        parts = []
        for k in KINDS:
            c, u, n = self.created.get(k, 0), self.updated.get(k, 0), self.unchanged.get(k, 0)
            if c or u or n:
                parts.append(f"{k}: {c} created, {u} updated, {n} unchanged")
        return "; ".join(parts) or "nothing to import"


def import_data(session: Session, data: Any, source: str = "<catalog>") -> ImportReport:
    """Validate then write; the caller's transaction makes it all-or-nothing."""
    catalog = validate(data, session, source)
    raw_templates = data.get("templates") if isinstance(data, dict) else None
    return upsert(session, catalog, raw_templates or [])


def import_file(session: Session, path: str | Path) -> ImportReport:
    return import_data(session, read_file(path), str(path))


def without_other_locales(data: Any, locales: list[str]) -> tuple[Any, list[str]]:
    """The catalog without the translations and templates of locales not configured,
    and those locales' tags (``compendium demo``: the demo's Spanish loads only where
    ``es`` is configured; ``compendium import`` refuses unknown locales instead)."""
    if not isinstance(data, dict):
        return data, []
    default, dropped = locales[0], set[str]()

    def keep(row: Any) -> Any:
        if not isinstance(row, dict) or not isinstance(row.get("translations"), dict):
            return row
        dropped.update(t for t in row["translations"] if t not in locales)
        kept = {t: v for t, v in row["translations"].items() if t in locales}
        return {k: v for k, v in row.items() if k != "translations"} | (
            {"translations": kept} if kept else {}
        )

    out = dict(data)
    if "publisher" in out:
        out["publisher"] = keep(out["publisher"])
    for section in ("compounds", "conditions", "evidence"):
        if isinstance(out.get(section), list):
            out[section] = [keep(row) for row in out[section]]
    if isinstance(out.get("templates"), list):
        templates = []
        for src in out["templates"]:
            tag = template_locale(src, default) if isinstance(src, dict) else default
            if tag in locales:
                templates.append(src)
            else:
                dropped.add(tag)
        out["templates"] = templates
    return out, sorted(dropped)


def upsert(
    session: Session,
    catalog: CatalogIn,
    raw_templates: list[dict[str, Any]] | None = None,
    refresh: bool = True,
) -> ImportReport:
    """Write a validated catalog. With ``refresh`` (the default) every review's current
    fingerprint is recomputed when anything changed; callers that know which
    reviews are affected pass False and refresh those themselves."""
    report = ImportReport()
    if catalog.publisher is not None:
        _write_publisher(session, catalog, report)
    compound_ids = _write_compounds(session, catalog, report)
    condition_ids = _write_conditions(session, catalog, report)
    if catalog.evidence:
        _write_evidence(session, catalog, compound_ids, condition_ids, report)
    default = get_settings().default_locale
    for src in raw_templates or []:
        kind, version = ReviewKind(str(src["kind"]).upper()), str(src["version"])
        locale = template_locale(src, default)
        if catalog_sql.template(session, kind, locale, version) is not None:
            report.count("templates", "unchanged")
            continue
        catalog_sql.add_template(session, kind, locale, version, src, content_hash(src))
        report.count("templates", "created")
    session.flush()
    if refresh and (
        report.updated or report.created.get("templates") or report.created.get("publisher")
    ):
        # Some reviews' inputs changed: note what their facts make now (see isStale).
        report.affected_reviews = refresh_fingerprints(session)
    return report


def _write(
    session: Session,
    model: Any,
    existing: dict[Any, Any],
    records: list[RecordWrite],
    what: str,
    report: ImportReport,
    owner: str | None = None,
) -> dict[Any, int]:
    ids, outcomes = catalog_sql.write_records(session, model, existing, records, owner)
    for outcome in outcomes.values():
        report.count(what, outcome)
    return ids


def _citations(items: list[CitationIn]) -> list[dict[str, Any]]:
    return [citation_facts(*c.kind_value, c.title) for c in items]


def _write_publisher(session: Session, catalog: CatalogIn, report: ImportReport) -> None:
    p = catalog.publisher
    assert p is not None
    values = {
        "name": p.name,
        "advisor_name": p.medical_advisor.name,
        "advisor_credentials": p.medical_advisor.credentials,
        "cta": p.cta,
        "notice": p.notice,
        "translations": translations_of(p.translations),
    }
    current = catalog_sql.publisher(session)
    facts = publisher_facts(SimpleNamespace(**values))
    digest = content_hash(with_translations(facts, values["translations"]))
    record = RecordWrite(1, values, digest)
    _write(session, Publisher, {1: current} if current else {}, [record], "publisher", report)


def _write_compounds(session: Session, catalog: CatalogIn, report: ImportReport) -> dict[str, int]:
    if not catalog.compounds:
        return {}
    existing = catalog_sql.by_slugs(session, Compound, [c.slug for c in catalog.compounds])
    records = []
    for item in catalog.compounds:
        cites = _citations(item.citations)
        values = item.model_dump(exclude={"citations", "translations"})
        values["translations"] = translations_of(item.translations)
        facts = with_translations(
            compound_facts(SimpleNamespace(**values), cites), values["translations"]
        )
        records.append(RecordWrite(item.slug, values, content_hash(facts), cites))
    return _write(session, Compound, existing, records, "compounds", report, owner="compound")


def _write_conditions(session: Session, catalog: CatalogIn, report: ImportReport) -> dict[str, int]:
    if not catalog.conditions:
        return {}
    existing = catalog_sql.by_slugs(session, Condition, [c.slug for c in catalog.conditions])
    records = []
    for item in catalog.conditions:
        values = item.model_dump(exclude={"translations"})
        values["translations"] = translations_of(item.translations)
        facts = with_translations(
            condition_facts(SimpleNamespace(**values)), values["translations"]
        )
        records.append(RecordWrite(item.slug, values, content_hash(facts)))
    return _write(session, Condition, existing, records, "conditions", report)


def _write_evidence(
    session: Session,
    catalog: CatalogIn,
    compound_ids: dict[str, int],
    condition_ids: dict[str, int],
    report: ImportReport,
) -> None:
    compound_ids = compound_ids | catalog_sql.ids_by_slugs(
        session, Compound, {e.compound for e in catalog.evidence} - set(compound_ids)
    )
    condition_ids = condition_ids | catalog_sql.ids_by_slugs(
        session, Condition, {e.condition for e in catalog.evidence} - set(condition_ids)
    )
    records = []
    for item in catalog.evidence:
        cid, did = compound_ids[item.compound], condition_ids[item.condition]
        cites = _citations(item.citations)
        values = {
            "compound_id": cid,
            "condition_id": did,
            "research": Research(item.research),
            "notes": item.notes,
            "translations": translations_of(item.translations),
        }
        facts = with_translations(
            evidence_facts(SimpleNamespace(**values), cites), values["translations"]
        )
        records.append(RecordWrite((cid, did), values, content_hash(facts), cites))
    existing = catalog_sql.evidence_by_pair(session)
    _write(session, Evidence, existing, records, "evidence", report, owner="evidence")
