"""Alembic's environment: always online, on the connection the store hands over (``config.attributes``), inside
the transaction the store opened (so a migration is all or nothing, and two processes never run one at once)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, version_table=context.config.attributes["version_table"])
with context.begin_transaction():
    context.run_migrations()
