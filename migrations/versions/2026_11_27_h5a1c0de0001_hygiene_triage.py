"""hygiene triage state

Revision ID: h5a1c0de0001
Revises: 6bb85d8cb04d
Create Date: 2026-11-27 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "h5a1c0de0001"
down_revision: str | None = "6bb85d8cb04d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _business(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["business_id"],
        ["businesses.id"],
        name=op.f(f"fk_{table}_business_id_businesses"),
        ondelete="CASCADE",
    )


def _user(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="SET NULL"
    )


def _issue_key(table: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(
        "business_id",
        "rule",
        "entity_type",
        "qbo_id",
        name=op.f(f"uq_{table}_business_id_rule_entity_type_qbo_id"),
    )


def upgrade() -> None:
    op.create_table(
        "hygiene_dismissals",
        sa.Column("id", ID, nullable=False),
        sa.Column("business_id", ID, nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("qbo_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _business("hygiene_dismissals"),
        _user("hygiene_dismissals", "user_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hygiene_dismissals")),
        _issue_key("hygiene_dismissals"),
    )
    op.create_table(
        "hygiene_snoozes",
        sa.Column("id", ID, nullable=False),
        sa.Column("business_id", ID, nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("qbo_id", sa.String(length=64), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _business("hygiene_snoozes"),
        _user("hygiene_snoozes", "user_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hygiene_snoozes")),
        _issue_key("hygiene_snoozes"),
    )
    op.create_table(
        "hygiene_issues",
        sa.Column("id", ID, nullable=False),
        sa.Column("business_id", ID, nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("qbo_id", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_user_id", ID, nullable=True),
        sa.Column("fix_sync_run_id", sa.BigInteger(), nullable=True),
        _business("hygiene_issues"),
        _user("hygiene_issues", "resolved_by_user_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hygiene_issues")),
        _issue_key("hygiene_issues"),
    )
    op.create_table(
        "hygiene_fixes",
        sa.Column("id", ID, nullable=False),
        sa.Column("business_id", ID, nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("qbo_id", sa.String(length=64), nullable=False),
        sa.Column("fix", sa.String(length=32), nullable=False),
        sa.Column("qbo_entity", sa.String(length=40), nullable=False),
        sa.Column("qbo_target_id", sa.String(length=64), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=50), nullable=True),
        sa.Column("revertible", sa.Boolean(), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_by_user_id", ID, nullable=True),
        _business("hygiene_fixes"),
        _user("hygiene_fixes", "user_id"),
        _user("hygiene_fixes", "reverted_by_user_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hygiene_fixes")),
    )
    with op.batch_alter_table("hygiene_fixes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hygiene_fixes_business_created", ["business_id", "created_at"], unique=False
        )

    op.create_table(
        "hygiene_state",
        sa.Column("id", ID, nullable=False),
        sa.Column("business_id", ID, nullable=False),
        sa.Column("evaluated_run_id", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("open_high", sa.Integer(), nullable=False),
        sa.Column("open_medium", sa.Integer(), nullable=False),
        sa.Column("open_low", sa.Integer(), nullable=False),
        sa.Column("cleared_week", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("summary_as_of", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _business("hygiene_state"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hygiene_state")),
        sa.UniqueConstraint("business_id", name=op.f("uq_hygiene_state_business_id")),
    )


def downgrade() -> None:
    op.drop_table("hygiene_state")
    with op.batch_alter_table("hygiene_fixes", schema=None) as batch_op:
        batch_op.drop_index("ix_hygiene_fixes_business_created")
    op.drop_table("hygiene_fixes")
    op.drop_table("hygiene_issues")
    op.drop_table("hygiene_snoozes")
    op.drop_table("hygiene_dismissals")
