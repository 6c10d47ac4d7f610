"""Backfill checkpoints: what a backfill was asked, how far its backlog got, what it did so far.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "backfills",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("cursor", sa.Text),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("started_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("finished_at", Stamp),
        sa.PrimaryKeyConstraint("id", name="pk_backfills"),
    )
    op.create_index("ix_backfills_signature", "backfills", ["signature"])


def downgrade() -> None:
    op.drop_index("ix_backfills_signature", table_name="backfills")
    op.drop_table("backfills")
