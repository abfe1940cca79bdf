"""What a tick needs to know about each task, and the instants it derives from a deadline.

A deployed campaign keeps, per task and report, its notice rules (roles, reminder
offsets, quiet hours, escalation ladder), its deadline rule (for `after:` deadlines the
engine resolves) and its fields. `TaskRules` round-trips through JSON on the campaign row,
so a tick never reads or compiles campaign files. The timing functions are pure: given a
deadline and `now`, they say when the next reminder or escalation stage is due.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson
import pendulum

from cascade.compile.format import FieldSpec, QuietHours, _quiet, formula_names
from cascade.plan.model import Plan, Stage, TaskPlan
from cascade.timing.deadlines import DeadlineRule, Roll
from cascade.timing.durations import Duration, parse_duration
from cascade.timing.workdays import Calendar


@dataclass(frozen=True)
class TaskRules:
    id: str
    title: str
    kind: str
    notify: tuple[str, ...]
    remind: tuple[Duration, ...]
    quiet: QuietHours
    escalate: tuple[Stage, ...]
    min_window: Duration | None
    rule: DeadlineRule
    fields: dict[str, FieldSpec]
    rollup: tuple[str, ...] = ()  # reports: "task.field" / "task.counter" figures rolled up

    @classmethod
    def of(cls, task: TaskPlan) -> TaskRules:
        n = task.notices
        return cls(
            task.id,
            task.title,
            str(task.kind),
            n.notify,
            n.remind,
            n.quiet,
            n.escalate,
            task.min_window,
            task.rule,
            task.fields,
            task.rollup,
        )

    def to_json(self) -> dict[str, Any]:
        rule = self.rule
        return {
            "title": self.title,
            "kind": self.kind,
            "notify": list(self.notify),
            "remind": [str(d) for d in self.remind],
            "quiet": str(self.quiet),
            "quiet_days": self.quiet.holidays,  # the calendar whose holidays notices wait out
            "escalate": [
                {"after": str(s.after), "to": list(s.to), "repeat": str(s.repeat) if s.repeat else None}
                for s in self.escalate
            ],
            "min_window": str(self.min_window) if self.min_window else None,
            "rule": {
                "text": rule.text,
                "cutoff": rule.cutoff.isoformat() if rule.cutoff else None,
                "after": rule.after,
                "days": rule.days,
                "working_days": rule.working_days,
                "latest": rule.latest.isoformat() if rule.latest else None,
                "roll": str(rule.roll) if rule.roll else None,
            },
            "fields": {
                name: spec.model_dump(mode="json", exclude_defaults=True)
                for name, spec in self.fields.items()
            },
            "rollup": list(self.rollup),
        }

    @classmethod
    def from_json(cls, task_id: str, data: dict[str, Any]) -> TaskRules:
        r = data["rule"]
        rule = DeadlineRule(
            r["text"],
            cutoff=_date(r["cutoff"]),
            after=r["after"],
            days=r["days"],
            working_days=r["working_days"],
            latest=_date(r["latest"]),
            roll=Roll(r["roll"]) if r["roll"] else None,
        )
        stages = tuple(
            Stage(
                n,
                parse_duration(s["after"]),
                tuple(s["to"]),
                parse_duration(s["repeat"]) if s["repeat"] else None,
            )
            for n, s in enumerate(data["escalate"], 1)
        )
        return cls(
            task_id,
            data["title"],
            data["kind"],
            tuple(data["notify"]),
            tuple(parse_duration(d) for d in data["remind"]),
            replace(_quiet(data["quiet"]), holidays=data.get("quiet_days")),  # (older rules: None)
            stages,
            parse_duration(data["min_window"]) if data["min_window"] else None,
            rule,
            {name: FieldSpec.model_validate(spec) for name, spec in data["fields"].items()},
            tuple(data.get("rollup", ())),  # campaigns deployed before roll-ups were kept
        )


def _date(text: str | None) -> Any:
    return pendulum.Date.fromisoformat(text) if text else None


def rules_of(plan: Plan) -> dict[str, dict[str, Any]]:
    return {task.id: TaskRules.of(task).to_json() for task in plan.tasks.values()}


_PARSED: dict[tuple[str, int, bytes], dict[str, TaskRules]] = {}


def campaign_rules(campaign: Any) -> dict[str, TaskRules]:
    """The rules of a stored campaign row, parsed once per version of them (keyed by their own
    text: a few kilobytes even for a national campaign)."""
    key = (campaign.id, campaign.deployed_at, orjson.dumps(campaign.tasks, option=orjson.OPT_SORT_KEYS))
    if key not in _PARSED:
        if len(_PARSED) > 64:
            _PARSED.clear()
        _PARSED[key] = {tid: TaskRules.from_json(tid, data) for tid, data in campaign.tasks.items()}
    return _PARSED[key]


# ---- timing ------------------------------------------------------------------------------


class Timing(Protocol):
    """What the instants below depend on: the plan's `Notices` and a stored `TaskRules` both have it."""

    @property
    def remind(self) -> tuple[Duration, ...]: ...

    @property
    def quiet(self) -> QuietHours: ...

    @property
    def escalate(self) -> tuple[Stage, ...]: ...


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


# ---- fields ------------------------------------------------------------------------------

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
Formula = Callable[[Mapping[str, Any]], float | None]


@functools.lru_cache(maxsize=512)
def compile_formula(formula: str) -> Formula:
    """A formula (the spec's check allows numbers, names, + - * /, brackets) as a function of
    the figures: None when one is missing or None, or it divides by zero. Built once per
    formula, then called for every signal and every unit of a roll-up."""

    def build(node: ast.AST) -> Callable[[Mapping[str, Any]], float]:
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            constant = float(node.value)
            return lambda _: constant
        if isinstance(node, ast.Name):
            name = node.id
            return lambda values: float(values[name])
        if isinstance(node, ast.UnaryOp):
            inner = build(node.operand)
            return (lambda values: -inner(values)) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            op, left, right = _BINARY[type(node.op)], build(node.left), build(node.right)
            return lambda values: op(left(values), right(values))
        raise ValueError(f"unexpected {type(node).__name__} in `{formula}`")  # the spec's check forbids it

    body = build(ast.parse(formula, mode="eval"))

    def run(values: Mapping[str, Any]) -> float | None:
        try:
            return body(values)
        except (KeyError, TypeError, ZeroDivisionError):  # missing, None, x / 0
            return None

    return run


def evaluate(formula: str, values: Mapping[str, Any]) -> float | None:
    """A formula's value over the given fields; None if a field is missing or it divides by zero."""
    return compile_formula(formula)(values)


def with_formulas(rules: TaskRules, values: dict[str, Any]) -> dict[str, Any]:
    """The signal's fields plus every formula field computed from them (in dependency order)."""
    out = dict(values)
    pending = {name: spec.formula for name, spec in rules.fields.items() if spec.formula}
    for _ in range(len(pending)):
        for name, formula in list(pending.items()):
            assert formula is not None
            result = evaluate(formula, out)
            if result is not None or all(n in out for n in formula_names(formula)):
                out[name] = None if result is None else round(result, 6)
                del pending[name]
    return out


def missed_targets(rules: TaskRules, values: dict[str, Any]) -> list[tuple[str, float, str]]:
    """(field, value, target) for each field whose target the values miss."""
    missed = []
    for name, spec in rules.fields.items():
        value = values.get(name)
        if spec.target is not None and isinstance(value, int | float) and not spec.target.met(float(value)):
            missed.append((name, float(value), str(spec.target)))
    return missed
