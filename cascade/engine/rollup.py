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

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from sqlalchemy import Connection, bindparam, select

from cascade.engine import bulk, store
from cascade.engine.deployed import Deployed, PerDeploy
from cascade.engine.words import counter_label
from cascade.plan.formulas import compile_formula, formula_names
from cascade.plan.hierarchy import parent_of
from cascade.plan.rules import TaskRules
from cascade.plan.values import COUNTERS, Target, title_key

if TYPE_CHECKING:
    from cascade.engine.resident import Resident

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
            return counter_label(self.name, task)
        spec = rules[self.task].fields.get(self.name) if self.task in rules else None
        return f"{spec.title if spec is not None and spec.title else self.name} («{task}»)"


def figure_type(figure: Figure, rules: Mapping[str, TaskRules]) -> str:
    """How a figure given with a report is read: `int` for a count, or a sum of whole numbers."""
    spec = rules[figure.task].fields.get(figure.name) if figure.task in rules else None
    whole = figure.kind == "counter" or (figure.kind == "sum" and spec is not None and spec.type == "int")
    return "int" if whole else "float"


def figure_names(figures: Iterable[Figure], rules: Mapping[str, TaskRules]) -> dict[str, str]:
    """The figure each title names, by `plan.values.title_key`: its label, "Số đảng viên dự («Hội
    nghị cơ sở»)", and its field's own title, "Số đảng viên dự", where one figure has it."""
    named: dict[str, str] = {}
    alike: dict[str, list[str]] = {}
    for figure in figures:
        named[title_key(figure.label(rules))] = figure.key
        spec = rules[figure.task].fields.get(figure.name) if figure.task in rules else None
        if spec is not None and spec.title:
            alike.setdefault(title_key(spec.title), []).append(figure.key)
    return {**{title: keys[0] for title, keys in alike.items() if len(keys) == 1}, **named}


def figures_of(report: TaskRules, rules: Mapping[str, TaskRules]) -> list[Figure]:
    """The report's figures in written order, operands added before the rates that need them,
    then the rates its sums make possible."""
    out: dict[str, Figure] = {}
    for item in report.rollup:
        task, _, name = item.partition(".")
        if task not in rules:
            continue  # a task removed since: the check refuses new files naming one
        spec = rules[task].fields.get(name)
        if spec is not None and spec.formula:
            _add_rate(out, rules[task], name)
        elif spec is not None:
            _add_sum(out, task, name)
        elif name in COUNTERS:
            out.setdefault(item, Figure(item, task, name, "counter"))
    summed = {(f.task, f.name) for f in out.values() if f.kind in ("sum", "rate")}
    for task in dict.fromkeys(f.task for f in out.values() if f.kind == "sum"):
        for name, spec in rules[task].fields.items():
            if spec.formula and all((task, n) in summed for n in formula_names(spec.formula)):
                _add_rate(out, rules[task], name)
    return list(out.values())


# figures_of's helpers are not closures over `out`: a recursive closure is a reference cycle,
# left for the cycle collector, which a simulation keeps off (`cascade.collector.paused`)


def _add_sum(out: dict[str, Figure], task: str, name: str) -> None:
    out.setdefault(f"{task}.{name}", Figure(f"{task}.{name}", task, name, "sum"))


def _add_rate(out: dict[str, Figure], task: TaskRules, name: str) -> None:
    spec = task.fields[name]
    assert spec.formula is not None
    for operand in formula_names(spec.formula):
        if operand in task.fields and task.fields[operand].formula:
            _add_rate(out, task, operand)
        else:
            _add_sum(out, task.id, operand)
    key = f"{task.id}.{name}"
    out.setdefault(key, Figure(key, task.id, name, "rate", spec.formula, spec.target))


