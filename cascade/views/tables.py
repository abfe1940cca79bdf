"""A plan as people and scripts read it: a Rich table, JSON or CSV, one row an instance.

Instants are ISO-8601 with offset in JSON (for scripts), `dd/mm/yyyy HH:MM` in tables and in the
CSV (a sheet for Excel, the way the documents write dates; a deadline as its last day). A
relative deadline reads "7 days after hn-co-so" until the engine resolves it. Output streams row
by row: a national plan has ~300,000 instances.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import pendulum
from rich.markup import escape
from rich.table import Table

from cascade.engine.words import deadline_short, level_name
from cascade.i18n import N_, _, language, num
from cascade.plan.hierarchy import UnitRecord
from cascade.plan.model import Instance, Opening, OpensOn, Plan, Schedule, Stage, TaskPlan
from cascade.timing.deadlines import read_period


def _iso(t: pendulum.DateTime) -> str:
    return t.isoformat()


def _short(t: pendulum.DateTime) -> str:
    return str(t.format("DD/MM/YYYY HH:mm"))


def _due(t: pendulum.DateTime) -> str:
    """A deadline as people read it: its last day ("30/06/2023"), or the day and hour."""
    return deadline_short(int(t.timestamp()), t.timezone_name or "UTC")


class _Rows:
    """Instances as plain rows. Instants are formatted once per shared `Schedule` and opening
    (a national plan has ~130,000 instances but a few dozen of each)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._schedules: dict[int, tuple[str, list[str], list[str]]] = {}
        self._openings: dict[Opening, str] = {}

    def opening(self, opening: Opening) -> str:
        if opening not in self._openings:
            self._openings[opening] = _iso(opening.at) if opening.at else str(opening)
        return self._openings[opening]

    def _schedule(self, task: TaskPlan, schedule: Schedule) -> tuple[str, list[str], list[str]]:
        key = id(schedule)
        if key not in self._schedules:
            if schedule.deadline is None:
                self._schedules[key] = (
                    task.rule.text,
                    [f"{offset} before" for offset in task.notices.remind],
                    [f"deadline + {stage.after}" for stage in task.notices.escalate],
                )
            else:
                self._schedules[key] = (
                    _iso(schedule.deadline),
                    [_iso(t) for t in schedule.reminders],
                    [_iso(t) for t in schedule.escalations],
                )
        return self._schedules[key]

    def __call__(self, instance: Instance) -> dict[str, Any]:
        plan = self.plan
        task = plan.tasks[instance.task]
        unit = plan.hierarchy.units[instance.unit]
        deadline, reminders, escalation_times = self._schedule(task, instance.schedule)
        escalations = [
            {
                "stage": stage.number,
                "at": at,
                "to": plan.recipients(instance.unit, stage.to),
                "repeat": str(stage.repeat) if stage.repeat else None,
            }
            for stage, at in zip(task.notices.escalate, escalation_times, strict=True)
        ]
        return {
            "task": task.id,
            "kind": str(task.kind),
            "unit": unit.id,
            "unit_name": unit.name,
            "level": unit.level,
            "opens": self.opening(instance.opening),
            "deadline": deadline,
            "rule": task.rule.text,
            "reminders": reminders,
            "escalations": escalations,
            "report_to": unit.parent if task.kind == "report" else None,
        }


def write_json(plan: Plan, instances: Iterator[Instance], out: IO[str]) -> None:
    campaign = plan.campaign
    head = {
        "id": campaign.id,
        "title": campaign.title,
        "issued_by": campaign.issued_by,
        "issued_at": _iso(campaign.issued_at),
        "timezone": campaign.timezone,
        "calendar": campaign.calendar.code,
        "summary_at": _iso(campaign.summary_at),
        "levels": plan.hierarchy.levels,
    }
    out.write('{"campaign": ' + json.dumps(head, ensure_ascii=False) + ', "instances": [')
    rows = _Rows(plan)
    for n, instance in enumerate(instances):
        out.write(("," if n else "") + "\n  " + json.dumps(rows(instance), ensure_ascii=False))
    out.write("\n]}\n")


