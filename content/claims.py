"""The publish gate's content check: what a reviewer must look at before sign-off.

Generated text comes from templates that were reviewed as templates; text an
editor wrote (sections with origin EDITED) is checked for the claims a safety
page must not make: absolute claims ("is safe", "cures", "guaranteed") and
dosing instructions. Each finding blocks publishing until the reviewer
acknowledges it by id in ``publishReview``; ids are built from the section, the
rule and the matched words, so they stay the same while the text does.

The check reads text as a reader sees it (``text_safety.for_check``): invisible
characters dropped, NFKC, dashes, apostrophes and spaces as ASCII, look-alike
letters as Latin, so "cu\u200bres" or "risk\u2011free" are found. Ids and excerpts
come from that reading, so they are plain and stay stable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from content import document
from content.template_checks import MANDATORY_SECTIONS
from content.text_safety import for_check

_RULES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (
        "ABSOLUTE_CLAIM",
        "An absolute safety or efficacy claim.",
        re.compile(
            r"\b(?:is|are|it's|it is)\s+(?:completely\s+|totally\s+|perfectly\s+|entirely\s+|"
            r"absolutely\s+|100%\s+|always\s+)?safe\b"
            r"|\b(?:completely|totally|perfectly|absolutely|100%)\s+safe\b"
            r"|\bcur(?:e|es|ed|ing)\b"
            r"|\bguarantee(?:s|d)?\b"
            r"|\bno\s+(?:side[- ]effects|risks?)\b"
            r"|\brisk[- ]free\b"
            r"|\bproven\s+to\s+(?:work|be\s+safe|help)\b"
            r"|\bmiracle\b",
            re.IGNORECASE,
        ),
    ),
    (
        "DOSING",
        "A dosing instruction (amounts, frequencies or how to take a compound).",
        re.compile(
            r"\b\d+(?:[.,]\d+)?\s?(?:mg|mcg|µg|μg|g|ml|mL|IU|units?)(?:\s?/\s?(?:kg|day|d))?\b",
            re.IGNORECASE,
        ),
    ),
    (
        "DOSING",
        "A dosing instruction (amounts, frequencies or how to take a compound).",
        re.compile(
            r"\b(?:take|taking|dose\s+of|dosage\s+of|administer)\b[^.;:]{0,40}?\b\d+"
            r"|\b(?:once|twice|three\s+times|four\s+times)\s+(?:a|per|each)\s+(?:day|week)\b"
            r"|\bevery\s+\d+\s+(?:hours?|days?)\b",
            re.IGNORECASE,
        ),
    ),
)
# (Rules may have several patterns, each searched on its own, so one match never
# hides another: "Take 50 mg" is both "take 50" and "50 mg".)
RULE_DESCRIPTIONS = {name: description for name, description, _ in _RULES}


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    rule: str
    section: str
    excerpt: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "rule": self.rule, "section": self.section, "excerpt": self.excerpt}


def _excerpt(line: str, start: int, end: int, width: int = 60) -> str:
    left = max(0, start - width)
    right = min(len(line), end + width)
    return ("…" if left else "") + line[left:right].strip() + ("…" if right < len(line) else "")


def check_sections(sections: Iterable[document.Section]) -> list[Finding]:
    """Findings in the edited sections, in page order, one per distinct claim."""
    found: dict[str, Finding] = {}
    for section in sections:
        if section.origin != "EDITED":
            continue
        texts = [section.heading or ""] + [
            line for b in section.blocks for line in document.block_lines(b)
        ]
        for raw in texts:
            line = for_check(raw)
            for rule, description, pattern in _RULES:
                for match in pattern.finditer(line):
                    words = " ".join(match.group(0).lower().split())
                    fid = f"{section.key}/{rule}/{words}"
                    if fid not in found:
                        found[fid] = Finding(
                            fid,
                            rule,
                            section.key,
                            _excerpt(line, match.start(), match.end()),
                            description,
                        )
    return list(found.values())


def missing_sections(sections: Iterable[document.Section]) -> list[str]:
    """Mandatory sections that are absent or empty (the disclaimer is one of them)."""
    by_key = {s.key: s for s in sections}
    return [
        key.upper()
        for key in MANDATORY_SECTIONS
        if key.upper() not in by_key or document.is_empty(by_key[key.upper()].blocks)
    ]


MANDATORY = frozenset(MANDATORY_SECTIONS)
