"""decisions item index: find an item's current decision without scanning the business's decisions

The partial unique index (WHERE is_current) keeps one current decision per item, but SQLite uses a partial
index only when the query repeats its WHERE term word for word, which `is_current IS 1` does not; every
keypress looked up its item by scanning the business's decisions.

Revision ID: x3a1c0de0008
Revises: w2a1c0de0007
Create Date: 2026-11-27 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "x3a1c0de0008"
down_revision: str | None = "w2a1c0de0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_decisions_item", "decisions", ["business_id", "entity_type", "qbo_id"])


def downgrade() -> None:
    op.drop_index("ix_decisions_item", table_name="decisions")
