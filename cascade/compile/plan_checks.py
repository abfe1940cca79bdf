"""Checks on the built plan: what only resolved deadlines show. Deadlines out of order along
a chain of tasks, windows too short to act in, dates past the summary, instances waiting on
a prerequisite no unit above them has. All are warnings: shown at compile and deploy, kept.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Iterable, Sequence

import pendulum

from cascade.compile.checks import entries, warning
from cascade.compile.parse import ParsedCampaign
from cascade.compile.reading import Document, Path
from cascade.errors import Problem, listed
from cascade.i18n import _, num
from cascade.plan.hierarchy import Hierarchy
from cascade.plan.model import Plan, TaskPlan
from cascade.timing.deadlines import last_moment


def sample(ids: Sequence[str], hierarchy: Hierarchy, n: int = 5) -> str:
    """The first `n` units of `ids` by their names (a name other units share, with its id)."""
    shared = Counter(unit.name for unit in hierarchy.units.values())

    def named(unit: str) -> str:
        name = hierarchy.units[unit].name if unit in hierarchy.units else unit
        return f"{name} ({unit})" if shared[name] > 1 else name

    return listed([named(unit) for unit in ids[:n]] + list(ids[n:]), n)


def check_plan(parsed: ParsedCampaign, plan: Plan, problems: list[Problem]) -> None:
    """Warnings that need resolved deadlines: order along chains, windows, dates vs. summary."""
    doc, campaign = parsed.doc, plan.campaign
    line_of = entries(parsed)
    units_of = units_by_task(plan)
    for task in plan.tasks.values():
        at = line_of[task.id]
        if not units_of[task.id]:
            problems.append(
                warning(doc.problem(at, _("`{id}` targets no unit; it will never run", id=task.id)))
            )
        if task.rule.is_relative:
            continue
        deadline = task.rule.instant(campaign.timezone, campaign.calendar)
        if deadline <= campaign.issued_at:
            problems.append(
                warning(
                    doc.problem(
                        (*at, "due"),
                        _("last day {when}, before the campaign is issued", when=_when(deadline)),
                    )
                )
            )
        if deadline.date() > campaign.summary_date:
            problems.append(
                warning(
                    doc.problem(
                        (*at, "due"),
                        _(
                            "last day {when}: the summary, on {summary_date}, goes out before it has passed",
                            when=_when(deadline),
                            summary_date=campaign.summary_date.strftime("%d/%m/%Y"),
                        ),
                    )
                )
            )
        if task.opens_after:
            _check_chain(doc, at, task, plan, problems)
    _check_unreachable(parsed, plan, units_of, line_of, problems)
    _check_relative_sources(parsed, plan, units_of, problems)


def units_by_task(plan: Plan) -> dict[str, list[str]]:
    """Each task's units, in the plan's order: one pass over the instances (a national plan has
    ~250,000), which the build lays out a task at a time."""
    out: dict[str, list[str]] = {task: [] for task in plan.tasks}
    for task, instances in itertools.groupby(plan.instances, key=_TASK):
        out[task].extend(map(_UNIT, instances))
    return out


_TASK, _UNIT = operator.attrgetter("task"), operator.attrgetter("unit")


def _check_chain(doc: Document, at: Path, task: TaskPlan, plan: Plan, problems: list[Problem]) -> None:
    assert task.opens_after is not None
    campaign = plan.campaign
    prereq = plan.tasks.get(task.opens_after[0])
    if prereq is None or prereq.rule.is_relative:
        return
    mine = task.rule.instant(campaign.timezone, campaign.calendar)
    theirs = prereq.rule.instant(campaign.timezone, campaign.calendar)
    if mine < theirs:
        problems.append(
            warning(
                doc.problem(
                    (*at, "due"),
                    _(
                        "last day {when}, earlier than `{id}` ({then}) which it waits for",
                        when=_when(mine),
                        id=prereq.id,
                        then=_when(theirs),
                    ),
                    _("a unit cannot finish before its prerequisite"),
                )
            )
        )
    elif task.min_window and mine - theirs < task.min_window.calendar:
        problems.append(
            warning(
                doc.problem(
                    (*at, "min_window"),
                    _(
                        "if `{id}` is done on its last day, only {days}d remain "
                        "of the {min_window} min_window",
                        id=prereq.id,
                        days=(mine - theirs).days,
                        min_window=task.min_window,
                    ),
                )
            )
        )


def _check_relative_sources(
    parsed: ParsedCampaign, plan: Plan, units_of: dict[str, list[str]], problems: list[Problem]
) -> None:
    """An `after: T` deadline needs T at the same unit, or it never gets a deadline."""
    for i, spec in parsed.tasks:
        source = spec.due.after
        if source is None:
            continue
        missing = sorted(set(units_of.get(spec.id, ())).difference(units_of.get(source, ())))
        if missing:
            problems.append(
                parsed.doc.problem(
                    ("tasks", i, "due", "after"),
                    _(
                        "{count} unit(s) have `{id}` but no `{source}` to count from: {sample}",
                        count=num(len(missing)),
                        id=spec.id,
                        source=source,
                        sample=sample(missing, plan.hierarchy),
                    ),
                    _(
                        "exempt or exclude them from `{id}` too, or target them with `{source}`",
                        id=spec.id,
                        source=source,
                    ),
                )
            )


def _check_unreachable(
    parsed: ParsedCampaign,
    plan: Plan,
    units_of: dict[str, list[str]],
    line_of: dict[str, Path],
    problems: list[Problem],
) -> None:
    """Targeted units with no contact for the roles that task notifies."""
    unreached: dict[tuple[str, ...], set[str]] = {}  # roles -> the units with none of them
    silent: dict[str, list[str]] = {}
    for task_id, targeted in units_of.items():
        notify = plan.tasks[task_id].notices.notify
        if notify not in unreached:
            every = plan.hierarchy.units.values()
            reached = {u.id for u in every for c in u.contacts if c.role in notify}
            unreached[notify] = {u.id for u in every if u.id not in reached}
        if (none := unreached[notify]) and (units := [u for u in targeted if u in none]):
            silent[task_id] = units
    for task_id, units in silent.items():
        roles = "/".join(plan.tasks[task_id].notices.notify)
        problems.append(
            warning(
                parsed.doc.problem(
                    line_of[task_id],
                    _(
                        "{count} unit(s) have no `{roles}` contact, "
                        "so `{task_id}` notices reach nobody there: {sample}",
                        count=num(len(units)),
                        roles=roles,
                        task_id=task_id,
                        sample=sample(units, plan.hierarchy),
                    ),
                    _("add contacts in the units file or change `notify`"),
                )
            )
        )


def orphan_warning(
    plan: Plan, task: TaskPlan, prereq: str, at: str, units: Iterable[str], their_own: bool = False
) -> Problem:
    """Units waiting for `prereq` where none comes; `their_own`: each has `prereq` itself (the
    default `at: parent` written where `at: self` was meant)."""
    units = list(units)
    words = {"count": num(len(units)), "prereq": prereq, "sample": sample(units, plan.hierarchy)}
    if at == "parent":  # (whole sentences: a translation spliced from two read "has has no")
        message = _(
            "{count} unit(s) wait for `{prereq}` but their parent has no `{prereq}`: {sample}; "
            "they open when the campaign is issued",
            **words,
        )
    else:
        message = _(
            "{count} unit(s) wait for `{prereq}` but they have no `{prereq}`: {sample}; "
            "they open when the campaign is issued",
            **words,
        )
    hint = _("target those units with `{prereq}`, or exclude them here", prereq=prereq)
    if their_own and at == "parent":
        hint = _(
            "they have `{prereq}` themselves: to wait for their own, write `{written}`",
            prereq=prereq,
            written=f"opens_after: {{task: {prereq}, at: self}}",
        )
    return warning(Problem(plan.campaign.file, task.line, f"{task.id}.opens_after", message, hint))


def _when(t: pendulum.DateTime) -> str:
    """A deadline as people read it: its last day (20/02 00:00 is 19/02), or the day and hour."""
    day, hour = last_moment(int(t.timestamp()), t.timezone_name or "UTC")
    return day.strftime("%d/%m/%Y") + ("" if hour is None else f" {hour.strftime('%H:%M')}")
