"""Alembic environment: the store hands over its open connection; nothing is read from alembic.ini."""

from __future__ import annotations

from alembic import context

from ticket_bridge.bridge.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
