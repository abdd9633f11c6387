"""The published read model: what anonymous readers can reach, and nothing else.

Two worlds live in the database (DESIGN §9). The *working copy* (``compound``,
``condition``, ``evidence``, ``publisher``, ``review`` and its sections) is what
editors change. What a medical reviewer approved lives here:

* ``fact_version``: immutable, content-addressed snapshots of one record's facts
  (a compound, a condition, the evidence of a pair, the publisher), numbered per
  record. A published revision (``review_revision``) points at the four versions
  its page was generated from, so a page and every fact around it are frozen
  together when a reviewer publishes.
* ``public_*``: the *approved copy* of each record, one row per record a reviewer
  has approved (by publishing a review built from it), pointing at its version.
  They carry the columns readers filter, sort and search on, so lists, cursors,
  the search index and the change feed are built from approved values only.

The rule, in one sentence: *a fact change becomes public when a reviewer
publishes a review built from it; until then readers see the facts of the last
published revision.* A record no reviewer ever approved has no ``public_*`` row
and is invisible to readers. Rows here are written only by ``db/publishing.py``
(in the publishing transaction) and removed with their record (cascade).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from db.models import Research, ReviewKind, UTCDateTime, _enum, _ts


class FactKind(enum.StrEnum):
    COMPOUND = "compound"
    CONDITION = "condition"
    EVIDENCE = "evidence"
    PUBLISHER = "publisher"


class FactVersion(SQLModel, table=True):
    """An immutable snapshot of one record's facts, as a template renders them."""

    __tablename__ = "fact_version"
    __table_args__ = (
        # Content-addressed: approving the same facts twice reuses the version.
        UniqueConstraint("kind", "record_id", "content_hash", name="uq_fact_version_content"),
        UniqueConstraint("kind", "record_id", "number", name="uq_fact_version_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: FactKind = Field(sa_column=Column(_enum(FactKind, "fact_kind"), nullable=False))
    # The working record's id (no foreign key: a snapshot outlives nothing it names,
    # but must not block deleting an unpublished record).
    record_id: int = Field(sa_column=Column(Integer, nullable=False))
    # 1, 2, 3... per record: what readers see as the record's `revision`.
    number: int = Field(sa_column=Column(Integer, nullable=False))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    # The facts as content/facts.py builds them (citations included): exactly what was approved.
    facts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()


def _version_fk() -> Any:
    return Field(sa_column=Column(Integer, ForeignKey("fact_version.id"), nullable=False))


def _record_fk(table: str) -> Any:
    return Field(
        sa_column=Column(Integer, ForeignKey(f"{table}.id", ondelete="CASCADE"), primary_key=True)
    )


class PublicCompound(SQLModel, table=True):
    """The approved copy of a compound (readers' `compound`, lists, search, feed)."""

    __tablename__ = "public_compound"
    # Readers' lookups by clinical code match the approved codes, exactly.
    __table_args__ = (
        Index("ix_public_compound_rxnorm", "rxnorm"),
        Index("ix_public_compound_mesh", "mesh"),
    )

    id: int = _record_fk("compound")
    slug: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    drug_class: str = Field(sa_column=Column(String(200), nullable=False))
    rxnorm: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    mesh: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    version_id: int = _version_fk()
    approved_at: datetime = _ts()


class PublicCondition(SQLModel, table=True):
    """The approved copy of a condition."""

    __tablename__ = "public_condition"
    __table_args__ = (
        Index("ix_public_condition_icd10", "icd10"),
        Index("ix_public_condition_mesh", "mesh"),
    )

    id: int = _record_fk("condition")
    slug: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    full_name: str = Field(sa_column=Column(String(300), nullable=False))
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    icd10: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    mesh: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    version_id: int = _version_fk()
    approved_at: datetime = _ts()


class PublicEvidence(SQLModel, table=True):
    """The approved copy of the evidence linking a compound and a condition."""

    __tablename__ = "public_evidence"
    __table_args__ = (UniqueConstraint("compound_id", "condition_id", name="uq_public_evidence"),)

    id: int = _record_fk("evidence")
    compound_id: int = Field(sa_column=Column(Integer, nullable=False))
    condition_id: int = Field(sa_column=Column(Integer, nullable=False))
    research: Research = Field(sa_column=Column(_enum(Research, "research"), nullable=False))
    version_id: int = _version_fk()
    approved_at: datetime = _ts()


class PublicPublisher(SQLModel, table=True):
    """The approved copy of the publisher."""

    __tablename__ = "public_publisher"

    id: int = _record_fk("publisher")
    version_id: int = _version_fk()
    approved_at: datetime = _ts()


class PublicReview(SQLModel, table=True):
    """A published review as readers list, filter, sort and search it: the values of
    its published revision (never the working copy's)."""

    __tablename__ = "public_review"
    __table_args__ = (
        # Readers' lists of one condition (or compound), by research level, newest first.
        Index("ix_public_review_condition", "condition_id", "research", "published_at", "id"),
        Index("ix_public_review_compound", "compound_id", "research", "published_at", "id"),
        Index("ix_public_review_published_at", "published_at", "id"),
        Index("ix_public_review_title", "title", "id"),
        # A page's locales (fallback along a chain, `translations`, hreflang).
        Index("ix_public_review_pair", "compound_id", "condition_id", "kind"),
        UniqueConstraint("slug", "locale", name="uq_public_review_slug_locale"),
    )

    id: int = _record_fk("review")
    slug: str = Field(sa_column=Column(String(200), nullable=False))
    kind: ReviewKind = Field(sa_column=Column(_enum(ReviewKind, "review_kind"), nullable=False))
    locale: str = Field(sa_column=Column(String(35), nullable=False))
    # A translation: the default locale's revision it was made from.
    source_revision_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey(
                "review_revision.id", use_alter=True, name="fk_public_review_source_revision"
            ),
            nullable=True,
        ),
    )
    compound_id: int = Field(sa_column=Column(Integer, nullable=False))
    condition_id: int = Field(sa_column=Column(Integer, nullable=False))
    revision_id: int = Field(
        sa_column=Column(Integer, ForeignKey("review_revision.id"), nullable=False)
    )
    # The published revision's number: readers' `revision`.
    number: int = Field(sa_column=Column(Integer, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    research: Research = Field(sa_column=Column(_enum(Research, "research"), nullable=False))
    template_version: str = Field(sa_column=Column(String(40), nullable=False))
    # The fact versions the page was approved with (also on the revision), for the
    # readers' `isStale`: the page lags behind facts a reviewer approved since.
    compound_version_id: int = _version_fk()
    condition_version_id: int = _version_fk()
    evidence_version_id: int = _version_fk()
    publisher_version_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("fact_version.id"), nullable=True)
    )
    published_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_reviewed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    review_due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PublicTranslation(SQLModel, table=True):
    """Per record and locale, the fact version whose translated fields readers of that
    locale get: written when a reviewer approves a page in that locale (the default
    locale's values are the approved copy's, ``public_*``)."""

    __tablename__ = "public_translation"

    kind: FactKind = Field(
        sa_column=Column(_enum(FactKind, "fact_kind"), primary_key=True, nullable=False)
    )
    record_id: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    locale: str = Field(sa_column=Column(String(35), primary_key=True, nullable=False))
    version_id: int = _version_fk()
    approved_at: datetime = _ts()
