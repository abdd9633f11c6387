"""initial schema

Revision ID: e2398a6efecc
Revises:
Create Date: 2026-11-21 23:29:54.802599
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e2398a6efecc"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "compound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("drug_class", sa.String(length=200), nullable=False),
        sa.Column("safety_profile", sa.JSON(), nullable=False),
        sa.Column("regulatory_status", sa.Text(), nullable=False),
        sa.Column("evidence_level", sa.Text(), nullable=False),
        sa.Column("mechanisms", sa.JSON(), nullable=False),
        sa.Column("rxnorm", sa.String(length=20), nullable=True),
        sa.Column("mesh", sa.String(length=20), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    with op.batch_alter_table("compound", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compound_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "condition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("full_name", sa.String(length=300), nullable=True),
        sa.Column("specialist", sa.String(length=200), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("icd10", sa.String(length=20), nullable=True),
        sa.Column("mesh", sa.String(length=20), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    with op.batch_alter_table("condition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_condition_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "publisher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("advisor_name", sa.String(length=200), nullable=False),
        sa.Column("advisor_credentials", sa.String(length=200), nullable=False),
        sa.Column("cta", sa.Text(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "SAFETY", name="review_kind", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "version", name="uq_template_kind_version"),
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column(
            "research",
            sa.Enum(
                "SPECIFIC",
                "LIMITED",
                name="research",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["compound_id"], ["compound.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["condition_id"], ["condition.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("compound_id", "condition_id", name="uq_evidence_pair"),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_condition", ["condition_id"], unique=False)

    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "SAFETY", name="review_kind", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "DRAFT",
                "IN_REVIEW",
                "PUBLISHED",
                "ARCHIVED",
                name="review_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "research",
            sa.Enum(
                "SPECIFIC",
                "LIMITED",
                name="research",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("byline", sa.Text(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("template_version", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("published_revision_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["compound_id"], ["compound.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["condition_id"], ["condition.id"], ondelete="CASCADE"),
        # review <-> review_revision reference each other: SQLite accepts the forward
        # reference inline, PostgreSQL gets the constraint once both tables exist.
        *(
            [
                sa.ForeignKeyConstraint(
                    ["published_revision_id"],
                    ["review_revision.id"],
                    name="fk_review_published_revision",
                )
            ]
            if sqlite
            else []
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["template.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("compound_id", "condition_id", "kind", name="uq_review_pair_kind"),
        sa.UniqueConstraint("slug"),
    )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.create_index("ix_review_condition", ["condition_id"], unique=False)
        batch_op.create_index("ix_review_status_updated", ["status", "updated_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "citation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "PMID",
                "DOI",
                "NCT",
                "URL",
                name="citation_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(compound_id IS NULL) <> (evidence_id IS NULL)", name="ck_citation_one_owner"
        ),
        sa.ForeignKeyConstraint(["compound_id"], ["compound.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("citation", schema=None) as batch_op:
        batch_op.create_index("ix_citation_compound", ["compound_id"], unique=False)
        batch_op.create_index("ix_citation_evidence", ["evidence_id"], unique=False)

    op.create_table(
        "review_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("byline", sa.Text(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.String(length=40), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "number", name="uq_review_revision_number"),
    )
    op.create_table(
        "review_section",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=True),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "GENERATED",
                "EDITED",
                name="section_origin",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "key", name="uq_review_section_key"),
    )
    if not sqlite:
        op.create_foreign_key(
            "fk_review_published_revision",
            "review",
            "review_revision",
            ["published_revision_id"],
            ["id"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_review_published_revision", "review", type_="foreignkey")
    op.drop_table("review_section")
    op.drop_table("review_revision")
    with op.batch_alter_table("citation", schema=None) as batch_op:
        batch_op.drop_index("ix_citation_evidence")
        batch_op.drop_index("ix_citation_compound")

    op.drop_table("citation")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_updated_at"))
        batch_op.drop_index("ix_review_status_updated")
        batch_op.drop_index("ix_review_condition")

    op.drop_table("review")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_condition")

    op.drop_table("evidence")
    op.drop_table("template")
    op.drop_table("publisher")
    with op.batch_alter_table("condition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_condition_updated_at"))

    op.drop_table("condition")
    with op.batch_alter_table("compound", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compound_updated_at"))

    op.drop_table("compound")
