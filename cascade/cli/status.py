"""`cascade status`: every campaign a line, or one campaign's progress per level and task and
its overdue instances, as of the last tick; read only."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import pendulum
import typer
from rich.markup import escape
from rich.table import Table

from cascade.cli.common import (
    TABLE_ROWS,
    ago,
    app,
    campaign_id,
    campaign_row,
    checked_filters,
    csv_stdout,
    err,
    fail,
    open_engine,
    out,
    status_table,
    stopped_since,
)
from cascade.errors import Problem
from cascade.i18n import N_, _, num
from cascade.plan.values import channel_said

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cascade.engine.deployed import Deployed


class StatusFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


# the overdue list as a sheet (`--format csv > qua-han.csv`): its key, and its header in words
_OVERDUE_COLUMNS = (
    ("unit_id", N_("unit id")), ("unit", N_("unit")), ("level", N_("level")), ("parent", N_("parent")),
    ("task_id", N_("task id")), ("task", N_("task")), ("last_day", N_("last day")),
    ("days_overdue", N_("days overdue")), ("stage", N_("escalations sent")),
    ("stages", N_("escalations in all")),
)  # fmt: skip


@app.command(
    help=_(
        "Progress per level and task, and every overdue instance, most overdue first, with its parent, days "
        "overdue and escalation stage, as of the last tick."
    ),
)
def status(
    campaign: Annotated[
        str | None,
        typer.Argument(help=_("the campaign: its id or its title (none: every campaign, a line each)")),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=_(
                "list at most N overdue instances (default: all of them; a table, the first {rows:,})",
                rows=TABLE_ROWS,
            ),
        ),
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
    from cascade.views.tables import csv_cell, headed, operator_level

    engine = open_engine(read_only=True)
    if campaign is None:
        if level or task or under or limit:
            message = _("--level, --task, --under and --limit are of one campaign")
            fail([Problem("status", None, "CAMPAIGN", message, _("name it: cascade status CAMPAIGN"))])
        _print_overview(engine, fmt)
        return
    campaign = campaign_id(engine, campaign)  # (or its title)
    row = campaign_row(engine, campaign)
    level, task, under = checked_filters(engine, row, level, task, under, "status")
    cut = limit is None and fmt is StatusFormat.table  # a table at most TABLE_ROWS long, unless asked
    shown = TABLE_ROWS if cut else limit
    result = campaign_status(engine, campaign, shown, StatusWhere(level, task, under))
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
    if fmt is StatusFormat.csv:  # (a level in words, as the table shows it)
        writer = csv.writer(csv_stdout(), lineterminator="\n")
        writer.writerow(headed(_OVERDUE_COLUMNS))
        keys = [key for key, _words in _OVERDUE_COLUMNS]
        writer.writerows(
            [csv_cell(r[k] if k != "level" else operator_level(str(r[k]))) for k in keys] for r in records
        )
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
        if more and cut:
            out.print(
                _(
                    "… and {more:,} more overdue, too many to read in a table. Every one: cascade status "
                    "{campaign} --format csv > qua-han.csv (it opens in Excel); fewer: --level, --task, "
                    "--under; more here: --limit N",
                    more=more,
                    campaign=escape(campaign),
                ),
                highlight=False,
            )
        elif more:
            out.print(
                _(
                    "… and {more:,} more overdue (--limit {limit}; leave it out to list all)",
                    more=more,
                    limit=limit,
                )
            )
    out.print(status_table(result))
    whole = level is None and task is None and under is None
    _print_summary(row, result.overdue_total if whole else None)
    _print_scheduler(engine, row)


def _print_summary(row: Deployed, overdue: int | None) -> None:
    """When the summary goes (or went) out; once it has, that the campaign runs on: its overdue
    units escalated (`repeat`) until their signals come, until the operator ends it."""
    from cascade.engine.machine import summary_instant
    from cascade.settings import Settings

    tz = row.timezone
    if Settings().scheduler.now().timestamp() < row.issued_at:  # (deployed ahead of its issue)
        issued = pendulum.from_timestamp(row.issued_at, tz=tz).format("DD/MM/YYYY")
        out.print(_("issued on {day}: its work opens then", day=issued), highlight=False)
    if row.summary_sent_at is None:
        due = pendulum.from_timestamp(summary_instant(row), tz=tz).format("DD/MM/YYYY HH:mm")
        out.print(_("summary due {at}", at=due), highlight=False)
        return
    sent = pendulum.from_timestamp(row.summary_sent_at, tz=tz).format("DD/MM/YYYY HH:mm")
    out.print(_("summary sent {at}", at=sent), highlight=False)
    if overdue and stopped_since(row) is None:
        out.print(
            _(
                "the campaign runs on: its {count} overdue are escalated as the file says until their "
                "signals come; once it is over, `cascade undeploy {campaign}` ends it (its history is kept)",
                count=num(overdue),
                campaign=escape(row.id),
            ),
            highlight=False,
        )


def _print_overview(engine: Engine, fmt: StatusFormat) -> None:
    """Every campaign in the store, a line each: the ones there are to name, and how each stands."""
    from cascade.settings import Settings
    from cascade.views.status import overview

    def when(at: int | None, tz: str) -> str | None:
        if at is None:
            return None
        moment = pendulum.from_timestamp(at, tz=tz)
        return moment.format("DD/MM/YYYY" if moment.hour == moment.minute == 0 else "DD/MM/YYYY HH:mm")

    items = overview(engine)
    now = Settings().scheduler.now().timestamp()
    records = [
        {
            "campaign": o.campaign,
            "title": o.title,
            "running": o.stopped_at is None,
            "stopped_at": when(o.stopped_at, o.timezone),
            "as_of": when(o.as_of, o.timezone),
            "overdue": o.overdue,
            "summary_at": when(o.summary_at, o.timezone),
            "summary_sent": o.summary_sent_at is not None,
        }
        for o in items
    ]
    if fmt is StatusFormat.json:
        sys.stdout.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
        return
    if fmt is StatusFormat.csv:  # (a sheet, as the overdue list is; yes or no in words)
        from cascade.views.tables import csv_cell, headed

        writer = csv.writer(csv_stdout(), lineterminator="\n")
        writer.writerow(headed(_OVERVIEW_COLUMNS))
        yes_no = ("running", "summary_sent")  # (an overdue count of 1 is no "yes")
        writer.writerows(
            [
                csv_cell((_("yes") if r[k] else _("no")) if k in yes_no else r[k])
                for k, _w in _OVERVIEW_COLUMNS
            ]
            for r in records
        )
        return
    if not items:
        out.print(_("no campaign deployed yet: cascade deploy FILE"))
        return
    out.print(_("campaigns in the store: {count}", count=len(items)), highlight=False)
    for o in items:  # two lines each: a title runs to 150 characters, a table cell wraps it to 15 lines
        stopped, ticked = when(o.stopped_at, o.timezone), when(o.as_of, o.timezone)
        ahead = o.issued_at > now  # deployed before its issue: nothing opens until then
        facts = [
            _("stopped since {since}", since=stopped)
            if stopped is not None
            else _("issued on {day}", day=when(o.issued_at, o.timezone))
            if ahead
            else _("running"),
            _("as of the last tick: {as_of}", as_of=ticked) if ticked else _("not ticked yet"),
            _("overdue: {count}", count=num(o.overdue)),
            _("summary sent")
            if o.summary_sent_at is not None
            else _("summary due {at}", at=when(o.summary_at, o.timezone)),
        ]
        out.print(f"[bold]{escape(o.campaign)}[/bold]  " + escape(" · ".join(facts)), highlight=False)
        out.print(f"  {escape(o.title)}", highlight=False)
    out.print(_("one campaign whole: cascade status CAMPAIGN (its id or its title)"), highlight=False)


_OVERVIEW_COLUMNS = (
    ("campaign", N_("campaign id")), ("title", N_("title")), ("running", N_("running")),
    ("stopped_at", N_("stopped at")), ("as_of", N_("as of the last tick")), ("overdue", N_("overdue")),
    ("summary_at", N_("summary due")), ("summary_sent", N_("summary sent")),
)  # fmt: skip


def _print_scheduler(engine: Engine, row: Deployed) -> None:
    """When the campaign (its stored `row`) last ticked (stalled or not), and which tick holds it now."""
    from sqlalchemy import select

    from cascade.engine import health, locks, store
    from flows.project import template

    campaign, tz = row.id, row.timezone
    if since := stopped_since(row):  # undeployed: no tick comes, none is late
        out.print(
            _(
                "stopped since {since} (cascade undeploy): no tick until it is deployed again "
                "(cascade deploy FILE)",
                since=since,
            )
        )
    default = int(template().interval.total_seconds())
    wall = int(pendulum.now().timestamp())
    for h in health.read(engine, wall, default, campaign):
        last = _("never") if h.ticked_at is None else _("{age} ago", age=ago(h.age))
        line = _("last tick: {last} (a tick every {interval})", last=last, interval=ago(h.interval))
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
    for alert in broken:
        since = pendulum.from_timestamp(alert.since, tz=tz).format("DD/MM/YYYY HH:mm")
        told = (
            _(
                "operator told {mm} ({delivered_by})",
                mm=pendulum.from_timestamp(alert.delivered_at, tz=tz).format("DD/MM/YYYY HH:mm"),
                delivered_by=escape(alert.delivered_by or ""),
            )
            if alert.delivered_at
            else _(
                "[red]operator NOT told yet[/red] ({tries} tries; retried at every dispatch)",
                tries=alert.tries,
            )
        )
        out.print(
            _(
                "[red]channel {channel} broken[/red] since {since}: {detail}; {told}",
                channel=channel_said(alert.channel),
                since=since,
                detail=escape(alert.detail),
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
