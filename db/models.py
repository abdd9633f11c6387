"""SQLModel tables of the catalog (facts), templates and reviews.

Facts tables carry a ``content_hash`` of their own facts, computed on write, so
the fingerprint of a review's inputs is a cheap combination of a few hashes and
``generate --stale`` never has to re-read or re-render unchanged facts.
Every mutable record carries a ``revision`` counter for optimistic concurrency.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Research(enum.StrEnum):
    SPECIFIC = "SPECIFIC"
    LIMITED = "LIMITED"


class ReviewKind(enum.StrEnum):
    SAFETY = "SAFETY"


class ReviewStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    IN_REVIEW = "IN_REVIEW"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


class SectionOrigin(enum.StrEnum):
    GENERATED = "GENERATED"
    EDITED = "EDITED"


class CitationKind(enum.StrEnum):
    PMID = "PMID"
    DOI = "DOI"
    NCT = "NCT"
    URL = "URL"


def _enum(cls: type[enum.Enum], name: str) -> SAEnum:
    # VARCHAR + CHECK rather than a native PostgreSQL enum: adding a value later
    # is then a plain constraint change in a migration.
    return SAEnum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda c: [m.value for m in c],
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every database (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_column=Column(UTCDateTime(), nullable=nullable, index=index),
    )


class Publisher(SQLModel, table=True):
    """The organisation named in every byline (one per installation)."""

    __tablename__ = "publisher"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    advisor_name: str = Field(sa_column=Column(String(200), nullable=False))
    advisor_credentials: str = Field(default="", sa_column=Column(String(200), nullable=False))
    cta: str = Field(default="", sa_column=Column(Text, nullable=False))
    notice: str = Field(default="", sa_column=Column(Text, nullable=False))
    translations: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Compound(SQLModel, table=True):
    __tablename__ = "compound"
    # Editors' lookups by clinical code (`compounds(filter: {rxnorm:})`), exact.
    __table_args__ = (Index("ix_compound_rxnorm", "rxnorm"), Index("ix_compound_mesh", "mesh"))

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    drug_class: str = Field(sa_column=Column(String(200), nullable=False))
    safety_profile: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    regulatory_status: str = Field(sa_column=Column(Text, nullable=False))
    evidence_level: str = Field(sa_column=Column(Text, nullable=False))
    mechanisms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rxnorm: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    mesh: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    translations: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts(index=True)


class Condition(SQLModel, table=True):
    __tablename__ = "condition"
    __table_args__ = (Index("ix_condition_icd10", "icd10"), Index("ix_condition_mesh", "mesh"))

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    full_name: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    specialist: str = Field(sa_column=Column(String(200), nullable=False))
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    icd10: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    mesh: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    translations: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts(index=True)


class Evidence(SQLModel, table=True):
    """What is known about one compound in one condition."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("compound_id", "condition_id", name="uq_evidence_pair"),
        Index("ix_evidence_condition", "condition_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    compound_id: int = Field(
        sa_column=Column(Integer, ForeignKey("compound.id", ondelete="CASCADE"), nullable=False)
    )
    condition_id: int = Field(
        sa_column=Column(Integer, ForeignKey("condition.id", ondelete="CASCADE"), nullable=False)
    )
    research: Research = Field(sa_column=Column(_enum(Research, "research"), nullable=False))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    translations: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Citation(SQLModel, table=True):
    """A format-checked reference, owned by a compound or by an evidence row."""

    __tablename__ = "citation"
    __table_args__ = (
        CheckConstraint(
            "(compound_id IS NULL) <> (evidence_id IS NULL)", name="ck_citation_one_owner"
        ),
        Index("ix_citation_compound", "compound_id"),
        Index("ix_citation_evidence", "evidence_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    compound_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("compound.id", ondelete="CASCADE"), nullable=True),
    )
    evidence_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("evidence.id", ondelete="CASCADE"), nullable=True),
    )
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    kind: CitationKind = Field(
        sa_column=Column(_enum(CitationKind, "citation_kind"), nullable=False)
    )
    value: str = Field(sa_column=Column(String(500), nullable=False))
    title: str = Field(default="", sa_column=Column(Text, nullable=False))


