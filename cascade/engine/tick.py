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

Instants of state changes come from the data (the signal, the deadline), not from the
clock, so one tick after a day of downtime leaves the same states as hourly ticks would.
Notices wait out quiet hours and are written to the outbox with the events they belong
to. A tick with nothing due reads two indexed rows and writes nothing.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pendulum
from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, select, update

from cascade.engine import store
from cascade.engine.lifecycle import action_at
from cascade.engine.rollup import load_for as load_rollup
from cascade.engine.summary import build_in as build_summary
from cascade.engine.summary import state_counts
from cascade.plan.hierarchy import recipients
from cascade.plan.rules import TaskRules, campaign_rules, missed_targets, with_formulas
from cascade.timing.quiet import QuietHours
from cascade.timing.reminders import next_escalation, next_reminder, stage_time
from cascade.timing.workdays import Calendar

DONE = ("done", "done_late")
_CHUNK = 500  # bound on the number of values in one IN (...)

_ROW_COLUMNS = (
    store.instances.c.id,
    store.instances.c.task_id,
    store.instances.c.unit_id,
    store.instances.c.kind,
    store.instances.c.state,
    store.instances.c.opens_on,
    store.instances.c.open_at,
    store.instances.c.prereq_task,
    store.instances.c.prereq_unit,
    store.instances.c.opened_at,
    store.instances.c.deadline,
    store.instances.c.done_at,
    store.instances.c.fields,
    store.instances.c.next_reminder_at,
    store.instances.c.stage,
    store.instances.c.next_escalation_at,
    store.instances.c.next_action_at,
    store.units.c.path,
)
_WRITTEN = (  # the instance columns a tick changes, in the order _write_rows gives them
    "tick",
    "state",
    "opened_at",
    "deadline",
    "done_at",
    "fields",
    "next_reminder_at",
    "stage",
    "next_escalation_at",
    "next_action_at",
)


Event = list[Any]  # a row of _EVENT_COLUMNS, mutable until written
_EVENT_COLUMNS = ("campaign_id", "tick", "at", "kind", "task_id", "unit_id", "data")
_OUTBOX_COLUMNS = (
    "campaign_id",
    "tick",
    "send_at",
    "kind",
    "recipient_unit",
    "role",
    "channels",
    "digest_key",
    "payload",
    "status",
)


@dataclass
class Notice:
    kind: str
    recipients: list[str]
    roles: tuple[str, ...]
    send_at: int
    payload: dict[str, Any]
    event: Event | None = None  # the event whose `to` lists who was reached


@dataclass
class TickResult:
    campaign: str
    now: pendulum.DateTime
    idle: bool
    counts: Counter[str] = field(default_factory=Counter)


