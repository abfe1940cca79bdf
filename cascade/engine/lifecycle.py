"""An instance's state when its rules change under it: the pure half of an amendment.

A redeploy of an edited file, one unit's extension and one unit's exemption all come down
to the same question per instance: given what it is (state, opening, completion, the
escalation stages already sent) and what the rules now say (deadline, exempt or not, the
timing rules), what is it now, and what must be told? `rederive` answers it with no
database and no clock of its own, so the deploy and the extension paths share one answer
and the property tests run it in milliseconds (spec §7):

- an instance that is neither finished nor exempt and whose deadline changes is amended:
  `open` if it had opened, `held` if it never did, `overdue` once the new deadline has
  passed; its escalation ladder restarts from the new deadline (stages already sent for
  that very deadline are not sent again); its next reminder is the first one after `now`;
- a `done_late` instance whose completion falls before its new, later deadline is
  re-judged `done`; a finished instance is never made late, nor exempt;
- a change that leaves the deadline alone keeps the instance's timing as it was (a title,
  a role, a contact: nothing sent); changed reminder offsets or escalation ladders resume
  after `now`, never repeating what went out;
- a newly exempt instance stops; one no longer exempt starts again from `held`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pendulum

from cascade.timing.deadlines import zone
from cascade.timing.reminders import Timing, next_escalation, next_reminder, stage_time
from cascade.timing.workdays import Calendar

DONE = ("done", "done_late")


@dataclass(frozen=True)
class Instance:
    """One instance as the store holds it (instants in epoch seconds)."""

    state: str  # held open overdue done done_late exempt
    opens_on: str  # issued prerequisite source-signal request
    open_at: int | None
    opened_at: int | None
    deadline: int | None
    done_at: int | None
    stage: int = 0  # the last escalation stage sent
    next_reminder_at: int | None = None
    next_escalation_at: int | None = None
    next_action_at: int | None = None


@dataclass(frozen=True)
class Rules:
    """What the rules in force now say about one instance."""

    deadline: int | None  # the file's deadline, or the unit's extension if later
    exempt: bool
    timing: Timing
    opens_on: str
    open_at: int | None
    timing_changed: bool = False  # the reminder offsets, quiet hours or ladder differ from before


@dataclass(frozen=True)
class Outcome:
    instance: Instance
    # unchanged, reopened, still_open, held, overdue, still_overdue, rejudged, exempted, unexempted,
    # retimed
    effect: str
    old_deadline: int | None

    @property
    def amended(self) -> bool:
        """Whether the change is logged (`task.amended`) and told to the unit."""
        return self.effect in ("reopened", "still_open", "held", "overdue", "still_overdue", "rejudged")

    @property
    def exempted(self) -> bool:
        return self.effect == "exempted"


def rederive(
    current: Instance,
    rules: Rules,
    now: int,
    tz: str,
    calendar: Calendar,
    sent: Mapping[int, int] | None = None,
    signalled: int | None = None,
) -> Outcome:
    """`current` under `rules` at `now`. `sent` maps a deadline to the last escalation stage
    sent for it (from the event log), so that a deadline moved away and back never repeats
    one. `signalled` is the instant of its earliest signal not yet applied by a tick: the unit
    did it, so it is neither exempted nor turned overdue if that was before the deadline."""
    old = current.deadline
    if rules.exempt:
        if current.state in (*DONE, "exempt") or signalled is not None:
            return Outcome(current, "unchanged", old)
        return Outcome(_stopped(current, "exempt"), "exempted", old)
    if current.state == "exempt":
        # held again: the next tick opens it and turns it overdue as a fresh deploy's would,
        # its ladder past the stages already sent for this deadline before it was exempted
        sent_before = (sent or {}).get(rules.deadline, 0) if rules.deadline is not None else 0
        fresh = Instance("held", rules.opens_on, rules.open_at, None, rules.deadline, None, sent_before)
        return Outcome(replace(fresh, next_action_at=next_action(fresh)), "unexempted", old)
    deadline = rules.deadline  # (an `after:` deadline: the caller resolves it from the source's signal)
    # (an instance the change leaves as it was is returned as it is: a national redeploy of the same
    # file re-derives 250,000 of them)
    if current.state in DONE:
        kept = current if deadline == old else replace(current, deadline=deadline)
        if current.state == "done_late" and _before(current.done_at, deadline):
            return Outcome(replace(kept, state="done"), "rejudged", old)
        return Outcome(kept, "unchanged", old)
    # (work already open keeps its opening: nothing reads it again, and a moved issue date
    # rewrote every instance open since the issue)
    same_opening = (current.opens_on, current.open_at) == (rules.opens_on, rules.open_at)
    if same_opening or current.opened_at is not None:
        base = current
    else:
        base = replace(current, opens_on=rules.opens_on, open_at=rules.open_at)
    if deadline == old:
        if not rules.timing_changed:
            action = _held_action(base)
            return Outcome(
                base if action == base.next_action_at else replace(base, next_action_at=action),
                "unchanged",
                old,
            )
        retimed = _timed(base, rules.timing, now, tz, calendar, base.stage)
        return Outcome(retimed, "retimed", old)
    stage = (sent or {}).get(deadline, 0) if deadline is not None else 0
    moved = replace(base, deadline=deadline)
    return _unfinished(moved, rules.timing, now, tz, calendar, stage, old, _before(signalled, deadline))


def withdrawn(
    current: Instance,
    timing: Timing,
    now: int,
    tz: str,
    calendar: Calendar,
    sent: Mapping[int, int] | None = None,
) -> Outcome:
    """`current`, finished by a signal recorded by mistake, as it would be had that signal never
    come: `open` if it had opened, `held` if it never did, `overdue` once its deadline has
    passed; reminders resume after `now`, and an overdue one's ladder past the stages already
    sent for this deadline (those that fell due meanwhile fire at the next tick, once each)."""
    if current.state not in DONE:
        return Outcome(current, "unchanged", current.deadline)
    stage = max(current.stage, (sent or {}).get(current.deadline, 0) if current.deadline is not None else 0)
    undone = replace(current, done_at=None)
    return _unfinished(undone, timing, now, tz, calendar, stage, current.deadline)


def _unfinished(
    row: Instance,
    timing: Timing,
    now: int,
    tz: str,
    calendar: Calendar,
    stage: int,
    old: int | None,
    done_in_time: bool = False,
) -> Outcome:
    """`row` (its deadline already the one in force) as an instance not finished is at `now`:
    `open` if it had opened, `held` if it never did, `overdue` once its deadline has passed
    (unless `done_in_time`: a signal before it waits for the tick); timed after `now`."""
    state = "open" if row.opened_at is not None else "held"
    if row.deadline is not None and row.deadline <= now and not done_in_time:
        state = "overdue"
    outcome = _timed(replace(row, state=state), timing, now, tz, calendar, stage)
    effect = {"open": "reopened", "held": "held", "overdue": "overdue"}[state]
    if state == row.state and state != "held":  # open all along, or overdue under both deadlines
        effect = f"still_{state}"
    return Outcome(outcome, effect, old)


def _before(done_at: int | None, deadline: int | None) -> bool:
    return done_at is not None and deadline is not None and done_at < deadline


def _stopped(current: Instance, state: str) -> Instance:
    return replace(current, state=state, next_reminder_at=None, next_escalation_at=None, next_action_at=None)


def _held_action(row: Instance) -> int | None:
    """A waiting instance's next action follows its (possibly new) opening time; others keep theirs."""
    waiting = row.state == "held" or (row.state == "overdue" and row.opened_at is None)
    return next_action(row) if waiting else row.next_action_at


