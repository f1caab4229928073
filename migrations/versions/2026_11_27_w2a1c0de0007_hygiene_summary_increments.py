"""hygiene summary increments: the flagged balance behind the score, and the version the summary is of

Revision ID: w2a1c0de0007
Revises: u9a1c0de0005
Create Date: 2026-11-27 15:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w2a1c0de0007"
down_revision: str | None = "u9a1c0de0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hygiene_state") as batch:
        batch.add_column(sa.Column("flagged_cents", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("summary_version", sa.Integer(), nullable=True))
    op.create_index(
        "ix_hygiene_issues_business_entity", "hygiene_issues", ["business_id", "entity_type", "qbo_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_hygiene_issues_business_entity", table_name="hygiene_issues")
    with op.batch_alter_table("hygiene_state") as batch:
        batch.drop_column("summary_version")
        batch.drop_column("flagged_cents")
