"""Commands on files, before anything is deployed: `validate`, `plan`, `schema`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cascade.cli.common import (
    TABLE_ROWS,
    app,
    csv_stdout,
    err,
    fail,
    load,
    out,
    print_problems,
)
from cascade.compile.files import is_units_file, load_units
from cascade.compile.format import CampaignFile, UnitsFile
from cascade.errors import CampaignInvalid, Problem, did_you_mean, one_of, several_named
from cascade.i18n import _, _n, num
from cascade.plan.hierarchy import loosely_named
from cascade.plan.values import level_word


def _validate_units(file: Path) -> bool:
    try:
        units = load_units(file)
    except CampaignInvalid as exc:
        print_problems(exc.problems)
        err.print(f"[red]✗[/red] {file}: " + _n("{count} error", "{count} errors", len(exc.errors)))
        return False
    print_problems(units.warnings)
    levels = ", ".join(  # "Xã `commune`: 1": the word the sheet may write, and the id a campaign may
        f"{word} `{lv}`: {num(n)}" if (word := level_word(lv)) else f"`{lv}`: {num(n)}"
        for lv, n in Counter(u.level for u in units.units.values()).items()
    )
    shown = _(
        "{file}: units file, {units} units ({levels})", file=file, units=num(len(units.units)), levels=levels
    )
    if units.warnings:
        shown += ", " + _n("{count} warning", "{count} warnings", len(units.warnings))
    err.print(f"[green]✓[/green] {shown}")
    return True


@app.command(
    help=_("Check campaigns and their units files; print every problem with file, line and a fix."),
)
def validate(files: Annotated[list[Path], typer.Argument(help=_("campaign or units files"))]) -> None:
    failed = 0
    for file in files:
        if is_units_file(file):
            failed += not _validate_units(file)
            continue
        try:
            plan = load(file)
        except typer.Exit:
            failed += 1
            continue
        print_problems(plan.warnings)
        levels = len(plan.hierarchy.levels)
        reports = sum(1 for t in plan.tasks.values() if t.kind == "report")
        parts = [
            _n("{count} level", "{count} levels", levels),
            _n("{count} unit", "{count} units", len(plan.hierarchy.units)),
            _n("{count} task", "{count} tasks", len(plan.tasks) - reports),
            _n("{count} report", "{count} reports", reports),
            _n("{count} instance", "{count} instances", len(plan.instances)),
        ]
        if plan.warnings:
            parts.append(_n("{count} warning", "{count} warnings", len(plan.warnings)))
        err.print(f"[green]✓[/green] {file}: " + ", ".join(parts))
    if failed:
        raise typer.Exit(1)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@app.command(
    help=_("The compiled schedule: every instance with its opening, deadline, reminders and escalations."),
)
def plan(
    file: Annotated[Path, typer.Argument(help=_("campaign file"))],
    unit: Annotated[
        str | None, typer.Option(help=_("only this unit's instances (its id or exact name)"))
    ] = None,
    task: Annotated[
        str | None, typer.Option(help=_("only this task's instances (its id or exact title)"))
    ] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help=_("table, json or csv"))] = Format.table,
    summary: Annotated[bool, typer.Option(help=_("one row a task instead of one an instance"))] = False,
) -> None:
    from cascade.views.tables import instance_table, summary_table, write_csv, write_json

    compiled = load(file)
    print_problems(compiled.warnings)
    if unit is not None:  # its id, or its exact name as `signal` takes it
        unit = _by_id_or_words(
            file, "--unit", unit, {u.id: u.name for u in compiled.hierarchy.units.values()}
        )
    if task is not None:  # its id, or its exact title
        task = _by_id_or_words(file, "--task", task, {t.id: t.title for t in compiled.tasks.values()})
    instances = compiled.instances_of(unit=unit, task=task)
    if format is Format.json:
        write_json(compiled, instances, sys.stdout)
    elif format is Format.csv:
        write_csv(compiled, instances, csv_stdout())
    elif summary or len(listed := list(instances)) > TABLE_ROWS:
        out.print(summary_table(compiled))
        if not summary:
            from rich.markup import escape

            err.print(
                _(
                    "{count} instances, too many to read in a table: one row a task above. Every "
                    "instance: cascade plan {file} --format csv > ke-hoach.csv (it opens in Excel); "
                    "one unit's or one task's: --unit, --task",
                    count=num(len(listed)),
                    file=escape(str(file)),
                ),
                highlight=False,
            )
    else:
        out.print(instance_table(compiled, listed))


class SchemaKind(StrEnum):
    campaign = "campaign"
    units = "units"


def schema_of(kind: SchemaKind) -> dict[str, object]:
    model = CampaignFile if kind is SchemaKind.campaign else UnitsFile
    schema = model.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _by_id_or_words(file: Path, option: str, value: str, words: dict[str, str]) -> str:
    """The id `value` is, or the one whose words (a unit's name with --unit, a task's title with
    --task) it is exactly; exit 1 naming what is wrong, with the nearest id or words, when it
    names none, or several."""
    if value in words:
        return value
    # exactly, else capitals and spacing aside or typed without its marks, as `signal` takes it
    ids = [key for key, said in words.items() if said == value] or [
        key for key, _said in loosely_named([value], words.items()).get(value, [])
    ]
    if len(ids) == 1:
        return ids[0]
    unit = option == "--unit"
    if ids:
        said = (
            several_named(value, ids)
            if unit
            else _(
                "{count} tasks are titled «{title}» ({ids}); name it by its id",
                count=num(len(ids)),
                title=value,
                ids=one_of(ids),
            )
        )
        fail([Problem(str(file), None, option, said)])
    said = (
        _("no unit `{unit}` in {file}", unit=value, file=file)
        if unit
        else _("no task `{task}` in {file}", task=value, file=file)
    )
    fail([Problem(str(file), None, option, said, did_you_mean(value, [*words, *words.values()]))])


@app.command(
    help=_("Print the JSON Schema of campaign or units files (for editor completion)."),
)
def schema(
    kind: Annotated[SchemaKind, typer.Argument(help=_("campaign or units"))] = SchemaKind.campaign,
) -> None:
    out.print_json(json.dumps(schema_of(kind), ensure_ascii=False)) if out.is_terminal else print(
        json.dumps(schema_of(kind), ensure_ascii=False, indent=2)
    )
