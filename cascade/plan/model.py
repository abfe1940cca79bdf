"""The compiled plan: every instance (task × unit) with its opening, deadline and notices.

A plan is what the engine, the flows and the reports consume; nothing downstream reads a
campaign file. Instances are many (tens of thousands at national scale) and mostly
alike, so what they share lives once: all instances of a task with a fixed deadline
point at one `Schedule` (deadline, reminder and escalation instants), and escalation
recipients are resolved from the hierarchy on demand rather than stored per instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import pendulum

from cascade.errors import Problem
from cascade.plan.hierarchy import Hierarchy, recipients
from cascade.plan.values import FieldSpec
from cascade.timing.deadlines import DeadlineRule
from cascade.timing.durations import Duration
from cascade.timing.quiet import QuietHours
from cascade.timing.workdays import Calendar


class Kind(StrEnum):
    TASK = "task"
    REPORT = "report"


class OpensOn(StrEnum):
    ISSUED = "issued"  # at the campaign's issued_on
    PREREQUISITE = "prerequisite"  # when another instance is signalled (opens_after)
    SOURCE_SIGNAL = "source-signal"  # with the signal its `after:` deadline counts from
    REQUEST = "request"  # a report: when its request goes out


@dataclass(frozen=True, slots=True)
class Opening:
    on: OpensOn
    at: pendulum.DateTime | None = None  # ISSUED and REQUEST
    task: str | None = None  # PREREQUISITE and SOURCE_SIGNAL
    unit: str | None = None

    def __str__(self) -> str:
        if self.on is OpensOn.PREREQUISITE:
            return f"when {self.task} is done at {self.unit}"
        if self.on is OpensOn.SOURCE_SIGNAL:
            return f"with its {self.task} signal"
        assert self.at is not None
        return ("request " if self.on is OpensOn.REQUEST else "") + self.at.format("DD/MM/YYYY HH:mm")


@dataclass(frozen=True, slots=True)
class Stage:
    number: int  # 1-based, as in `escalation.sent`
    after: Duration
    to: tuple[str, ...]  # recipient expressions: self, parent, ancestor:N, root, level:L
    repeat: Duration | None


@dataclass(frozen=True, slots=True)
class Notices:
    notify: tuple[str, ...]
    remind: tuple[Duration, ...]
    quiet: QuietHours
    escalate: tuple[Stage, ...]


@dataclass(frozen=True, slots=True)
class Schedule:
    """A deadline and the notices timed from it; shared by instances that share it."""

    rule: DeadlineRule
    deadline: pendulum.DateTime | None  # None until the `after:` source is signalled
    reminders: tuple[pendulum.DateTime, ...] = ()  # send instants, after quiet hours
    escalations: tuple[pendulum.DateTime, ...] = ()  # first send of each stage


@dataclass(slots=True)
class Instance:
    task: str
    unit: str
    opening: Opening
    schedule: Schedule

    @property
    def key(self) -> str:
        return f"{self.task}@{self.unit}"


@dataclass
class TaskPlan:
    id: str
    title: str
    kind: Kind
    notices: Notices
    rule: DeadlineRule
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    checks: tuple[str, ...] = ()  # comparisons the figures must keep: "attendees <= members"
    opens_after: tuple[str, str] | None = None  # (task, "parent" | "self")
    min_window: Duration | None = None
    exempt: tuple[str, ...] = ()
    rollup: tuple[str, ...] = ()  # reports: "task.field" figures pre-filled from children
    step: Duration | None = None  # reports: how much earlier each level further down reports
    opens: Duration | None = None  # reports: how long before its deadline a request goes out
    line: int | None = None


@dataclass
class Campaign:
    id: str
    title: str
    issued_by: str | None
    issued_on: date
    timezone: str
    calendar: Calendar
    summary_date: date
    file: str
    operator: dict[str, Any] | None = None  # {"name": ..., "channels": [[channel, address], ...]}
    document: dict[str, Any] = field(default_factory=dict)  # the summary's heading (format: `document`)

    @property
    def issued_at(self) -> pendulum.DateTime:
        return pendulum.datetime(
            self.issued_on.year, self.issued_on.month, self.issued_on.day, tz=self.timezone
        )

    @property
    def summary_at(self) -> pendulum.DateTime:
        """The summary is due at the start of summary_date (notices wait out quiet hours)."""
        d = self.summary_date
        return pendulum.datetime(d.year, d.month, d.day, tz=self.timezone)


@dataclass
class Plan:
    campaign: Campaign
    hierarchy: Hierarchy
    tasks: dict[str, TaskPlan]
    instances: list[Instance]
    warnings: list[Problem] = field(default_factory=list)

    def instances_of(self, unit: str | None = None, task: str | None = None) -> Iterator[Instance]:
        for instance in self.instances:
            if (unit is None or instance.unit == unit) and (task is None or instance.task == task):
                yield instance

    def recipients(self, unit: str, targets: tuple[str, ...]) -> list[str]:
        """Unit ids that `targets` (self, parent, ancestor:N, root, level:L) name for `unit`."""
        return recipients(self.hierarchy.path_of(unit), targets)
