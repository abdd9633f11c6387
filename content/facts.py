"""The facts of each record as templates see them, and their content hashes.

The functions take any object with the record's attributes (a row, or the
values about to be written), so a hash can be computed before a write.

One function per record turns a row into the plain dict a template renders;
the same dict is hashed into the row's ``content_hash``, so a review's
fingerprint changes exactly when something its page can show changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

CITATION_URLS = {
    "PMID": "https://pubmed.ncbi.nlm.nih.gov/{}/",
    "DOI": "https://doi.org/{}",
    "NCT": "https://clinicaltrials.gov/study/{}",
}


def content_hash(facts: Any) -> str:
    blob = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def citation_facts(kind: str, value: str, title: str = "") -> dict[str, Any]:
    pattern = CITATION_URLS.get(kind)
    return {
        "kind": kind,
        "value": value,
        "title": title,
        "url": pattern.format(value) if pattern else value,
    }


def citations_of(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        citation_facts(str(c.kind), c.value, c.title)
        for c in sorted(rows, key=lambda c: c.position)
    ]


def compound_facts(c: Any, citations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "slug": c.slug,
        "name": c.name,
        "aliases": list(c.aliases or []),
        "drug_class": c.drug_class,
        "safety_profile": list(c.safety_profile or []),
        "regulatory_status": c.regulatory_status,
        "evidence_level": c.evidence_level,
        "mechanisms": list(c.mechanisms or []),
        "rxnorm": c.rxnorm,
        "mesh": c.mesh,
        "citations": citations or [],
    }


def condition_facts(c: Any) -> dict[str, Any]:
    return {
        "slug": c.slug,
        "name": c.name,
        "full_name": c.full_name or c.name,
        "specialist": c.specialist,
        "aliases": list(c.aliases or []),
        "icd10": c.icd10,
        "mesh": c.mesh,
    }


def evidence_facts(e: Any, citations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"research": str(e.research), "notes": e.notes or "", "citations": citations or []}


def publisher_facts(p: Any) -> dict[str, Any]:
    if p is None:
        return {
            "name": "",
            "medical_advisor": {"name": "", "credentials": ""},
            "cta": "",
            "notice": "",
        }
    return {
        "name": p.name,
        "medical_advisor": {"name": p.advisor_name, "credentials": p.advisor_credentials},
        "cta": p.cta,
        "notice": p.notice,
    }


def with_translations(facts: dict[str, Any], translations: Any) -> dict[str, Any]:
    """A record's facts with its translations (README "Locales"), as hashed
    into its ``content_hash`` and snapshotted when approved: a translation is reviewed
    text like the rest. Without translations, exactly the facts (and their hash)."""
    return {**facts, "translations": translations} if translations else facts


def review_fingerprint(
    template_version: str, compound: str, condition: str, evidence: str, publisher: str
) -> str:
    """Fingerprint of a review's inputs from the content hashes of its facts."""
    blob = "|".join((template_version, compound, condition, evidence, publisher))
    return hashlib.sha256(blob.encode()).hexdigest()
