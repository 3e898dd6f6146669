"""API keys remember when they were last used (for the active-users gauge).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import synthdata.service.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("last_used_at", synthdata.service.core.db.UTCDateTime(), nullable=True)
        )
        batch.create_index("ix_api_keys_last_used_at", ["last_used_at"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_last_used_at")
        batch.drop_column("last_used_at")
