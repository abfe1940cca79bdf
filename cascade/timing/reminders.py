"""The instants a deadline sets off: reminders before it, escalation stages after it.

Pure functions of a deadline, the notice rules and a calendar; the compiler uses them to
show the plan and the tick to know when the next notice of an instance is due. The rules
are anything with the `Timing` shape: the plan's `Notices` and a deployed `TaskRules` both
have it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pendulum

from cascade.timing.durations import Duration
from cascade.timing.quiet import QuietHours
from cascade.timing.workdays import Calendar


class Step(Protocol):
    """One escalation stage: how long after the deadline, and how often it repeats after the last."""

    @property
    def after(self) -> Duration: ...

    @property
    def repeat(self) -> Duration | None: ...


class Timing(Protocol):
    """What the instants below depend on."""

    @property
    def remind(self) -> Sequence[Duration]: ...

    @property
    def quiet(self) -> QuietHours: ...

    @property
    def escalate(self) -> Sequence[Step]: ...


def reminder_times(rules: Timing, deadline: pendulum.DateTime, calendar: Calendar) -> list[pendulum.DateTime]:
    """Every reminder's send instant (after quiet hours), in order, all before the deadline."""
    times = {rules.quiet.release(calendar.shift(deadline, offset, -1)) for offset in rules.remind}
    return sorted(t for t in times if t < deadline)


def next_reminder(
    rules: Timing,
    deadline: pendulum.DateTime,
    calendar: Calendar,
    not_before: pendulum.DateTime,
    after: pendulum.DateTime | None = None,
) -> pendulum.DateTime | None:
    """The first reminder at or after `not_before` (its opening), strictly after `after` (the last sent)."""
    for t in reminder_times(rules, deadline, calendar):
        if t >= not_before and (after is None or t > after):
            return t
    return None


def stage_time(
    rules: Timing, deadline: pendulum.DateTime, number: int, calendar: Calendar
) -> pendulum.DateTime:
    """When escalation stage `number` (1-based) is due, after quiet hours."""
    return rules.quiet.release(calendar.shift(deadline, rules.escalate[number - 1].after))


def next_escalation(
    rules: Timing, deadline: pendulum.DateTime, sent: int, calendar: Calendar, now: pendulum.DateTime
) -> pendulum.DateTime | None:
    """When the next stage after `sent` is due; past the last, its next repeat after `now`."""
    if sent < len(rules.escalate):
        return stage_time(rules, deadline, sent + 1, calendar)
    last = rules.escalate[-1] if rules.escalate else None
    if last is None or last.repeat is None:
        return None
    base = calendar.shift(deadline, last.after)
    t = base
    while True:  # bounded: each step adds at least one day or one repeat period
        t = calendar.shift(t, last.repeat)
        if rules.quiet.release(t) > now:
            return rules.quiet.release(t)
