"""The `cascade` command line.

The only place that turns domain errors into messages and exit codes: `CampaignInvalid`
becomes every problem printed with its file, line and hint, and exit code 1. Anything
else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cascade.errors import CampaignInvalid, Problem, Severity
from cascade.files import is_units_file, load_plan, load_units
from cascade.plan import Plan
from cascade.render import instance_table, summary_table, write_csv, write_json
from cascade.spec import CampaignFile, UnitsFile

app = typer.Typer(
    help="Cascade: cascading deadlines for resolution campaigns, from province to grassroots.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        colour = "red" if problem.severity is Severity.ERROR else "yellow"
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        key = f" [bold]{problem.key}[/bold]:" if problem.key else ""
        err.print(
            f"{where}: [{colour}]{problem.severity}[/{colour}]:{key} {problem.message}", highlight=False
        )
        if problem.hint:
            err.print(f"    [dim]hint: {problem.hint}[/dim]", highlight=False)


def _load(file: Path) -> Plan:
    """The plan, or every problem printed and exit 1."""
    try:
        if err.is_terminal:
            with err.status(f"compiling {file}"):
                return load_plan(file)
        return load_plan(file)
    except CampaignInvalid as exc:
        _print_problems(exc.problems)
        errors, warnings = len(exc.errors), len(exc.warnings)
        err.print(
            f"[red]✗[/red] {file}: {errors} error(s)" + (f", {warnings} warning(s)" if warnings else "")
        )
        raise typer.Exit(1) from None


def _validate_units(file: Path) -> bool:
    try:
        units = load_units(file)
    except CampaignInvalid as exc:
        _print_problems(exc.problems)
        err.print(f"[red]✗[/red] {file}: {len(exc.errors)} error(s)")
        return False
    levels = ", ".join(f"{lv}: {n:,}" for lv, n in Counter(u.level for u in units.units.values()).items())
    err.print(f"[green]✓[/green] {file}: units file, {len(units.units):,} units ({levels})")
    return True


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="campaign or units files")]) -> None:
    """Check campaigns and their units files; print every problem with file, line and a fix."""
    failed = 0
    for file in files:
        if is_units_file(file):
            failed += not _validate_units(file)
            continue
        try:
            plan = _load(file)
        except typer.Exit:
            failed += 1
            continue
        _print_problems(plan.warnings)
        levels = len(plan.hierarchy.levels)
        reports = sum(1 for t in plan.tasks.values() if t.kind == "report")
        note = f", {len(plan.warnings)} warning(s)" if plan.warnings else ""
        err.print(
            f"[green]✓[/green] {file}: {levels} levels, {len(plan.hierarchy.units):,} units, "
            f"{_count(len(plan.tasks) - reports, 'task')}, {_count(reports, 'report')}, "
            f"{len(plan.instances):,} instances{note}"
        )
    if failed:
        raise typer.Exit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@app.command()
def plan(
    file: Annotated[Path, typer.Argument(help="campaign file")],
    unit: Annotated[str | None, typer.Option(help="only this unit's instances")] = None,
    task: Annotated[str | None, typer.Option(help="only this task's instances")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table, json or csv")] = Format.table,
    summary: Annotated[bool, typer.Option(help="one row a task instead of one an instance")] = False,
) -> None:
    """The compiled schedule: every instance with its opening, deadline, reminders and escalations."""
    compiled = _load(file)
    _print_problems(compiled.warnings)
    for name, value, known in (("unit", unit, compiled.hierarchy.units), ("task", task, compiled.tasks)):
        if value is not None and value not in known:
            err.print(f"[red]error[/red]: no {name} `{value}` in {file}")
            raise typer.Exit(1)
    instances = compiled.instances_of(unit=unit, task=task)
    if format is Format.json:
        write_json(compiled, instances, sys.stdout)
    elif format is Format.csv:
        write_csv(compiled, instances, sys.stdout)
    elif summary:
        out.print(summary_table(compiled))
    else:
        out.print(instance_table(compiled, instances))


class SchemaKind(StrEnum):
    campaign = "campaign"
    units = "units"


def schema_of(kind: SchemaKind) -> dict[str, object]:
    model = CampaignFile if kind is SchemaKind.campaign else UnitsFile
    schema = model.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


@app.command()
def schema(
    kind: Annotated[SchemaKind, typer.Argument(help="campaign or units")] = SchemaKind.campaign,
) -> None:
    """Print the JSON Schema of campaign or units files (for editor completion)."""
    out.print_json(json.dumps(schema_of(kind), ensure_ascii=False)) if out.is_terminal else print(
        json.dumps(schema_of(kind), ensure_ascii=False, indent=2)
    )


def main() -> None:
    app()
