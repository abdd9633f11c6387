"""The text fields of the editorial mutations: their rules, the documents that
read and change them, and what a stored value must be."""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.server.fuzz.settings import FACT_COMPOUND, FACT_CONDITION, FACT_REVIEW

LINE, OPT_LINE, LONG_LINE, TEXT = "line", "optline", "longline", "text"
# Whitespace as the catalog rules strip it (pydantic's): Python's, except the \x1c-\x1f
# controls (which the rules reject anyway).
_WHITESPACE = "".join(
    c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f"
)


def strip(value: str) -> str:
    return value.strip(_WHITESPACE)


def allowed(rule: str, value: str) -> bool:
    """Whether the catalog rules accept a single text value (README: Catalog files).
    Lone surrogates are not Unicode text: the API refuses them wherever they are."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    v = strip(value)
    if rule == TEXT:
        return len(v) <= 5000 and not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", v)
    if re.search(r"[\x00-\x1f\x7f]", v):
        return False
    low, high = {LINE: (1, 200), OPT_LINE: (0, 200), LONG_LINE: (1, 1000)}[rule]
    return low <= len(v) <= high


def folded(value: str) -> str:
    """A fact as a page prints it: literal text, whitespace folded, no sentinels."""
    return " ".join(re.sub("[\ue000\ue001\ue002]", "", value).split())


# field: (rule, is a list, printed on the page)
COMPOUND_FIELDS = {
    "name": (LINE, False, True),
    "drugClass": (LINE, False, True),
    "safetyProfile": (LINE, True, True),
    "regulatoryStatus": (LONG_LINE, False, True),
    "evidenceLevel": (LONG_LINE, False, True),
    "mechanisms": (LINE, True, True),
    "aliases": (LINE, True, False),
    "citationTitle": (OPT_LINE, False, False),
}
CONDITION_FIELDS = {
    "name": (LINE, False, True),
    "specialist": (LINE, False, True),
    "fullName": (LINE, False, True),
    "aliases": (LINE, True, False),
}
EVIDENCE_FIELDS = {"notes": (TEXT, False, False), "citationTitle": (OPT_LINE, False, False)}
PUBLISHER_FIELDS = {
    "name": (LINE, False, True),
    "advisorName": (LINE, False, True),
    "advisorCredentials": (OPT_LINE, False, True),
    "cta": (TEXT, False, True),
    "notice": (TEXT, False, True),
}
SECTION_KEYS = ["INTRO", "SAFETY_PROFILE", "CONSIDERATIONS", "LITERATURE", "BOTTOM_LINE"]
SECTION_KEYS += ["DISCLAIMER", "CTA", "FAQ"]
TARGETS = (
    [("createCompound", f) for f in COMPOUND_FIELDS]
    + [("updateCompound", f) for f in COMPOUND_FIELDS]
    + [("createCondition", f) for f in CONDITION_FIELDS]
    + [("updateCondition", f) for f in CONDITION_FIELDS]
    + [("createEvidence", f) for f in EVIDENCE_FIELDS]
    + [("updateEvidence", f) for f in EVIDENCE_FIELDS]
    + [("updatePublisher", f) for f in PUBLISHER_FIELDS]
)
SECTION_TARGETS = [("updateSection", "body"), ("updateSection", "heading")]
COMPOUND_OUT = (
    "slug name drugClass safetyProfile regulatoryStatus evidenceLevel mechanisms aliases "
    "citations { title } revision"
)
CONDITION_OUT = "slug name specialist fullName aliases revision"
EVIDENCE_OUT = "notes citations { title } revision"
PUBLISHER_OUT = "name advisorName advisorCredentials cta notice revision"
PAGE = """
query Page($slug: String!) {
  review(slug: $slug) {
    title text(format: HTML) markdown: text(format: MARKDOWN)
    sections { key heading revision body(format: HTML) }
    faq { question answer(format: HTML) }
  }
}
"""
UPDATES = {
    # mutation: (read the record, change it, its fields, the payload's key)
    "updateCompound": (
        f'{{ compound(slug: "{FACT_COMPOUND}") {{ {COMPOUND_OUT} }} }}',
        "mutation($r: Int!, $p: CompoundPatch!) { updateCompound("
        f'slug: "{FACT_COMPOUND}", expectedRevision: $r, input: $p) {{ compound {{ {COMPOUND_OUT} }} }} }}',
        COMPOUND_FIELDS,
        "compound",
    ),
    "updateCondition": (
        f'{{ condition(slug: "{FACT_CONDITION}") {{ {CONDITION_OUT} }} }}',
        "mutation($r: Int!, $p: ConditionPatch!) { updateCondition("
        f'slug: "{FACT_CONDITION}", expectedRevision: $r, input: $p) {{ condition {{ {CONDITION_OUT} }} }} }}',
        CONDITION_FIELDS,
        "condition",
    ),
    "updateEvidence": (
        f'{{ review(slug: "{FACT_REVIEW}") {{ evidence {{ {EVIDENCE_OUT} }} }} }}',
        "mutation($r: Int!, $p: EvidencePatch!) { updateEvidence("
        f'compound: "{FACT_COMPOUND}", condition: "{FACT_CONDITION}", expectedRevision: $r, '
        f"input: $p) {{ evidence {{ {EVIDENCE_OUT} }} }} }}",
        EVIDENCE_FIELDS,
        "evidence",
    ),
    "updatePublisher": (
        f"{{ publisher {{ {PUBLISHER_OUT} }} }}",
        "mutation($r: Int, $p: PublisherInput!) { updatePublisher("
        f"expectedRevision: $r, input: $p) {{ publisher {{ {PUBLISHER_OUT} }} }} }}",
        PUBLISHER_FIELDS,
        "publisher",
    ),
}
CREATE_COMPOUND = f"mutation($i: CompoundInput!) {{ createCompound(input: $i) {{ compound {{ {COMPOUND_OUT} }} }} }}"
CREATE_CONDITION = (
    "mutation($i: ConditionInput!) { createCondition(input: $i) "
    f"{{ condition {{ {CONDITION_OUT} }} }} }}"
)
CREATE_EVIDENCE = f"mutation($i: EvidenceInput!) {{ createEvidence(input: $i) {{ evidence {{ {EVIDENCE_OUT} }} }} }}"
UPDATE_SECTION = """
mutation($s: String!, $k: SectionKey!, $r: Int!, $body: String!, $heading: String) {
  updateSection(review: $s, key: $k, expectedRevision: $r, body: $body, heading: $heading) {
    section { key heading revision plain: body(format: PLAIN) }
  }
}
"""
serials = itertools.count(1)


def citation(title: str | None) -> dict[str, Any]:
    return {"pmid": "12345", **({"title": title} if title is not None else {})}


def patch(fields: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    if field == "citationTitle":
        return {"citations": [citation(value)]}
    return {field: [value] if fields[field][1] else value}


def stored(fields: dict[str, Any], field: str, record: dict[str, Any]) -> Any:
    if field == "citationTitle":
        return record["citations"][0]["title"]
    return record[field][0] if fields[field][1] else record[field]


def compound_input(slug: str, patched: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": f"Fuzzamine {slug}",  # display names are unique
        "drugClass": "Test class",
        "safetyProfile": ["Well tolerated in trials"],
        "regulatoryStatus": "Not approved",
        "evidenceLevel": "Preclinical",
        "mechanisms": ["Unknown mechanism"],
        "citations": [citation("A study")],
        **(patched or {}),
    }