class Tick:
    """The working state of one tick: what changed, the events and notices it produced."""

    def __init__(self, conn: Connection, campaign: Any, now: pendulum.DateTime, tick_id: int) -> None:
        self.conn, self.campaign, self.tick_id = conn, campaign, tick_id
        self.tz: str = campaign.timezone
        self.calendar = Calendar(campaign.calendar)
        self.now = now.in_timezone(self.tz)
        self.now_s = int(now.timestamp())
        self.rules = campaign_rules(campaign)
        self.rows: dict[int, dict[str, Any]] = {}
        self.completed: list[dict[str, Any]] = []
        self.reports: Reports = []  # submitted (None) or requested
        self.events: list[Event] = []
        self.notices: list[Notice] = []
        self.counts: Counter[str] = Counter()
        self._reminders: dict[tuple[str, int, int, int | None], int | None] = {}
        self._escalations: dict[tuple[str, int, int, int | None], int | None] = {}
        self._send_at: dict[QuietHours, int] = {}
        self._instants: dict[tuple[str, str, int, int | None], Any] = {}  # per-tick memo of calendar sums

    # ---- helpers --------------------------------------------------------------------------

    def dt(self, seconds: int) -> pendulum.DateTime:
        return pendulum.from_timestamp(seconds, tz=self.tz)

    def send_at(self, rules: TaskRules) -> int:
        """When a notice made now goes out: now, or the end of the task's quiet hours."""
        if rules.quiet not in self._send_at:
            self._send_at[rules.quiet] = int(rules.quiet.release(self.now).timestamp())
        return self._send_at[rules.quiet]

    def event(self, kind: str, at: int, row: dict[str, Any] | None, **data: Any) -> Event:
        """Record an event: a row of _EVENT_COLUMNS, its data's `to` filled when the outbox is."""
        ev: Event = [
            self.campaign.id,
            self.tick_id,
            at,
            kind,
            row["task_id"] if row else None,
            row["unit_id"] if row else None,
            {"to": [], "stage": None, **data},
        ]
        self.events.append(ev)
        self.counts[kind] += 1
        return ev

    def notify(
        self,
        kind: str,
        row: dict[str, Any],
        targets: Sequence[str],
        event: Event | None,
        **payload: Any,
    ) -> None:
        rules = self.rules[row["task_id"]]
        self.notices.append(
            Notice(
                kind,
                recipients(row["path"], targets),
                rules.notify,
                self.send_at(rules),
                {
                    "kind": kind,
                    "task": row["task_id"],
                    "task_title": rules.title,
                    "unit": row["unit_id"],
                    "deadline": row["deadline"],
                    **payload,
                },
                event,
            )
        )

    # ---- transitions ----------------------------------------------------------------------

    def complete(self, row: dict[str, Any], at: int, fields: dict[str, Any]) -> None:
        rules = self.rules[row["task_id"]]
        late = row["deadline"] is not None and at >= row["deadline"]
        if late and row["state"] in ("held", "open"):
            self.overdue(row)  # it was overdue before the late signal came
        row.update(
            state="done_late" if late else "done",
            done_at=at,
            fields=with_formulas(rules, fields),
            next_reminder_at=None,
            next_escalation_at=None,
            next_action_at=None,
        )
        kind = "report.submitted" if row["kind"] == "report" else "task.completed"
        self.event(kind, at, row, late=late)
        if row["kind"] == "report":
            self.reports.append((row, None))
        for name, value, target in missed_targets(rules, row["fields"]):
            ev = self.event("task.below_target", at, row, field=name, value=value, target=target)
            self.notify(
                "task.below_target", row, ("self", "parent"), ev, field=name, value=value, target=target
            )

    def open(self, row: dict[str, Any], at: int) -> None:
        rules = self.rules[row["task_id"]]
        # an instance already overdue when its prerequisite completes is told it may start, late
        row.update(state="open" if row["state"] == "held" else row["state"], opened_at=at)
        # the first reminder at or after the opening; None from here on means "no more"
        first = None if row["deadline"] is None else self._next_reminder(rules, row, after=None)
        row["next_reminder_at"] = first
        if row["kind"] == "report":
            ev = self.event("report.requested", self.send_at(rules), row)
            self.notify("report.requested", row, ("self",), ev)
            self.reports.append((row, self.notices[-1]))
            return
        ev = self.event("task.opened", at, row)
        self.notify("task.opened", row, ("self",), ev)
        window = rules.min_window
        if window and row["deadline"] is not None and self._at_risk(rules, at, row["deadline"]):
            risk = self.event("task.at_risk", at, row, window=str(window))
            self.notify("task.at_risk", row, ("self", "parent"), risk, window=str(window))

    def _at_risk(self, rules: TaskRules, at: int, deadline: int) -> bool:
        """Whether `min_window` from `at` runs past `deadline`."""
        key = ("risk", rules.id, at, deadline)
        if key not in self._instants:
            assert rules.min_window is not None
            self._instants[key] = self.calendar.shift(self.dt(at), rules.min_window) > self.dt(deadline)
        return bool(self._instants[key])

    def open_after_prerequisite(self, row: dict[str, Any], done_at: int) -> None:
        """Open at the instant the prerequisite (or the `after:` source) was completed;
        an `after:` deadline counts from it."""
        if row["opens_on"] == "source-signal":
            key = ("after", row["task_id"], done_at, None)
            if key not in self._instants:
                rule = self.rules[row["task_id"]].rule
                after = rule.instant_after(self.dt(done_at), self.tz, self.calendar)
                self._instants[key] = int(after.timestamp())
            row["deadline"] = self._instants[key]
        self.open(row, max(done_at, self.campaign.issued_at))

    def overdue(self, row: dict[str, Any]) -> None:
        row.update(state="overdue", next_reminder_at=None, next_escalation_at=None)
        kind = "report.overdue" if row["kind"] == "report" else "task.overdue"
        self.event(kind, row["deadline"], row)

    def remind(self, row: dict[str, Any]) -> None:
        rules = self.rules[row["task_id"]]
        due = row["next_reminder_at"]
        if due is None or due > self.now_s:
            return
        send = self.send_at(rules)
        if send < row["deadline"]:  # one reminder, however many were missed while down
            ev = self.event("reminder.sent", send, row, deadline=row["deadline"], due=due)
            self.notify("reminder.sent", row, ("self",), ev)
        row["next_reminder_at"] = self._next_reminder(rules, row, after=self.now_s)

    def _next_reminder(self, rules: TaskRules, row: dict[str, Any], after: int | None) -> int | None:
        key = (rules.id, row["deadline"], row["opened_at"], after)
        if key not in self._reminders:
            t = next_reminder(
                rules,
                self.dt(row["deadline"]),
                self.calendar,
                not_before=self.dt(row["opened_at"]),
                after=self.dt(after) if after is not None else None,
            )
            self._reminders[key] = int(t.timestamp()) if t else None
        return self._reminders[key]

    def escalate(self, row: dict[str, Any]) -> None:
        rules = self.rules[row["task_id"]]
        stages = rules.escalate
        fired = False
        while (
            row["stage"] < len(stages)
            and self._stage_at(rules, row["deadline"], row["stage"] + 1) <= self.now_s
        ):
            row["stage"] += 1
            self._fire(row, stages[row["stage"] - 1].to, row["stage"], repeat=False)
            fired = True
        last = row["stage"] == len(stages) and stages and stages[-1].repeat
        due = row["next_escalation_at"] is not None and row["next_escalation_at"] <= self.now_s
        if last and due and not fired:
            self._fire(row, stages[-1].to, row["stage"], repeat=True)
        row["next_escalation_at"] = self._next_escalation(rules, row["deadline"], row["stage"])

    def _stage_at(self, rules: TaskRules, deadline: int, number: int) -> int:
        key = (rules.id, deadline, number, None)
        if key not in self._escalations:
            self._escalations[key] = int(
                stage_time(rules, self.dt(deadline), number, self.calendar).timestamp()
            )
        return self._escalations[key]  # type: ignore[return-value]

    def _next_escalation(self, rules: TaskRules, deadline: int, sent: int) -> int | None:
        key = (rules.id, deadline, sent, self.now_s)  # instances sharing a deadline share the answer
        if key not in self._escalations:
            nxt = next_escalation(rules, self.dt(deadline), sent, self.calendar, self.now)
            self._escalations[key] = int(nxt.timestamp()) if nxt else None
        return self._escalations[key]

    def _fire(self, row: dict[str, Any], targets: Sequence[str], stage: int, repeat: bool) -> None:
        rules = self.rules[row["task_id"]]
        at = self.send_at(rules)
        ev = self.event("escalation.sent", at, row, stage=stage, repeat=repeat, deadline=row["deadline"])
        self.notify("escalation.sent", row, targets, ev, stage=stage, lagging=row["unit_id"])

    def advance(self, row: dict[str, Any]) -> None:
        """Everything due for this instance up to `now`, in the order it fell due."""
        now = self.now_s
        if (
            row["state"] == "held"
            and row["opens_on"] in ("issued", "request")
            and (row["open_at"] or 0) <= now
        ):
            self.open(row, row["open_at"] or self.campaign.issued_at)
        if row["state"] in ("held", "open") and row["deadline"] is not None and row["deadline"] <= now:
            self.overdue(row)
        if row["state"] == "open":
            self.remind(row)
        if row["state"] == "overdue":
            self.escalate(row)
        row["next_action_at"] = next_action(row)
        self.rows[row["id"]] = row


