"""Commands that read a campaign, never changing it: `status`, `events`, and `simulate` (on a
copy). The documents it makes are `cascade.cli.documents`."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Iterable
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pendulum
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table

from cascade.cli.common import (
    app,
    campaign_row,
    campaign_tz,
    err,
    fail,
    load,
    open_engine,
    out,
    source_of,
    whole_file,
    writable,
)
from cascade.errors import CampaignInvalid, Problem
from cascade.i18n import _, num
from cascade.plan.model import Plan

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cascade.engine.simulate import Simulation
    from cascade.views.status import Status


@app.command(
    help=_("Run the real engine on a virtual clock from issue to --until, notices captured, not sent."),
)
def simulate(
    file: Annotated[Path, typer.Argument(help=_("campaign file"))],
    signals_file: Annotated[
        Path | None, typer.Option("--signals", help=_("signals file (CSV, Excel or YAML)"))
    ] = None,
    until: Annotated[
        str | None, typer.Option(help=_("last day to run (default: summary date + 14 days)"))
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help=_("write the event log (JSON lines) here"))
    ] = None,
) -> None:
    from cascade import collector

    with collector.paused():  # the whole run: loading the signals, the simulation, its log
        _simulate(file, signals_file, until, out_file)


def _simulate(file: Path, signals_file: Path | None, until: str | None, out_file: Path | None) -> None:
    from cascade.engine.signal_files import load_signals
    from cascade.engine.simulate import simulate as run_simulation
    from cascade.timing.instants import names_a_day, parse_instant
    from cascade.views.eventlog import write_log

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
    if until and names_a_day(until):  # the whole of that day
        end = end.end_of("day")
    if out_file:
        writable(out_file)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    ) as progress:
        bar = progress.add_task(
            _("simulating"), total=max(1, int((end - compiled.campaign.issued_at).total_seconds()))
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
    try:
        assert result.engine is not None
        with result.engine.connect() as conn, whole_file(out_file) if out_file else nullcontext() as stream:
            kinds = write_log(conn, compiled.campaign.id, tz, stream)
        _print_simulation(compiled, result, kinds, end, out_file)
    finally:
        result.discard()  # the temporary store, also when the log could not be written


def _print_simulation(
    plan: Plan, result: Simulation, kinds: Counter[str], end: pendulum.DateTime, out_file: Path | None
) -> None:
    from cascade.engine.machine import COUNTED
    from cascade.views.status import campaign_status

    table = Table(
        title=_(
            "{campaign}: simulated to {end}, {ticks} ticks",
            campaign=plan.campaign.id,
            end=end.format("DD/MM/YYYY"),
            ticks=result.ticks,
        )
    )
    table.add_column(_("event"))
    table.add_column(_("count"), justify="right")
    for kind, n in sorted(kinds.items()):
        table.add_row(f"{_(COUNTED[kind])} [dim]{kind}[/dim]" if kind in COUNTED else kind, num(n))
    table.add_row(_("[dim]notices captured[/dim]"), f"[dim]{num(result.counts['notices'])}[/dim]")
    out.print(table)
    assert result.engine is not None
    status = campaign_status(result.engine, plan.campaign.id)
    if status:
        out.print(_status_table(status))
    if out_file:
        err.print(_("event log: {out_file} ({lines:,} lines)", out_file=out_file, lines=sum(kinds.values())))


def _status_table(status: Status) -> Table:
    """Progress per level and task: a column a state, or, narrower than 110 columns (an
    80-column terminal, a file), the states in words in one column, so the titles keep room."""
    from cascade.views.status import STATES
    from cascade.views.tables import operator_level

    table = Table(title=escape(status.title), title_justify="left")
    states = [_("on time"), _("late"), _("overdue"), _("open"), _("held"), _("exempt")]
    narrow = out.width < 110
    headers = [_("level"), _("task"), _("progress"), *([_("state")] if narrow else states)]
    for n, column in enumerate(headers):
        table.add_column(column, justify="left" if n < 3 or narrow else "right")
    for p in status.progress:
        c = p.counts
        if narrow:
            done: ProgressBar | str = f"{num(p.finished)}/{num(p.total)}"
            said = (f"{word} {num(c[s])}" for word, s in zip(states, STATES, strict=True) if c.get(s))
            counts = [", ".join(said)]
        else:
            done = ProgressBar(total=max(p.total, 1), completed=p.finished, width=20)
            counts = [num(c[s]) if c.get(s) else "" for s in STATES]
        table.add_row(escape(operator_level(p.level)), escape(p.title), done, *counts)
    return table


@app.command(
    help=_("The campaign's audit log: every event, one JSON object a line, in time order (spec §6)."),
)
def events(
    campaign: Annotated[str, typer.Argument(help=_("campaign id"))],
    since: Annotated[
        str | None, typer.Option(help=_("only events at or after this time, e.g. 2020-12-01"))
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help=_("only this kind (repeatable)"))] = None,
    unit: Annotated[
        str | None, typer.Option(help=_("only the events of this unit (its id or exact name)"))
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help=_("write to this file (default: stdout)"))
    ] = None,
) -> None:
    from cascade.engine.deployed import unit_ever
    from cascade.timing.instants import parse_instant
    from cascade.views import eventlog

    engine = open_engine(read_only=True)
    tz = campaign_tz(engine, campaign)
    kinds = list(kind or ())
    unknown = eventlog.unknown_kinds(kinds)
    if unknown:
        fail(
            [
                _not_among(
                    "events",
                    "--kind",
                    _("no event kind {unknown}", unknown=", ".join(unknown)),
                    eventlog.LOG_KINDS,
                )
            ]
        )
    start = None
    if since:
        try:
            start = int(parse_instant(since, tz).timestamp())  # a day: from its start
        except ValueError as exc:
            fail([Problem("events", None, "--since", str(exc))])
    if unit:  # by its id (one since removed too) or exact name; a typo read "0 events"
        with engine.connect() as conn:
            found, wrong = unit_ever(conn, campaign, unit)
        if found is None:
            fail([Problem("events", None, "--unit", p) for p in wrong])
        unit = found
    where = eventlog.Filter(start, kinds, unit)
    n = 0
    with (
        whole_file(out_file) if out_file else nullcontext(sys.stdout.buffer) as target,
        engine.connect() as conn,
    ):
        for line in eventlog.stream(conn, campaign, tz, where):
            target.write(eventlog.line_of(line))
            n += 1
        target.flush()
    err.print(
        _("{number:,} event(s)", number=n)
        + (_(" written to {out_file}", out_file=out_file) if out_file else "")
    )


class StatusFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


_OVERDUE_COLUMNS = (
    "unit_id", "unit", "level", "parent", "task_id", "task", "last_day", "days_overdue", "stage", "stages",
)  # fmt: skip


@app.command(
    help=_(
        "Progress per level and task, and every overdue instance, most overdue first, with its parent, days "
        "overdue and escalation stage, as of the last tick."
    ),
)
def status(
    campaign: Annotated[str, typer.Argument(help=_("campaign id"))],
    limit: Annotated[
        int | None, typer.Option(min=1, help=_("list at most N overdue instances (default: all of them)"))
    ] = None,
    level: Annotated[str | None, typer.Option(help=_("only units of this level"))] = None,
    task: Annotated[str | None, typer.Option(help=_("only this task or report"))] = None,
    under: Annotated[str | None, typer.Option(help=_("only the units below this one"))] = None,
    fmt: Annotated[
        StatusFormat, typer.Option("--format", help=_("table; csv (the overdue list); json (everything)"))
    ] = StatusFormat.table,
) -> None:
    from cascade.engine.words import deadline_short
    from cascade.views.status import Where as StatusWhere
    from cascade.views.status import campaign_status
    from cascade.views.tables import csv_cell, operator_level

    engine = open_engine(read_only=True)
    row = campaign_row(engine, campaign)
    under = _check_status_filters(engine, row, level, task, under)
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
            "last_day": deadline_short(o.deadline, tz),
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
            err.print(_("and {more:,} more overdue (without --limit: all of them)", more=more))
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
    out.print(
        _("as of the last tick: {as_of}", as_of=as_of) if as_of else _("not ticked yet"), highlight=False
    )
    if records:
        table = Table(
            title=_("overdue: {overdue_total:,} instance(s)", overdue_total=result.overdue_total),
            title_justify="left",
        )
        for column, right in (
            (_("unit"), False),
            (_("level"), False),
            (_("parent"), False),
            (_("task"), False),
            (_("last day"), False),
            (_("days overdue"), True),
            (_("stage"), True),
        ):
            table.add_column(column, justify="right" if right else "left")
        for r in records:
            table.add_row(
                escape(str(r["unit"])),
                escape(operator_level(str(r["level"]))),
                escape(str(r["parent"] or "")),
                escape(str(r["task"])),
                str(r["last_day"]),
                str(r["days_overdue"]),
                f"{r['stage']}/{r['stages']}",
            )
        out.print(table)
        if more:
            out.print(
                _(
                    "… and {more:,} more overdue (--limit {limit}; leave it out to list all)",
                    more=more,
                    limit=limit,
                )
            )
    out.print(_status_table(result))
    _print_scheduler(engine, campaign)


def _not_among(command: str, option: str, message: str, choices: Iterable[str]) -> Problem:
    """An option's value that is none of `choices`, with them as the hint."""
    return Problem(command, None, option, message, _("one of: {choices}", choices=", ".join(choices)))


