"""The store's schema as the migrations build it is the schema the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from cascade.engine import store


def test_the_migrations_build_exactly_the_declared_tables(store_engine: Engine) -> None:
    with store_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, store.metadata)
    # alembic's own bookkeeping table is not declared; anything else is a migration missing
    assert [d for d in differences if not (d[0] == "remove_table" and d[1].name == "alembic_version")] == []
