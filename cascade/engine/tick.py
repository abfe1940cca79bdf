"""The tick: at instant `now`, everything a campaign's instances are due to do.

One tick is one database transaction, so a crash leaves the store as it was before the
tick or after it, never between. In order:

1. signals whose instant has come complete their instances (late if at or after the
   deadline; a signal before the instance opened counts as done on time);
2. held instances whose prerequisite was just completed open, at the instant of that
   completion; `after:` deadlines are resolved from it;
3. every instance whose indexed `next_action_at` has come advances through its state
   machine: opens at its time, turns overdue at its deadline, sends its next reminder,
   fires its due escalation stages;
4. the summary goes to the top unit once its date has come.

The decisions are `cascade.engine.machine`'s, which never sees the database; this module
reads the rows due (statements in `cascade.engine.queries`), hands them to it, and writes
back the changed instances, the events and the outbox rows. Notices wait out quiet hours
and are written with the events they belong to. A tick with nothing due reads two indexed
rows and writes nothing. A simulation's ticks read the same rows from its copy of the
instances kept in memory (`cascade.engine.resident`), which writes the changed instances
once a batch of ticks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pendulum
from sqlalchemy import Connection, Engine, update

from cascade import collector
from cascade.engine import bulk, deployed, store
from cascade.engine import queries as q
from cascade.engine.deliveries import deliveries
from cascade.engine.deployed import Deployed
from cascade.engine.machine import (
    DONE,
    Machine,
    Notice,
    Reports,
    Row,
    summary_due,
    summary_instant,
    summary_quiet,
)
from cascade.engine.resident import Resident
from cascade.engine.rollup import load_for as load_rollup
from cascade.engine.summary import build_in as build_summary
from cascade.engine.summary import state_counts


@dataclass
class TickResult:
    campaign: str
    now: pendulum.DateTime
    idle: bool
    counts: Counter[str] = field(default_factory=Counter)


class Tick(Machine):
    """A `Machine` on the connection of the tick's transaction: what the phases below read
    and write with."""

    def __init__(
        self,
        conn: Connection,
        campaign: Deployed,
        now: pendulum.DateTime,
        tick_id: int,
        resident: Resident | None = None,
    ) -> None:
        super().__init__(campaign, now, tick_id)
        self.conn = conn
        self.resident = resident  # a simulation's copy of the instances, read instead of the store


# ---- the tick ---------------------------------------------------------------------------------


def tick(engine: Engine, campaign_id: str, now: pendulum.DateTime) -> TickResult:
    """Run one tick of `campaign_id` at `now` in one transaction."""
    with collector.held(), engine.begin() as conn:  # (its commit too)
        return tick_in(conn, campaign_id, now)


def tick_in(
    conn: Connection, campaign_id: str, now: pendulum.DateTime, resident: Resident | None = None
) -> TickResult:
    # a full pass of the collector over a national process's objects, falling inside the tick,
    # made the district wave's tick 0.50 s or 0.75 s by chance (0.47 s held off)
    with collector.held():
        t = begin_tick(conn, campaign_id, now, resident)
        if t is None:
            return TickResult(campaign_id, now, idle=True)
        apply_signals(t)
        open_and_advance(t)
        return finish_tick(t)


# The phases of a tick, for callers that show them one by one (the Prefect flow runs
# `open_and_advance` once per level, top-down). All run on the one connection and
# transaction of `begin_tick`; only the caller's commit makes the tick happen.


def begin_tick(
    conn: Connection, campaign_id: str, now: pendulum.DateTime, resident: Resident | None = None
) -> Tick | None:
    """Start a tick at `now` inside the caller's transaction, or None when nothing is due.
    On PostgreSQL the campaign row is locked: two workers never tick one campaign at once."""
    campaign = deployed.must_read(conn, campaign_id, for_update=True)
    now_s = int(now.timestamp())
    conn.execute(q.CHECKED, {"campaign": campaign_id, "now": now_s})
    if not _anything_due(conn, campaign, now_s, resident):
        return None
    inserted = conn.execute(q.INSERT_TICK, {"campaign": campaign_id, "now": now_s})
    tick_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
    return Tick(conn, campaign, now, tick_id, resident)


def apply_signals(t: Tick) -> None:
    """Phase 1: the signals due, campaign-wide and in time order."""
    t.completed = _apply_signals(t)


def open_and_advance(t: Tick, level: str | None = None) -> None:
    """Phases 2 and 3 for the instances of units at `level` (all when None): open those waiting
    on a completion, then advance the due ones. Levels touch disjoint instances and read only
    phase 1's completions, so running them level by level in any order equals one run."""
    _open_after_prerequisites(t, t.completed, rescan=t.campaign.rescan, level=level)
    for row in _due_rows(t, level):
        t.advance(row)