def next_action(row: dict[str, Any]) -> int | None:
    return action_at(
        row["state"],
        row["opens_on"],
        row["open_at"],
        row["deadline"],
        row["next_reminder_at"],
        row["next_escalation_at"],
    )


# ---- the tick ---------------------------------------------------------------------------------


def tick(engine: Engine, campaign_id: str, now: pendulum.DateTime) -> TickResult:
    """Run one tick of `campaign_id` at `now` in one transaction."""
    with engine.begin() as conn:
        return tick_in(conn, campaign_id, now)


def tick_in(conn: Connection, campaign_id: str, now: pendulum.DateTime) -> TickResult:
    t = begin_tick(conn, campaign_id, now)
    if t is None:
        return TickResult(campaign_id, now, idle=True)
    apply_signals(t)
    open_and_advance(t)
    return finish_tick(t)


# The phases of a tick, for callers that show them one by one (the Prefect flow runs
# `open_and_advance` once per level, top-down). All run on the one connection and
# transaction of `begin_tick`; only the caller's commit makes the tick happen.


def begin_tick(conn: Connection, campaign_id: str, now: pendulum.DateTime) -> Tick | None:
    """Start a tick at `now` inside the caller's transaction, or None when nothing is due.
    On PostgreSQL the campaign row is locked: two workers never tick one campaign at once."""
    campaign = conn.execute(_CAMPAIGN_FOR_TICK, {"campaign": campaign_id}).one()
    now_s = int(now.timestamp())
    if not _anything_due(conn, campaign, now_s):
        return None
    inserted = conn.execute(_INSERT_TICK, {"campaign": campaign_id, "now": now_s})
    tick_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
    return Tick(conn, campaign, now, tick_id)


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