def _number(value: Any) -> TypeGuard[Number]:
    """A figure's value: a number, not a flag."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class Rollup:
    """One report's roll-up over the campaign's hierarchy (`children[unit]`), from the
    instances read for it (all of them, or as far as some units' figures need).

    `instances[(task, unit)] = (state, fields)` for the figures' tasks; `reports[unit] =
    (state, fields)` for the report itself; `submitted[unit]`, the figures computed for a
    report when it was submitted (kept beside what it reported)."""

    def __init__(
        self,
        figures: list[Figure],
        children: Mapping[str, Sequence[str]],
        instances: Mapping[tuple[str, str], tuple[str, Mapping[str, Any] | None]],
        reports: Mapping[str, tuple[str, Mapping[str, Any] | None]],
        submitted: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.figures = figures
        self.submitted = submitted or {}  # unit -> the roll-up computed when it submitted
        self.children = children
        self.instances = instances
        self.reports = reports
        self._computed: dict[str, dict[str, Number | None]] = {}
        self._behind: dict[str, dict[str, Number | None]] = {}
        self._rates = [
            (f.key, compile_formula(f.formula), [(n, f"{f.task}.{n}") for n in formula_names(f.formula)])
            for f in figures
            if f.formula
        ]
        self._summed = [f for f in figures if f.kind != "rate"]

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
            if _number(value):
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
        """A sum of what the unit and its subtree gave; None where none of them gave the figure
        (no data, which an official reads apart from 0 members attending); a counter is a count."""
        values: dict[str, Number | None] = {}
        below = [self.stands_behind(c) for c in children]
        for figure in self.figures:
            if figure.kind == "rate":
                continue
            total = self._own(figure, unit)
            for child in below:
                value = child.get(figure.key)
                if value is not None:
                    total = value if total is None else total + value
            values[figure.key] = total
        return self.rates(values)

    def _own(self, figure: Figure, unit: str) -> Number | None:
        state, fields = self.instances.get((figure.task, unit), ("", None))
        if not state:
            return 0 if figure.kind == "counter" else None
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
        return value if _number(value) else None

    def rates(self, values: dict[str, Number | None]) -> dict[str, Number | None]:
        for key, formula, operands in self._rates:
            result = formula({name: values.get(operand) for name, operand in operands})
            values[key] = None if result is None else round(result, 4)
        return values


def load(
    conn: Connection,
    campaign: Deployed,
    report: TaskRules,
    rules: Mapping[str, TaskRules],
    resident: Resident | None = None,
) -> Rollup:
    """The report's roll-up over the whole campaign, read in one pass (the summary's).
    `campaign` is the stored campaign row; a simulation's `resident` copy of the instances is
    read instead of the store."""
    figures = figures_of(report, rules)
    tree = hierarchy(conn, campaign)
    reader = _Reader(conn, campaign.id, report, figures, tree.parent.keys(), resident)
    reader.read(sorted({*reader.sources, report.id}), None)
    return Rollup(figures, tree.children, reader.instances, reader.reports, reader.submitted)


def load_for(
    conn: Connection,
    campaign: Deployed,
    report: TaskRules,
    rules: Mapping[str, TaskRules],
    unit_ids: Iterable[str],
    resident: Resident | None = None,
) -> Rollup:
    """The roll-up as far as these units' figures need it (a tick's reports, a form): their
    own instances, their children's reports, and further down only below children whose
    report is not submitted with every figure (a submitted report settles its subtree). A
    province whose districts reported reads its districts' report rows, not its communes'.
    `campaign` is the stored campaign row (its hierarchy is read once per deploy); a
    simulation's `resident` copy of the instances is read instead of the store."""
    figures = figures_of(report, rules)
    tree = hierarchy(conn, campaign)
    roots = [unit for unit in dict.fromkeys(unit_ids) if unit in tree.parent]
    reader = _Reader(conn, campaign.id, report, figures, tree.parent.keys(), resident)
    summed = [f.key for f in figures if f.kind != "rate"]
    reader.read(sorted({*reader.sources, report.id}), roots)
    needed = roots
    while needed:
        below = [child for unit in needed for child in tree.children.get(unit, ())]
        if not below:
            break
        reader.read([report.id], below)
        needed = [child for child in below if not _settled(reader.reports.get(child), summed)]
        if needed:
            reader.read(reader.sources, needed)
    # the whole hierarchy: figures are only worked out for the roots and the units read below them
    return Rollup(figures, tree.children, reader.instances, reader.reports, reader.submitted)


_I = store.instances.c
_ALL_UNITS = select(
    _I.task_id, _I.unit_id, _I.state, bulk.as_text(_I.fields), bulk.as_text(_I.computed)
).where(
    _I.campaign_id == bindparam("campaign"),
    _I.archived.is_(False),
    _I.task_id.in_(bindparam("tasks", expanding=True)),
)
_SOME_UNITS = _ALL_UNITS.where(_I.unit_id.in_(bindparam("units", expanding=True)))
SCAN_ABOVE = 20_000  # a read for more units than this scans the tasks' instances instead of looking each up


class _Reader:
    """Instance rows for a roll-up, gathered read by read."""

    def __init__(
        self,
        conn: Connection,
        campaign_id: str,
        report: TaskRules,
        figures: list[Figure],
        alive: Any,
        resident: Resident | None = None,
    ) -> None:
        self.conn, self.campaign_id, self.report, self.alive = conn, campaign_id, report, alive
        self.resident = resident
        self.sources = sorted({f.task for f in figures})
        self.instances: dict[tuple[str, str], tuple[str, Any]] = {}
        self.reports: dict[str, tuple[str, Any]] = {}
        self.submitted: dict[str, Any] = {}

    def read(self, tasks: list[str], ids: list[str] | None) -> None:
        """The tasks' instances of the units `ids` (None: of every unit)."""
        rows = (
            self.resident.rollup_rows(tasks, ids) if self.resident is not None else self._stored(tasks, ids)
        )
        report, sources, alive = self.report.id, set(self.sources), self.alive
        for task, unit, state, fields, computed in rows:
            if unit not in alive:
                continue  # an archived unit's instance
            if task == report:
                self.reports[unit] = (state, fields)
                if computed is not None:
                    self.submitted[unit] = computed
            if task in sources:
                self.instances[(task, unit)] = (state, fields)

    def _stored(self, tasks: list[str], ids: list[str] | None) -> Iterator[tuple[Any, ...]]:
        """`read`'s rows from the store, as a simulation's copy gives them (figures decoded)."""
        params = {"campaign": self.campaign_id, "tasks": tasks}
        if ids is None or len(ids) > SCAN_ABOVE:
            chunks: Iterable[Sequence[Any]] = [self.conn.execute(_ALL_UNITS, params).fetchall()]
        else:
            chunks = (
                self.conn.execute(_SOME_UNITS, {**params, "units": ids[n : n + 900]}).fetchall()
                for n in range(0, len(ids), 900)
            )
        loads = bulk.loads
        for chunk in chunks:
            for task, unit, state, fields, computed in chunk:
                yield task, unit, state, loads(fields), loads(computed)


@dataclass(frozen=True)
class Hierarchy:
    parent: dict[str, str | None]  # every live unit's parent
    children: dict[str, list[str]]


_HIERARCHIES: PerDeploy[Hierarchy] = PerDeploy()


def hierarchy(conn: Connection, campaign: Deployed) -> Hierarchy:
    """The campaign's live units as a tree, read once per deploy and process (only a deploy
    changes units)."""
    return _HIERARCHIES.get(campaign, lambda: _read_hierarchy(conn, campaign.id))


def _read_hierarchy(conn: Connection, campaign_id: str) -> Hierarchy:
    u = store.units
    query = select(u.c.id, u.c.path).where(u.c.archived.is_(False), u.c.campaign_id == campaign_id)
    parent = {unit_id: parent_of(path) for unit_id, path in conn.execute(query)}
    children: dict[str, list[str]] = {}
    for unit_id, up in parent.items():
        if up is not None:
            children.setdefault(up, []).append(unit_id)
    return Hierarchy(parent, children)


def _settled(report: tuple[str, Any] | None, summed: list[str]) -> bool:
    """A report submitted with every summed figure: its unit's parent needs nothing below it
    (as `Rollup.reported` decides)."""
    if report is None or report[0] not in DONE:
        return False
    fields = report[1] or {}
    return all(_number(fields.get(key)) for key in summed)
