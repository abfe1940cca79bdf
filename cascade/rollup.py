"""Roll-ups: a report's figures pre-filled from the units below, level by level.

A report names its figures in `rollup`: `task.field` (a number the task's signals carry,
summed) or `task.counter` (`done`, `late`, `missing`, `exempt`, `total`: the task's
instances counted by state). Each unit's *computed* figure is its own instance's value
plus, for every child, what that child stands behind: the figure of the child's submitted
report if it has one (as reported: confirmed or corrected), else the child's own computed
figure. So a district's attendance is the sum of its communes' reports, and a province's
the sum of its districts' reports, corrections included.

Rates follow their sums: a formula field of the task (`attendance_rate: attendees /
members`) whose operands are all rolled up is rolled up too, computed from the summed
operands (never an average of rates), with the field's target. Naming a formula field in
`rollup` rolls up its operands with it.

Counters: `done` counts instances done on time or late, `late` those done late, `missing`
those not done (held, open or overdue) and not exempt, `exempt` the exempt, `total` all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from cascade import store
from cascade.rules import TaskRules, compile_formula
from cascade.spec import Target, formula_names
from cascade.units import parent_in

COUNTERS = ("done", "late", "missing", "exempt", "total")
COUNTER_WORDS = {
    "done": "đã hoàn thành",
    "late": "hoàn thành muộn",
    "missing": "chưa hoàn thành",
    "exempt": "được miễn",
    "total": "phải thực hiện",
}
DONE = ("done", "done_late")
Number = int | float


@dataclass(frozen=True)
class Figure:
    key: str  # "hn-co-so.attendees"
    task: str
    name: str
    kind: str  # sum | counter | rate
    formula: str | None = None  # rates: over the task's field names
    target: Target | None = None

    def label(self, rules: Mapping[str, TaskRules]) -> str:
        """In Vietnamese for counters; a field's `title` if it has one, else its name; with the task."""
        task = rules[self.task].title if self.task in rules else self.task
        if self.kind == "counter":
            return f"Số đơn vị {COUNTER_WORDS[self.name]} «{task}»"
        spec = rules[self.task].fields.get(self.name) if self.task in rules else None
        return f"{spec.title if spec is not None and spec.title else self.name} («{task}»)"


def figures_of(report: TaskRules, rules: Mapping[str, TaskRules]) -> list[Figure]:
    """The report's figures in written order, operands added before the rates that need them,
    then the rates its sums make possible."""
    out: dict[str, Figure] = {}

    def add_sum(task: str, name: str) -> None:
        out.setdefault(f"{task}.{name}", Figure(f"{task}.{name}", task, name, "sum"))

    def add_rate(task: str, name: str) -> None:
        spec = rules[task].fields[name]
        assert spec.formula is not None
        for operand in formula_names(spec.formula):
            if operand in rules[task].fields and rules[task].fields[operand].formula:
                add_rate(task, operand)
            else:
                add_sum(task, operand)
        key = f"{task}.{name}"
        out.setdefault(key, Figure(key, task, name, "rate", spec.formula, spec.target))

    for item in report.rollup:
        task, _, name = item.partition(".")
        if task not in rules:
            continue  # a task removed since: the check refuses new files naming one
        spec = rules[task].fields.get(name)
        if spec is not None and spec.formula:
            add_rate(task, name)
        elif spec is not None:
            add_sum(task, name)
        elif name in COUNTERS:
            out.setdefault(item, Figure(item, task, name, "counter"))
    summed = {(f.task, f.name) for f in out.values() if f.kind in ("sum", "rate")}
    for task in dict.fromkeys(f.task for f in out.values() if f.kind == "sum"):
        for name, spec in rules[task].fields.items():
            if spec.formula and all((task, n) in summed for n in formula_names(spec.formula)):
                add_rate(task, name)
    return list(out.values())


@dataclass(frozen=True)
class Unit:
    id: str
    parent: str | None