# A cell a spreadsheet would read as a formula (OWASP, CSV injection): text starting with one
# of these is written with a leading apostrophe, which spreadsheets show as plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """`value` safe to open in Excel: text that would start a formula is quoted with `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(plan: Plan, instances: Iterator[Instance], out: IO[str]) -> None:
    """The plan as a sheet for Excel, one row an instance, as the table reads it: each column in the
    operator's words with its key (`Mã đơn vị (unit)`), titles and names beside the ids, the last
    day that counts, times as the documents write them (the JSON keeps ISO instants for scripts).
    What a row shares with others (its task's, its schedule's, its level's words) is said once."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headed(SHEET_COLUMNS))
    titles, units, nobody = _titles(plan), plan.hierarchy.units, _("nobody")
    kinds = {"report": _("report"), "task": _("task")}
    tasks = {
        t.id: (t.id, csv_cell(t.title), kinds.get(str(t.kind), str(t.kind))) for t in plan.tasks.values()
    }
    levels = {level: operator_level(level) for level in plan.hierarchy.levels}
    said: dict[int, tuple[str, str, str, list[str]]] = {}  # per schedule (shared by instances)
    opened: dict[Opening, str] = {}
    named: dict[tuple[str, tuple[str, ...]], str] = {}  # whom a stage tells, per unit
    for instance in instances:
        task, unit, schedule = plan.tasks[instance.task], units[instance.unit], instance.schedule
        if (timed := said.get(id(schedule))) is None:
            timed = said[id(schedule)] = _sheet_times(task, schedule, titles)
        last_day, rule, reminders, times = timed
        if (opens := opened.get(opening := instance.opening)) is None:
            opens = opened[opening] = csv_cell(_opens_words(opening, titles, units))
        told = []
        for stage, when in zip(task.notices.escalate, times, strict=True):
            if (whom := named.get((unit.id, stage.to))) is None:  # (a unit's tasks share their stages)
                recipients = plan.recipients(unit.id, stage.to)
                whom = named[unit.id, stage.to] = ", ".join(units[to].name for to in recipients) or nobody
            told.append(_stage_words(stage, when, whom))
        escalations = "; ".join(told)
        parent = units[unit.parent].name if task.kind == "report" and unit.parent else ""
        writer.writerow(
            (
                *tasks[task.id],
                unit.id,
                csv_cell(unit.name),
                levels.get(unit.level, unit.level),
                opens,
                last_day,
                rule,
                reminders,
                csv_cell(escalations),
                csv_cell(parent),
            )
        )


# the plan's sheet: (key, the operator's words), as `status`'s and `decisions`' sheets are headed
SHEET_COLUMNS = (
    ("task", N_("task id")), ("task_title", N_("task")), ("kind", N_("kind")), ("unit", N_("unit id")),
    ("unit_name", N_("unit")), ("level", N_("level")), ("opens", N_("opens")),
    ("last_day", N_("last day")), ("rule", N_("rule")), ("reminders", N_("reminders")),
    ("escalations", N_("escalations")), ("report_to", N_("reports to")),
)  # fmt: skip


def _sheet_times(
    task: TaskPlan, schedule: Schedule, titles: Mapping[str, str]
) -> tuple[str, str, str, list[str]]:
    """A schedule's last day, rule, reminders and escalation times as the sheet writes them (shared
    by the instances that share the schedule)."""
    rule, reminders, times = _schedule_words(task, schedule, titles)
    last_day = _due(schedule.deadline) if schedule.deadline else _("per unit")
    return last_day, csv_cell(rule), "; ".join(reminders), times


def _schedule_words(
    task: TaskPlan, schedule: Schedule, titles: Mapping[str, str]
) -> tuple[str, list[str], list[str]]:
    """A schedule's rule, reminders and escalation times in words, for the table and the sheet: a
    deadline counted from a signal has offsets for times until it comes."""
    rule = rule_words(task.rule.text, titles) + (
        _(", {step} earlier a level down", step=task.step.words()) if task.step else ""
    )
    if schedule.deadline:
        return rule, [_short(t) for t in schedule.reminders], [_short(t) for t in schedule.escalations]
    reminders = [_("{offset} before", offset=o.words()) for o in task.notices.remind]
    times = [_("the deadline + {after}", after=stage.after.words()) for stage in task.notices.escalate]
    return rule, reminders, times


def _stage_words(stage: Stage, when: str, whom: str) -> str:
    """An escalation stage of an instance, for a person: "2. 23/11/2020 → Tỉnh ủy (every 7 days)"."""
    repeat = _(" (every {repeat})", repeat=stage.repeat.words()) if stage.repeat else ""
    return f"{stage.number}. {when} → {whom}{repeat}"


def _opens_words(opening: Opening, titles: Mapping[str, str], units: Mapping[str, UnitRecord]) -> str:
    """When an instance opens, for a person: its instant, or what it waits for."""
    return _short(opening.at) if opening.at else _opening_words(opening, titles, units)


def instance_table(plan: Plan, instances: Iterable[Instance]) -> Table:
    table = Table(
        title=f"{escape(plan.campaign.title)}\n[dim]{escape(plan.campaign.id)}[/dim]", show_lines=True
    )
    for column in (
        _("Task"),
        _("Unit"),
        _("Opens"),
        _("Deadline (last day)"),
        _("Reminders"),
        _("Escalations"),
    ):
        table.add_column(column, overflow="fold")
    rows = _Rows(plan)
    titles = _titles(plan)
    units = plan.hierarchy.units
    for instance in instances:
        row = rows(instance)
        task, unit = plan.tasks[instance.task], units[instance.unit]
        schedule = instance.schedule
        written, reminded, times = _schedule_words(task, schedule, titles)
        rule = escape(written)
        deadline = (
            f"{_due(schedule.deadline)}\n[dim]{rule}[/dim]"
            if schedule.deadline
            else f"[italic]{rule}[/italic]"
        )
        stages = task.notices.escalate
        reminders = "\n".join(reminded)
        nobody = _("nobody")
        escalations = "\n".join(
            _stage_words(stage, when, ", ".join(units[to].name for to in e["to"]) or nobody)
            for e, stage, when in zip(row["escalations"], stages, times, strict=True)
        )
        opens = _opens_words(instance.opening, titles, units)
        table.add_row(  # names and rules come from files: text, never markup
            f"{escape(task.title)}\n[dim]{escape(task.id)}[/dim]",  # people read titles; the id to type
            f"{escape(unit.name)}\n[dim]{escape(unit.id)}[/dim]",
            escape(opens),
            deadline,
            escape(reminders),
            escape(escalations),
        )
    return table


def summary_table(plan: Plan) -> Table:
    """One row a task or report: whom it targets, its deadline(s), how many instances."""
    counts: dict[str, dict[str, int]] = {}
    deadlines: dict[str, dict[str, str]] = {}
    for instance in plan.instances:
        level = plan.hierarchy.units[instance.unit].level
        counts.setdefault(instance.task, {}).setdefault(level, 0)
        counts[instance.task][level] += 1
        if instance.schedule.deadline:
            deadlines.setdefault(instance.task, {})[level] = _due(instance.schedule.deadline)
    campaign = plan.campaign
    table = Table(
        title=f"{escape(campaign.title)}\n[dim]{escape(campaign.id)} · "
        + _(
            "issued {issued} · summary {summary}",
            issued=_short(campaign.issued_at),
            summary=_short(campaign.summary_at),
        )
        + "[/dim]"
    )
    for column in (_("Task"), _("Level: units"), _("Deadline (last day)"), _("Rule"), _("Opens")):
        table.add_column(column, overflow="fold")
    titles = _titles(plan)
    for task in plan.tasks.values():
        per_level = counts.get(task.id, {})
        table.add_row(
            f"{escape(task.title)}\n[dim]{escape(task.id)}[/dim]",
            "\n".join(f"{operator_level(level)}: {num(n)}" for level, n in per_level.items())
            or "[red]" + _("none") + "[/red]",
            "\n".join(f"{deadlines[task.id][lv]}" for lv in per_level if lv in deadlines.get(task.id, {}))
            or "[italic]" + _("per unit") + "[/italic]",
            escape(
                rule_words(task.rule.text, titles)
                + (_(", step {step}", step=task.step.words()) if task.step else "")
            ),
            escape(_opens_text(task, titles)),
        )
    return table


def _titles(plan: Plan) -> dict[str, str]:
    return {task.id: task.title for task in plan.tasks.values()}


def _titled(task: str, titles: Mapping[str, str]) -> str:
    """A task another task's rule names, as people read it: its title in «», else the id."""
    return f"«{titles[task]}»" if task in titles else task