def finish_tick(t: Tick) -> TickResult:
    """Phase 4: write the changed instances, the summary if due, the events and the outbox."""
    _write_rows(t)
    _rollups(t)
    _summary(t)
    _write(t)
    return TickResult(t.campaign.id, t.now, idle=False, counts=t.counts)


def _anything_due(conn: Connection, campaign: Deployed, now_s: int, resident: Resident | None) -> bool:
    if campaign.archived_at is not None:
        return False
    if campaign.rescan or summary_due(campaign, now_s):
        return True
    if resident is not None:
        return any(at is not None and at <= now_s for at in (resident.next_action(), resident.next_signal()))
    params = {"campaign": campaign.id, "now": now_s}
    return bool(conn.execute(q.ANY_SIGNAL, params).first() or conn.execute(q.ANY_DUE, params).first())


def _select_rows(t: Tick, statement: Any, **params: Any) -> list[Row]:
    result = t.conn.execute(statement, {"campaign": t.campaign.id, **params})
    keys = tuple(result.keys())
    rows = [dict(zip(keys, row, strict=True)) for row in result.fetchall()]  # one fetch, not row by row
    loads = bulk.loads
    for row in rows:
        row["fields"] = loads(row["fields"])
    return rows


def _rows_for_pairs(t: Tick, statement: Any, pairs: Iterable[tuple[str, str]], **params: Any) -> list[Row]:
    """Rows matching one of the (task, unit) `pairs`: one indexed query per task and chunk of
    units (a row-value IN (...) would scan the whole table on SQLite)."""
    by_task: dict[str, list[str]] = {}
    for task, unit in pairs:
        by_task.setdefault(task, []).append(unit)
    rows = []
    for task, units in by_task.items():
        for chunk in bulk.chunked(sorted(set(units))):
            rows += _select_rows(t, statement, task=task, units=chunk, **params)
    return rows


def _apply_signals(t: Tick) -> list[Row]:
    if t.resident is not None:
        pending: Sequence[Any] = t.resident.pending(t.now_s)
    else:
        pending = t.conn.execute(q.PENDING_SIGNALS, {"campaign": t.campaign.id, "now": t.now_s}).all()
    if not pending:
        return []
    # their instances, looked up by (task, unit): a join from the pending signals would be
    # planned by PostgreSQL from statistics a running campaign outdates (a scan of every instance)
    signalled = {(s.task_id, s.unit_id) for s in pending}
    instances = t.resident.by_pairs(signalled) if t.resident else _rows_for_pairs(t, q.BY_TASK, signalled)
    rows = {(r["task_id"], r["unit_id"]): r for r in instances}
    completed: list[Row] = []
    done_at: dict[tuple[str, str], int] = {}
    for signal in pending:  # earliest first: the first completion counts, the rest are kept only
        found = rows.get((signal.task_id, signal.unit_id))
        if found is None or found["state"] in (*DONE, "exempt"):
            continue
        row = found
        _open_before(t, row, signal.at, done_at)
        t.complete(row, signal.at, signal.fields)
        t.rows[row["id"]] = row
        completed.append(row)
        done_at[(row["task_id"], row["unit_id"])] = row["done_at"]
    if t.resident is not None and t.conn.dialect.name == "postgresql":  # (queries.APPLY_SIGNALS_BY_ID)
        for ids in bulk.chunked([signal.id for signal in pending]):
            t.conn.execute(q.APPLY_SIGNALS_BY_ID, {"ids": ids, "tick": t.tick_id})
    else:
        t.conn.execute(q.APPLY_SIGNALS, {"campaign": t.campaign.id, "now": t.now_s, "tick": t.tick_id})
    t.counts["signals"] += len(pending)
    return completed


