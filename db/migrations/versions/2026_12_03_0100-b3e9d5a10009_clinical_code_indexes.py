"""indexes for lookups by clinical code

`compounds(filter: {rxnorm:, mesh:})` and `conditions(filter: {icd10:, mesh:})` match
codes exactly: editors on the working tables, readers on the approved copies
(``public_*``), each read off an index instead of a scan of the catalog.

Revision ID: b3e9d5a10009
Revises: a7c4e1f20008
Create Date: 2026-12-03 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b3e9d5a10009"
down_revision: str | None = "a7c4e1f20008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("compound", "rxnorm"),
    ("compound", "mesh"),
    ("condition", "icd10"),
    ("condition", "mesh"),
    ("public_compound", "rxnorm"),
    ("public_compound", "mesh"),
    ("public_condition", "icd10"),
    ("public_condition", "mesh"),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
