"""The campaign summary the propaganda department files: read from the store, never changing it.

Per level and per task: how many units finished on time, late, are overdue, still open or
held, or exempt. Per unit: each task's state, its report's figures (what it reported
beside what its children's figures computed), the targets it missed and what it still
owes. Then the campaign's totals (the top unit's roll-up), the completion over time by
level, and a short paragraph in Vietnamese built from those figures (worded in
`templates/narrative.txt.j2`). The tick sends the paragraph to the top unit on the summary
date (so the summary lives beside the tick, in the engine); `cascade.reports` writes the
whole as Markdown, xlsx or docx.
"""

from __future__ import annotations

import bisect
import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pendulum
from sqlalchemy import Connection, Engine, and_, func, select

from cascade.engine import bulk, deployed, store, words
from cascade.engine.rollup import Figure, Rollup
from cascade.engine.rollup import load as load_rollup
from cascade.engine.words import level_name
from cascade.plan.hierarchy import parent_of
from cascade.plan.rules import TaskRules, campaign_rules, missed_targets

if TYPE_CHECKING:
    from cascade.engine.resident import Resident


@dataclass
class TaskCounts:
    task: str
    title: str
    kind: str  # task | report
    level: str
    counts: Counter[str] = field(default_factory=Counter)
    waits: tuple[str, str] | None = None  # what a held one waits for (`waits_for`)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Done on time or late."""
        return self.counts["done"] + self.counts["done_late"]

    @property
    def owed(self) -> int:
        """Instances that count (not exempt)."""
        return self.total - self.counts["exempt"]

    @property
    def missing(self) -> int:
        return self.owed - self.done


@dataclass
class UnitRow:
    id: str
    name: str
    level: str
    parent: str | None
    states: dict[str, str] = field(default_factory=dict)  # task -> state
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)  # report -> key -> value (stood behind)


@dataclass(frozen=True)
class Miss:
    """A figure below (or otherwise outside) its target."""

    unit: str
    name: str
    level: str
    task: str
    figure: str  # the field, or the report's `task.field`
    label: str
    value: float
    target: str


@dataclass(frozen=True)
class Correction:
    unit: str
    name: str
    report: str
    key: str
    label: str
    computed: Any
    reported: Any


@dataclass(frozen=True)
class Owed:
    unit: str
    name: str
    level: str
    task: str
    title: str
    state: str
    deadline: int | None


@dataclass
class ReportFigures:
    report: str
    title: str
    figures: list[Figure]
    labels: dict[str, str]
    totals: dict[str, Any]  # the top unit's roll-up: the campaign's figures
    by_level: dict[str, dict[str, Any]]  # level -> key -> sum over its units (stood behind)


@dataclass
class Summary:
    campaign: str
    title: str
    issued_by: str | None
    timezone: str
    at: pendulum.DateTime  # as of
    summary_date: pendulum.DateTime
    levels: list[str]
    root: str
    root_name: str
    tasks: list[TaskCounts]  # task x level, in campaign order then level order
    units: list[UnitRow]  # in hierarchy order
    reports: list[ReportFigures]
    misses: list[Miss]
    corrections: list[Correction]
    owed: list[Owed]  # instances not done, not exempt
    timeline: dict[str, list[tuple[pendulum.Date, float]]]  # level -> (day, share of tasks done)
    titles: dict[str, str]
    # a task whose deadline counts from another's (`due: {after: ...}`): (days, working days or
    # not, that task), its last day said so while that task is not done (`tables.last_day`)
    counted_after: dict[str, tuple[int, bool, str]] = field(default_factory=dict)
    targets: bool = False  # whether any task sets a target for its figures
    judged: int = 0  # units whose figures for a target are in (some task with one done)
    unjudged: int = 0  # units some task with a target is not done at: no figures to judge yet
    narrative: str = ""
    document: dict[str, Any] = field(default_factory=dict)  # the campaign's `document` (heading, names)

    def level_name(self, level: str) -> str:
        """A level as the documents name it: the campaign's name for it, else the usual one, with
        "và tương đương" when some of its units are a group of their own (mass organisations,
        committees directly under the top unit)."""
        named = self.document.get("levels", {}).get(level)
        if named:
            return str(named)
        return level_name(level) + (" và tương đương" if level in self._grouped_levels else "")

    @functools.cached_property
    def _grouped_levels(self) -> set[str]:
        """The levels holding a unit of a group (read once: a table asks per unit row)."""
        groups = self.document.get("groups", {})
        return {u.level for u in self.units if u.id in groups}

    def unit_level(self, unit: str, level: str) -> str:
        """Where a unit sits, in a table's level column: its group's name, else its level's."""
        return str(self.document.get("groups", {}).get(unit) or self.level_name(level))

    def tasks_at(self, level: str) -> list[TaskCounts]:
        return [t for t in self.tasks if t.level == level]

    def units_at(self, level: str) -> list[UnitRow]:
        return [u for u in self.units if u.level == level]

    @property
    def missing_units(self) -> list[str]:
        return list(dict.fromkeys(o.unit for o in self.owed))


