"""Alembic environment: runs migrations on the connection fleetcast hands over."""

from __future__ import annotations

from alembic import context

from fleetcast.store.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("fleetcast migrations run through fleetcast.store.db.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
