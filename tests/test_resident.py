"""A simulation keeps its instances and pending signals in memory between its ticks
(`cascade.engine.resident`) instead of reading them from the store at every tick. It must leave
exactly the store that ticks reading the store leave: every event, outbox row, instance and
applied signal, in the same order."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pendulum
import pytest
from sqlalchemy import Engine, select

from cascade.compile.files import load_plan
from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.signal_files import load_signals
from cascade.engine.signals import record
from cascade.engine.simulate import Simulation, run_until
from cascade.engine.tick import next_due_in, tick_in
from cascade.plan.model import Plan

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from gen_five_levels import generate


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Path]:
    """One province of the five-level national shape: 1,062 units, prerequisites at the parent,
    `after:` deadlines, a report rolled up over four levels, late, early and missing signals."""
    campaign_file, _units, signals_file = generate(1, tmp_path_factory.mktemp("five-levels"))
    return load_plan(campaign_file), signals_file


def _store(plan: Plan, signals_file: Path, folder: Path, engine: Engine | None = None) -> Engine:
    if engine is None:
        engine = store.open_store(f"sqlite:///{folder / 'store.db'}", durable=False)
    issued = plan.campaign.issued_at
    deploy(engine, plan, "source", issued)
    signals = load_signals(signals_file, plan.campaign.timezone)
    record(engine, plan.campaign.id, signals, "simulation", issued, file="signals", allow_future=True)
    return engine


def _tick_by_tick(engine: Engine, campaign: str, tz: str, until: pendulum.DateTime) -> int:
    """The simulation's clock, every tick reading the store (as a live tick does)."""
    last, ticks = 0, 0
    while True:
        with engine.begin() as conn:
            due = next_due_in(conn, campaign)
            if due is None or due > until.timestamp():
                return ticks
            last = max(due, last)
            tick_in(conn, campaign, pendulum.from_timestamp(last, tz=tz))
            ticks += 1


def _contents(engine: Engine) -> dict[str, list[Any]]:
    tables = (store.events, store.outbox, store.instances, store.signals, store.ticks)
    with engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]
            for table in tables
        }


