"""Commands that read a campaign, never changing it: `status`, `events`, `report`, and
`simulate` (on a copy)."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pendulum
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from sqlalchemy import Engine, select

from cascade.cli.common import (
    app,
    campaign_row,
    campaign_tz,
    err,
    fail,
    instant_of,
    load,
    open_engine,
    out,
    source_of,
)
from cascade.engine import amend, health, locks, store
from cascade.engine.signal_files import load_signals
from cascade.engine.signals import parse_instant
from cascade.engine.simulate import Simulation
from cascade.engine.simulate import simulate as run_simulation
from cascade.errors import CampaignInvalid, Problem
from cascade.plan.model import Plan
from cascade.views import eventlog
from cascade.views.eventlog import LOG_KINDS, event_lines, write_events
from cascade.views.status import STATES, Status, campaign_status
from cascade.views.status import Where as StatusWhere
from cascade.views.tables import csv_cell


@app.command()
def simulate(
    file: Annotated[Path, typer.Argument(help="campaign file")],
    signals_file: Annotated[Path | None, typer.Option("--signals", help="signals file (CSV or YAML)")] = None,
    until: Annotated[
        str | None, typer.Option(help="last day to run (default: summary date + 14 days)")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="write the event log (JSON lines) here")
    ] = None,
) -> None:
    """Run the real engine on a virtual clock from issue to --until, notices captured, not sent."""
    compiled = load(file)
    tz = compiled.campaign.timezone
    try:
        batch = load_signals(signals_file, tz) if signals_file else []
        end = parse_instant(until, tz) if until else compiled.campaign.summary_at.add(days=14)
    except (CampaignInvalid, ValueError) as exc:
        fail(
            exc.problems
            if isinstance(exc, CampaignInvalid)
            else [Problem("simulate", None, "--until", str(exc))]
        )
    if until and len(until.strip()) <= 10:
        end = end.end_of("day")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    ) as progress:
        bar = progress.add_task(
            "simulating", total=max(1, int((end - compiled.campaign.issued_at).total_seconds()))
        )
        start = compiled.campaign.issued_at
        try:
            result = run_simulation(
                compiled,
                source_of(file, compiled),
                batch,
                end,
                on_tick=lambda t: progress.update(bar, completed=(t - start).total_seconds()),
                signals_file=str(signals_file),
            )
        except CampaignInvalid as exc:
            fail(exc.problems)
    assert result.engine is not None
    lines = event_lines(result.engine, compiled.campaign.id, tz)
    if out_file:
        with out_file.open("w", encoding="utf-8") as out_stream:
            write_events(lines, out_stream)
    _print_simulation(compiled, result, lines, end, out_file)
    result.discard()


def _print_simulation(
    plan: Plan, result: Simulation, lines: list[dict[str, Any]], end: pendulum.DateTime, out_file: Path | None
) -> None:
    table = Table(title=f"{plan.campaign.id}: simulated to {end.format('DD/MM/YYYY')}, {result.ticks} ticks")
    table.add_column("event")
    table.add_column("count", justify="right")
    for kind, n in sorted(Counter(line["kind"] for line in lines).items()):
        table.add_row(kind, f"{n:,}")
    table.add_row("[dim]notices captured[/dim]", f"[dim]{result.counts['notices']:,}[/dim]")
    out.print(table)
    assert result.engine is not None
    status = campaign_status(result.engine, plan.campaign.id)
    if status:
        out.print(_status_table(status))
    if out_file:
        err.print(f"event log: {out_file} ({len(lines):,} lines)")


def _status_table(status: Status) -> Table:
    table = Table(title=escape(status.title), title_justify="left")
    for column in ("level", "task", "progress", "done", "late", "overdue", "open", "held", "exempt"):
        table.add_column(column, justify="right" if column not in ("level", "task", "progress") else "left")
    for p in status.progress:
        c = p.counts
        bar = ProgressBar(total=max(p.total, 1), completed=p.finished, width=20)
        row = (f"{c.get(s, 0):,}" if c.get(s) else "" for s in STATES)
        table.add_row(escape(p.level), escape(p.task), bar, *row)
    return table


@app.command()
def events(
    campaign: Annotated[str, typer.Argument(help="campaign id")],
    since: Annotated[
        str | None, typer.Option(help="only events at or after this time, e.g. 2020-12-01")
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="only this kind (repeatable)")] = None,
    unit: Annotated[str | None, typer.Option(help="only the events of this unit")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="write to this file (default: stdout)")
    ] = None,
) -> None:
    """The campaign's audit log: every event, one JSON object a line, in time order (spec §6)."""
    engine = open_engine(read_only=True)
    tz = campaign_tz(engine, campaign)
    kinds = list(kind or ())
    unknown = eventlog.unknown_kinds(kinds)
    if unknown:
        fail(
            [
                Problem(
                    "events",
                    None,
                    "--kind",
                    f"no event kind {', '.join(unknown)}",
                    f"one of: {', '.join(LOG_KINDS)}",
                )
            ]
        )
    start = None
    if since:
        try:
            start = int(parse_instant(since if ":" in since else f"{since} 00:00", tz).timestamp())
        except ValueError as exc:
            fail([Problem("events", None, "--since", str(exc))])
    where = eventlog.Filter(start, kinds, unit)
    target = open(out_file, "w", encoding="utf-8") if out_file else sys.stdout  # noqa: SIM115
    n = 0
    try:
        with engine.connect() as conn:
            for line in eventlog.stream(conn, campaign, tz, where):
                target.write(json.dumps(line, ensure_ascii=False) + "\n")
                n += 1
    finally:
        if out_file:
            target.close()
    err.print(f"{n:,} event(s)" + (f" written to {out_file}" if out_file else ""))


class StatusFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


_OVERDUE_COLUMNS = (
    "unit_id", "unit", "level", "parent", "task_id", "task", "last_day", "days_overdue", "stage", "stages",
)  # fmt: skip


@app.command()
def status(
    campaign: Annotated[str, typer.Argument(help="campaign id")],
    limit: Annotated[
        int | None, typer.Option(min=1, help="list at most N overdue instances (default: all of them)")
    ] = None,
    level: Annotated[str | None, typer.Option(help="only units of this level")] = None,
    task: Annotated[str | None, typer.Option(help="only this task or report")] = None,
    under: Annotated[str | None, typer.Option(help="only the units below this one")] = None,
    fmt: Annotated[
        StatusFormat, typer.Option("--format", help="table; csv (the overdue list); json (everything)")
    ] = StatusFormat.table,
) -> None:
    """Progress per level and task, and every overdue instance, most overdue first, with its
    parent, days overdue and escalation stage, as of the last tick."""
    engine = open_engine(read_only=True)
    row = campaign_row(engine, campaign)
    _check_status_filters(engine, row, level, task, under)
    result = campaign_status(engine, campaign, limit, StatusWhere(level, task, under))
    assert result is not None
    tz = result.timezone
    records = [
        {
            "unit_id": o.unit,
            "unit": o.name,
            "level": o.level,
            "parent": o.parent,
            "task_id": o.task,
            "task": o.title,
            "last_day": amend.last_day(o.deadline, tz).removeprefix("by "),
            "days_overdue": o.days,
            "stage": o.stage,
            "stages": o.stages,
        }
        for o in result.overdue
    ]
    as_of = pendulum.from_timestamp(result.as_of, tz=tz).format("DD/MM/YYYY HH:mm") if result.as_of else None
    more = result.overdue_total - len(result.overdue)
    if fmt is StatusFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=_OVERDUE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in r.items()} for r in records)
        if more:
            err.print(f"and {more:,} more overdue (without --limit: all of them)")
        return
    if fmt is StatusFormat.json:
        body = {
            "campaign": campaign,
            "title": result.title,
            "as_of": pendulum.from_timestamp(result.as_of, tz=tz).isoformat() if result.as_of else None,
            "progress": [
                {"level": p.level, "task": p.task, "title": p.title, "total": p.total, **p.counts}
                for p in result.progress
            ],
            "overdue_total": result.overdue_total,
            "overdue": records,
        }
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=1) + "\n")
        return
    out.print(f"as of the last tick: {as_of}" if as_of else "not ticked yet", highlight=False)
    if records:
        table = Table(title=f"overdue: {result.overdue_total:,} instance(s)", title_justify="left")
        for column in ("unit", "level", "parent", "task", "last day", "days overdue", "stage"):
            table.add_column(column, justify="right" if column in ("days overdue", "stage") else "left")
        for r in records:
            table.add_row(
                escape(str(r["unit"])),
                escape(str(r["level"])),
                escape(str(r["parent"] or "")),
                escape(str(r["task"])),
                str(r["last_day"]),
                str(r["days_overdue"]),
                f"{r['stage']}/{r['stages']}",
            )
        out.print(table)
        if more:
            out.print(f"… and {more:,} more overdue (--limit {limit}; leave it out to list all)")
    out.print(_status_table(result))
    _print_scheduler(engine, campaign)