def _timed(row: Instance, timing: Timing, now: int, tz: str, calendar: Calendar, stage: int) -> Instance:
    """Reminders and escalations of `row` resumed strictly after `now`: none already due is sent."""
    reminder = escalation = None
    at = pendulum.from_timestamp(now, tz=zone(tz))
    if row.deadline is not None:
        deadline = pendulum.from_timestamp(row.deadline, tz=zone(tz))
        if row.state == "open" and row.opened_at is not None:
            opened = pendulum.from_timestamp(row.opened_at, tz=zone(tz))
            nxt = next_reminder(timing, deadline, calendar, not_before=opened, after=at)
            reminder = int(nxt.timestamp()) if nxt else None
        if row.state == "overdue":
            stage = min(stage, len(timing.escalate))
            if stage < len(timing.escalate):
                # stages of the new ladder already due fire at the next tick, once each
                escalation = int(stage_time(timing, deadline, stage + 1, calendar).timestamp())
            else:
                repeat = next_escalation(timing, deadline, stage, calendar, at)
                escalation = int(repeat.timestamp()) if repeat else None
    out = replace(row, stage=stage, next_reminder_at=reminder, next_escalation_at=escalation)
    return replace(out, next_action_at=next_action(out))


def next_action(row: Instance) -> int | None:
    """The next instant a tick must look at the instance (the engine's index)."""
    return action_at(
        row.state,
        row.opens_on,
        row.open_at,
        row.deadline,
        row.next_reminder_at,
        row.next_escalation_at,
        row.opened_at is not None,
    )


def action_at(
    state: str,
    opens_on: str,
    open_at: int | None,
    deadline: int | None,
    next_reminder_at: int | None,
    next_escalation_at: int | None,
    opened: bool,
) -> int | None:
    """`next_action` from the columns (the engine calls it for every row it changes). An
    instance overdue before it ever opened still opens at its time (told it may start, late)."""
    timed = opens_on in ("issued", "request")
    if state == "held":
        times = [deadline, open_at] if timed else [deadline]
    elif state == "open":
        times = [next_reminder_at, deadline]
    elif state == "overdue":
        times = [next_escalation_at, open_at] if timed and not opened else [next_escalation_at]
    else:
        return None
    present = [t for t in times if t is not None]
    return min(present) if present else None
