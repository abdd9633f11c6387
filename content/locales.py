"""Locales: fallback chains, and a record's fields in a locale (pure, no I/O).

The configuration (config.py: ``COMPENDIUM_LOCALES``, ``COMPENDIUM_LOCALE_FALLBACKS``)
validates the tags and computes each locale's chain; ``Locales`` answers from those
chains, and ``localize`` picks each translatable field's value along a chain,
noting which fields fell back to a later locale than the one asked for.

A record's own fields are the default locale's values; ``translations`` holds the
other locales' values by tag (``{"es": {"name": "Ketamina"}}``), each field optional.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class UnknownLocale(ValueError):
    """A tag that is not one of the configured locales."""

    def __init__(self, tag: str, known: Sequence[str]):
        self.tag = tag
        super().__init__(f"unknown locale '{tag}' (configured: {', '.join(known)})")


@dataclass(frozen=True, slots=True)
class Locales:
    """The configured locales: the first is the default, each with its fallback chain."""

    chains: Mapping[str, Sequence[str]]

    def __post_init__(self) -> None:
        if not self.chains:
            raise ValueError("at least one locale is required")

    @property
    def default(self) -> str:
        return next(iter(self.chains))

    @property
    def tags(self) -> list[str]:
        return list(self.chains)

    @property
    def translated(self) -> list[str]:
        """The locales a translation may be given for (all but the default)."""
        return self.tags[1:]

    def chain(self, tag: str) -> list[str]:
        """``tag``, then the locales to fall back to, the default locale last."""
        try:
            return list(self.chains[tag])
        except KeyError:
            raise UnknownLocale(tag, self.tags) from None


@dataclass(frozen=True, slots=True)
class Localized:
    """A record's fields in a locale: the values, and the fields that fell back."""

    values: dict[str, Any]
    fell_back: list[str] = field(default_factory=list)
    # The locale each translatable field's value came from.
    sources: dict[str, str] = field(default_factory=dict)


def localize(
    record: Mapping[str, Any],
    translations: Mapping[str, Mapping[str, Any]] | None,
    chain: Sequence[str],
    fields: Sequence[str] | None = None,
) -> Localized:
    """``record`` with each translatable field taken from the first locale of ``chain``
    that has it; the chain's last locale (the default) is the record's own value.

    ``fields`` are the translatable fields (default: every field some translation
    has). A field fell back when its value came from another locale than ``chain[0]``;
    fields without any value stay as the record has them, and are not counted."""
    translations = translations or {}
    if fields is None:
        fields = sorted({f for t in translations.values() for f in t})
    values = dict(record)
    fell_back: list[str] = []
    sources: dict[str, str] = {}
    default = chain[-1] if chain else None
    for name in fields:
        for tag in chain:
            given = record if tag == default else translations.get(tag) or {}
            value = given.get(name)
            if value is not None:
                values[name] = value
                sources[name] = tag
                break
        else:
            continue
        if sources[name] != chain[0]:
            fell_back.append(name)
    return Localized(values, fell_back, sources)


# The translatable fields of each fact kind (the catalog's `translations`, catalog/model.py).
TRANSLATABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "compound": (
        "name",
        "aliases",
        "drug_class",
        "safety_profile",
        "regulatory_status",
        "evidence_level",
        "mechanisms",
    ),
    "condition": ("name", "full_name", "specialist", "aliases"),
    "evidence": ("notes",),
    "publisher": ("cta", "notice", "advisor_credentials"),
}


def localize_facts(
    kind: str,
    facts: Mapping[str, Any],
    translations: Mapping[str, Mapping[str, Any]] | None,
    chain: Sequence[str],
) -> Localized:
    """A record's facts (content/facts.py's dict of ``kind``) in the first locale of
    ``chain``, field by field; the publisher's advisor credentials are nested there."""
    if kind != "publisher":
        return localize(facts, translations, chain, TRANSLATABLE_FIELDS[kind])
    advisor = dict(facts.get("medical_advisor") or {})
    flat = {**facts, "advisor_credentials": advisor.get("credentials", "")}
    done = localize(flat, translations, chain, TRANSLATABLE_FIELDS[kind])
    values = dict(done.values)
    advisor["credentials"] = values.pop("advisor_credentials")
    values["medical_advisor"] = advisor
    return Localized(values, done.fell_back, done.sources)