class Rollup:
    """One report's roll-up over a set of units (a subtree, or the whole campaign).

    `instances[(task, unit)] = (state, fields)` for the figures' tasks; `reports[unit] =
    (state, fields)` for the report itself; `submitted[unit]`, the figures computed for a
    report when it was submitted (kept beside what it reported)."""

    def __init__(
        self,
        figures: list[Figure],
        units: Iterable[Unit],
        instances: Mapping[tuple[str, str], tuple[str, Mapping[str, Any] | None]],
        reports: Mapping[str, tuple[str, Mapping[str, Any] | None]],
        submitted: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.figures = figures
        self.submitted = submitted or {}  # unit -> the roll-up computed when it submitted
        self.units = list(units)
        self.instances = instances
        self.reports = reports
        self._computed: dict[str, dict[str, Number | None]] = {}
        self._behind: dict[str, dict[str, Number | None]] = {}
        self._rates = [(f, compile_formula(f.formula), f.task + ".") for f in figures if f.formula]
        self._summed = [f for f in figures if f.kind != "rate"]
        self.children: dict[str, list[str]] = {}
        for unit in self.units:
            if unit.parent is not None:
                self.children.setdefault(unit.parent, []).append(unit.id)

    def computed_of(self, unit: str) -> dict[str, Number | None]:
        """The unit's figures from its own instances and what its children stand behind,
        worked out when first asked (a subtree whose units reported is not walked further)."""
        if unit not in self._computed:
            self._computed[unit] = self._compute(unit, self.children.get(unit, ()))
        return self._computed[unit]

    def reported(self, unit: str) -> dict[str, Number | None] | None:
        """The figures of the unit's submitted report (None: not submitted): what it reported,
        its computed figures where it reported nothing, rates from those sums."""
        state, fields = self.reports.get(unit, ("", None))
        if state not in DONE:
            return None
        given = {}
        for figure in self._summed:
            value = (fields or {}).get(figure.key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                given[figure.key] = value
        # a report stored by the engine holds every figure; one without them falls back on its subtree
        values = given if len(given) == len(self._summed) else {**self.computed_of(unit), **given}
        return self.rates(dict(values))

    def stands_behind(self, unit: str) -> dict[str, Number | None]:
        """What the parent counts for this unit: its report if submitted, else its computed figures."""
        if unit not in self._behind:
            reported = self.reported(unit)
            self._behind[unit] = reported if reported is not None else self.computed_of(unit)
        return self._behind[unit]

    def _compute(self, unit: str, children: Iterable[str]) -> dict[str, Number | None]:
        values: dict[str, Number | None] = {}
        below = [self.stands_behind(c) for c in children]
        for figure in self.figures:
            if figure.kind == "rate":
                continue
            total: Number = self._own(figure, unit)
            for child in below:
                value = child.get(figure.key)
                if value is not None:
                    total += value
            values[figure.key] = total
        return self.rates(values)

    def _own(self, figure: Figure, unit: str) -> Number:
        state, fields = self.instances.get((figure.task, unit), ("", None))
        if not state:
            return 0
        if figure.kind == "counter":
            name = figure.name
            if name == "done":
                return int(state in DONE)
            if name == "late":
                return int(state == "done_late")
            if name == "missing":
                return int(state not in DONE and state != "exempt")
            return int(state == "exempt") if name == "exempt" else 1
        value = (fields or {}).get(figure.name) if state in DONE else None
        return value if isinstance(value, int | float) and not isinstance(value, bool) else 0

    def rates(self, values: dict[str, Number | None]) -> dict[str, Number | None]:
        for figure, formula, prefix in self._rates:
            names = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
            result = formula(names)
            values[figure.key] = None if result is None else round(result, 4)
        return values


def load(
    conn: Connection,
    campaign_id: str,
    report: TaskRules,
    rules: Mapping[str, TaskRules],
    under: Iterable[str] | None = None,
    units: Iterable[str] | None = None,
) -> Rollup:
    """The report's roll-up read from the store: over the whole campaign, or only the
    subtrees of the units whose paths are `under` (enough for those units' figures), or
    only the `units` named (enough for units with none below them)."""
    figures = figures_of(report, rules)
    u = store.units
    if units is not None:  # units without units below them: their own instances make their figures
        alone = [Unit(uid, None) for uid in units]
        return _load_instances(conn, campaign_id, report, figures, alone, whole=False)
    if under is None:
        queries = [select(u.c.id, u.c.path).where(u.c.archived.is_(False), u.c.campaign_id == campaign_id)]
    else:  # the campaign inside each term, none outside: SQLite then looks each range up in the index
        paths, dialect = sorted(set(under)), conn.dialect.name
        queries = [
            select(u.c.id, u.c.path).where(
                u.c.archived.is_(False),
                or_(*(and_(u.c.campaign_id == campaign_id, t) for t in _subtrees(u, chunk, dialect))),
            )
            for chunk in (paths[n : n + 100] for n in range(0, len(paths), 100))
        ]
    found: dict[str, Unit] = {}
    for query in queries:
        for unit_id, path in conn.execute(query):
            found[unit_id] = Unit(unit_id, parent_in(path))
    return _load_instances(conn, campaign_id, report, figures, list(found.values()), whole=under is None)


def _load_instances(
    conn: Connection,
    campaign_id: str,
    report: TaskRules,
    figures: list[Figure],
    units: list[Unit],
    whole: bool,
) -> Rollup:
    i = store.instances
    tasks = {f.task for f in figures} | {report.id}
    query = select(i.c.task_id, i.c.unit_id, i.c.state, i.c.fields, i.c.computed).where(
        i.c.campaign_id == campaign_id, i.c.archived.is_(False), i.c.task_id.in_(tasks)
    )
    if whole:
        rows: Iterable[Any] = conn.execute(query)
    else:  # the units' instances looked up by unit (an index), not every instance of the tasks
        ids = [unit.id for unit in units]
        rows = [
            row
            for n in range(0, len(ids), 900)
            for row in conn.execute(query.where(i.c.unit_id.in_(ids[n : n + 900])))
        ]
    instances: dict[tuple[str, str], tuple[str, Any]] = {}
    reports: dict[str, tuple[str, Any]] = {}
    submitted: dict[str, Any] = {}
    alive = {unit.id for unit in units}
    sources = {f.task for f in figures}
    for task, unit, state, fields, computed in rows:
        if unit not in alive:
            continue  # an archived unit's instance
        if task == report.id:
            reports[unit] = (state, fields)
            if computed is not None:
                submitted[unit] = computed
        if task in sources:
            instances[(task, unit)] = (state, fields)
    return Rollup(figures, units, instances, reports, submitted)


def _subtrees(u: Any, paths: list[str], dialect: str) -> list[Any]:
    """Conditions for the units at or below each path. SQLite compares text byte by byte, so
    the units below `p` are an index range on (campaign, path): [p + "/", p + "0"), "0"
    following "/". PostgreSQL may sort by a language's collation, which ignores "/": there a
    prefix match, whatever the collation."""
    conditions: list[Any] = [u.c.path.in_(paths)]
    if dialect == "sqlite":
        conditions += [and_(u.c.path >= p + "/", u.c.path < p + "0") for p in paths]
    else:
        conditions += [u.c.path.startswith(p + "/", autoescape=True) for p in paths]
    return conditions
