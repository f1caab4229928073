"""business data versions: stamps per business that change with its books and its decision queue

Revision ID: v1a1c0de0006
Revises: t8a1c0de0004
Create Date: 2026-11-27 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "v1a1c0de0006"
down_revision: str | None = "t8a1c0de0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "business_data_versions",
        sa.Column("business_id", ID, nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.Column("console_stamp", sa.String(length=32), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_business_data_versions_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("business_id", name=op.f("pk_business_data_versions")),
    )


def downgrade() -> None:
    op.drop_table("business_data_versions")