def _check_status_filters(
    engine: Engine, row: Any, level: str | None, task: str | None, under: str | None
) -> None:
    problems = []
    if level is not None and level not in row.levels:
        problems.append(
            Problem("status", None, "--level", f"no level `{level}`", f"one of: {', '.join(row.levels)}")
        )
    if task is not None and task not in row.tasks:
        problems.append(
            Problem("status", None, "--task", f"no task `{task}`", f"one of: {', '.join(row.tasks)}")
        )
    if under is not None:
        u = store.units.c
        with engine.connect() as conn:
            found = conn.execute(select(u.id).where(u.campaign_id == row.id, u.id == under)).first()
        if found is None:
            problems.append(Problem("status", None, "--under", f"no unit `{under}` in {row.id}"))
    if problems:
        fail(problems)


def _print_scheduler(engine: Engine, campaign: str) -> None:
    """When the campaign last ticked (stalled or not), and which tick holds it now."""
    from flows.deployments import template

    default = int(template().interval.total_seconds())
    wall = int(pendulum.now().timestamp())
    for h in health.read(engine, wall, default, campaign):
        last = "never" if h.ticked_at is None else f"{_ago(h.age)} ago"
        line = f"last tick: {last} (a tick every {_ago(h.interval)})"
        if h.stalled:
            told = "; the operator was alerted" if h.alerted_at else ""
            out.print(f"[red]STALLED[/red]: {line}: no tick for over {health.STALLED_AFTER} intervals{told}")
        else:
            out.print(line)
    a = store.channel_alerts.c
    with engine.connect() as conn:
        broken = conn.execute(select(store.channel_alerts).where(a.campaign_id == campaign)).all()
        tz = campaign_tz(engine, campaign)
    for row in broken:
        since = pendulum.from_timestamp(row.since, tz=tz).format("DD/MM/YYYY HH:mm")
        told = (
            f"operator told {pendulum.from_timestamp(row.delivered_at, tz=tz).format('DD/MM/YYYY HH:mm')}"
            f" ({escape(row.delivered_by or '')})"
            if row.delivered_at
            else f"[red]operator NOT told yet[/red] ({row.tries} tries; retried at every dispatch)"
        )
        out.print(f"[red]channel {row.channel} broken[/red] since {since}: {escape(row.detail)}; {told}")
    holder = locks.holder(engine, campaign)
    if holder is not None:
        if holder.alive is False:
            out.print(f"last holder {escape(holder.describe())} stopped without finishing (the lock is free)")
        else:
            out.print(f"ticking now: {escape(holder.describe())}")


def _ago(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class ReportFormat(StrEnum):
    md = "md"
    xlsx = "xlsx"
    docx = "docx"


@app.command()
def report(
    campaign: Annotated[str, typer.Argument(help="campaign id")],
    format: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="md, xlsx or docx")
    ] = ReportFormat.md,
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="the file to write (default: CAMPAIGN-summary-DATE.FORMAT here)"),
    ] = None,
    at: Annotated[str | None, typer.Option(help="the date shown as 'as of' (default: now)")] = None,
) -> None:
    """The campaign's summary as an office would file it: per level and per unit, rolled-up
    figures, targets missed, units still missing, a paragraph and a chart. Reads the store
    only; nothing in the campaign changes."""
    from cascade.engine.summary import build
    from cascade.reports import write

    engine = open_engine(read_only=True)
    instant = instant_of(engine, campaign, at, "report", "--at")
    with err.status("reading the store"):
        summary = build(engine, campaign, instant)
    assert summary is not None  # campaign_tz refused an unknown campaign
    target = output or Path(f"{campaign}-summary-{instant.format('YYYYMMDD')}.{format.value}")
    with err.status(f"writing {target}"):
        written = write(summary, format.value, target)
    for path in written:
        out.print(str(path))
