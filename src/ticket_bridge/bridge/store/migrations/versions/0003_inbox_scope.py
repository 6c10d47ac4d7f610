"""What of its ticket each delivery says changed (fields, comments, or all), so a worker reads
only that. Rows stored before say nothing, which reads as all.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbox", sa.Column("scope", sa.String(10)))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("scope")
