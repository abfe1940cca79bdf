"""Checks that the parts of a campaign fit together and with its units file.

Shape is checked by the models; these checks see the whole file: ids used twice,
references to tasks, units, levels and tags that do not exist, cycles in `after` and
`opens_after`, formulas over undeclared fields. Deadlines that contradict each other are
found on the built plan (`cascade.compile.plan_checks`). Errors stop compilation;
warnings are shown and kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from cascade.compile.format import DocumentSpec, Report, Task
from cascade.compile.format import Notices as NoticesSpec
from cascade.compile.parse import ParsedCampaign
from cascade.compile.reading import Document, Path
from cascade.errors import Problem, Severity, Suggestions, did_you_mean, one_of
from cascade.i18n import _
from cascade.plan.formulas import formula_names, split_check
from cascade.plan.hierarchy import Hierarchy, UnitRecord
from cascade.plan.values import COUNTERS, FieldSpec, level_with_word, levels_hint
from cascade.timing.durations import Duration


def prerequisites(spec: Task) -> list[str]:
    deps = [spec.opens_after.task] if spec.opens_after else []
    return deps + ([spec.due.after] if spec.due.after else [])


def targeted_units(spec: Task, hierarchy: Hierarchy) -> list[str]:
    """Union of `level`, `tags` and `units`, minus `exclude` and `exempt`, in hierarchy order."""
    levels, tags, named = set(spec.level), set(spec.tags), set(spec.units)
    skip = set(spec.exclude) | set(spec.exempt)
    if len(levels) == 1 and not tags and not named:  # the usual: every unit of one level
        return [u for u in hierarchy.at_level(spec.level[0]) if u not in skip]
    return [
        u.id
        for u in hierarchy.units.values()
        if u.id not in skip and (u.level in levels or u.id in named or not tags.isdisjoint(u.tags))
    ]


def check_references(parsed: ParsedCampaign, hierarchy: Hierarchy, problems: list[Problem]) -> None:
    doc = parsed.doc
    ids: dict[str, tuple[str, int]] = {}
    for section, items in (("tasks", parsed.tasks), ("reports", parsed.reports)):
        for i, spec in items:
            if spec.id in ids:
                first = doc.line_of(ids[spec.id])
                problems.append(
                    doc.problem(
                        (section, i, "id"),
                        _("id `{id}` is used twice", id=spec.id),
                        _("the first is on line {first}; signals name tasks by id", first=first),
                    )
                )
            else:
                ids[spec.id] = (section, i)
    tasks = {spec.id: (i, spec) for i, spec in parsed.tasks}
    known_tasks = set(tasks) | parsed.broken_ids
    levels, tags, units = hierarchy.levels, hierarchy.tags(), hierarchy.units
    unit_hint = Suggestions(lambda: [*units, *(u.name for u in units.values())])  # ids and names, as written
    for i, spec in parsed.tasks:
        at = ("tasks", i)
        _check_target(doc, at, spec, levels, tags, units, problems, unit_hint)
        for ref, path in _task_refs(spec):
            if ref not in known_tasks:
                problems.append(
                    doc.problem(
                        (*at, *path),
                        _("no task `{ref}`", ref=ref),
                        did_you_mean(ref, tasks) or _("tasks: {tasks}", tasks=one_of(tasks)),
                    )
                )
        if spec.due.after and spec.opens_after:
            problems.append(
                doc.problem(
                    (*at, "opens_after"),
                    _(
                        "a deadline `after: {after}` already opens the task with that signal",
                        after=spec.due.after,
                    ),
                    _("remove `opens_after`"),
                )
            )
        if spec.min_window and not spec.opens_after:
            problems.append(
                warning(
                    doc.problem(
                        (*at, "min_window"), "min_window only matters when `opens_after` holds the task back"
                    )
                )
            )
        _check_fields(doc, at, spec.fields, problems, spec.check)
        _check_notices(doc, at, spec, levels, problems)
    for i, report in parsed.reports:
        _check_report(doc, ("reports", i), report, tasks, parsed, hierarchy, problems, unit_hint)
    _check_notices(doc, (), parsed.defaults, levels, problems, section="defaults")
    _check_cycles(parsed, problems)
    _check_roles(parsed, hierarchy, problems)
    if parsed.header is not None:
        _check_document(doc, parsed.header.document, levels, tags, problems)


def _check_document(
    doc: Document, spec: DocumentSpec, levels: list[str], tags: set[str], problems: list[Problem]
) -> None:
    """The summary's level names name levels, and its groups tags, of the units file."""
    at = ("campaign", "document")
    for level in spec.levels:
        if level not in levels:
            hint = levels_hint(level, levels)
            message = _("no level `{level}` in the units file", level=level)
            problems.append(doc.problem((*at, "levels", level), message, hint))
    for tag in spec.groups:
        if tag not in tags:
            known = _("tags: {tags}", tags=one_of(sorted(tags))) if tags else _("the units file has no tags")
            hint = did_you_mean(tag, tags) or known
            problems.append(
                doc.problem((*at, "groups", tag), _("no unit has the tag `{tag}`", tag=tag), hint)
            )


