"""decision queue and finalize batches

Revision ID: d6a1c0de0002
Revises: h5a1c0de0001
Create Date: 2026-11-27 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d6a1c0de0002"
down_revision: str | None = "h5a1c0de0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_finalize_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_decision_finalize_batches_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["started_by"],
            ["users.id"],
            name=op.f("fk_decision_finalize_batches_started_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_finalize_batches")),
    )
    with op.batch_alter_table("decision_finalize_batches", schema=None) as batch_op:
        batch_op.create_index(
            "uq_decision_finalize_batches_one_running",
            ["business_id"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.create_table(
        "decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("qbo_id", sa.String(length=32), nullable=False),
        sa.Column("party_qbo_id", sa.String(length=32), nullable=True),
        sa.Column("party_name", sa.String(length=500), nullable=True),
        sa.Column("doc_number", sa.String(length=64), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("verb", sa.String(length=16), nullable=False),
        sa.Column("parameters", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("replaces_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("idempotency_key", sa.String(length=50), nullable=False),
        sa.Column("delta_runway_days", sa.Integer(), nullable=True),
        sa.Column("delta_direction", sa.String(length=10), nullable=False),
        sa.Column("new_cash_zero_date", sa.Date(), nullable=True),
        sa.Column("new_lowest_cash_cents", sa.BigInteger(), nullable=False),
        sa.Column("days_past_terms", sa.Integer(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finalized_on", sa.Date(), nullable=True),
        sa.Column("result_message", sa.Text(), nullable=True),
        sa.Column("result_qbo_id", sa.String(length=64), nullable=True),
        sa.Column("qbo_current", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_decisions_approved_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["decision_finalize_batches.id"],
            name=op.f("fk_decisions_batch_id_decision_finalize_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_decisions_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_decisions_decided_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["decisions.id"],
            name=op.f("fk_decisions_replaces_id_decisions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint(
            "business_id", "idempotency_key", name=op.f("uq_decisions_business_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index("ix_decisions_business_decided_by", ["business_id", "decided_by"], unique=False)
        batch_op.create_index("ix_decisions_business_status", ["business_id", "status"], unique=False)
        batch_op.create_index(
            "uq_decisions_one_current_per_item",
            ["business_id", "entity_type", "qbo_id"],
            unique=True,
            sqlite_where=sa.text("is_current"),
            postgresql_where=sa.text("is_current"),
        )

    op.create_table(
        "decision_finalize_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("decision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("qbo_result_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["decision_finalize_batches.id"],
            name=op.f("fk_decision_finalize_items_batch_id_decision_finalize_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_decision_finalize_items_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_finalize_items_decision_id_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_finalize_items")),
        sa.UniqueConstraint(
            "batch_id", "decision_id", name=op.f("uq_decision_finalize_items_batch_id_decision_id")
        ),
    )
    with op.batch_alter_table("decision_finalize_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_finalize_items_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_decision_finalize_items_business_outcome", ["business_id", "outcome"], unique=False
        )

    op.create_table(
        "decision_critical_vendors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("vendor_qbo_id", sa.String(length=32), nullable=False),
        sa.Column("flagged_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_decision_critical_vendors_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flagged_by"],
            ["users.id"],
            name=op.f("fk_decision_critical_vendors_flagged_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_critical_vendors")),
        sa.UniqueConstraint(
            "business_id",
            "vendor_qbo_id",
            name=op.f("uq_decision_critical_vendors_business_id_vendor_qbo_id"),
        ),
    )

    op.create_table(
        "decision_console_settings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pay_run_weekday", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_decision_console_settings_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_decision_console_settings_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_console_settings")),
        sa.UniqueConstraint("business_id", name=op.f("uq_decision_console_settings_business_id")),
    )


def downgrade() -> None:
    op.drop_table("decision_console_settings")
    op.drop_table("decision_critical_vendors")
    with op.batch_alter_table("decision_finalize_items", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_finalize_items_business_outcome")
        batch_op.drop_index(batch_op.f("ix_decision_finalize_items_batch_id"))
    op.drop_table("decision_finalize_items")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_decisions_one_current_per_item",
            sqlite_where=sa.text("is_current"),
            postgresql_where=sa.text("is_current"),
        )
        batch_op.drop_index("ix_decisions_business_status")
        batch_op.drop_index("ix_decisions_business_decided_by")
    op.drop_table("decisions")
    with op.batch_alter_table("decision_finalize_batches", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_decision_finalize_batches_one_running",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
    op.drop_table("decision_finalize_batches")
