"""A campaign on a virtual clock: the real engine, a temporary store, notices captured.

The clock never polls: it asks when anything is next due (the earliest `next_action_at`,
pending signal or summary) and jumps there. Signals from the file are recorded up front,
each applied by the first tick at or after its instant, exactly as live signals are. The
instances and pending signals are read from the store once and kept in memory between the
ticks (`cascade.engine.resident`); every tick writes its events and outbox rows as a live
tick does, the changed instances are written once a batch, and the store is left as ticks
reading it leave it (tests/test_resident.py).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pendulum
from sqlalchemy import Engine, select
from sqlalchemy.exc import DatabaseError

from cascade import collector
from cascade.engine import faults, store
from cascade.engine.deploy import deploy
from cascade.engine.early import Early
from cascade.engine.faults import StoreFault
from cascade.engine.resident import Resident
from cascade.engine.signals import Signal, record
from cascade.engine.tick import next_due_in, tick_in
from cascade.i18n import _
from cascade.plan.model import Plan

# the most work one commit of a simulation holds (a kill redoes at most this): an instance changed
# by several ticks of a batch is written once, the store checkpoints once a batch. At national
# scale 8 s against 2 s: the ticks 8% faster (30 s: 14%); what a batch holds in memory
# meanwhile is bounded (resident.HELD_ROWS)
BATCH_SECONDS = 8.0


@dataclass
class Simulation:
    campaign: str
    ticks: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    engine: Engine | None = None
    folder: Path | None = None  # the temporary store's folder, when simulate() made one
    early: tuple[Early, ...] = ()  # the file's signals dated before their work opened, as an import says

    def discard(self) -> None:
        """Drop the temporary store (the caller has read what it needs from it)."""
        if self.engine is not None:
            self.engine.dispose()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def simulate(
    plan: Plan,
    source: str,
    signals: list[Signal],
    until: pendulum.DateTime,
    engine: Engine | None = None,
    on_tick: Callable[[pendulum.DateTime], None] | None = None,
    signals_file: str = "signals",
) -> Simulation:
    """Run the campaign from its issue to `until` on `engine` (default: a fresh temporary SQLite store)."""
    with collector.paused():  # the ticks make no cycles (tests/test_resident.py)
        return _simulate(plan, source, signals, until, engine, on_tick, signals_file)


def _simulate(
    plan: Plan,
    source: str,
    signals: list[Signal],
    until: pendulum.DateTime,
    engine: Engine | None,
    on_tick: Callable[[pendulum.DateTime], None] | None,
    signals_file: str,
) -> Simulation:
    if engine is not None:
        return _run(plan, source, signals, until, engine, on_tick, signals_file)
    folder = _temporary_folder()
    try:
        engine = store.open_store(f"sqlite:///{folder / 'simulation.db'}", durable=False)
        result = _run(plan, source, signals, until, engine, on_tick, signals_file)
    except BaseException as error:  # refused signals, a full disk, Ctrl-C: the store goes too
        fault = _temporary_store_fault(error, folder)  # (its disk looked at while the store is there)
        if engine is not None:
            engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
        if fault is not None:
            raise fault from None
        raise
    result.folder = folder
    return result


def _run(
    plan: Plan,
    source: str,
    signals: list[Signal],
    until: pendulum.DateTime,
    engine: Engine,
    on_tick: Callable[[pendulum.DateTime], None] | None,
    signals_file: str,
) -> Simulation:
    start = plan.campaign.issued_at
    deploy(engine, plan, source, start)
    result = Simulation(plan.campaign.id, engine=engine)
    if signals:  # told as an import of the file would be (a nation's: 0.6-0.7 s, ~1% of its run)
        told = record(
            engine, plan.campaign.id, signals, "simulation", start, signals_file, allow_future=True, tell=True
        )
        result.early = told.early
    run_until(engine, plan.campaign.id, plan.campaign.timezone, until, result, on_tick)
    return result


def _temporary_folder() -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix="cascade-sim-"))
    except OSError as error:
        raise _temporary_store_fault(error, Path(tempfile.gettempdir())) or error from None


def _temporary_store_fault(error: BaseException, folder: Path) -> StoreFault | None:
    """What to tell the operator when the simulation's own store failed (it is never the
    operator's store, which a simulation does not touch), or None for any other failure."""
    if isinstance(error, DatabaseError):  # locked, damaged, full: named as the store it is
        error = StoreFault.of(error, f"sqlite:///{folder / 'simulation.db'}")
    if faults.is_full(error):
        return StoreFault(
            _(
                "the disk of the simulation's temporary store ({folder}) is full; the store was "
                "deleted. Free space there, or set TMPDIR to a folder on a disk with more room (a "
                "simulation takes about 70 MB for every 100,000 events), then run the command again",
                folder=folder.parent if folder.name.startswith("cascade-sim-") else folder,
            )
        )
    return error if isinstance(error, StoreFault) else None


def run_until(
    engine: Engine,
    campaign: str,
    tz: str,
    until: pendulum.DateTime,
    result: Simulation,
    on_tick: Callable[[pendulum.DateTime], None] | None = None,
    batch_seconds: float = BATCH_SECONDS,
) -> None:
    """Tick at every due instant up to `until` (resumable: it continues from the store's state).

    Consecutive ticks share a transaction for up to `batch_seconds` of work (at least one
    tick; 0: a commit a tick): a tick is still whole or absent (the commit falls between
    ticks), a killed simulation resumes from the last commit and redoes the same ticks, and
    the store writes each page once per batch instead of once per tick."""
    limit = int(until.timestamp())
    last = _last_tick(engine, campaign)  # the clock never goes back, also across a restart
    with engine.connect() as conn:
        resident = Resident(conn, campaign)  # the store's instances and pending signals, read once
    finished = False
    while not finished:
        with engine.begin() as conn:
            started = time.monotonic()
            while True:
                due = next_due_in(conn, campaign, resident)
                if due is None or due > limit:
                    finished = True
                    break
                last = max(due, last)
                now = pendulum.from_timestamp(last, tz=tz)
                outcome = tick_in(conn, campaign, now, resident)
                result.ticks += 1
                result.counts.update(outcome.counts)
                if on_tick:
                    on_tick(now)
                if time.monotonic() - started >= batch_seconds:
                    break
            resident.flush(conn)  # the batch commits the instances its ticks changed


def _last_tick(engine: Engine, campaign: str) -> int:
    t = store.ticks
    with engine.connect() as conn:
        last = conn.execute(
            select(t.c.now).where(t.c.campaign_id == campaign).order_by(t.c.id.desc()).limit(1)
        ).scalar()
    return int(last or 0)