def _opens_text(task: TaskPlan, titles: Mapping[str, str]) -> str:
    if task.opens:
        return _("request {opens} before", opens=task.opens.words())
    if task.rule.is_relative and task.rule.after:
        return _("with {task}", task=_titled(task.rule.after, titles))
    if task.opens_after:
        at = _("its parent") if task.opens_after[1] == "parent" else _("itself")
        return _("after {task} at {at}", task=_titled(task.opens_after[0], titles), at=at)
    return _("at issue")


_RULE = re.compile(
    r"^(?:(?P<kw>before|by|on|within) (?P<when>.+?)"
    r"|(?P<n>\d+) (?P<unit>days|working days) after (?P<task>[a-z0-9-]+))"
    r"(?:, latest before (?P<latest>\S+))?$"
)


def headed(columns: Iterable[tuple[str, str]]) -> list[str]:
    """A CSV's header for Excel: each column in the operator's words with its key, as the
    templates head theirs ("Mã đơn vị (unit_id)"), so that a sheet kept and sent back is read by
    its keys (`cascade extend --units FILE`)."""
    return [f"{_(words)[:1].upper()}{_(words)[1:]} ({key})" for key, words in columns]


def operator_level(level: str) -> str:
    """A level as the operator reads it: "cấp huyện" in Vietnamese, the id in English."""
    return level_name(level) if language() == "vi" else level