def _open_before(t: Tick, row: Row, signal_at: int, done_at: dict[tuple[str, str], int]) -> None:
    """Open a held instance first if it opened before its own signal came: at its opening time,
    or when its prerequisite completed earlier in this same batch of signals."""
    if row["state"] != "held" or row["opened_at"] is not None:
        return
    if row["opens_on"] in ("issued", "request") and (row["open_at"] or 0) <= signal_at:
        t.open(row, row["open_at"] or t.campaign.issued_at)
        return
    when = done_at.get((row["prereq_task"], row["prereq_unit"]))
    if when is not None and when <= signal_at:
        t.open_after_prerequisite(row, when)


def _open_after_prerequisites(t: Tick, completed: list[Row], rescan: bool, level: str | None = None) -> None:
    """Instances waiting on a completed instance open at its completion instant (one already
    overdue by then is told it may start, and stays overdue)."""
    pairs = [(r["task_id"], r["unit_id"]) for r in completed]
    held = _held(t, pairs, rescan, level) if rescan or completed else []
    if not held:
        return
    done_at = {(r["task_id"], r["unit_id"]): r["done_at"] for r in completed}
    missing = list({(r["prereq_task"], r["prereq_unit"]) for r in held} - set(done_at))
    resident = t.resident
    done = resident.by_pairs(missing, done=True) if resident else _rows_for_pairs(t, q.DONE_BY_TASK, missing)
    done_at.update({(r["task_id"], r["unit_id"]): r["done_at"] for r in done})
    for row in held:
        if row["id"] in t.rows:
            row = t.rows[row["id"]]
            if row["opened_at"] is not None or row["state"] not in q.WAITING_STATES:
                continue
        when = done_at.get((row["prereq_task"], row["prereq_unit"]))
        if when is None:
            continue
        t.open_after_prerequisite(row, when)
        t.advance(row)


def _held(t: Tick, pairs: list[tuple[str, str]], rescan: bool, level: str | None) -> list[Row]:
    """The instances waiting on one of the completed (task, unit) `pairs` (on a rescan: all
    those waiting), of the units at `level` (None: all)."""
    if t.resident is not None and level is None:
        return t.resident.waiting() if rescan else t.resident.waiting_on(pairs)
    if t.resident is not None:
        t.resident.flush(t.conn)  # a level's rows are read from the store: it holds them all first
    at_level = {} if level is None else {"level": level}
    if rescan:
        return _select_rows(t, q.WAITING_ROWS if level is None else q.WAITING_ROWS_AT, **at_level)
    return _rows_for_pairs(t, q.WAITING_ON if level is None else q.WAITING_ON_AT, pairs, **at_level)


def _due_rows(t: Tick, level: str | None = None) -> list[Row]:
    if level is None and t.resident is not None:
        due = t.resident.due(t.now_s)
    elif level is None:
        due = _select_rows(t, q.DUE_ROWS, now=t.now_s)
    else:
        if t.resident is not None:
            t.resident.flush(t.conn)
        due = _select_rows(t, q.DUE_ROWS_AT, now=t.now_s, level=level)
    return [r for r in due if r["id"] not in t.rows]


def _summary(t: Tick) -> None:
    if not summary_due(t.campaign, t.now_s):
        return
    counts = state_counts(t.conn, t.campaign.id)
    root_path = t.conn.execute(q.ROOT_PATH, {"campaign": t.campaign.id}).scalar_one()
    roles = tuple(
        dict.fromkeys(r for rules in t.rules.values() if rules.kind == "report" for r in rules.notify)
    ) or (tuple(dict.fromkeys(r for rules in t.rules.values() for r in rules.notify)))
    send = int(summary_quiet(t.rules).release(t.now).timestamp())
    root = root_path.split(":", 1)[1]
    ev = t.event("summary.generated", send, {"task_id": None, "unit_id": root}, counts=counts)
    summary = build_summary(t.conn, t.campaign.id, t.now, t.resident)  # this tick's changes are in
    payload = {
        "kind": "summary.generated",
        "counts": counts,
        "narrative": summary.narrative if summary else None,
    }
    t.notices.append(Notice("summary.generated", [root], roles, send, payload, ev))
    t.conn.execute(
        update(store.campaigns).where(store.campaigns.c.id == t.campaign.id).values(summary_sent_at=send)
    )


