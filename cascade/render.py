"""A plan as people and scripts read it: a Rich table, JSON or CSV, one row an instance.

Instants are ISO-8601 with offset in JSON and CSV, `dd/mm/yyyy HH:MM` in tables (the way
the documents write dates). A relative deadline reads "7 days after hn-co-so" until the
engine resolves it. Output streams row by row: a national plan has ~300,000 instances.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

import pendulum
from rich.table import Table

from cascade.plan import Instance, Plan, TaskPlan


def _iso(t: pendulum.DateTime) -> str:
    return t.isoformat()


def _short(t: pendulum.DateTime) -> str:
    return str(t.format("DD/MM/YYYY HH:mm"))


def instance_row(plan: Plan, instance: Instance) -> dict[str, Any]:
    """One instance as plain data (ISO instants)."""
    task = plan.tasks[instance.task]
    unit = plan.hierarchy.units[instance.unit]
    schedule = instance.schedule
    escalations = []
    for n, stage in enumerate(task.notices.escalate):
        at = schedule.escalations[n] if schedule.escalations else None
        escalations.append({
            "stage": stage.number,
            "at": _iso(at) if at else f"deadline + {stage.after}",
            "to": plan.recipients(instance.unit, stage.to),
            "repeat": str(stage.repeat) if stage.repeat else None,
        })
    return {
        "task": task.id,
        "kind": str(task.kind),
        "unit": unit.id,
        "unit_name": unit.name,
        "level": unit.level,
        "opens": _opening(instance),
        "deadline": _iso(schedule.deadline) if schedule.deadline else task.rule.text,
        "rule": task.rule.text,
        "reminders": [_iso(t) for t in schedule.reminders]
        if schedule.deadline else [f"{offset} before" for offset in task.notices.remind],
        "escalations": escalations,
        "report_to": unit.parent if task.kind == "report" else None,
    }


def _opening(instance: Instance) -> str:
    opening = instance.opening
    return _iso(opening.at) if opening.at else str(opening)


def write_json(plan: Plan, instances: Iterator[Instance], out: IO[str]) -> None:
    campaign = plan.campaign
    head = {
        "id": campaign.id, "title": campaign.title, "issued_by": campaign.issued_by,
        "issued_at": _iso(campaign.issued_at), "timezone": campaign.timezone,
        "calendar": campaign.calendar.code, "summary_at": _iso(campaign.summary_at),
        "levels": plan.hierarchy.levels,
    }
    out.write('{"campaign": ' + json.dumps(head, ensure_ascii=False) + ', "instances": [')
    for n, instance in enumerate(instances):
        out.write(("," if n else "") + "\n  " + json.dumps(instance_row(plan, instance), ensure_ascii=False))
    out.write("\n]}\n")


CSV_COLUMNS = ("task", "kind", "unit", "unit_name", "level", "opens", "deadline", "rule",
               "reminders", "escalations", "report_to")


def write_csv(plan: Plan, instances: Iterator[Instance], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for instance in instances:
        row = instance_row(plan, instance)
        row["reminders"] = " ".join(row["reminders"])
        row["escalations"] = " ".join(
            f"{e['stage']}@{e['at']}>{'+'.join(e['to']) or '-'}" for e in row["escalations"]
        )
        writer.writerow([row[c] if row[c] is not None else "" for c in CSV_COLUMNS])


def instance_table(plan: Plan, instances: Iterator[Instance]) -> Table:
    table = Table(title=f"{plan.campaign.title}\n[dim]{plan.campaign.id}[/dim]", show_lines=True)
    for column in ("Task", "Unit", "Opens", "Deadline", "Reminders", "Escalations"):
        table.add_column(column, overflow="fold")
    for instance in instances:
        row = instance_row(plan, instance)
        task, unit = plan.tasks[instance.task], plan.hierarchy.units[instance.unit]
        schedule = instance.schedule
        deadline = f"{_short(schedule.deadline)}\n[dim]{task.rule.text}[/dim]" if schedule.deadline else (
            f"[italic]{task.rule.text}[/italic]")
        reminders = "\n".join(_short(t) for t in schedule.reminders) if schedule.deadline else (
            ", ".join(row["reminders"]))
        escalations = "\n".join(
            f"{e['stage']}. {_short(pendulum.parse(e['at'])) if schedule.escalations else e['at']}"  # type: ignore[arg-type]
            f" → {', '.join(e['to']) or 'nobody'}" + (f" (every {e['repeat']})" if e["repeat"] else "")
            for e in row["escalations"]
        )
        opens = _short(instance.opening.at) if instance.opening.at else str(instance.opening)
        table.add_row(f"{task.id}\n[dim]{task.title}[/dim]", f"{unit.id}\n[dim]{unit.name}[/dim]",
                      opens, deadline, reminders, escalations)
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
            deadlines.setdefault(instance.task, {})[level] = _short(instance.schedule.deadline)
    campaign = plan.campaign
    table = Table(title=f"{campaign.title}\n[dim]{campaign.id} · issued {_short(campaign.issued_at)} · "
                        f"summary {_short(campaign.summary_at)}[/dim]")
    for column in ("Task", "Level: units", "Deadline", "Rule", "Opens"):
        table.add_column(column, overflow="fold")
    for task in plan.tasks.values():
        per_level = counts.get(task.id, {})
        table.add_row(
            f"{task.id}\n[dim]{task.title}[/dim]",
            "\n".join(f"{level}: {n}" for level, n in per_level.items()) or "[red]none[/red]",
            "\n".join(f"{deadlines[task.id][lv]}" for lv in per_level if lv in deadlines.get(task.id, {}))
            or "[italic]per unit[/italic]",
            task.rule.text + (f", step {task.step}" if task.step else ""),
            _opens_text(task),
        )
    return table


def _opens_text(task: TaskPlan) -> str:
    if task.opens:
        return f"request {task.opens} before"
    if task.rule.is_relative:
        return f"with {task.rule.after}"
    if task.opens_after:
        return f"after {task.opens_after[0]} at {task.opens_after[1]}"
    return "at issue"
