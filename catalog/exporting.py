"""Exporting the catalog: the working copy as a file that imports back to the same state.

The records are written as the catalog format has them (DESIGN §3), only the fields
that are set, in a stable order; templates oldest first, so that importing an export
leaves the same version active.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session

from content.facts import citations_of
from db import catalog_sql


def _cites_out(rows: list[Any]) -> list[dict[str, Any]]:
    result = []
    for c in citations_of(rows):
        item = {c["kind"].lower(): c["value"]}
        if c["title"]:
            item["title"] = c["title"]
        result.append(item)
    return result


def _add_translations(out: dict[str, Any], row: Any) -> None:
    """A record's translations, by locale, as the file has them (none: no key)."""
    translations = getattr(row, "translations", None)
    if translations:
        out["translations"] = {tag: dict(values) for tag, values in sorted(translations.items())}


def publisher_record(pub: Any) -> dict[str, Any]:
    """A publisher row as it appears in a catalog file."""
    adv: dict[str, Any] = {"name": pub.advisor_name}
    if pub.advisor_credentials:
        adv["credentials"] = pub.advisor_credentials
    p: dict[str, Any] = {"name": pub.name, "medical_advisor": adv}
    if pub.cta:
        p["cta"] = pub.cta
    if pub.notice:
        p["notice"] = pub.notice
    _add_translations(p, pub)
    return p


def compound_record(c: Any, citations: list[Any]) -> dict[str, Any]:
    """A compound row (and its citation rows) as it appears in a catalog file."""
    row: dict[str, Any] = {
        "slug": c.slug,
        "name": c.name,
        "aliases": list(c.aliases),
        "drug_class": c.drug_class,
        "safety_profile": list(c.safety_profile),
        "regulatory_status": c.regulatory_status,
        "evidence_level": c.evidence_level,
        "mechanisms": list(c.mechanisms),
    }
    for k in ("rxnorm", "mesh"):
        if getattr(c, k):
            row[k] = getattr(c, k)
    if citations:
        row["citations"] = _cites_out(citations)
    _add_translations(row, c)
    return row


def condition_record(d: Any) -> dict[str, Any]:
    drow: dict[str, Any] = {"slug": d.slug, "name": d.name}
    if d.full_name:
        drow["full_name"] = d.full_name
    drow["specialist"] = d.specialist
    drow["aliases"] = list(d.aliases)
    for k in ("icd10", "mesh"):
        if getattr(d, k):
            drow[k] = getattr(d, k)
    _add_translations(drow, d)
    return drow


def evidence_record(
    e: Any, compound_slug: str, condition_slug: str, citations: list[Any]
) -> dict[str, Any]:
    erow: dict[str, Any] = {
        "compound": compound_slug,
        "condition": condition_slug,
        "research": str(e.research).lower(),
    }
    if e.notes:
        erow["notes"] = e.notes
    if citations:
        erow["citations"] = _cites_out(citations)
    _add_translations(erow, e)
    return erow


def export_data(session: Session) -> dict[str, Any]:
    rows = catalog_sql.catalog_rows(session)
    out: dict[str, Any] = {}
    if rows.publisher is not None:
        out["publisher"] = publisher_record(rows.publisher)
    by_compound: dict[int, list[Any]] = {}
    by_evidence: dict[int, list[Any]] = {}
    for c in rows.citations:
        if c.compound_id is not None:
            by_compound.setdefault(c.compound_id, []).append(c)
        elif c.evidence_id is not None:
            by_evidence.setdefault(c.evidence_id, []).append(c)
    out["compounds"] = [compound_record(c, by_compound.get(c.id or 0, [])) for c in rows.compounds]
    out["conditions"] = [condition_record(d) for d in rows.conditions]
    slug_c = {c.id: c.slug for c in rows.compounds}
    slug_d = {d.id: d.slug for d in rows.conditions}
    evidence = sorted(rows.evidence, key=lambda e: (slug_c[e.compound_id], slug_d[e.condition_id]))
    out["evidence"] = [
        evidence_record(
            e, slug_c[e.compound_id], slug_d[e.condition_id], by_evidence.get(e.id or 0, [])
        )
        for e in evidence
    ]
    # Older versions first, so importing the export leaves the same version active.
    templates = sorted(rows.templates, key=lambda t: (t.active, t.id))
    out["templates"] = [t.source for t in templates]
    return out


def dump(data: dict[str, Any], path: str | Path) -> None:
    p = Path(path)
    if p.suffix == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)  # never leave a half-written export behind