class Template(SQLModel, table=True):
    """A versioned set of section templates for one review kind and locale; versions are
    immutable. Generation uses the default locale's active template (for now)."""

    __tablename__ = "template"
    __table_args__ = (
        UniqueConstraint("kind", "locale", "version", name="uq_template_kind_locale_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: ReviewKind = Field(sa_column=Column(_enum(ReviewKind, "review_kind"), nullable=False))
    # A BCP 47 tag (config.py); templates imported without one are the default locale's.
    locale: str = Field(sa_column=Column(String(35), nullable=False))
    version: str = Field(sa_column=Column(String(40), nullable=False))
    source: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    active: bool = Field(default=True, nullable=False)
    created_at: datetime = _ts()


class Review(SQLModel, table=True):
    """The working copy of one page; what readers get is its published revision."""

    __tablename__ = "review"
    __table_args__ = (
        UniqueConstraint(
            "compound_id", "condition_id", "kind", "locale", name="uq_review_pair_kind_locale"
        ),
        UniqueConstraint("slug", "locale", name="uq_review_slug_locale"),
        Index("ix_review_condition", "condition_id"),
        Index("ix_review_status_updated", "status", "updated_at"),
        Index("ix_review_published_at", "published_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # The page's name, the same in every locale: (slug, locale) is one review.
    slug: str = Field(sa_column=Column(String(200), nullable=False))
    kind: ReviewKind = Field(sa_column=Column(_enum(ReviewKind, "review_kind"), nullable=False))
    # A BCP 47 tag (config.py): the default locale's page, or a translation of it.
    locale: str = Field(sa_column=Column(String(35), nullable=False))
    # A translation: the default locale's published revision it was made from.
    source_revision_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("review_revision.id", use_alter=True, name="fk_review_source_revision"),
            nullable=True,
        ),
    )
    compound_id: int = Field(
        sa_column=Column(Integer, ForeignKey("compound.id", ondelete="CASCADE"), nullable=False)
    )
    condition_id: int = Field(
        sa_column=Column(Integer, ForeignKey("condition.id", ondelete="CASCADE"), nullable=False)
    )
    status: ReviewStatus = Field(
        default=ReviewStatus.DRAFT,
        sa_column=Column(_enum(ReviewStatus, "review_status"), nullable=False),
    )
    research: Research = Field(sa_column=Column(_enum(Research, "research"), nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    byline: str = Field(default="", sa_column=Column(Text, nullable=False))
    notice: str = Field(default="", sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    template_id: int = Field(sa_column=Column(Integer, ForeignKey("template.id"), nullable=False))
    template_version: str = Field(sa_column=Column(String(40), nullable=False))
    # What the working copy was generated from; what the facts and template make
    # now (kept current by every write of facts); what the published revision was
    # generated from. A page is stale when what it serves differs from `current`.
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    current_fingerprint: str = Field(
        default="", sa_column=Column(String(64), nullable=False, server_default="")
    )
    published_fingerprint: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True)
    )
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    published_revision_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("review_revision.id", use_alter=True, name="fk_review_published_revision"),
            nullable=True,
        ),
    )
    # The number of the published revision this draft was restored from
    # (`restoreRevision`); cleared when the draft is published.
    restored_from: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_at: datetime = _ts()
    updated_at: datetime = _ts(index=True)
    generated_at: datetime = _ts()
    published_at: datetime | None = _ts(nullable=True)
    last_reviewed_at: datetime | None = _ts(nullable=True)
    review_due_at: datetime | None = _ts(nullable=True)


class ReviewSection(SQLModel, table=True):
    """One section of a review's working copy, as a list of structured blocks."""

    __tablename__ = "review_section"
    __table_args__ = (UniqueConstraint("review_id", "key", name="uq_review_section_key"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(
        sa_column=Column(Integer, ForeignKey("review.id", ondelete="CASCADE"), nullable=False)
    )
    key: str = Field(sa_column=Column(String(40), nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    heading: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    blocks: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    origin: SectionOrigin = Field(
        default=SectionOrigin.GENERATED,
        sa_column=Column(_enum(SectionOrigin, "section_origin"), nullable=False),
    )
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    updated_at: datetime = _ts()


def _fact_version_fk() -> Any:
    return Field(
        default=None, sa_column=Column(Integer, ForeignKey("fact_version.id"), nullable=True)
    )


class ReviewRevision(SQLModel, table=True):
    """An immutable snapshot of exactly what a medical reviewer approved."""

    __tablename__ = "review_revision"
    __table_args__ = (UniqueConstraint("review_id", "number", name="uq_review_revision_number"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(
        sa_column=Column(Integer, ForeignKey("review.id", ondelete="CASCADE"), nullable=False)
    )
    number: int = Field(sa_column=Column(Integer, nullable=False))
    # Which locale's page the reviewer approved, and (a translation) from which source.
    locale: str = Field(sa_column=Column(String(35), nullable=False))
    source_revision_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    byline: str = Field(default="", sa_column=Column(Text, nullable=False))
    notice: str = Field(default="", sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    sections: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    template_version: str = Field(sa_column=Column(String(40), nullable=False))
    # The research level the approved text was written for (readers get this one).
    research: Research | None = Field(
        default=None, sa_column=Column(_enum(Research, "research"), nullable=True)
    )
    approved_by: str = Field(sa_column=Column(String(200), nullable=False))
    approved_at: datetime = _ts()
    # Content-check findings the reviewer acknowledged when approving this revision.
    acknowledged: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    # The facts the approved page was generated from (db/read_model.py); null only for
    # revisions approved before facts were snapshotted.
    compound_version_id: int | None = _fact_version_fk()
    condition_version_id: int | None = _fact_version_fk()
    evidence_version_id: int | None = _fact_version_fk()
    publisher_version_id: int | None = _fact_version_fk()
