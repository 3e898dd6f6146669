"""Chunks record the size and sha256 of the part they wrote, for the result manifest.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_chunks") as batch:
        batch.add_column(sa.Column("part_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("part_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_chunks") as batch:
        batch.drop_column("part_sha256")
        batch.drop_column("part_bytes")