def _task_refs(spec: Task) -> list[tuple[str, tuple[str, ...]]]:
    refs: list[tuple[str, tuple[str, ...]]] = []
    if spec.opens_after:
        refs.append((spec.opens_after.task, ("opens_after", "task")))
    if spec.due.after:
        refs.append((spec.due.after, ("due", "after")))
    return refs


def _check_target(
    doc: Document,
    at: Path,
    spec: Task,
    levels: list[str],
    tags: set[str],
    units: dict[str, UnitRecord],
    problems: list[Problem],
    unit_hint: Suggestions,
) -> None:
    if not (spec.level or spec.tags or spec.units):
        problems.append(
            doc.problem(
                at,
                _("task `{id}` targets no units", id=spec.id),
                _("add `level: L`, `tags: [...]` or `units: [...]`"),
            )
        )
    for level in spec.level:
        if level not in levels:
            problems.append(
                doc.problem(
                    (*at, "level"),
                    _("no level `{level}` in the units file", level=level),
                    levels_hint(level, levels),
                )
            )
    for tag in spec.tags:
        if tag not in tags:
            problems.append(
                doc.problem(
                    (*at, "tags"),
                    _("no unit carries the tag `{tag}`", tag=tag),
                    did_you_mean(tag, tags) or _("check the units file's tags"),
                )
            )
    for key in ("units", "exclude", "exempt"):
        for unit in getattr(spec, key):
            if unit not in units:
                problems.append(
                    doc.problem(
                        (*at, key),
                        _("no unit `{unit}` in the units file", unit=unit),
                        unit_hint(unit),
                    )
                )


def _check_fields(
    doc: Document, at: Path, fields: dict[str, FieldSpec], problems: list[Problem], checks: Sequence[str] = ()
) -> None:
    numeric = {name for name, f in fields.items() if f.formula or f.type in ("int", "float")}
    for n, check in enumerate(checks):
        left, _op, right = split_check(check)
        for used in [*formula_names(left), *formula_names(right)]:
            where = (*at, "check", n)
            if used not in fields:
                hint = did_you_mean(used, fields) or (
                    _("fields: {fields}", fields=one_of(fields)) if fields else _("declare it")
                )
                message = _("the check uses `{used}`, which is not a field of this task", used=used)
                problems.append(doc.problem(where, message, hint))
            elif used not in numeric:
                problems.append(
                    doc.problem(where, _("the check uses `{used}`, which is not a number", used=used))
                )
    graph: dict[str, list[str]] = {}
    for name, field in fields.items():
        if field.formula is None:
            continue
        names = formula_names(field.formula)
        graph[name] = names
        for used in names:
            if used not in fields:
                problems.append(
                    doc.problem(
                        (*at, "fields", name, "formula"),
                        _("the formula uses `{used}`, which is not a field of this task", used=used),
                        did_you_mean(used, fields) or _("fields: {fields}", fields=one_of(fields)),
                    )
                )
            elif used not in numeric:
                problems.append(
                    doc.problem(
                        (*at, "fields", name, "formula"),
                        _("the formula uses `{used}`, which is not a number", used=used),
                    )
                )
    cycle = _find_cycle(graph)
    if cycle:
        problems.append(
            doc.problem(
                (*at, "fields", cycle[0], "formula"),
                _("formulas depend on each other in a circle: {cycle}", cycle=" → ".join(cycle)),
            )
        )


