"""dashboard store: what the runway dashboard shows, kept with each business's summary row

Revision ID: u9a1c0de0005
Revises: v1a1c0de0006
Create Date: 2026-11-27 10:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "u9a1c0de0005"
down_revision: str | None = "v1a1c0de0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("business_summaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("snapshot_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("has_bank_account", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("card_balance_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("lowest_daily_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("lowest_daily_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("net_burn_4w_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("net_burn_13w_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ap_current_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ap_days_1_30_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ap_days_31_60_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ap_days_61_90_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ap_days_91_plus_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ap_unapplied_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ap_open_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ap_net_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ar_current_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ar_days_1_30_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ar_days_31_60_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ar_days_61_90_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ar_days_91_plus_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ar_unapplied_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ar_open_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("ar_net_cents", sa.BigInteger(), nullable=True))

    op.create_table(
        "business_summary_weeks",
        sa.Column("id", ID, nullable=False),
        sa.Column("business_id", ID, nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("opening_cents", sa.BigInteger(), nullable=False),
        sa.Column("receipts_invoices_cents", sa.BigInteger(), nullable=False),
        sa.Column("receipts_baseline_cents", sa.BigInteger(), nullable=False),
        sa.Column("disbursements_bills_cents", sa.BigInteger(), nullable=False),
        sa.Column("disbursements_baseline_cents", sa.BigInteger(), nullable=False),
        sa.Column("net_change_cents", sa.BigInteger(), nullable=False),
        sa.Column("ending_cents", sa.BigInteger(), nullable=False),
        sa.Column("below_minimum", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_business_summary_weeks_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_summary_weeks")),
        sa.UniqueConstraint("business_id", "week", name=op.f("uq_business_summary_weeks_business_id_week")),
    )


def downgrade() -> None:
    op.drop_table("business_summary_weeks")
    with op.batch_alter_table("business_summaries", schema=None) as batch_op:
        batch_op.drop_column("ar_net_cents")
        batch_op.drop_column("ar_open_cents")
        batch_op.drop_column("ar_unapplied_cents")
        batch_op.drop_column("ar_days_91_plus_cents")
        batch_op.drop_column("ar_days_61_90_cents")
        batch_op.drop_column("ar_days_31_60_cents")
        batch_op.drop_column("ar_days_1_30_cents")
        batch_op.drop_column("ar_current_cents")
        batch_op.drop_column("ap_net_cents")
        batch_op.drop_column("ap_open_cents")
        batch_op.drop_column("ap_unapplied_cents")
        batch_op.drop_column("ap_days_91_plus_cents")
        batch_op.drop_column("ap_days_61_90_cents")
        batch_op.drop_column("ap_days_31_60_cents")
        batch_op.drop_column("ap_days_1_30_cents")
        batch_op.drop_column("ap_current_cents")
        batch_op.drop_column("net_burn_13w_cents")
        batch_op.drop_column("net_burn_4w_cents")
        batch_op.drop_column("lowest_daily_date")
        batch_op.drop_column("lowest_daily_cents")
        batch_op.drop_column("card_balance_cents")
        batch_op.drop_column("has_bank_account")
        batch_op.drop_column("snapshot_at")
        batch_op.drop_column("data_key")