@pytest.fixture(scope="module")
def reference(
    campaign: tuple[Plan, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, dict[str, list[Any]]]:
    """What ticks reading the store (SQLite) leave: how many ran, and every row of the store."""
    plan, signals_file = campaign
    read = _store(plan, signals_file, tmp_path_factory.mktemp("read"))
    until = plan.campaign.summary_at.add(days=14)
    ticks = _tick_by_tick(read, plan.campaign.id, plan.campaign.timezone, until)
    contents = _contents(read)
    read.dispose()
    return ticks, contents


def _assert_leaves(reference: tuple[int, dict[str, list[Any]]], engine: Engine, ticks: int) -> None:
    expected_ticks, expected = reference
    assert ticks == expected_ticks > 100
    assert len(expected["events"]) > 10_000 and len(expected["outbox"]) > 5_000
    found = _contents(engine)
    for name in expected:
        assert found[name] == expected[name], name


@pytest.mark.parametrize("held", [None, 1_000])
def test_a_simulation_in_memory_leaves_the_store_ticks_reading_the_store_leave(
    campaign: tuple[Plan, Path],
    reference: tuple[int, dict[str, list[Any]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    held: int | None,
) -> None:
    """Also with the event and outbox rows inserted as soon as `held` are held (within a batch)."""
    import cascade.engine.resident

    if held is not None:
        monkeypatch.setattr(cascade.engine.resident, "HELD_ROWS", held)
    plan, signals_file = campaign
    resident = _store(plan, signals_file, tmp_path)
    result = Simulation(plan.campaign.id)
    run_until(
        resident, plan.campaign.id, plan.campaign.timezone, plan.campaign.summary_at.add(days=14), result
    )
    _assert_leaves(reference, resident, result.ticks)


def test_on_postgresql_the_copy_in_memory_leaves_what_sqlite_ticks_reading_the_store_leave(
    campaign: tuple[Plan, Path],
    reference: tuple[int, dict[str, list[Any]]],
    tmp_path: Path,
    postgres_engine: Engine,
) -> None:
    """PostgreSQL's driver hands JSON over decoded (SQLite's store gives text): the copy keeps
    both as decoded figures, and the store it leaves is row for row the one above. Run in two
    legs, as a simulation resumed halfway: the second copy reads the figures the first wrote."""
    plan, signals_file = campaign
    cid, tz = plan.campaign.id, plan.campaign.timezone
    until = plan.campaign.summary_at.add(days=14)
    resident = _store(plan, signals_file, tmp_path, postgres_engine)
    result = Simulation(cid)
    halfway = plan.campaign.issued_at.add(seconds=(until - plan.campaign.issued_at).in_seconds() // 2)
    run_until(resident, cid, tz, halfway, result)
    assert 0 < result.ticks < reference[0]
    run_until(resident, cid, tz, until, result)
    _assert_leaves(reference, resident, result.ticks)


CYCLES = """
import gc, sys
from pathlib import Path
from tests.test_resident import Simulation, _store, load_plan, run_until
plan = load_plan(sys.argv[1])
cid, tz = plan.campaign.id, plan.campaign.timezone
until = plan.campaign.summary_at.add(days=14)
halfway = plan.campaign.issued_at.add(seconds=(until - plan.campaign.issued_at).in_seconds() // 2)
engine = _store(plan, Path(sys.argv[2]), Path(sys.argv[3]))
result = Simulation(cid)
run_until(engine, cid, tz, halfway, result)
ticked = result.ticks
gc.collect()
gc.disable()
gc.set_debug(gc.DEBUG_SAVEALL)
run_until(engine, cid, tz, until, result)
gc.collect()
print(result.ticks - ticked, result.counts["summary.generated"], len(gc.garbage))
print(sorted({type(o).__qualname__ for o in gc.garbage}))
"""


def test_a_simulations_ticks_make_no_reference_cycles(tmp_path: Path) -> None:
    """A simulation runs with the cycle collector off (`cascade.collector.paused`), so whatever
    its ticks put in a reference cycle stays until it ends. The ticks after the first half
    (statements compiled by then), the summary's included, leave nothing to collect. In a
    process of its own: this one's other threads (the Prefect test server) make cycles."""
    import subprocess

    campaign_file, _units, signals_file = generate(1, tmp_path)  # the `campaign` fixture's
    root = Path(__file__).parent.parent
    done = subprocess.run(
        [sys.executable, "-c", CYCLES, str(campaign_file), str(signals_file), str(tmp_path)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    ticks, summaries, garbage = map(int, done.stdout.splitlines()[0].split())
    assert ticks > 100 and summaries == 1
    assert garbage == 0, done.stdout.splitlines()[1]


def test_an_instance_id_the_copy_cannot_index_is_refused(tmp_path: Path) -> None:
    """The copy's due heap packs (instant, id) into one int, ids below 2**40: an id past that
    (a store that has made a trillion instances) is refused, not mixed up with another."""
    from sqlalchemy import update

    from cascade.engine.resident import Resident
    from tests.conftest import compile_text

    plan = compile_text("tasks:\n  - {id: hn, title: Hội nghị, level: province, due: {before: 20/11/2020}}\n")
    engine = store.open_store(f"sqlite:///{tmp_path / 'store.db'}", durable=False)
    deploy(engine, plan, "source", plan.campaign.issued_at)
    with engine.begin() as conn:
        Resident(conn, plan.campaign.id)  # ids from 1: taken
        last = conn.execute(select(store.instances.c.id).order_by(store.instances.c.id.desc())).first()
        assert last is not None
        conn.execute(update(store.instances).values(id=store.instances.c.id + (2**40 - 1 - last.id)))
        Resident(conn, plan.campaign.id)  # the last id the heap can hold
        conn.execute(update(store.instances).values(id=store.instances.c.id + 1))
        with pytest.raises(OverflowError, match="instance id 1099511627776 "):
            Resident(conn, plan.campaign.id)