def state_counts(
    conn: Connection, campaign_id: str, filters: Sequence[Any] = ()
) -> dict[str, dict[str, dict[str, int]]]:
    """task -> level -> state -> number of live instances (those `filters` keep, if given)."""
    i, u = store.instances, store.units
    query = (
        select(i.c.task_id, u.c.level, i.c.state, func.count())
        .join(u, and_(u.c.campaign_id == i.c.campaign_id, u.c.id == i.c.unit_id))
        .where(i.c.campaign_id == campaign_id, i.c.archived.is_(False), *filters)
        .group_by(i.c.task_id, u.c.level, i.c.state)
        .order_by(i.c.task_id, u.c.level, i.c.state)  # (the summary event's counts: one order, any store)
    )
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for task, level, state, n in conn.execute(query):
        counts.setdefault(task, {}).setdefault(level, {})[state] = n
    return counts


def build(engine: Engine, campaign_id: str, at: pendulum.DateTime | None = None) -> Summary | None:
    """The summary of a deployed campaign as the store has it (None: no such campaign)."""
    with engine.connect() as conn:
        return build_in(conn, campaign_id, at)


def build_in(
    conn: Connection,
    campaign_id: str,
    at: pendulum.DateTime | None = None,
    resident: Resident | None = None,
) -> Summary | None:
    """`build` on the caller's connection; a simulation's tick passes its `resident` copy of
    the instances, read instead of the store's (the units are read from the store)."""
    u, i = store.units, store.instances
    campaign = deployed.read(conn, campaign_id)
    if campaign is None:
        return None
    tz = campaign.timezone
    at = (at or pendulum.now(tz)).in_timezone(tz)
    rules = campaign_rules(campaign)
    levels = list(campaign.levels)
    depth = {level: n for n, level in enumerate(levels)}

    units: dict[str, UnitRow] = {}
    place: dict[str, int] = {}  # each unit's place in the units file's order
    for n, (unit_id, name, level, path) in enumerate(
        conn.execute(
            select(u.c.id, u.c.name, u.c.level, u.c.path)
            .where(u.c.campaign_id == campaign_id, u.c.archived.is_(False))
            .order_by(*store.IN_FILE_ORDER)
        )
    ):
        units[unit_id] = UnitRow(unit_id, name, level, parent_of(path))
        place[unit_id] = n
    order = list(units)
    root = next(uid for uid in order if units[uid].parent is None)

    counts: dict[tuple[str, str], TaskCounts] = {}
    owed: list[Owed] = []
    misses: list[Miss] = []
    done_times: dict[str, list[int]] = {}
    owed_total: Counter[str] = Counter()
    judged: set[str] = set()
    unjudged: set[str] = set()
    if resident is not None:
        instances: Iterable[Sequence[Any]] = resident.summary_rows()
    else:
        query = (
            select(
                i.c.task_id,
                i.c.unit_id,
                i.c.kind,
                i.c.state,
                i.c.deadline,
                i.c.done_at,
                bulk.as_text(i.c.fields),
            )
            .join(u, and_(u.c.campaign_id == i.c.campaign_id, u.c.id == i.c.unit_id))
            .where(i.c.campaign_id == campaign_id, i.c.archived.is_(False), u.c.archived.is_(False))
        )
        instances = conn.execute(query).fetchall()
    task_order = {task: n for n, task in enumerate(rules)}
    targeted = {task for task, r in rules.items() if any(s.target is not None for s in r.fields.values())}
    for task, unit_id, kind, state, deadline, done_at, figures in instances:  # (the store's: JSON text)
        if task not in rules or unit_id not in units:  # (an archived unit's: the query's join leaves
            continue  # it out, the copy's rows do not)
        row = units[unit_id]
        row.states[task] = state
        key = (task, row.level)
        if key not in counts:
            counts[key] = TaskCounts(task, rules[task].title, kind, row.level, waits=waits_for(rules[task]))
        counts[key].counts[state] += 1
        if state not in ("done", "done_late", "exempt"):
            owed.append(Owed(unit_id, row.name, row.level, task, rules[task].title, state, deadline))
        if kind == "task" and state != "exempt":
            owed_total[row.level] += 1
            if state in ("done", "done_late") and done_at is not None:
                done_times.setdefault(row.level, []).append(done_at)
        if task in targeted and state != "exempt":
            (judged if state in ("done", "done_late") else unjudged).add(unit_id)
        if task in targeted and state in ("done", "done_late") and (fields := bulk.loads(figures)):
            for name, value, target in missed_targets(rules[task], fields):
                label = rules[task].fields[name].title or name
                misses.append(Miss(unit_id, row.name, row.level, task, name, label, value, target))

    reports, corrections = [], []
    for report in rules.values():
        if report.kind != "report" or not report.rollup:
            continue
        rollup = load_rollup(conn, campaign, report, rules, resident)
        reports.append(_report_figures(report, rules, rollup, units, root))
        misses += _rate_misses(report, rules, rollup, units)
        corrections += _corrections(report, rules, rollup, units)

    tasks = sorted(counts.values(), key=lambda t: (task_order[t.task], depth.get(t.level, 99)))
    owed.sort(key=lambda o: (depth.get(o.level, 99), place[o.unit], task_order[o.task]))
    misses.sort(key=lambda m: (depth.get(m.level, 99), place[m.unit], m.task, m.figure))
    issued = pendulum.from_timestamp(campaign.issued_at, tz=tz)
    summary = Summary(
        campaign=campaign_id,
        title=campaign.title,
        issued_by=campaign.issued_by,
        timezone=tz,
        at=at,
        summary_date=pendulum.from_timestamp(campaign.summary_at, tz=tz),
        levels=levels,
        root=root,
        root_name=units[root].name,
        tasks=tasks,
        units=[units[uid] for uid in order],
        reports=reports,
        misses=misses,
        corrections=corrections,
        owed=owed,
        timeline=_timeline(done_times, owed_total, issued, at, tz),
        titles={task: r.title for task, r in rules.items()},
        counted_after={
            task: (r.rule.working_days or r.rule.days or 0, r.rule.working_days is not None, r.rule.after)
            for task, r in rules.items()
            if r.rule.after is not None
        },
        targets=bool(targeted),
        judged=len(judged),
        unjudged=len(unjudged),
        document=dict(campaign.document or {}),
    )
    summary.narrative = narrative(summary)
    return summary


