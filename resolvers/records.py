"""Facts records as the API serves them: a working copy (editors) or an approved snapshot.

A GraphQL ``Compound`` (``Condition``, ``Evidence``, ``Publisher``) wraps one of these.
The working copy is a row of the working tables; an approved snapshot is a
``fact_version`` (what a reviewer approved, immutable) seen through a published
review or through the record's approved copy (``public_*``). Both give the same
attributes, so a field reads one attribute whichever world it serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from content.locales import TRANSLATABLE_FIELDS, localize

R = TypeVar("R")


def in_locale(record: R, kind: str, translations: Any, chain: Sequence[str] | None) -> R:
    """``record`` with its translatable fields in the first locale of ``chain`` that has
    each (its own values are the default locale's, the chain's last)."""
    if not chain or len(chain) < 2 or not translations:
        return record
    names = TRANSLATABLE_FIELDS[kind]
    own = {name: getattr(record, name) for name in names}
    values = localize(own, translations, chain, names).values
    return replace(record, **values)  # type: ignore[type-var]


@dataclass(slots=True)
class CompoundRecord:
    id: int
    slug: str
    name: str
    aliases: list[str]
    drug_class: str
    safety_profile: list[str]
    regulatory_status: str
    evidence_level: str
    mechanisms: list[str]
    rxnorm: str | None
    mesh: str | None
    # Working copy: the row's revision; snapshot: the approved version's number.
    revision: int
    updated_at: datetime
    content_hash: str
    # A snapshot carries its citations; a working copy's are loaded when asked for.
    citations: list[dict[str, Any]] | None
    approved: bool  # True: an approved snapshot (what readers get)
    # A working copy's translations (editors' `locale`); None for snapshots.
    translations: dict[str, Any] | None = None

    @staticmethod
    def working(row: Any, chain: Sequence[str] | None = None) -> CompoundRecord:
        record = CompoundRecord._working(row)
        return in_locale(record, "compound", record.translations, chain)

    @staticmethod
    def snapshot(version: Any, chain: Sequence[str] | None = None) -> CompoundRecord:
        translations = version.facts.get("translations")
        return in_locale(CompoundRecord._snapshot(version), "compound", translations, chain)

    @staticmethod
    def _working(row: Any) -> CompoundRecord:
        return CompoundRecord(
            row.id,
            row.slug,
            row.name,
            list(row.aliases or []),
            row.drug_class,
            list(row.safety_profile or []),
            row.regulatory_status,
            row.evidence_level,
            list(row.mechanisms or []),
            row.rxnorm,
            row.mesh,
            row.revision,
            row.updated_at,
            row.content_hash,
            None,
            False,
            getattr(row, "translations", None),
        )

    @staticmethod
    def _snapshot(version: Any) -> CompoundRecord:
        f = version.facts
        return CompoundRecord(
            version.record_id,
            f["slug"],
            f["name"],
            list(f["aliases"]),
            f["drug_class"],
            list(f["safety_profile"]),
            f["regulatory_status"],
            f["evidence_level"],
            list(f["mechanisms"]),
            f["rxnorm"],
            f["mesh"],
            version.number,
            version.created_at,
            version.content_hash,
            list(f["citations"]),
            True,
        )


@dataclass(slots=True)
class ConditionRecord:
    id: int
    slug: str
    name: str
    full_name: str
    specialist: str
    aliases: list[str]
    icd10: str | None
    mesh: str | None
    revision: int
    updated_at: datetime
    content_hash: str
    approved: bool
    translations: dict[str, Any] | None = None

    @staticmethod
    def working(row: Any, chain: Sequence[str] | None = None) -> ConditionRecord:
        record = ConditionRecord._working(row)
        return in_locale(record, "condition", record.translations, chain)

    @staticmethod
    def snapshot(version: Any, chain: Sequence[str] | None = None) -> ConditionRecord:
        translations = version.facts.get("translations")
        return in_locale(ConditionRecord._snapshot(version), "condition", translations, chain)

    @staticmethod
    def _working(row: Any) -> ConditionRecord:
        return ConditionRecord(
            row.id,
            row.slug,
            row.name,
            row.full_name or row.name,
            row.specialist,
            list(row.aliases or []),
            row.icd10,
            row.mesh,
            row.revision,
            row.updated_at,
            row.content_hash,
            False,
            getattr(row, "translations", None),
        )

    @staticmethod
    def _snapshot(version: Any) -> ConditionRecord:
        f = version.facts
        return ConditionRecord(
            version.record_id,
            f["slug"],
            f["name"],
            f["full_name"],
            f["specialist"],
            list(f["aliases"]),
            f["icd10"],
            f["mesh"],
            version.number,
            version.created_at,
            version.content_hash,
            True,
        )


@dataclass(slots=True)
class EvidenceRecord:
    id: int
    compound_id: int
    condition_id: int
    research: str
    notes: str
    revision: int
    updated_at: datetime
    content_hash: str
    citations: list[dict[str, Any]] | None
    approved: bool
    # Seen through a published review: its snapshots of the pair (else loaded when asked).
    compound: CompoundRecord | None = None
    condition: ConditionRecord | None = None

    @staticmethod
    def working(row: Any) -> EvidenceRecord:
        return EvidenceRecord(
            row.id,
            row.compound_id,
            row.condition_id,
            str(row.research),
            row.notes or "",
            row.revision,
            row.updated_at,
            row.content_hash,
            None,
            False,
        )

    @staticmethod
    def snapshot(
        version: Any,
        compound_id: int,
        condition_id: int,
        compound: CompoundRecord | None = None,
        condition: ConditionRecord | None = None,
    ) -> EvidenceRecord:
        f = version.facts
        return EvidenceRecord(
            version.record_id,
            compound_id,
            condition_id,
            f["research"],
            f["notes"],
            version.number,
            version.created_at,
            version.content_hash,
            list(f["citations"]),
            True,
            compound,
            condition,
        )


@dataclass(slots=True)
class PublisherRecord:
    id: int
    name: str
    advisor_name: str
    advisor_credentials: str
    cta: str
    notice: str
    revision: int
    updated_at: datetime
    content_hash: str
    approved: bool

    @staticmethod
    def working(row: Any) -> PublisherRecord:
        return PublisherRecord(
            row.id,
            row.name,
            row.advisor_name,
            row.advisor_credentials,
            row.cta,
            row.notice,
            row.revision,
            row.updated_at,
            row.content_hash,
            False,
        )

    @staticmethod
    def snapshot(version: Any) -> PublisherRecord:
        f = version.facts
        advisor = f["medical_advisor"]
        return PublisherRecord(
            version.record_id,
            f["name"],
            advisor["name"],
            advisor["credentials"],
            f["cta"],
            f["notice"],
            version.number,
            version.created_at,
            version.content_hash,
            True,
        )