def _anything_due(conn: Connection, campaign: Any, now_s: int) -> bool:
    if campaign.archived_at is not None:
        return False
    params = {"campaign": campaign.id, "now": now_s}
    return bool(
        campaign.rescan
        or conn.execute(_ANY_SIGNAL, params).first()
        or conn.execute(_ANY_DUE, params).first()
        or _summary_due(campaign, now_s)
    )


def _summary_due(campaign: Any, now_s: int) -> bool:
    return campaign.summary_sent_at is None and summary_instant(campaign) <= now_s


def summary_instant(campaign: Any) -> int:
    """The summary goes out at the start of summary_date, once the quiet hours end."""
    return _summary_instant(campaign.summary_at, campaign.timezone, summary_quiet(campaign_rules(campaign)))


@functools.lru_cache(maxsize=256)
def _summary_instant(summary_at: int, tz: str, quiet: QuietHours) -> int:
    return int(quiet.release(pendulum.from_timestamp(summary_at, tz=tz)).timestamp())


def summary_quiet(rules: dict[str, TaskRules]) -> QuietHours:
    """The summary keeps the quiet hours of the campaign's first task (its defaults, as a rule)."""
    return next(iter(rules.values())).quiet if rules else QuietHours(0, 0)


# Statements are built once with bind parameters, so that each tick's executions hit
# SQLAlchemy's compiled cache instead of rebuilding (and re-keying) dozens of queries.
_I, _U, _S = store.instances, store.units, store.signals
_ROWS = (
    select(*_ROW_COLUMNS)
    .join(_U, and_(_U.c.campaign_id == _I.c.campaign_id, _U.c.id == _I.c.unit_id))
    .where(_I.c.campaign_id == bindparam("campaign"), _I.c.archived.is_(False))
)
_WAITING = (
    _I.c.opens_on.in_(("prerequisite", "source-signal")),
    _I.c.opened_at.is_(None),
    _I.c.state.in_(("held", "overdue")),
)
_DUE_ROWS = _ROWS.where(_I.c.next_action_at <= bindparam("now"))
_BY_TASK = _ROWS.where(
    _I.c.task_id == bindparam("task"), _I.c.unit_id.in_(bindparam("units", expanding=True))
)
_DONE_BY_TASK = _BY_TASK.where(_I.c.state.in_(DONE))
_WAITING_ROWS = _ROWS.where(*_WAITING)
# a signal is pending from its instant until a tick applies it
_PENDING = (
    _S.c.campaign_id == bindparam("campaign"),
    _S.c.applied_tick.is_(None),
    _S.c.at <= bindparam("now"),
)
# the instances with a signal pending (SQLite goes from the pending signals to the instances)
_SIGNALLED_ROWS = _ROWS.join(
    _S, and_(_S.c.campaign_id == _I.c.campaign_id, _S.c.task_id == _I.c.task_id, _S.c.unit_id == _I.c.unit_id)
).where(*_PENDING)
_WAITING_ON = _WAITING_ROWS.where(
    _I.c.prereq_task == bindparam("task"), _I.c.prereq_unit.in_(bindparam("units", expanding=True))
)
_APPLY_SIGNALS = update(_S).where(*_PENDING).values(applied_tick=bindparam("tick"))
_AT_LEVEL = _U.c.level == bindparam("level")
_WAITING_ON_AT, _WAITING_ROWS_AT, _DUE_ROWS_AT = (
    _WAITING_ON.where(_AT_LEVEL),
    _WAITING_ROWS.where(_AT_LEVEL),
    _DUE_ROWS.where(_AT_LEVEL),
)
_CONTACTS = select(store.contacts.c.unit_id, store.contacts.c.role, store.contacts.c.channels).where(
    store.contacts.c.campaign_id == bindparam("campaign"),
    store.contacts.c.unit_id.in_(bindparam("units", expanding=True)),
)
_INSERT_TICK = insert(store.ticks).values(campaign_id=bindparam("campaign"), now=bindparam("now"), counts={})
_TICK_COUNTS = (
    update(store.ticks).where(store.ticks.c.id == bindparam("tick")).values(counts=bindparam("counts"))
)
_CAMPAIGN = select(store.campaigns).where(store.campaigns.c.id == bindparam("campaign"))
_CAMPAIGN_FOR_TICK = _CAMPAIGN.with_for_update()  # SQLite: no-op; its writers are serialized anyway
_ANY_SIGNAL = select(_S.c.id).where(*_PENDING).limit(1)
_ANY_DUE = (
    select(_I.c.id)
    .where(_I.c.campaign_id == bindparam("campaign"), _I.c.next_action_at <= bindparam("now"))
    .limit(1)
)
_PENDING_SIGNALS = (
    select(_S.c.id, _S.c.task_id, _S.c.unit_id, _S.c.at, _S.c.fields)
    .where(*_PENDING)
    .order_by(_S.c.at, _S.c.id)
)
_NEXT_DUE = select(  # the earliest next action and pending signal, in one round trip
    select(func.min(_I.c.next_action_at)).where(_I.c.campaign_id == bindparam("campaign")).scalar_subquery(),
    select(func.min(_S.c.at))
    .where(_S.c.campaign_id == bindparam("campaign"), _S.c.applied_tick.is_(None))
    .scalar_subquery(),
)


