"""business summaries and digest sends

Revision ID: s7a1c0de0003
Revises: d6a1c0de0002
Create Date: 2026-11-27 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "s7a1c0de0003"
down_revision: str | None = "d6a1c0de0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "business_summaries",
        sa.Column("id", ID, nullable=False),
        sa.Column("business_id", ID, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cash_now_cents", sa.BigInteger(), nullable=True),
        sa.Column("cash_net_of_cards_cents", sa.BigInteger(), nullable=True),
        sa.Column("runway_days", sa.Integer(), nullable=True),
        sa.Column("runway_weeks", sa.String(length=16), nullable=True),
        sa.Column("cash_zero_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("not_burning", sa.Boolean(), nullable=False),
        sa.Column("lowest_cash_cents", sa.BigInteger(), nullable=True),
        sa.Column("lowest_cash_week", sa.Integer(), nullable=True),
        sa.Column("lowest_cash_week_start", sa.Date(), nullable=True),
        sa.Column("bills_due_count", sa.Integer(), nullable=False),
        sa.Column("bills_due_cents", sa.BigInteger(), nullable=False),
        sa.Column("overdue_invoices_count", sa.Integer(), nullable=False),
        sa.Column("overdue_invoices_cents", sa.BigInteger(), nullable=False),
        sa.Column("hygiene_score", sa.Integer(), nullable=True),
        sa.Column("issues_high", sa.Integer(), nullable=False),
        sa.Column("issues_medium", sa.Integer(), nullable=False),
        sa.Column("issues_low", sa.Integer(), nullable=False),
        sa.Column("decisions_waiting", sa.Integer(), nullable=False),
        sa.Column("top_decisions", JSON, nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_business_summaries_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_summaries")),
        sa.UniqueConstraint("business_id", name=op.f("uq_business_summaries_business_id")),
    )
    op.create_table(
        "digest_hygiene_marks",
        sa.Column("id", ID, nullable=False),
        sa.Column("business_id", ID, nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("open_keys", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_digest_hygiene_marks_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_hygiene_marks")),
        sa.UniqueConstraint(
            "business_id", "week_start", name=op.f("uq_digest_hygiene_marks_business_id_week_start")
        ),
    )
    op.create_table(
        "digest_sends",
        sa.Column("id", ID, nullable=False),
        sa.Column("business_id", ID, nullable=True),
        sa.Column("firm_id", ID, nullable=True),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("iso_week", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(business_id IS NULL) <> (firm_id IS NULL)", name=op.f("ck_digest_sends_business_xor_firm")
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_digest_sends_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_digest_sends_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_sends")),
        sa.UniqueConstraint("business_id", "week_start", name=op.f("uq_digest_sends_business_id_week_start")),
        sa.UniqueConstraint("firm_id", "week_start", name=op.f("uq_digest_sends_firm_id_week_start")),
    )
    op.create_table(
        "digest_recipients",
        sa.Column("id", ID, nullable=False),
        sa.Column("business_id", ID, nullable=True),
        sa.Column("firm_id", ID, nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("added_by_user_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(business_id IS NULL) <> (firm_id IS NULL)", name=op.f("ck_digest_recipients_business_xor_firm")
        ),
        sa.ForeignKeyConstraint(
            ["added_by_user_id"],
            ["users.id"],
            name=op.f("fk_digest_recipients_added_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_digest_recipients_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_digest_recipients_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_recipients")),
        sa.UniqueConstraint("business_id", "email", name=op.f("uq_digest_recipients_business_id_email")),
        sa.UniqueConstraint("firm_id", "email", name=op.f("uq_digest_recipients_firm_id_email")),
    )


def downgrade() -> None:
    op.drop_table("digest_recipients")
    op.drop_table("digest_sends")
    op.drop_table("digest_hygiene_marks")
    op.drop_table("business_summaries")