def rule_words(text: str, titles: Mapping[str, str] | None = None) -> str:
    """A compiled rule ("before 20/11/2020", "7 days after hn-co-so, latest before 08/12/2017")
    in the operator's words, a task it names by its title when `titles` has it; the rule text
    itself stays as the file writes it (the plan's JSON and CSV carry it)."""
    m = _RULE.match(text)
    if m is None:
        return text
    if m["kw"]:
        when = period_words(m["when"])
        first, _range, last = m["when"].partition("..")  # `on: 29/11/2017..30/11/2017`, days held
        said = {
            "before": _("before {when}", when=when),
            "by": _("by {when}", when=when),
            "on": _("from {first} to {last}", first=first, last=last) if last else _("on {when}", when=when),
            "within": _("within {when}", when=when),
        }[m["kw"]]
    elif m["unit"] == "days":
        said = _("{count} days after {task}", count=m["n"], task=_titled(m["task"], titles or {}))
    else:
        said = _("{count} working days after {task}", count=m["n"], task=_titled(m["task"], titles or {}))
    return said + (_(", latest before {when}", when=m["latest"]) if m["latest"] else "")


_ROMAN_QUARTERS = ("I", "II", "III", "IV")


def period_words(when: str) -> str:
    """A period as the campaign's documents name it: "nửa đầu tháng 12/2017", "quý II năm 2023";
    a date stays as written."""
    period = read_period(when)
    if period is None:
        return when
    if period.quarter is not None:
        return _("quarter {quarter} of {year}", quarter=_ROMAN_QUARTERS[period.quarter - 1], year=period.year)
    month = period.month_written
    if period.part == "first-half":
        return _("the first half of {month}", month=month)
    if period.part == "second-half":
        return _("the second half of {month}", month=month)
    if period.part == "end":
        return _("the end of {month}", month=month)
    return _("month {month}", month=month)


def _opening_words(opening: Opening, titles: Mapping[str, str], units: Mapping[str, UnitRecord]) -> str:
    """When an instance opens, for a person: "khi «Hội nghị cốt cán cấp huyện» hoàn thành ở
    Huyện ủy Can Lộc"."""
    task = _titled(opening.task, titles) if opening.task else ""
    if opening.on is OpensOn.PREREQUISITE and opening.unit:
        unit = units[opening.unit].name if opening.unit in units else opening.unit
        return _("when {task} is done at {unit}", task=task, unit=unit)
    if opening.on is OpensOn.SOURCE_SIGNAL:
        return _("with its {task} signal", task=task)
    return str(opening)
