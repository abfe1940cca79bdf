"""What a tick needs to know about each task: its rules, kept with the deployed campaign.

A deployed campaign keeps, per task and report, its notice rules (roles, reminder
offsets, quiet hours, escalation ladder), its deadline rule (for `after:` deadlines the
engine resolves) and its fields. `TaskRules` round-trips through JSON on the campaign row,
so a tick never reads or compiles campaign files. The instants derived from them are in
`cascade.timing.reminders`; the figures a signal carries are checked with `with_formulas`
and `missed_targets` below.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson
import pendulum

from cascade.plan.formulas import evaluate, formula_names
from cascade.plan.model import Plan, Stage, TaskPlan
from cascade.plan.values import FieldSpec
from cascade.timing.deadlines import DeadlineRule, Roll
from cascade.timing.durations import Duration, parse_duration
from cascade.timing.quiet import QuietHours, parse_quiet


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
    checks: tuple[str, ...] = ()  # comparisons the figures must keep ("attendees <= members")
    opens_after: tuple[str, str] | None = None  # (task, "parent" | "self"): what a held one waits for

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
            task.checks,
            task.opens_after,
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
            "checks": list(self.checks),
            "opens_after": list(self.opens_after) if self.opens_after else None,
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
            replace(parse_quiet(data["quiet"]), holidays=data.get("quiet_days")),  # (older rules: None)
            stages,
            parse_duration(data["min_window"]) if data["min_window"] else None,
            rule,
            {name: FieldSpec.model_validate(spec) for name, spec in data["fields"].items()},
            tuple(data.get("rollup", ())),  # campaigns deployed before roll-ups were kept
            tuple(data.get("checks", ())),  # (and before checks between figures)
            (a[0], a[1]) if (a := data.get("opens_after")) else None,  # (and before this was kept)
        )


def _date(text: str | None) -> Any:
    return pendulum.Date.fromisoformat(text) if text else None


def rules_of(plan: Plan) -> dict[str, dict[str, Any]]:
    return {task.id: TaskRules.of(task).to_json() for task in plan.tasks.values()}


_PARSED: dict[tuple[str, int, bytes], dict[str, TaskRules]] = {}


class Stored(Protocol):
    """What `campaign_rules` reads of a deployed campaign (`cascade.engine.deployed.Deployed`)."""

    @property
    def id(self) -> str: ...

    @property
    def deployed_at(self) -> int: ...

    @property
    def tasks(self) -> dict[str, Any]: ...


def campaign_rules(campaign: Stored) -> dict[str, TaskRules]:
    """The rules of a stored campaign row, parsed once per version of them (keyed by their own
    text: a few kilobytes even for a national campaign)."""
    key = (campaign.id, campaign.deployed_at, orjson.dumps(campaign.tasks, option=orjson.OPT_SORT_KEYS))
    if key not in _PARSED:
        if len(_PARSED) > 64:
            _PARSED.clear()
        _PARSED[key] = {tid: TaskRules.from_json(tid, data) for tid, data in campaign.tasks.items()}
    return _PARSED[key]


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