def _check_notices(
    doc: Document, at: Path, spec: NoticesSpec, levels: list[str], problems: list[Problem], section: str = ""
) -> None:
    base = (section,) if section else at
    for s, stage in enumerate(spec.escalate or []):
        for target in stage.to:
            kind, _sep, arg = target.partition(":")
            if kind == "level" and arg not in levels:
                problems.append(
                    doc.problem(
                        (*base, "escalate", s, "to"),
                        _("no level `{arg}` in the units file", arg=arg),
                        levels_hint(arg, levels),
                    )
                )
            if kind == "ancestor" and int(arg) >= len(levels):
                problems.append(
                    warning(
                        doc.problem(
                            (*base, "escalate", s, "to"),
                            _("`{target}` is above the top level; it reaches nobody", target=target),
                        )
                    )
                )
    afters = [stage.after for stage in spec.escalate or []]
    for s in range(1, len(afters)):
        if _length(afters[s]) <= _length(afters[s - 1]):
            problems.append(
                doc.problem(
                    (*base, "escalate", s, "after"),
                    _(
                        "stage {stage} fires at {at}, not after stage {before} ({then})",
                        stage=s + 1,
                        at=afters[s],
                        before=s,
                        then=afters[s - 1],
                    ),
                    _("list stages in increasing `after` order"),
                )
            )
    for r, offset in enumerate(spec.remind or []):
        if _length(offset) <= 0:
            problems.append(
                doc.problem((*base, "remind", r), _("a reminder must come some time before the deadline"))
            )


def _length(duration: Duration) -> float:
    """A rough order for comparing durations: a working day counts as a day."""
    return float(duration.working_days * 86400 if duration.is_working else duration.calendar.total_seconds())


def _check_report(
    doc: Document,
    at: Path,
    report: Report,
    tasks: dict[str, tuple[int, Task]],
    parsed: ParsedCampaign,
    hierarchy: Hierarchy,
    problems: list[Problem],
    unit_hint: Suggestions,
) -> None:
    levels = hierarchy.levels
    for level in report.from_:
        if level not in levels:
            problems.append(
                doc.problem(
                    (*at, "from"),
                    _("no level `{level}` in the units file", level=level),
                    levels_hint(level, levels),
                )
            )
        elif level == levels[0]:
            problems.append(
                doc.problem(
                    (*at, "from"),
                    _("`{level}` is the top level; it reports to nobody", level=level),
                    _("the top unit receives the summary instead"),
                )
            )
    below = [level for level in report.from_ if level in levels[2:]]
    if report.step is None and below:
        message = _(
            "`due` is the deadline of the level just below the top, and {level} reports from "
            "further down: how much earlier it reports is `step`",
            level=level_with_word(below[0]),
        )
        hint = _("each level further down reports this much earlier, e.g. `step: 3d` (`0d`: the same day)")
        problems.append(doc.problem((*at, "step"), message, hint))
    if report.due.after:
        problems.append(
            doc.problem(
                (*at, "due"),
                _("a report deadline is a date, not `after` a task"),
                _("e.g. `{before: 20/01/2021}`"),
            )
        )
    for key in ("exclude", "exempt"):
        for unit in getattr(report, key):
            if unit not in hierarchy.units:
                problems.append(
                    doc.problem(
                        (*at, key),
                        _("no unit `{unit}` in the units file", unit=unit),
                        unit_hint(unit),
                    )
                )
    reports = {r.id: r for _i, r in parsed.reports}
    for r, ref in enumerate(report.rollup):
        source, _sep, name = ref.partition(".")
        spec = tasks[source][1] if source in tasks else reports.get(source)
        if spec is None:
            if source not in parsed.broken_ids:
                problems.append(
                    doc.problem(
                        (*at, "rollup", r),
                        _("no task or report `{source}`", source=source),
                        did_you_mean(source, [*tasks, *reports])
                        or _(
                            "the tasks and reports: {ids}; a task taken out of the file goes out of "
                            "`rollup` too",
                            ids=one_of([*tasks, *reports]),
                        ),
                    )
                )
        elif name not in spec.fields and name not in COUNTERS:
            problems.append(
                doc.problem(
                    (*at, "rollup", r),
                    _("`{source}` has no field `{name}`", source=source, name=name),
                    did_you_mean(name, [*spec.fields, *COUNTERS])
                    or _("fields: {fields}", fields=one_of([*spec.fields, *COUNTERS])),
                )
            )
    _check_fields(doc, at, report.fields, problems, report.check)
    _check_notices(doc, at, report, levels, problems)


