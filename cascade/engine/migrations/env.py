"""Alembic environment: runs on the connection `cascade.engine.store.open_store` passes in."""

from alembic import context

from cascade.engine.store import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through cascade.engine.store.open_store(url)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