def waits_for(rules: TaskRules) -> tuple[str, str] | None:
    """What a held instance of the task waits for: ("parent", task) its parent's, ("self", task)
    its own unit's (`opens_after ... at: self`, or the task its `after:` deadline counts from)."""
    if rules.opens_after:
        return rules.opens_after
    return ("self", rules.rule.after) if rules.rule.after else None


def _report_figures(
    report: TaskRules, rules: Mapping[str, TaskRules], rollup: Rollup, units: Mapping[str, UnitRow], root: str
) -> ReportFigures:
    by_level: dict[str, dict[str, Any]] = {}
    for unit_id, row in units.items():
        values = rollup.stands_behind(unit_id)
        row.figures[report.id] = values
        level = by_level.setdefault(row.level, {})
        for figure in rollup.figures:
            value = values.get(figure.key)
            if figure.kind != "rate" and value is not None:
                level[figure.key] = level.get(figure.key, 0) + value
    for values in by_level.values():
        rollup.rates(values)  # a level's rates from its summed figures
    return ReportFigures(
        report.id,
        report.title,
        rollup.figures,
        {f.key: f.label(rules) for f in rollup.figures},
        dict(rollup.computed_of(root)),
        by_level,
    )


def _rate_misses(
    report: TaskRules, rules: Mapping[str, TaskRules], rollup: Rollup, units: Mapping[str, UnitRow]
) -> list[Miss]:
    """Rolled-up rates below target, for units with units below them (a unit's own figure
    is checked with its task), labelled as a unit's own miss is: the field's title."""
    parents = {row.parent for row in units.values() if row.parent is not None}
    misses = []
    for figure in rollup.figures:
        if figure.kind != "rate" or figure.target is None:
            continue
        spec = rules[figure.task].fields.get(figure.name)
        label = spec.title if spec is not None and spec.title else figure.name
        for unit_id in parents:
            value = rollup.stands_behind(unit_id).get(figure.key)
            if isinstance(value, int | float) and not figure.target.met(float(value)):
                row = units[unit_id]
                misses.append(
                    Miss(
                        unit_id,
                        row.name,
                        row.level,
                        report.id,
                        figure.key,
                        label,
                        value,
                        str(figure.target),
                    )
                )
    return misses