def _select_rows(t: Tick, statement: Any, **params: Any) -> list[dict[str, Any]]:
    result = t.conn.execute(statement, {"campaign": t.campaign.id, **params})
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def _rows_for_pairs(
    t: Tick, statement: Any, pairs: Iterable[tuple[str, str]], **params: Any
) -> list[dict[str, Any]]:
    """Rows matching one of the (task, unit) `pairs`: one indexed query per task and chunk of
    units (a row-value IN (...) would scan the whole table on SQLite)."""
    by_task: dict[str, list[str]] = {}
    for task, unit in pairs:
        by_task.setdefault(task, []).append(unit)
    rows = []
    for task, units in by_task.items():
        for chunk in _chunks(sorted(set(units))):
            rows += _select_rows(t, statement, task=task, units=list(chunk), **params)
    return rows


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _apply_signals(t: Tick) -> list[dict[str, Any]]:
    pending = t.conn.execute(_PENDING_SIGNALS, {"campaign": t.campaign.id, "now": t.now_s}).all()
    if not pending:
        return []
    rows = {(r["task_id"], r["unit_id"]): r for r in _select_rows(t, _SIGNALLED_ROWS, now=t.now_s)}
    completed: list[dict[str, Any]] = []
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
    t.conn.execute(_APPLY_SIGNALS, {"campaign": t.campaign.id, "now": t.now_s, "tick": t.tick_id})
    t.counts["signals"] += len(pending)
    return completed


