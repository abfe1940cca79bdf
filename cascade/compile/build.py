"""Campaign document + hierarchy -> plan, reporting every problem at once.

Three steps, one module each: `cascade.compile.parse` checks the shape of each section on
its own (so one broken task does not hide the errors of the next), `cascade.compile.checks`
checks that the parts fit together, and `build_plan` here resolves every instance. Files
are read elsewhere (`cascade.compile.files`): this module takes data.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from typing import Any

import pendulum

from cascade.compile import checks, plan_checks, unit_refs
from cascade.compile.format import BUILTIN_DEFAULTS, CampaignHeader, Defaults, DocumentSpec, Report, Task
from cascade.compile.format import Notices as NoticesSpec
from cascade.compile.parse import ParsedCampaign, parse_campaign
from cascade.compile.reading import Document
from cascade.errors import CampaignInvalid, Problem, Severity
from cascade.plan.hierarchy import Hierarchy
from cascade.plan.model import (
    Campaign,
    Instance,
    Kind,
    Notices,
    Opening,
    OpensOn,
    Plan,
    Schedule,
    Stage,
    TaskPlan,
)
from cascade.plan.values import Contact
from cascade.timing.deadlines import midnight, rolled
from cascade.timing.reminders import reminder_times, stage_time
from cascade.timing.workdays import Calendar


def compile_plan(doc: Document, hierarchy: Hierarchy | None, problems: list[Problem] | None = None) -> Plan:
    """The plan for a campaign document over its units; raises CampaignInvalid on any error."""
    problems = [*(problems or []), *doc.warnings, *(hierarchy.warnings if hierarchy is not None else ())]
    parsed = parse_campaign(doc, problems)
    if hierarchy is not None:
        unit_refs.name_units(parsed, hierarchy, problems)
        checks.check_references(parsed, hierarchy, problems)
    if hierarchy is None or parsed.header is None or _has_errors(problems):
        raise CampaignInvalid(problems)
    plan = build_plan(parsed, parsed.header, hierarchy, problems)
    plan_checks.check_plan(parsed, plan, problems)
    if _has_errors(problems):
        raise CampaignInvalid(problems)
    plan.warnings = sorted(problems, key=lambda p: (p.file, p.line or 0))
    return plan


def _has_errors(problems: list[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)


def _contact(c: Contact) -> dict[str, Any]:
    """A contact as the store keeps it: its name and its channels in fallback order."""
    return {"name": c.name, "channels": [[channel, getattr(c, channel)] for channel in c.channels]}


def _document(spec: DocumentSpec, hierarchy: Hierarchy) -> dict[str, Any]:
    """The summary's heading as the store keeps it: what the file writes, with `groups` resolved
    to the units carrying each tag (the store keeps no tags)."""
    out = spec.model_dump(mode="json", exclude={"groups"}, exclude_defaults=True)
    if spec.groups:
        out["groups"] = {
            unit.id: label
            for unit in hierarchy.units.values()
            for tag, label in spec.groups.items()
            if tag in unit.tags
        }
    return out


def build_plan(
    parsed: ParsedCampaign, header: CampaignHeader, hierarchy: Hierarchy, problems: list[Problem]
) -> Plan:
    campaign = Campaign(
        header.id,
        header.title,
        header.issued_by,
        header.issued_on,
        header.timezone,
        Calendar(header.calendar),
        header.summary_date,
        parsed.doc.file,
        _contact(header.operator) if header.operator else None,
        _document(header.document, hierarchy),
    )
    plan = Plan(campaign, hierarchy, {}, [])
    targets = {spec.id: checks.targeted_units(spec, hierarchy) for _, spec in parsed.tasks}
    for i, spec in parsed.tasks:
        plan.tasks[spec.id] = _task_plan(
            spec, Kind.TASK, parsed, parsed.doc.line_of(("tasks", i)), header.calendar
        )
    for i, report in parsed.reports:
        plan.tasks[report.id] = _task_plan(
            report, Kind.REPORT, parsed, parsed.doc.line_of(("reports", i)), header.calendar
        )
    for spec_id in _dependency_order(parsed):
        task = plan.tasks[spec_id]
        plan.instances.extend(_task_instances(plan, task, targets[spec_id], targets, problems))
    for _, report in parsed.reports:
        plan.instances.extend(_report_instances(plan, plan.tasks[report.id], report))
    return plan


def _task_plan(
    spec: Task | Report, kind: Kind, parsed: ParsedCampaign, line: int | None, calendar: str
) -> TaskPlan:
    task = TaskPlan(
        spec.id,
        spec.title,
        kind,
        _notices(parsed.defaults, spec, calendar),
        spec.due.rule(),
        dict(spec.fields),
        checks=tuple(spec.check),
        exempt=tuple(spec.exempt),
        line=line,
    )
    if isinstance(spec, Task):
        task.opens_after = (spec.opens_after.task, spec.opens_after.at) if spec.opens_after else None
        task.min_window = spec.min_window
    else:
        task.rollup, task.step, task.opens = tuple(spec.rollup), spec.step, spec.opens
    return task


def _notices(defaults: Defaults, spec: NoticesSpec, calendar: str) -> Notices:
    """The task's own setting, else the campaign's defaults, else the built-in defaults. With
    `quiet_days: holidays` (the default) and a calendar, notices wait out its holidays too."""

    def pick(name: str) -> Any:
        for source in (spec, defaults, BUILTIN_DEFAULTS):
            value = getattr(source, name)
            if value is not None:
                return value
        raise AssertionError(name)

    stages = tuple(Stage(n, s.after, tuple(s.to), s.repeat) for n, s in enumerate(pick("escalate"), 1))
    quiet = pick("quiet_hours")
    if pick("quiet_days") == "holidays" and calendar.lower() != "none":
        quiet = replace(quiet, holidays=calendar)
    return Notices(tuple(pick("notify")), tuple(pick("remind")), quiet, stages)


def _dependency_order(parsed: ParsedCampaign) -> list[str]:
    """Task ids with every prerequisite before the tasks that wait on it (checks ruled out cycles)."""
    deps = {spec.id: checks.prerequisites(spec) for _, spec in parsed.tasks}
    order: dict[str, None] = {}

    def visit(task_id: str) -> None:
        if task_id in order or task_id not in deps:
            return
        for dep in deps[task_id]:
            visit(dep)
        order[task_id] = None

    for task_id in deps:
        visit(task_id)
    return list(order)


def schedule_for(
    plan: Plan, task: TaskPlan, deadline: pendulum.DateTime | None, opens_at: pendulum.DateTime
) -> Schedule:
    """Reminder and first-escalation instants for a deadline, after quiet hours."""
    if deadline is None:
        return Schedule(task.rule, None)
    calendar, notices = plan.campaign.calendar, task.notices
    reminders = [t for t in reminder_times(notices, deadline, calendar) if t >= opens_at]
    escalations = tuple(
        stage_time(notices, deadline, n, calendar) for n in range(1, len(notices.escalate) + 1)
    )
    return Schedule(task.rule, deadline, tuple(reminders), escalations)


def _task_instances(
    plan: Plan, task: TaskPlan, units: list[str], targets: dict[str, list[str]], problems: list[Problem]
) -> list[Instance]:
    campaign = plan.campaign
    issued = Opening(OpensOn.ISSUED, campaign.issued_at)
    if task.rule.is_relative:
        shared = Schedule(task.rule, None)
        return [
            Instance(task.id, unit, Opening(OpensOn.SOURCE_SIGNAL, task=task.rule.after, unit=unit), shared)
            for unit in units
        ]
    deadline = task.rule.instant(campaign.timezone, campaign.calendar)
    from_issue = schedule_for(plan, task, deadline, campaign.issued_at)
    if task.opens_after is None:
        return [Instance(task.id, unit, issued, from_issue) for unit in units]
    # Held instances may open any time before the deadline, so every reminder after issue stays.
    prereq_task, at = task.opens_after
    has_prereq = set(targets.get(prereq_task, ()))
    exempt = set(plan.tasks[prereq_task].exempt) if prereq_task in plan.tasks else set()
    instances, orphans = [], []
    records = plan.hierarchy.units
    waiting: dict[str, Opening] = {}  # per holder: siblings share their parent's (it is frozen)
    for unit in units:
        holder = unit if at == "self" else records[unit].parent
        if holder is not None and holder in has_prereq:
            opening = waiting.get(holder) or waiting.setdefault(
                holder, Opening(OpensOn.PREREQUISITE, task=prereq_task, unit=holder)
            )
        else:
            opening = issued
            if holder not in exempt:
                orphans.append(unit)
        instances.append(Instance(task.id, unit, opening, from_issue))
    if orphans:
        own = all(unit in has_prereq for unit in orphans)  # (`at: parent` written for `at: self`)
        problems.append(plan_checks.orphan_warning(plan, task, prereq_task, at, orphans, own))
    return instances


def _report_instances(plan: Plan, task: TaskPlan, report: Report) -> list[Instance]:
    """One report per unit of the `from` levels, due `step` earlier for each level further down."""
    campaign, hierarchy = plan.campaign, plan.hierarchy
    assert task.opens is not None
    top_due = task.rule.instant(campaign.timezone, campaign.calendar)
    skip = set(report.exclude) | set(report.exempt)
    schedules: dict[int, tuple[Schedule, Opening]] = {}
    out = []
    for unit in hierarchy.units.values():
        if unit.level not in report.from_ or unit.id in skip or unit.parent is None:
            continue
        if unit.depth not in schedules:
            deadline = top_due
            for _ in range(unit.depth - 1):  # (a report from further down has its `step`: checked)
                assert task.step is not None
                deadline = campaign.calendar.shift(deadline, task.step, -1)
            cutoff = rolled(deadline.date(), task.rule.roll, campaign.calendar)
            deadline = midnight(cutoff, campaign.timezone) if deadline.time() == time() else deadline
            request = task.notices.quiet.release(campaign.calendar.shift(deadline, task.opens, -1))
            request = max(request, campaign.issued_at)
            schedules[unit.depth] = (
                schedule_for(plan, task, deadline, request),
                Opening(OpensOn.REQUEST, request),
            )
        schedule, opening = schedules[unit.depth]
        out.append(Instance(task.id, unit.id, opening, schedule))
    return out
