"""The first tables: links, refs with their bases, comment map, cursors, inbox, audit, conflicts, dead letters.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("origin", sa.String(100), nullable=False),
        sa.Column("canonical", sa.JSON, nullable=False),
        sa.Column("state", sa.String(10), nullable=False, server_default="active"),
        sa.Column("reason", sa.Text),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("retry_at", Stamp),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_links"),
        sa.UniqueConstraint("key", name="uq_links_key"),
    )
    op.create_table(
        "refs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("link_id", sa.Integer, nullable=False),
        sa.Column("tracker", sa.String(100), nullable=False),
        sa.Column("native_id", sa.String(200), nullable=False),
        sa.Column("base", sa.JSON, nullable=False),
        sa.Column("remote_updated", Stamp),
        sa.PrimaryKeyConstraint("id", name="pk_refs"),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name="fk_refs_link_id_links", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("tracker", "native_id", name="uq_refs_tracker_native_id"),
        sa.UniqueConstraint("link_id", "tracker", name="uq_refs_link_id_tracker"),
    )
    op.create_table(
        "create_attempts",
        sa.Column("link_id", sa.Integer, nullable=False),
        sa.Column("tracker", sa.String(100), nullable=False),
        sa.Column("attempted_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("link_id", "tracker", name="pk_create_attempts"),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name="fk_create_attempts_link_id_links", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("link_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("origin_tracker", sa.String(100), nullable=False),
        sa.Column("origin_id", sa.String(200), nullable=False),
        sa.Column("author_name", sa.String(300), nullable=False),
        sa.Column("author_email", sa.String(300)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("visibility", sa.String(10), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name="fk_comments_link_id_links", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("link_id", "key", name="uq_comments_link_id_key"),
    )
    op.create_table(
        "comment_refs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("link_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("tracker", sa.String(100), nullable=False),
        sa.Column("native_id", sa.String(200)),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("digest", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_comment_refs"),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name="fk_comment_refs_link_id_links", ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "link_id", "key", "tracker", name="uq_comment_refs_link_id_key_tracker"
        ),
    )
    op.create_index("ix_comment_refs_tracker_native_id", "comment_refs", ["tracker", "native_id"])
    op.create_table(
        "cursors",
        sa.Column("tracker", sa.String(100), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("tracker", name="pk_cursors"),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tracker", sa.String(100), nullable=False),
        sa.Column("delivery_id", sa.String(300), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("received_at", Stamp, nullable=False),
        sa.Column("done_at", Stamp),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("tracker", "delivery_id", name="uq_inbox_tracker_delivery_id"),
    )
    op.create_index("ix_inbox_done_at", "inbox", ["done_at"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("link_id", sa.Integer, nullable=False),
        sa.Column("field", sa.String(50), nullable=False),
        sa.Column("source", sa.String(100)),
        sa.Column("target", sa.String(100)),
        sa.Column("old", sa.JSON),
        sa.Column("new", sa.JSON),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name="fk_audit_link_id_links", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_audit_link_id", "audit", ["link_id"])
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("link_id", sa.Integer, nullable=False),
        sa.Column("field", sa.String(50), nullable=False),
        sa.Column("candidates", sa.JSON, nullable=False),
        sa.Column("winner", sa.String(100), nullable=False),
        sa.Column("policy", sa.String(100), nullable=False),
        sa.Column("resolved_at", Stamp),
        sa.PrimaryKeyConstraint("id", name="pk_conflicts"),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name="fk_conflicts_link_id_links", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("link_id", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("settled_at", Stamp),
        sa.Column("outcome", sa.String(10)),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name="fk_dead_letters_link_id_links", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    for table in (
        "dead_letters",
        "conflicts",
        "audit",
        "inbox",
        "cursors",
        "comment_refs",
        "comments",
        "create_attempts",
        "refs",
        "links",
    ):
        op.drop_table(table)