def _open_before(t: Tick, row: dict[str, Any], signal_at: int, done_at: dict[tuple[str, str], int]) -> None:
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


def _open_after_prerequisites(
    t: Tick, completed: list[dict[str, Any]], rescan: bool, level: str | None = None
) -> None:
    """Instances waiting on a completed instance open at its completion instant (one already
    overdue by then is told it may start, and stays overdue)."""
    at_level = {} if level is None else {"level": level}
    if rescan:
        held = _select_rows(t, _WAITING_ROWS if level is None else _WAITING_ROWS_AT, **at_level)
    elif completed:
        pairs = [(r["task_id"], r["unit_id"]) for r in completed]
        held = _rows_for_pairs(t, _WAITING_ON if level is None else _WAITING_ON_AT, pairs, **at_level)
    else:
        held = []
    if not held:
        return
    done_at = {(r["task_id"], r["unit_id"]): r["done_at"] for r in completed}
    missing = list({(r["prereq_task"], r["prereq_unit"]) for r in held} - set(done_at))
    done_at.update(
        {(r["task_id"], r["unit_id"]): r["done_at"] for r in _rows_for_pairs(t, _DONE_BY_TASK, missing)}
    )
    for row in held:
        if row["id"] in t.rows:
            row = t.rows[row["id"]]
            if row["opened_at"] is not None or row["state"] not in ("held", "overdue"):
                continue
        when = done_at.get((row["prereq_task"], row["prereq_unit"]))
        if when is None:
            continue
        t.open_after_prerequisite(row, when)
        t.advance(row)


def _due_rows(t: Tick, level: str | None = None) -> list[dict[str, Any]]:
    if level is None:
        due = _select_rows(t, _DUE_ROWS, now=t.now_s)
    else:
        due = _select_rows(t, _DUE_ROWS_AT, now=t.now_s, level=level)
    return [r for r in due if r["id"] not in t.rows]


def _summary(t: Tick) -> None:
    if not _summary_due(t.campaign, t.now_s):
        return
    u = store.units
    counts = state_counts(t.conn, t.campaign.id)
    root_path = t.conn.execute(
        select(u.c.path).where(
            u.c.campaign_id == t.campaign.id, ~u.c.path.contains("/"), u.c.archived.is_(False)
        )
    ).scalar_one()
    roles = tuple(
        dict.fromkeys(r for rules in t.rules.values() if rules.kind == "report" for r in rules.notify)
    ) or (tuple(dict.fromkeys(r for rules in t.rules.values() for r in rules.notify)))
    send = int(summary_quiet(t.rules).release(t.now).timestamp())
    root = root_path.split(":", 1)[1]
    ev = t.event("summary.generated", send, {"task_id": None, "unit_id": root}, counts=counts)
    summary = build_summary(t.conn, t.campaign.id, t.now)  # this tick's changes are written already
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
    """The instances this tick changed (before the summary counts them)."""
    dumps, tick = store.dumps, t.tick_id
    rows = [
        (
            tick,
            r["state"],
            r["opened_at"],
            r["deadline"],
            r["done_at"],
            dumps(r["fields"]),
            r["next_reminder_at"],
            r["stage"],
            r["next_escalation_at"],
            r["next_action_at"],
            rid,
        )
        for rid, r in t.rows.items()
    ]
    store.update_rows(t.conn, store.instances, _WRITTEN, "id", rows)


