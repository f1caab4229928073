"""hygiene register: what a row shows, the evaluation's date and balance, an index by status

Revision ID: t8a1c0de0004
Revises: s7a1c0de0003
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "t8a1c0de0004"
down_revision: str | None = "s7a1c0de0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("hygiene_issues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forecast_effect", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("fix", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("fix_params", JSON, nullable=True))
        batch_op.add_column(sa.Column("fingerprint_fields", JSON, nullable=True))
        batch_op.add_column(sa.Column("item_balance_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("display", JSON, nullable=True))
        batch_op.create_index("ix_hygiene_issues_business_status", ["business_id", "status"], unique=False)
    with op.batch_alter_table("hygiene_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evaluated_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("open_cents", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hygiene_state", schema=None) as batch_op:
        batch_op.drop_column("open_cents")
        batch_op.drop_column("evaluated_at")
        batch_op.drop_column("evaluated_on")
    with op.batch_alter_table("hygiene_issues", schema=None) as batch_op:
        batch_op.drop_index("ix_hygiene_issues_business_status")
        batch_op.drop_column("display")
        batch_op.drop_column("item_balance_cents")
        batch_op.drop_column("fingerprint_fields")
        batch_op.drop_column("fix_params")
        batch_op.drop_column("fix")
        batch_op.drop_column("forecast_effect")