def _check_status_filters(
    engine: Engine, row: Any, level: str | None, task: str | None, under: str | None
) -> str | None:
    """Every filter that names nothing refused at once; the unit --under names (by its id or
    its exact name), as its id."""
    problems = []
    if level is not None and level not in row.levels:
        problems.append(_not_among("status", "--level", _("no level `{level}`", level=level), row.levels))
    if task is not None and task not in row.tasks:
        problems.append(_not_among("status", "--task", _("no task `{task}`", task=task), row.tasks))
    if under is not None:
        from cascade.engine.deployed import units_named

        with engine.connect() as conn:
            found, wrong = units_named(conn, row.id, [under])
        problems += [Problem("status", None, "--under", p) for p in wrong]
        under = found[under].id if under in found else None
    if problems:
        fail(problems)
    return under


def _print_scheduler(engine: Engine, campaign: str) -> None:
    """When the campaign last ticked (stalled or not), and which tick holds it now."""
    from sqlalchemy import select

    from cascade.engine import health, locks, store
    from flows.deployments import template

    default = int(template().interval.total_seconds())
    wall = int(pendulum.now().timestamp())
    for h in health.read(engine, wall, default, campaign):
        last = _("never") if h.ticked_at is None else _("{age} ago", age=_ago(h.age))
        line = _("last tick: {last} (a tick every {interval})", last=last, interval=_ago(h.interval))
        if h.stalled:
            told = _("; the operator was alerted") if h.alerted_at else ""
            out.print(
                _(
                    "[red]STALLED[/red]: {line}: no tick for over {STALLED_AFTER} intervals{told}",
                    line=line,
                    STALLED_AFTER=health.STALLED_AFTER,
                    told=told,
                )
            )
        else:
            out.print(line)
    a = store.channel_alerts.c
    with engine.connect() as conn:
        broken = conn.execute(select(store.channel_alerts).where(a.campaign_id == campaign)).all()
        tz = campaign_tz(engine, campaign)
    for row in broken:
        since = pendulum.from_timestamp(row.since, tz=tz).format("DD/MM/YYYY HH:mm")
        told = (
            _(
                "operator told {mm} ({delivered_by})",
                mm=pendulum.from_timestamp(row.delivered_at, tz=tz).format("DD/MM/YYYY HH:mm"),
                delivered_by=escape(row.delivered_by or ""),
            )
            if row.delivered_at
            else _(
                "[red]operator NOT told yet[/red] ({tries} tries; retried at every dispatch)", tries=row.tries
            )
        )
        out.print(
            _(
                "[red]channel {channel} broken[/red] since {since}: {detail}; {told}",
                channel=row.channel,
                since=since,
                detail=escape(row.detail),
                told=told,
            )
        )
    holder = locks.holder(engine, campaign)
    if holder is not None:
        if holder.alive is False:
            out.print(
                _(
                    "last holder {describe} stopped without finishing (the lock is free)",
                    describe=escape(holder.describe()),
                )
            )
        else:
            out.print(_("ticking now: {describe}", describe=escape(holder.describe())))


def _ago(seconds: int) -> str:
    if seconds < 120:
        return _("{seconds} s", seconds=seconds)
    if seconds < 7200:
        return _("{minutes} min", minutes=seconds // 60)
    return _("{hours} h {minutes} min", hours=seconds // 3600, minutes=seconds % 3600 // 60)