def _write_rows(t: Tick) -> None:
    """The instances this tick changed, before the roll-ups and the summary count them. A
    simulation's resident copy takes them, serves the roll-ups, and writes them when the store
    is read next (the summary, the end of a batch of ticks): an instance changed by several
    ticks of a batch is written once."""
    if t.resident is None:
        q.write_instances(t.conn, [q.written(t.tick_id, row) for row in t.rows.values()])
        return
    t.resident.take(t.rows.values(), t.tick_id)
    if summary_due(t.campaign, t.now_s):
        t.resident.flush(t.conn)


def _rollups(t: Tick) -> None:
    """Roll-ups for this tick's reports (after its instances are written, so they count):
    a submitted report keeps the figures computed from its children beside the ones it
    reported (missing ones: confirmed as computed); a request carries the unit's computed
    figures, to confirm or correct. One roll-up per report, read as far as these units need."""
    by_report: dict[str, Reports] = {}
    for row, notice in t.reports:
        by_report.setdefault(row["task_id"], []).append((row, notice))
    submitted: list[tuple[Row, dict[str, Any]]] = []  # each submitted report, with its roll-up
    for report_id, rows in by_report.items():
        rules = t.rules[report_id]
        if not rules.rollup:
            continue
        units = [row["unit_id"] for row, _ in rows]
        rollup = load_rollup(t.conn, t.campaign, rules, t.rules, units, t.resident)
        labels = [(f.key, f.label(t.rules), f.kind) for f in rollup.figures]
        for row, notice in rows:
            computed = rollup.computed_of(row["unit_id"])
            if notice is not None:  # (a rate's kind: said as a percentage; a unit with no units below
                # it is asked to confirm its own figures, not theirs)
                figures = [[key, label, computed.get(key), kind] for key, label, kind in labels]
                notice.payload["figures"] = figures
                notice.payload["own"] = not rollup.children.get(row["unit_id"])
                continue
            reported = rollup.reported(row["unit_id"]) or computed
            row["fields"] = {**(row["fields"] or {}), **reported}
            submitted.append((row, computed))
    if submitted:
        updates = [(bulk.dumps(figures), bulk.dumps(row["fields"]), row["id"]) for row, figures in submitted]
        bulk.update_rows(t.conn, store.instances, ("computed", "fields"), "id", updates)
        if t.resident is not None:
            t.resident.submitted(submitted)


def _write(t: Tick) -> None:
    """Events, outbox rows and the tick record."""
    write_events(t)
    if t.campaign.rescan:
        t.conn.execute(
            update(store.campaigns).where(store.campaigns.c.id == t.campaign.id).values(rescan=False)
        )


def write_events(t: Tick) -> None:
    """The tick's events and outbox rows, and its counts on its tick record (an amendment
    writes its own events this way too)."""
    conn = t.conn
    outbox = deliveries(t.conn, t.campaign, t.tick_id, t.notices)
    dumps = bulk.dumps
    events = [(*e[:-1], dumps(e.data)) for e in t.events]
    if t.resident is not None:  # a simulation's: inserted with the batch's others, in order
        t.resident.hold(conn, events, outbox)
    else:
        q.insert_events(conn, events, outbox)
    t.counts["notices"] += len(outbox)
    conn.execute(q.TICK_COUNTS, {"tick": t.tick_id, "counts": dict(t.counts)})


def next_due(engine: Engine, campaign_id: str) -> int | None:
    """The next instant anything is due for the campaign (epoch seconds), or None."""
    with engine.connect() as conn:
        return next_due_in(conn, campaign_id)


def next_due_in(conn: Connection, campaign_id: str, resident: Resident | None = None) -> int | None:
    params = {"campaign": campaign_id}
    campaign = deployed.must_read(conn, campaign_id)
    if campaign.rescan:  # a deploy that changed the plan: due from then
        return campaign.deployed_at
    if resident is not None:
        action, signal = resident.next_action(), resident.next_signal()
    else:
        action, signal = conn.execute(q.NEXT_DUE, params).one()
    times = [action, signal, summary_instant(campaign) if campaign.summary_sent_at is None else None]
    present = [x for x in times if x is not None]
    return min(present) if present else None
