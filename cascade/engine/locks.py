"""Who ticks a campaign now: the campaign row's lock, a bounded wait for it, and the holder's note.

A tick holds its campaign's row lock (PostgreSQL `SELECT ... FOR UPDATE`) for its whole
transaction, so two workers never tick one campaign at once; the loser waits. The wait is
told and bounded: a tick that finds the row locked reports the holder (`on_wait`), waits at
most `wait` seconds (`lock_timeout`), and then gives up with `Busy` — the holder's tick is
doing the same work, and the next run catches up whatever it missed.

The holder writes a note (`tick_holders`: which run, on which host and process, since when)
in its own short transaction once it has the lock, and removes it when its tick ends, so that
`cascade status` and a waiting run can say who holds a campaign. A note left by a process that
died is told apart from a live holder by trying the lock (see `holder`).

SQLite serializes writers on its own (a second writer waits up to the busy timeout) and has no
row locks: there the note is written just before the tick's transaction and `wait` is not used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, delete, select, update
from sqlalchemy.exc import OperationalError

from cascade.engine import store
from cascade.i18n import _

_H = store.tick_holders
_C = store.campaigns
_LOCK = select(_C.c.id).where(_C.c.id == bindparam("campaign")).with_for_update()
_LOCK_NOWAIT = select(_C.c.id).where(_C.c.id == bindparam("campaign")).with_for_update(nowait=True)
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: NOWAIT refused, or lock_timeout ran out
_TICKED = update(_C).where(_C.c.id == bindparam("campaign")).values(ticked_at=bindparam("wall"))


@dataclass(frozen=True)
class Holder:
    """A tick that holds (or held) a campaign: `run` says which (a flow run, a command)."""

    run: str
    host: str
    pid: int
    since: int  # wall clock, seconds
    token: str = ""
    alive: bool | None = None  # from `holder`: still holds the lock (None: cannot tell, SQLite)

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return _(
            "{run} on {host} (pid {pid}) since {since}",
            run=self.run,
            host=self.host,
            pid=self.pid,
            since=since,
        )


def me(run: str) -> Holder:
    """This process as a holder, for a tick that starts now."""
    return Holder(run, socket.gethostname(), os.getpid(), int(time.time()), uuid.uuid4().hex)


def _held_by(campaign: str, holder: Holder | None) -> str:
    if holder is None:
        return _("{campaign} is being ticked by another tick", campaign=campaign)
    return _("{campaign} is being ticked by {holder}", campaign=campaign, holder=holder.describe())


def waiting(campaign: str, holder: Holder | None, wait: float) -> str:
    """What a tick that must wait for `holder` says (through `on_wait`) before it waits."""
    return _("{held}; waiting up to {seconds} s for it", held=_held_by(campaign, holder), seconds=round(wait))


class Busy(Exception):
    """The campaign stayed locked by another tick for the whole wait."""

    def __init__(self, campaign: str, holder: Holder | None, waited: float) -> None:
        super().__init__(
            _(
                "{held}; gave up after waiting {seconds} s",
                held=_held_by(campaign, holder),
                seconds=round(waited),
            )
        )
        self.campaign, self.holder, self.waited = campaign, holder, waited


@contextlib.contextmanager
def ticking(
    engine: Engine,
    campaign: str,
    me: Holder,
    wait: float = 120.0,
    on_wait: Callable[[Holder | None], None] | None = None,
) -> Iterator[Connection]:
    """A transaction on `engine` that holds `campaign`'s lock, with this holder's note written
    and the campaign stamped as ticked now (`ticked_at`, the watchdog's heartbeat: a live tick,
    idle or not; committed with the tick, so a failed tick does not count); committed when the
    block ends without an exception. Raises `Busy` after `wait` seconds."""
    postgres = engine.dialect.name == "postgresql"
    if not postgres:
        _write_note(engine, campaign, me)
    try:
        with engine.begin() as conn:
            if postgres:
                _lock(conn, campaign, wait, on_wait)
                _write_note(engine, campaign, me)
            conn.execute(_TICKED, {"campaign": campaign, "wall": int(time.time())})
            yield conn
    finally:
        with engine.begin() as conn:
            conn.execute(delete(_H).where(_H.c.campaign_id == campaign, _H.c.token == me.token))


_HOLD = update(_C).where(_C.c.id == bindparam("campaign")).values(rescan=_C.c.rescan)


def hold(conn: Connection, campaign: str) -> None:
    """Take `campaign`'s lock in the caller's transaction before it reads what it will write
    back (a redeploy, an operator's decision), until it commits: a tick under way ends first,
    and what it wrote is what is read, not written over. PostgreSQL: the campaign row's lock,
    which a tick takes; SQLite: the database's write lock, taken by a write that changes
    nothing (SQLite opens a transaction at the first write, not at a read: the reads before it
    saw the store as it was before a tick that then committed)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"campaign": campaign}).first()
    else:
        conn.execute(_HOLD, {"campaign": campaign})


def _lock(
    conn: Connection, campaign: str, wait: float, on_wait: Callable[[Holder | None], None] | None
) -> None:
    params = {"campaign": campaign}
    try:
        with conn.begin_nested():
            conn.execute(_LOCK_NOWAIT, params).one()
            return
    except OperationalError as exc:
        if _sqlstate(exc) != _LOCK_NOT_AVAILABLE:
            raise
    holder = read_note(conn.engine, campaign)
    if on_wait is not None:
        on_wait(holder)
    started = time.monotonic()
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(wait * 1000))}")
    try:
        with conn.begin_nested():
            conn.execute(_LOCK, params).one()
    except OperationalError as exc:
        if _sqlstate(exc) != _LOCK_NOT_AVAILABLE:
            raise
        raise Busy(campaign, holder, time.monotonic() - started) from None
    finally:
        conn.exec_driver_sql("SET LOCAL lock_timeout = 0")


def _sqlstate(exc: OperationalError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _write_note(engine: Engine, campaign: str, me: Holder) -> None:
    row = {"campaign_id": campaign, "run": me.run, "host": me.host, "pid": me.pid, "since": me.since}
    with engine.begin() as conn:
        conn.execute(delete(_H).where(_H.c.campaign_id == campaign))
        conn.execute(_H.insert().values(**row, token=me.token))


def read_note(engine: Engine, campaign: str) -> Holder | None:
    """The note of the tick that holds (or last held and died holding) `campaign`."""
    with engine.connect() as conn:
        row = conn.execute(select(_H).where(_H.c.campaign_id == campaign)).first()
    return None if row is None else Holder(row.run, row.host, row.pid, row.since, row.token)


def holder(engine: Engine, campaign: str) -> Holder | None:
    """Who ticks `campaign` now, for `cascade status`. On PostgreSQL a note whose lock is free
    (its process died before removing it) comes back with `alive=False`."""
    note = read_note(engine, campaign)
    if note is None or engine.dialect.name != "postgresql":
        return note
    with engine.connect() as conn, conn.begin():
        try:
            conn.execute(_LOCK_NOWAIT, {"campaign": campaign}).first()
            alive = False
        except OperationalError as exc:
            if _sqlstate(exc) != _LOCK_NOT_AVAILABLE:
                raise
            alive = True
        conn.rollback()
    return dataclasses.replace(note, alive=alive)
