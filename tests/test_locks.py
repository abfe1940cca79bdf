"""The campaign lock: a second tick of a campaign says who holds it, waits a bounded time and
gives up; the holder's note is visible while it ticks and gone after; a dead holder's note is
told apart from a live one (PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, select

from cascade.engine import locks, store
from cascade.engine.deploy import deploy
from cascade.engine.tick import tick_in
from tests.conftest import compile_text
from tests.test_summary import TASKS, at


def deployed(engine: Engine) -> None:
    deploy(engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))


def test_the_holder_is_noted_while_it_ticks_and_removed_after(store_engine: Engine) -> None:
    deployed(store_engine)
    me = locks.me("flow run first (1)")
    with locks.ticking(store_engine, "test-campaign", me) as conn:
        tick_in(conn, "test-campaign", at("2020-11-11 08:00"))
        note = locks.read_note(store_engine, "test-campaign")
        assert note is not None and note.run == "flow run first (1)" and note.pid == me.pid
        if store_engine.dialect.name == "postgresql":
            held = locks.holder(store_engine, "test-campaign")
            assert held is not None and held.alive is True
    assert locks.read_note(store_engine, "test-campaign") is None


def test_a_failed_tick_removes_its_note_and_writes_nothing(store_engine: Engine) -> None:
    deployed(store_engine)
    with pytest.raises(RuntimeError), locks.ticking(store_engine, "test-campaign", locks.me("x")) as conn:
        tick_in(conn, "test-campaign", at("2020-11-11 08:00"))
        raise RuntimeError("the process fails mid-tick")
    assert locks.read_note(store_engine, "test-campaign") is None
    with store_engine.connect() as conn:
        assert conn.execute(store.ticks.select()).first() is None  # the tick rolled back whole


def test_a_second_tick_says_who_holds_the_campaign_and_gives_up_after_its_wait(
    postgres_engine: Engine,
) -> None:
    """PostgreSQL only: SQLite has no row locks (its writers queue on the database's busy timeout)."""
    store_engine = postgres_engine
    deployed(store_engine)
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with locks.ticking(store_engine, "test-campaign", locks.me("flow run first (1)")) as conn:
            tick_in(conn, "test-campaign", at("2020-11-11 08:00"))
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(30)
    told: list[locks.Holder | None] = []
    started = time.monotonic()
    second = locks.me("flow run second (2)")
    with (
        pytest.raises(locks.Busy) as busy,
        locks.ticking(store_engine, "test-campaign", second, 1.0, told.append),
    ):
        pytest.fail("the second tick got the lock while the first held it")
    waited = time.monotonic() - started
    release.set()
    thread.join()
    [holder] = told
    assert holder is not None and holder.run == "flow run first (1)"
    assert "flow run first (1)" in str(busy.value) and "gave up after waiting" in str(busy.value)
    assert 0.9 <= waited < 10
    # once the first is done the second gets it at once, and only its own note is left behind
    with locks.ticking(store_engine, "test-campaign", locks.me("flow run third (3)"), 1.0) as conn:
        assert tick_in(conn, "test-campaign", at("2020-11-12 08:00")) is not None
    assert locks.read_note(store_engine, "test-campaign") is None


def test_a_note_left_by_a_dead_holder_is_told_apart(postgres_engine: Engine) -> None:
    """PostgreSQL only: there a NOWAIT probe tells whether the row is locked."""
    store_engine = postgres_engine
    deployed(store_engine)
    dead = locks.me("flow run dead (4)")
    with store_engine.begin() as conn:  # a process that wrote its note and was killed
        conn.execute(
            store.tick_holders.insert().values(
                campaign_id="test-campaign",
                run=dead.run,
                host=dead.host,
                pid=dead.pid,
                since=dead.since,
                token="t",
            )
        )
    held = locks.holder(store_engine, "test-campaign")
    assert held is not None and held.run == dead.run and held.alive is False


def test_a_deploy_during_a_tick_keeps_what_the_tick_did(store_engine: Engine) -> None:
    """A redeploy read the instances while `cascade serve`'s tick was applying a completion, then
    waited for the tick's lock and wrote them back as it had read them: Xã C's conference, done
    in the tick, was open again, its signal spent (applied) and never applied again. A deploy
    (and a decision) now takes the campaign's lock before it reads."""
    from cascade.engine.signals import Signal, record

    deployed(store_engine)
    with locks.ticking(store_engine, "test-campaign", locks.me("first")) as conn:
        tick_in(conn, "test-campaign", at("2020-12-05 09:00"))
    done = Signal("x-c", "hn-co-so", at("2020-12-05 10:00"), {"attendees": 44, "members": 50})
    record(store_engine, "test-campaign", [done], "cli", at("2020-12-05 10:00"))
    holding, release = threading.Event(), threading.Event()

    def ticking() -> None:
        with locks.ticking(store_engine, "test-campaign", locks.me("the scheduler's tick")) as conn:
            tick_in(conn, "test-campaign", at("2020-12-05 10:05"))  # applies Xã C's completion
            holding.set()
            release.wait(30)  # (its commit comes while the deploy is under way)

    later = compile_text(TASKS.replace("due: {before: 15/12/2020}", "due: {before: 31/12/2020}"))
    thread = threading.Thread(target=ticking)
    thread.start()
    assert holding.wait(30)
    deploying = threading.Thread(target=deploy, args=(store_engine, later, "v2", at("2020-12-05 10:06")))
    deploying.start()
    time.sleep(1.0)  # the deploy reads, and waits to write
    release.set()
    thread.join()
    deploying.join(60)
    assert not deploying.is_alive()
    i = store.instances.c
    with store_engine.connect() as conn:
        state = conn.execute(
            select(i.state, i.done_at, i.deadline).where(i.unit_id == "x-c", i.task_id == "hn-co-so")
        ).one()
    assert state.state == "done" and state.done_at == int(at("2020-12-05 10:00").timestamp()), state
    assert state.deadline == int(at("2020-12-31 00:00").timestamp())  # and the deploy's change kept
