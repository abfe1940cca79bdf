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


def test_bulk_writes_keep_order_nulls_figures_and_the_last_row_of_a_key(store_engine: Engine) -> None:
    """The tick's bulk writes (`cascade.engine.bulk`): an executemany on SQLite, one statement of
    a column's values as an array on PostgreSQL. Rows land in the order given (their ids follow
    it), NULLs, flags, figures in JSON (quotes, backslashes, Vietnamese) and large instants come
    back as written, a column of NULLs only included; an update naming a row twice leaves the
    last of its two."""
    from sqlalchemy import select

    from cascade.engine import bulk

    figures = {"ghi chú": 'Đảng bộ "xã" \\ Cẩm Xuyên', "n": 450, "rate": 0.8571, "none": None}
    events = [
        ("c", 1, 1_783_000_000 + n, "task.opened", None if n % 3 == 0 else "t", f"u{n}", bulk.dumps(figures))
        for n in range(2_500)
    ]
    instances = [
        ("c", "t", f"u{n}", "task", "held", "prerequisite", None, "t0", f"p{n}", None, None, None, None,
         bulk.dumps(figures) if n % 2 else None, 0, None, None, n % 5 == 0, None)
        for n in range(10)
    ]  # fmt: skip
    names = (
        "campaign_id", "task_id", "unit_id", "kind", "state", "opens_on", "open_at", "prereq_task",
        "prereq_unit", "opened_at", "deadline", "done_at", "next_reminder_at", "fields", "stage",
        "next_escalation_at", "next_action_at", "archived", "tick",
    )  # fmt: skip
    with store_engine.begin() as conn:
        bulk.insert_rows(
            conn, store.events, ("campaign_id", "tick", "at", "kind", "task_id", "unit_id", "data"), events
        )
        bulk.insert_rows(conn, store.instances, names, instances)
        ids = conn.execute(select(store.instances.c.id).order_by(store.instances.c.id)).scalars().all()
        bulk.update_rows(
            conn,
            store.instances,
            ("state", "next_action_at", "fields"),
            "id",
            [("open", 1_783_000_000, None, ids[0]), ("done", None, bulk.dumps({"x": 1}), ids[1]),
             ("overdue", 9_000_000_000, bulk.dumps([]), ids[0])],
        )  # fmt: skip
    e, i = store.events.c, store.instances.c
    with store_engine.connect() as conn:
        stored = conn.execute(select(e.at, e.task_id, e.unit_id, e.data).order_by(e.id)).all()
        rows = conn.execute(
            select(i.unit_id, i.state, i.next_action_at, i.fields, i.archived).order_by(i.id)
        ).all()
    assert [(at, task, unit) for at, task, unit, _ in stored] == [(ev[2], ev[4], ev[5]) for ev in events]
    assert all(data == figures for *_, data in stored)
    assert rows[0] == ("u0", "overdue", 9_000_000_000, [], True)  # the last row of its two
    assert rows[1] == ("u1", "done", None, {"x": 1}, False)
    assert rows[2:] == [(f"u{n}", "held", None, figures if n % 2 else None, n % 5 == 0) for n in range(2, 10)]


def test_a_bulk_insert_refused_by_the_store_is_the_store_error_and_writes_nothing(
    store_engine: Engine,
) -> None:
    """PostgreSQL's bulk inserts go by COPY, outside SQLAlchemy's statements: a row the store
    refuses still raises SQLAlchemy's error (what the commands and the web tell the operator),
    and the transaction leaves nothing behind."""
    import pytest
    from sqlalchemy import func, select
    from sqlalchemy.exc import IntegrityError

    from cascade.engine import bulk

    names = ("campaign_id", "tick", "at", "kind", "task_id", "unit_id", "data")
    rows = [
        ("c", 1, 1_783_000_000 + n, None if n == 700 else "task.opened", "t", f"u{n}", "{}")
        for n in range(1_000)
    ]
    with pytest.raises(IntegrityError), store_engine.begin() as conn:
        bulk.insert_rows(conn, store.events, names, rows[:10])
        bulk.insert_rows(conn, store.events, names, rows)  # row 700 has no kind
    with store_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(store.events)).scalar_one() == 0
        bulk.insert_rows(conn, store.events, names, rows[:3])  # the connection still works
        assert conn.execute(select(func.count()).select_from(store.events)).scalar_one() == 3
        conn.rollback()


def test_a_postgresql_restart_costs_no_tick_and_no_request(postgres_engine: Engine) -> None:
    """The server restarted (maintenance, a fail-over) while `cascade serve` held pooled
    connections: the next tick, and the web's next read, each took a dead connection from the
    pool and failed ("server closed the connection unexpectedly"); now each connection is
    checked as it is taken, and a dead one replaced."""
    import pendulum
    from sqlalchemy import create_engine, func, select, text

    from cascade.engine.deploy import deploy
    from cascade.engine.tick import tick
    from tests.conftest import compile_text

    issued = pendulum.datetime(2020, 11, 10, 8, tz="Asia/Ho_Chi_Minh")
    tasks = "tasks:\n  - {id: hn-tinh, title: Hội nghị tỉnh, level: province, due: {before: 20/11/2020}}\n"
    deploy(postgres_engine, compile_text(tasks), "source", issued)
    for _ in range(2):  # the pool holds open connections, as a server's does between ticks
        with postgres_engine.connect() as conn:
            conn.execute(select(1))
    admin = create_engine(postgres_engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # what a restart does to every session of the database
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    admin.dispose()
    assert ended >= 1
    tick(postgres_engine, "test-campaign", issued.add(days=1))
    with postgres_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(store.events)).scalar_one() > 0


def test_recording_a_signal_reads_the_instances_it_names_by_their_index(store_engine: Engine) -> None:
    """A signal's checks read the states of the instances it names by unit alone, which the
    instances' index (campaign, task, unit) cannot serve: SQLite went through every instance of
    the campaign for each post (32 ms on a national one; the API took 424-476 posts a second
    instead of ~2,000). Each read of the instances is now a search of that index."""
    from typing import Any

    import pendulum
    import pytest
    from sqlalchemy import event

    from cascade.engine.deploy import deploy
    from cascade.engine.signals import Signal, record
    from tests.conftest import compile_text
    from tests.test_summary import TASKS

    if store_engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans from its statistics: an empty table's plan says nothing")
    now = pendulum.datetime(2020, 11, 12, 8, tz="Asia/Ho_Chi_Minh")
    deploy(store_engine, compile_text(TASKS), "source", now)
    sent: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not many and statement.lstrip().upper().startswith("SELECT") and "FROM instances" in statement:
            sent.append((statement, parameters))

    event.listen(store_engine, "before_cursor_execute", keep)
    try:
        record(store_engine, "test-campaign", [Signal("hu-b", "hn-huyen", now, {})], "test", now)
    finally:
        event.remove(store_engine, "before_cursor_execute", keep)
    assert sent
    with store_engine.connect() as conn:
        for statement, parameters in sent:
            found = conn.connection.driver_connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = " ".join(str(row[-1]) for row in found)
            assert "task_id=?" in plan, (statement, plan)  # not `(campaign_id=?)` alone: every instance
