"""The tick's decisions, with no database in sight: an instance's state machine.

Each instance moves `held -> open -> done | done_late`, or `open -> overdue -> done_late`
(`exempt` is set by the plan or an operator and never moves). `Machine.advance` takes one
instance (a `Row`) as far as `now` allows, in the order things fell due: it opens at its
time, turns overdue at its deadline, sends its next reminder (one, however many were
missed while the scheduler was down), fires its due escalation stages. `complete` applies a
signal and `open_after_prerequisite` opens an instance whose prerequisite was done. Each
transition records its `Event` and the `Notice`s that tell the units concerned.

Instants come from the data (the signal, the deadline), not from the clock, so one tick
after a day of downtime leaves the same states as hourly ticks would. `cascade.engine.tick`
reads the rows, hands them to a `Machine` and writes back what it changed.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pendulum

from cascade.engine.deployed import Deployed
from cascade.engine.lifecycle import action_at
from cascade.i18n import N_, _, num
from cascade.plan.hierarchy import recipients
from cascade.plan.rules import TaskRules, campaign_rules, missed_targets, with_formulas
from cascade.timing.deadlines import zone
from cascade.timing.quiet import QuietHours
from cascade.timing.reminders import next_escalation, next_reminder, stage_time
from cascade.timing.workdays import Calendar

DONE = ("done", "done_late")
Row = dict[str, Any]  # an instance as a tick reads it: its columns, and its unit's `path`


class Event(NamedTuple):
    """One line of the event log (§6), as the events table keeps it."""

    campaign_id: str
    tick: int
    at: int
    kind: str
    task_id: str | None
    unit_id: str | None
    data: dict[str, Any]  # its `to` (who was reached) is filled when the outbox rows are made


@dataclass
class Notice:
    kind: str
    recipients: list[str]
    roles: tuple[str, ...]
    send_at: int
    payload: dict[str, Any]
    event: Event | None = None  # the event whose `to` lists who was reached


Reports = list[tuple[Row, Notice | None]]  # report rows, with their request notice if any


class Machine:
    """The decisions of one tick: given the campaign's rules and `now`, what each instance it is
    handed (a `Row`) becomes, and the events and notices that go with it. No connection: the
    rows come from the tick's reads and go back through its writes (`cascade.engine.tick`).
    Instants are epoch seconds; what several instances share (the calendar sums of one
    deadline) is computed once per tick."""

    def __init__(self, campaign: Deployed, now: pendulum.DateTime, tick_id: int) -> None:
        self.campaign, self.tick_id = campaign, tick_id
        self.tz: str = campaign.timezone
        self.calendar = Calendar(campaign.calendar)
        self.now = now.in_timezone(self.tz)
        self.now_s = int(now.timestamp())
        self.rules = campaign_rules(campaign)
        self.rows: dict[int, Row] = {}
        self.completed: list[Row] = []
        self.reports: Reports = []  # submitted (None) or requested
        self.events: list[Event] = []
        self.notices: list[Notice] = []
        self.counts: Counter[str] = Counter()
        self._reminders: dict[tuple[str, int, int, int | None], int | None] = {}
        self._escalations: dict[tuple[str, int, int, int | None], int | None] = {}
        self._send_at: dict[str, int] = {}  # task -> when its notices made now go out
        self._instants: dict[tuple[str, str, int, int | None], Any] = {}  # per-tick memo of calendar sums

    # ---- helpers --------------------------------------------------------------------------

    def dt(self, seconds: int) -> pendulum.DateTime:
        return pendulum.from_timestamp(seconds, tz=zone(self.tz))

    def send_at(self, rules: TaskRules) -> int:
        """When a notice made now goes out: now, or the end of the task's quiet hours."""
        at = self._send_at.get(rules.id)  # by task: hashing the quiet hours was most of the call
        if at is None:
            at = self._send_at[rules.id] = int(rules.quiet.release(self.now).timestamp())
        return at

    def event(self, kind: str, at: int, row: Row | None, **data: Any) -> Event:
        """Record an event; its data's `to` is filled when the outbox rows are made."""
        ev = Event(
            self.campaign.id,
            self.tick_id,
            at,
            kind,
            row["task_id"] if row else None,
            row["unit_id"] if row else None,
            {"to": [], "stage": None, **data},
        )
        self.events.append(ev)
        self.counts[kind] += 1
        return ev

    def notify(
        self,
        kind: str,
        row: Row,
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

    def complete(self, row: Row, at: int, fields: Row) -> None:
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
            title = rules.fields[name].title or name  # what the notice calls the figure
            self.notify(
                "task.below_target",
                row,
                ("self", "parent"),
                ev,
                field=name,
                field_title=title,
                value=value,
                target=target,
            )

    def open(self, row: Row, at: int) -> None:
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

    def open_after_prerequisite(self, row: Row, done_at: int) -> None:
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

    def overdue(self, row: Row) -> None:
        row.update(state="overdue", next_reminder_at=None, next_escalation_at=None)
        kind = "report.overdue" if row["kind"] == "report" else "task.overdue"
        self.event(kind, row["deadline"], row)

    def remind(self, row: Row) -> None:
        rules = self.rules[row["task_id"]]
        due = row["next_reminder_at"]
        if due is None or due > self.now_s:
            return
        send = self.send_at(rules)
        if send < row["deadline"]:  # one reminder, however many were missed while down
            ev = self.event("reminder.sent", send, row, deadline=row["deadline"], due=due)
            self.notify("reminder.sent", row, ("self",), ev)
        row["next_reminder_at"] = self._next_reminder(rules, row, after=self.now_s)

    def _next_reminder(self, rules: TaskRules, row: Row, after: int | None) -> int | None:
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

    def escalate(self, row: Row) -> None:
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

    def _fire(self, row: Row, targets: Sequence[str], stage: int, repeat: bool) -> None:
        rules = self.rules[row["task_id"]]
        at = self.send_at(rules)
        ev = self.event("escalation.sent", at, row, stage=stage, repeat=repeat, deadline=row["deadline"])
        # a repeat is a notice of its own: its instant in the payload gives it its own
        # idempotency key (without it, every repeat was the stage's first notice again, and the
        # dispatcher dropped it as a duplicate)
        again = {"repeated": at} if repeat else {}
        self.notify("escalation.sent", row, targets, ev, stage=stage, lagging=row["unit_id"], **again)

    def advance(self, row: Row) -> None:
        """Everything due for this instance up to `now`, in the order it fell due."""
        now = self.now_s
        if (
            row["opens_on"] in ("issued", "request")
            and (row["open_at"] or 0) <= now
            and row["opened_at"] is None
            and row["state"] in ("held", "overdue")  # (overdue before it opened: told it may start)
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


def next_action(row: Row) -> int | None:
    return action_at(
        row["state"],
        row["opens_on"],
        row["open_at"],
        row["deadline"],
        row["next_reminder_at"],
        row["next_escalation_at"],
        row["opened_at"] is not None,
    )


# ---- the summary's instant ----------------------------------------------------------------


def summary_due(campaign: Deployed, now_s: int) -> bool:
    return campaign.summary_sent_at is None and summary_instant(campaign) <= now_s


def summary_before(campaign: Deployed, deadline: int) -> bool:
    """The summary, not sent yet, goes out before `deadline` has passed: it counts a unit that
    finishes by then as not done (an extension or a unit's request for one past it is warned of)."""
    return campaign.summary_sent_at is None and campaign.summary_at < deadline


def summary_instant(campaign: Deployed) -> int:
    """The summary goes out at the start of summary_date, once the quiet hours end."""
    return _summary_instant(campaign.summary_at, campaign.timezone, summary_quiet(campaign_rules(campaign)))


@functools.lru_cache(maxsize=256)
def _summary_instant(summary_at: int, tz: str, quiet: QuietHours) -> int:
    return int(quiet.release(pendulum.from_timestamp(summary_at, tz=tz)).timestamp())


def summary_quiet(rules: dict[str, TaskRules]) -> QuietHours:
    """The summary keeps the quiet hours of the campaign's first task (its defaults, as a rule)."""
    return next(iter(rules.values())).quiet if rules else QuietHours(0, 0)


# What a tick counted, as the operator reads it in `cascade tick` and in a run's log: the
# events by kind, and the signals applied and notices queued.
COUNTED: dict[str, str] = {
    "signals": N_("signals applied"),
    "task.opened": N_("opened"),
    "reminder.sent": N_("reminders"),
    "task.completed": N_("completed"),
    "task.overdue": N_("overdue"),
    "task.at_risk": N_("at risk"),
    "task.below_target": N_("below target"),
    "escalation.sent": N_("escalations"),
    "report.requested": N_("reports requested"),
    "report.submitted": N_("reports submitted"),
    "report.overdue": N_("reports overdue"),
    "summary.generated": N_("summaries"),
    "notices": N_("notices queued"),
}


def counts_text(counts: dict[str, int]) -> str:
    """ "opened 630, reminders 9.450, notices queued 10.080": a tick's counts in the order a tick
    works, in the operator's language ("nothing" when it did nothing)."""
    order = {kind: n for n, kind in enumerate(COUNTED)}
    shown = sorted((k for k, v in counts.items() if v), key=lambda k: (order.get(k, len(order)), k))
    return _(", ").join(
        _("{what} {number}", what=_(COUNTED[k]) if k in COUNTED else k, number=num(counts[k])) for k in shown
    ) or _("nothing")
