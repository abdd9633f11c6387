"""The catalog file's model (DESIGN §3): what a valid file holds, field by field.

Pydantic models, strict and closed (unknown fields are refused). Display names are
stored without invisible characters and NFKC-normalised, and refused when they mix
scripts within a word or cannot be shown (content/text_safety.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from content.text_safety import clean_name, name_problem

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _line(v: str) -> str:
    if _CONTROL.search(v):
        raise ValueError("must be a single line without control characters")
    return v


def _text(v: str) -> str:
    if _CONTROL_MULTILINE.search(v):
        raise ValueError("must not contain control characters")
    return v


def _slug(v: str) -> str:
    if not SLUG_RE.match(v):
        raise ValueError(
            "must be lowercase letters and digits joined by single hyphens (e.g. 'low-dose-naltrexone')"
        )
    return v


Slug = Annotated[str, StringConstraints(min_length=1, max_length=80), AfterValidator(_slug)]
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_line),
]
OptLine = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_line)
]
LongLine = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
    AfterValidator(_line),
]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=5000), AfterValidator(_text)
]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9.\-]{1,20}$")]


def _clean_name(v: Any) -> Any:
    return clean_name(v) if isinstance(v, str) else v


def _safe_name(v: str) -> str:
    problem = name_problem(v)
    if problem:
        raise ValueError(problem)
    return v


# Display names (README: Catalog files, "Names"): stored without invisible characters
# and NFKC-normalised, refused when they mix scripts within a word or cannot be shown.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    BeforeValidator(_clean_name),
    AfterValidator(_line),
    AfterValidator(_safe_name),
]
OptName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200),
    BeforeValidator(_clean_name),
    AfterValidator(_line),
    AfterValidator(_safe_name),
]


def _upper(v: Any) -> Any:
    return v.upper() if isinstance(v, str) else v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class CitationIn(_Model):
    """Exactly one identifier: pmid, doi, nct or url; an optional title."""

    pmid: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,8}$")] | None = None
    doi: Annotated[str, StringConstraints(pattern=r"^10\.[0-9]{4,9}/[^\s]{1,300}$")] | None = None
    nct: Annotated[str, StringConstraints(pattern=r"^NCT[0-9]{8}$")] | None = None
    url: Annotated[str, StringConstraints(max_length=500)] | None = None
    title: OptLine = ""

    @model_validator(mode="after")
    def _one(self) -> CitationIn:
        given = [k for k in ("pmid", "doi", "nct", "url") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("a citation needs exactly one of pmid, doi, nct or url")
        if self.url is not None:
            parsed = urlparse(self.url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in self.url:
                raise ValueError("url must be an absolute http(s) URL")
        return self

    @property
    def kind_value(self) -> tuple[str, str]:
        for k in ("pmid", "doi", "nct", "url"):
            v = getattr(self, k)
            if v:
                return k.upper(), v
        raise AssertionError


class AdvisorIn(_Model):
    name: Name
    credentials: OptName = ""


# Translations (README "Locales"): per locale tag, the translatable fields
# of a record, each optional (a field left out falls back along the locale's chain).
# The tags are checked against the configured locales in catalog/checks.py.
LocaleKey = Annotated[str, StringConstraints(min_length=1, max_length=35)]


class PublisherTranslation(_Model):
    cta: Text | None = None
    notice: Text | None = None
    advisor_credentials: OptName | None = None


class CompoundTranslation(_Model):
    name: Name | None = None
    aliases: list[Name] | None = Field(default=None, max_length=50)
    drug_class: Name | None = None
    safety_profile: list[Line] | None = Field(default=None, min_length=1, max_length=30)
    regulatory_status: LongLine | None = None
    evidence_level: LongLine | None = None
    mechanisms: list[Line] | None = Field(default=None, min_length=1, max_length=30)


class ConditionTranslation(_Model):
    name: Name | None = None
    full_name: Name | None = None
    specialist: Name | None = None
    aliases: list[Name] | None = Field(default=None, max_length=50)


class EvidenceTranslation(_Model):
    notes: Text | None = None


# The fields each record may translate (the catalog's section names).
TRANSLATABLE: dict[str, type[_Model]] = {
    "publisher": PublisherTranslation,
    "compounds": CompoundTranslation,
    "conditions": ConditionTranslation,
    "evidence": EvidenceTranslation,
}


def translations_of(items: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Validated translations as stored: the fields given, locales without any left out."""
    out = {}
    for tag, item in sorted(items.items()):
        values = item.model_dump(exclude_none=True)
        if values:
            out[tag] = values
    return out


class PublisherIn(_Model):
    name: Name
    medical_advisor: AdvisorIn
    cta: Text = ""
    notice: Text = ""
    translations: dict[LocaleKey, PublisherTranslation] = Field(default_factory=dict)


class CompoundIn(_Model):
    slug: Slug
    name: Name
    aliases: list[Name] = Field(default_factory=list, max_length=50)
    drug_class: Name
    safety_profile: list[Line] = Field(min_length=1, max_length=30)
    regulatory_status: LongLine
    evidence_level: LongLine
    mechanisms: list[Line] = Field(min_length=1, max_length=30)
    rxnorm: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}$")] | None = None
    mesh: Annotated[str, StringConstraints(pattern=r"^[CD][0-9]{6,9}$")] | None = None
    citations: list[CitationIn] = Field(default_factory=list, max_length=100)
    translations: dict[LocaleKey, CompoundTranslation] = Field(default_factory=dict)


class ConditionIn(_Model):
    slug: Slug
    name: Name
    full_name: Name | None = None
    specialist: Name
    aliases: list[Name] = Field(default_factory=list, max_length=50)
    icd10: (
        Annotated[str, StringConstraints(pattern=r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")]
        | None
    ) = None
    mesh: Annotated[str, StringConstraints(pattern=r"^[CD][0-9]{6,9}$")] | None = None
    translations: dict[LocaleKey, ConditionTranslation] = Field(default_factory=dict)


class EvidenceIn(_Model):
    compound: Slug
    condition: Slug
    research: Annotated[Literal["SPECIFIC", "LIMITED"], BeforeValidator(_upper)]
    notes: Text = ""
    citations: list[CitationIn] = Field(default_factory=list, max_length=100)
    translations: dict[LocaleKey, EvidenceTranslation] = Field(default_factory=dict)


class CatalogIn(_Model):
    publisher: PublisherIn | None = None
    compounds: list[CompoundIn] = Field(default_factory=list)
    conditions: list[ConditionIn] = Field(default_factory=list)
    evidence: list[EvidenceIn] = Field(default_factory=list)
    templates: list[dict[str, Any]] = Field(default_factory=list)
