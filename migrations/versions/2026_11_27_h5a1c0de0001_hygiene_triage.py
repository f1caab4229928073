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


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
