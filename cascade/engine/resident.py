"""A simulation's instances and pending signals, kept in memory between its ticks.

A live tick reads what it needs from the store, because the store is shared: signals arrive
from the web, operators amend, workers take turns. A simulation's store is its own and its
thousands of ticks run back to back in one process, so it reads every live instance and
pending signal once, and each tick asks this copy for the rows the store's queries would give
(in the order SQLite gives them): the signals due, the instances of some (task, unit) pairs,
those waiting on a completion, those whose next action has come, and a roll-up's instances.

The rows handed out are the copy's own dicts, not copies of them: the tick changes them in
place, as it changes the rows it reads from the store, and hands those it changed to `take`,
which writes them to the store (`flush`) before the store is read next (by the summary) and
before the commit that ends a batch of ticks: an instance changed by several ticks of a batch
is written once. (Making a fresh dict for every row handed out, and a tuple of every row taken
back, was 6% of a national simulation's ticks; the dicts cost ~60 MiB more than tuples did.)
A tick's reads therefore see its own earlier changes, which the tick's phases already allow
for: each row it changed is in its `rows`, which the later phases look in first. A tick that
fails leaves this copy ahead of the store: the simulation ends with the error. The events,
outbox rows and the rest each tick writes as a live tick does.

Only the whole-campaign phases are served (a tick run level by level, as the Prefect flow
runs it, reads the store).
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from cascade.engine import bulk, store
from cascade.engine import queries as q
from cascade.engine.machine import DONE

Row = dict[str, Any]
KEYS = tuple(column.name for column in q.ROW_COLUMNS)  # a row's columns, as the tick's queries name them
_WRITTEN = operator.itemgetter(*q.WRITTEN_AND_ID)
_SUMMARY = operator.itemgetter("task_id", "unit_id", "kind", "state", "deadline", "done_at", "fields")
# event and outbox rows held before they are inserted (a batch of ticks, simulate.BATCH_SECONDS,
# makes up to ~350,000 at national scale: held whole, they took 21 provinces from 549 to 675 MiB)
HELD_ROWS = 50_000
# an entry of the due heap is one int, next_action_at << _SHIFT | id, in (instant, id) order:
# the heap compares ints instead of tuples (popping a national run's entries: 2.4x faster)
_SHIFT = 40
_MASK = (1 << _SHIFT) - 1


class Pending(NamedTuple):
    """A signal not applied yet, as queries.PENDING_SIGNALS reads it."""

    id: int
    task_id: str
    unit_id: str
    at: int
    fields: Any


class Resident:
    """The live instances of one campaign (dicts of `KEYS`, figures decoded) and its pending
    signals in time order, with the indexes its reads need."""

    def __init__(self, conn: Connection, campaign_id: str) -> None:
        shared: dict[Any, Any] = {}  # one string object for each id, state and path repeated
        self._rows: dict[int, Row] = {}
        self._pairs: dict[tuple[str, str], int] = {}
        self._waiting: dict[tuple[str, str], list[int]] = {}
        self._due: list[int] = []  # (next_action_at, id), see _SHIFT; an older entry of a row stays
        self._dirty: dict[int, int] = {}  # taken, not written yet: the tick that last changed each
        self._events: list[tuple[Any, ...]] = []  # held, not inserted yet (`hold`)
        self._outbox: list[tuple[Any, ...]] = []
        for found in conn.execute(q.ROWS, {"campaign": campaign_id}).fetchall():  # one fetch
            # strict=False: a row is KEYS long by construction, and checking is a third slower
            row = dict(
                zip(KEYS, (v if type(v) is not str else shared.setdefault(v, v) for v in found), strict=False)
            )
            row["fields"] = bulk.loads(row["fields"])  # (SQLite's: text; PostgreSQL's driver decodes it)
            rid = row["id"]
            if rid > _MASK:
                raise OverflowError(f"instance id {rid} is beyond what a simulation's copy indexes")
            self._rows[rid] = row
            self._pairs[(row["task_id"], row["unit_id"])] = rid
            if row["opens_on"] in q.OPENS_ON_COMPLETION:
                self._waiting.setdefault((row["prereq_task"], row["prereq_unit"]), []).append(rid)
            if row["next_action_at"] is not None:
                self._due.append(row["next_action_at"] << _SHIFT | rid)
        heapq.heapify(self._due)
        for ids in self._waiting.values():
            ids.sort()
        i = store.instances.c
        figures = select(i.id, bulk.as_text(i.computed)).where(
            i.campaign_id == campaign_id, i.archived.is_(False), i.computed.is_not(None)
        )
        self._computed: dict[int, Any] = {rid: bulk.loads(text) for rid, text in conn.execute(figures)}
        s = store.signals.c
        pending = (
            select(s.id, s.task_id, s.unit_id, s.at, s.fields)
            .where(s.campaign_id == campaign_id, s.applied_tick.is_(None))
            .order_by(s.at, s.id)
        )
        self._signals = [Pending(*found) for found in conn.execute(pending).fetchall()]
        self._next_signal = 0

    # ---- the tick's reads ---------------------------------------------------------------

    def pending(self, now: int) -> list[Pending]:
        """queries.PENDING_SIGNALS: the signals due by `now`, earliest first (each once: the
        tick marks them applied in the store as it applies them)."""
        start = end = self._next_signal
        while end < len(self._signals) and self._signals[end].at <= now:
            end += 1
        self._next_signal = end
        return self._signals[start:end]

    def by_pairs(self, pairs: Iterable[tuple[str, str]], done: bool = False) -> list[Row]:
        """queries.BY_TASK (DONE_BY_TASK when `done`): the instances of these (task, unit) pairs."""
        out = []
        for pair in dict.fromkeys(pairs):
            rid = self._pairs.get(pair)
            if rid is not None and (not done or self._rows[rid]["state"] in DONE):
                out.append(self._rows[rid])
        return out

    def waiting_on(self, pairs: Iterable[tuple[str, str]]) -> list[Row]:
        """queries.WAITING_ON for the completed (task, unit) pairs: the instances still waiting
        on one of them, by task as first completed, then by unit, then by id."""
        by_task: dict[str, set[str]] = {}
        for task, unit in pairs:
            by_task.setdefault(task, set()).add(unit)
        return [
            self._rows[rid]
            for task, units in by_task.items()
            for unit in sorted(units)
            for rid in self._waiting.get((task, unit), ())
            if self._still_waiting(rid)
        ]

    def waiting(self) -> list[Row]:
        """queries.WAITING_ROWS: every instance still waiting, by prerequisite (none first), then id."""
        order = sorted(
            self._waiting, key=lambda p: (p[0] is not None, p[0] or "", p[1] is not None, p[1] or "")
        )
        return [self._rows[rid] for pair in order for rid in self._waiting[pair] if self._still_waiting(rid)]

    def due(self, now: int) -> list[Row]:
        """queries.DUE_ROWS: the instances whose next action has come, earliest first."""
        out, seen, due, last = [], set(), self._due, now << _SHIFT | _MASK
        while due and due[0] <= last:
            entry = heapq.heappop(due)
            rid = entry & _MASK
            row = self._rows[rid]
            if row["next_action_at"] == entry >> _SHIFT and rid not in seen:  # (else: an older entry)
                seen.add(rid)
                out.append(row)
        return out

    def next_action(self) -> int | None:
        """queries.NEXT_DUE's first column: the earliest next action of any instance."""
        due = self._due
        while due and self._rows[due[0] & _MASK]["next_action_at"] != due[0] >> _SHIFT:
            heapq.heappop(due)
        return due[0] >> _SHIFT if due else None

    def next_signal(self) -> int | None:
        """queries.NEXT_DUE's second column: the earliest pending signal's instant."""
        return self._signals[self._next_signal].at if self._next_signal < len(self._signals) else None

    def rollup_rows(self, tasks: list[str], units: list[str] | None) -> Iterator[tuple[Any, ...]]:
        """A roll-up's read (rollup._ALL_UNITS, _SOME_UNITS): (task, unit, state, figures,
        computed figures) of the tasks' instances of `units` (None: of every unit), the
        figures decoded."""
        if units is None:
            wanted = set(tasks)
            found: Iterable[int] = (rid for rid, values in self._rows.items() if values["task_id"] in wanted)
        else:
            found = (
                rid for unit in units for task in tasks if (rid := self._pairs.get((task, unit))) is not None
            )
        for rid in found:
            row = self._rows[rid]
            yield row["task_id"], row["unit_id"], row["state"], row["fields"], self._computed.get(rid)

    def summary_rows(self) -> Iterator[tuple[Any, ...]]:
        """The summary's read (summary.build_in): (task, unit, kind, state, deadline, done_at,
        figures) of every live instance, the figures decoded."""
        for row in self._rows.values():
            yield _SUMMARY(row)

    # ---- after a tick -------------------------------------------------------------------

    def submitted(self, reports: Iterable[tuple[Row, Any]]) -> None:
        """Submitted reports the tick has taken, with the figures its roll-ups computed from their
        children after (the tick writes them to the store). The figures each report stands behind
        are in its row already: `take` made the tick's row the copy's own."""
        for row, computed in reports:
            self._computed[row["id"]] = computed

    def take(self, rows: Iterable[Row], tick: int) -> None:
        """The instances `tick` changed: kept here, and written to the store by `flush`."""
        for row in rows:
            rid, at = row["id"], row["next_action_at"]
            self._rows[rid] = row
            self._dirty[rid] = tick
            if at is not None:
                heapq.heappush(self._due, at << _SHIFT | rid)

    def hold(self, conn: Connection, events: list[tuple[Any, ...]], outbox: list[tuple[Any, ...]]) -> None:
        """A tick's event and outbox rows, inserted with the batch's others, in order: by `flush`,
        or as soon as HELD_ROWS are held (into the batch's transaction all the same)."""
        self._events += events
        self._outbox += outbox
        if len(self._events) + len(self._outbox) >= HELD_ROWS:
            self._insert(conn)

    def flush(self, conn: Connection) -> None:
        """Write what the ticks since the last flush changed and made: the instances (each once,
        as last taken), the events and outbox rows (in the ticks' order); before anything reads
        the store, and before a batch of ticks commits."""
        self._insert(conn)
        if self._dirty:
            rows, written = self._rows, q.written_values
            q.write_instances(conn, [written(tick, _WRITTEN(rows[rid])) for rid, tick in self._dirty.items()])
            self._dirty.clear()

    # ---- helpers ------------------------------------------------------------------------

    def _insert(self, conn: Connection) -> None:
        if self._events or self._outbox:
            q.insert_events(conn, self._events, self._outbox)
            self._events, self._outbox = [], []

    def _still_waiting(self, rid: int) -> bool:
        row = self._rows[rid]
        return row["opened_at"] is None and row["state"] in q.WAITING_STATES  # queries.WAITING