Reports = list[tuple[dict[str, Any], Notice | None]]  # report rows, with their request notice if any


def _rollups(t: Tick) -> None:
    """Roll-ups for this tick's reports (after its instances are written, so they count):
    a submitted report keeps the figures computed from its children beside the ones it
    reported (missing ones: confirmed as computed); a request carries the unit's computed
    figures, to confirm or correct. One roll-up per report, read as far as these units need."""
    by_report: dict[str, Reports] = {}
    for row, notice in t.reports:
        by_report.setdefault(row["task_id"], []).append((row, notice))
    updates = []
    for report_id, rows in by_report.items():
        rules = t.rules[report_id]
        if not rules.rollup:
            continue
        rollup = load_rollup(t.conn, t.campaign, rules, t.rules, [row["unit_id"] for row, _ in rows])
        for row, notice in rows:
            computed = rollup.computed_of(row["unit_id"])
            if notice is not None:
                notice.payload["figures"] = [
                    [f.key, f.label(t.rules), computed.get(f.key)] for f in rollup.figures
                ]
                continue
            reported = rollup.reported(row["unit_id"]) or computed
            row["fields"] = {**(row["fields"] or {}), **reported}
            updates.append((store.dumps(computed), store.dumps(row["fields"]), row["id"]))
    if updates:
        store.update_rows(t.conn, store.instances, ("computed", "fields"), "id", updates)


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
    outbox = _deliveries(t)
    dumps = store.dumps
    events = [(*e[:6], dumps(e[6])) for e in t.events]
    store.insert_rows(conn, store.events, _EVENT_COLUMNS, events)
    store.insert_rows(conn, store.outbox, _OUTBOX_COLUMNS, outbox)
    t.counts["notices"] += len(outbox)
    conn.execute(_TICK_COUNTS, {"tick": t.tick_id, "counts": dict(t.counts)})


def _deliveries(t: Tick) -> list[tuple[Any, ...]]:
    """Outbox rows: one per notice and reached contact; fills each event's `to`."""
    cid, tick, dumps = t.campaign.id, t.tick_id, store.dumps
    units = sorted({u for n in t.notices for u in n.recipients})
    contacts: dict[str, list[tuple[str, str]]] = {}
    for chunk in _chunks(units):
        for row in t.conn.execute(_CONTACTS, {"campaign": cid, "units": list(chunk)}):
            contacts.setdefault(row.unit_id, []).append((row.role, dumps(row.channels)))
    rows = []
    for notice in t.notices:
        reached: list[str] = []
        payload = None
        for unit in notice.recipients:
            for role, channels in contacts.get(unit, ()):
                if role not in notice.roles:
                    continue
                payload = payload or dumps(notice.payload)
                digest = f"{cid}|{unit}|{role}|{notice.send_at}"
                rows.append(
                    (cid, tick, notice.send_at, notice.kind, unit, role, channels, digest, payload, "pending")
                )
                if unit not in reached:
                    reached.append(unit)
        if notice.event is not None:
            notice.event[6]["to"] = reached
    return rows


def next_due(engine: Engine, campaign_id: str) -> int | None:
    """The next instant anything is due for the campaign (epoch seconds), or None."""
    with engine.connect() as conn:
        return next_due_in(conn, campaign_id)


def next_due_in(conn: Connection, campaign_id: str) -> int | None:
    params = {"campaign": campaign_id}
    campaign = conn.execute(_CAMPAIGN, params).one()
    if campaign.rescan:
        return 0
    action, signal = conn.execute(_NEXT_DUE, params).one()
    times = [action, signal, summary_instant(campaign) if campaign.summary_sent_at is None else None]
    present = [x for x in times if x is not None]
    return min(present) if present else None
