"""Each ref's native kind as last seen (a Zendesk ticket type), so that a write can go to a
ticket the bridge did not read first. Refs from before have none recorded: the next reconcile
reads their ticket.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("refs", sa.Column("native_kind", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("refs") as batch:
        batch.drop_column("native_kind")