def _corrections(
    report: TaskRules, rules: Mapping[str, TaskRules], rollup: Rollup, units: Mapping[str, UnitRow]
) -> list[Correction]:
    """Figures a unit reported differently from what its children's figures computed when it
    submitted (the computed value is kept with the report)."""
    out = []
    for unit_id, (state, fields) in rollup.reports.items():
        if state not in ("done", "done_late") or unit_id not in units:
            continue
        computed = rollup.submitted.get(unit_id) or {}
        for figure in rollup.figures:
            if figure.kind == "rate" or figure.key not in computed:
                continue
            reported = (fields or {}).get(figure.key)
            if reported is not None and reported != computed[figure.key]:
                out.append(
                    Correction(
                        unit_id, units[unit_id].name, report.id, figure.key, figure.label(rules),
                        computed[figure.key], reported,
                    )
                )  # fmt: skip
    return out


def _timeline(
    done: Mapping[str, list[int]],
    owed: Mapping[str, int],
    issued: pendulum.DateTime,
    at: pendulum.DateTime,
    tz: str,
    points: int = 60,
) -> dict[str, list[tuple[pendulum.Date, float]]]:
    """Per level, the share of its (non-exempt) task instances done by the end of each day,
    from the issue date to `at`, at most `points` days apart evenly."""
    first, last = issued.date(), at.date()
    days = max((last - first).days, 0)
    step = max(1, -(-days // points))
    marks = [first.add(days=d) for d in range(0, days + 1, step)]
    if marks[-1] != last:
        marks.append(last)
    out = {}
    for level, total in owed.items():
        times = sorted(done.get(level, []))
        series = []
        for day in marks:
            end = pendulum.datetime(day.year, day.month, day.day, tz=tz).add(days=1).int_timestamp
            series.append((day, bisect.bisect_left(times, end) / total if total else 0.0))
        out[level] = series
    return out


def narrative(s: Summary) -> str:
    """A short paragraph in Vietnamese, from the summary's figures only (its wording:
    `cascade/engine/templates/narrative.txt.j2`)."""
    text = words.render(
        "narrative.txt.j2", s=s, n=words.number_text, pct=words.percent_text, level=s.level_name
    )
    return " ".join(line.strip() for line in text.splitlines() if line.strip())
