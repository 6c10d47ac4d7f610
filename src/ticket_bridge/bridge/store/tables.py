"""The state store's schema. Migrations in ``migrations/versions`` create exactly this (a test compares them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused by the store")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

links = sa.Table(
    "links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("origin", sa.String(100), nullable=False),
    sa.Column("canonical", sa.JSON, nullable=False),
    sa.Column("state", sa.String(10), nullable=False, server_default="active"),
    sa.Column("reason", sa.Text),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("retry_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

refs = sa.Table(
    "refs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("link_id", sa.Integer, sa.ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    sa.Column("tracker", sa.String(100), nullable=False),
    sa.Column("native_id", sa.String(200), nullable=False),
    sa.Column("base", sa.JSON, nullable=False),
    sa.Column("remote_updated", UtcDateTime),
    sa.Column("native_kind", sa.Text),
    sa.UniqueConstraint("tracker", "native_id"),
    sa.UniqueConstraint("link_id", "tracker"),
)

create_attempts = sa.Table(
    "create_attempts",
    metadata,
    sa.Column("link_id", sa.Integer, sa.ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    sa.Column("tracker", sa.String(100), nullable=False),
    sa.Column("attempted_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("link_id", "tracker"),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("link_id", sa.Integer, sa.ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("origin_tracker", sa.String(100), nullable=False),
    sa.Column("origin_id", sa.String(200), nullable=False),
    sa.Column("author_name", sa.String(300), nullable=False),
    sa.Column("author_email", sa.String(300)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("visibility", sa.String(10), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("link_id", "key"),
)

comment_refs = sa.Table(
    "comment_refs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("link_id", sa.Integer, sa.ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("tracker", sa.String(100), nullable=False),
    sa.Column("native_id", sa.String(200)),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("digest", sa.String(64)),
    sa.UniqueConstraint("link_id", "key", "tracker"),
    sa.Index("ix_comment_refs_tracker_native_id", "tracker", "native_id"),
)

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("tracker", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tracker", sa.String(100), nullable=False),
    sa.Column("delivery_id", sa.String(300), nullable=False),
    sa.Column("ticket_id", sa.String(200), nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("done_at", UtcDateTime),
    sa.Column("scope", sa.String(10)),
    sa.UniqueConstraint("tracker", "delivery_id"),
    sa.Index("ix_inbox_done_at", "done_at"),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("link_id", sa.Integer, sa.ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    sa.Column("field", sa.String(50), nullable=False),
    sa.Column("source", sa.String(100)),
    sa.Column("target", sa.String(100)),
    sa.Column("old", sa.JSON),
    sa.Column("new", sa.JSON),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_audit_link_id", "link_id"),
)

conflicts = sa.Table(
    "conflicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("link_id", sa.Integer, sa.ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    sa.Column("field", sa.String(50), nullable=False),
    sa.Column("candidates", sa.JSON, nullable=False),
    sa.Column("winner", sa.String(100), nullable=False),
    sa.Column("policy", sa.String(100), nullable=False),
    sa.Column("resolved_at", UtcDateTime),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("link_id", sa.Integer, sa.ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("settled_at", UtcDateTime),
    sa.Column("outcome", sa.String(10)),
)

backfills = sa.Table(
    "backfills",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("signature", sa.String(64), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("cursor", sa.Text),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime),
    sa.Index("ix_backfills_signature", "signature"),
)