def _check_cycles(parsed: ParsedCampaign, problems: list[Problem]) -> None:
    graph: dict[str, list[str]] = {}
    for _i, spec in parsed.tasks:
        graph.setdefault(spec.id, prerequisites(spec))  # a duplicate id is reported on its own
    cycle = _find_cycle(graph)
    if cycle:
        index: dict[str, int] = {}
        for i, spec in parsed.tasks:
            index.setdefault(spec.id, i)
        i = index[cycle[0]]
        spec = dict(parsed.tasks)[i]
        key = "opens_after" if spec.opens_after and spec.opens_after.task == cycle[1] else "due"
        problems.append(
            parsed.doc.problem(
                ("tasks", i, key),
                _("tasks wait on each other in a circle: {cycle}", cycle=" → ".join(cycle)),
                _("one of them must not wait for the others"),
            )
        )


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle as [a, b, ..., a], or None. Iterative DFS: campaigns may chain many tasks."""
    state: dict[str, int] = {}
    for start in graph:
        if state.get(start):
            continue
        stack = [(start, iter(graph.get(start, ())))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif child in graph and not state.get(child):
                state[child] = 1
                stack.append((child, iter(graph[child])))
                path.append(child)
    return None


def _check_roles(parsed: ParsedCampaign, hierarchy: Hierarchy, problems: list[Problem]) -> None:
    roles = {c.role for unit in hierarchy.units.values() for c in unit.contacts}
    specs: list[tuple[tuple[str | int, ...], list[str] | None]] = [
        (("defaults", "notify"), parsed.defaults.notify)
    ]
    specs += [(("tasks", i, "notify"), s.notify) for i, s in parsed.tasks]
    specs += [(("reports", i, "notify"), s.notify) for i, s in parsed.reports]
    for path, notify in specs:
        for role in notify or []:
            if role not in roles:
                problems.append(
                    warning(
                        parsed.doc.problem(
                            path,
                            _("no contact in the units file has the role `{role}`", role=role),
                            did_you_mean(role, roles) or _("roles: {roles}", roles=one_of(roles)),
                        )
                    )
                )


def entries(parsed: ParsedCampaign) -> dict[str, Path]:
    """Where each task and report is written: ("tasks", i) or ("reports", i)."""
    entries: dict[str, Path] = {spec.id: ("tasks", i) for i, spec in parsed.tasks}
    entries.update({r.id: ("reports", i) for i, r in parsed.reports})
    return entries


def warning(problem: Problem) -> Problem:
    """`problem`, as a warning: shown and kept, not stopping the compile."""
    return Problem(problem.file, problem.line, problem.key, problem.message, problem.hint, Severity.WARNING)
