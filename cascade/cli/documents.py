"""Commands that make documents from a deployed campaign: `report` (the summary an office
files) and `template` (the workbook sent to districts, read back by `signal --import`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pendulum
import typer
from rich.markup import escape

from cascade.cli.common import (
    PAGE_NAMES,
    SHEET_NAMES,
    ago,
    app,
    campaign_id,
    campaign_tz,
    cannot_write,
    err,
    fail,
    instant_of,
    open_engine,
    out,
    task_of,
    whole_file,
    writable,
)
from cascade.errors import Problem
from cascade.i18n import _

if TYPE_CHECKING:
    from sqlalchemy import Engine


class ReportFormat(StrEnum):
    md = "md"
    xlsx = "xlsx"
    docx = "docx"


@app.command(
    help=_(
        "The campaign's summary as an office would file it: per level and per unit, rolled-up figures, "
        "targets missed, units still missing, a paragraph and a chart. Reads the store only; nothing in the "
        "campaign changes."
    ),
)
def report(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    format: Annotated[
        ReportFormat | None,
        typer.Option("--format", "-f", help=_("md, xlsx or docx (default: the --out file's, or md)")),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help=_("the file to write (default: CAMPAIGN-summary-DATE.FORMAT here)")),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help=_("the date shown as 'as of' (default: the last tick's, which the figures are as of)")
        ),
    ] = None,
) -> None:
    from cascade.engine.summary import build
    from cascade.reports import write

    fmt = _report_format(format, output)
    engine = open_engine(read_only=True)
    campaign = campaign_id(engine, campaign)  # (or its title)
    instant = instant_of(engine, campaign, at, "report", "--at") if at else _as_of_last_tick(engine, campaign)
    target = output or Path(f"{campaign}-summary-{instant.format('YYYYMMDD')}.{fmt.value}")
    writable(target)
    with err.status(_("reading the store")):
        summary = build(engine, campaign, instant)
    assert summary is not None  # campaign_tz refused an unknown campaign
    try:
        with err.status(_("writing {target}", target=target)):
            written = write(summary, fmt.value, target)  # whole, or the earlier file as it was
    except OSError as exc:
        cannot_write(target, exc)
    for path in written:
        out.print(str(path))


def _as_of_last_tick(engine: Engine, campaign: str) -> pendulum.DateTime:
    """The instant a report's figures are as of: the campaign's last tick, which computed the
    states it reads (now, when it never ticked). Said on stderr, with a warning when the
    scheduler has stopped ticking it: the figures are that old."""
    import time

    from cascade.engine import health
    from cascade.views.status import states_as_of

    tz = campaign_tz(engine, campaign)  # (refuses an unknown campaign)
    with engine.connect() as conn:
        last = states_as_of(conn, campaign)
    if last is None:
        return pendulum.now(tz)
    instant = pendulum.from_timestamp(last, tz=tz)
    said = _("figures as of the last tick: {at}", at=instant.format("HH:mm DD/MM/YYYY"))
    for h in health.read(engine, int(time.time()), health.DEFAULT_INTERVAL, campaign):
        if h.stalled:
            said += _("; no tick for {age}: is `cascade serve` running?", age=ago(h.age))
    err.print(said)
    return instant


# the names of documents a summary is not written as, and the format to write instead: such a
# file of Markdown text would not open (Excel, Word) or would show as garbage (a browser)
OTHER_FORMATS = {
    **dict.fromkeys(SHEET_NAMES, ReportFormat.xlsx),
    **dict.fromkeys(PAGE_NAMES, ReportFormat.docx),
    **dict.fromkeys(("htm", "html"), ReportFormat.md),
}


def _report_format(given: ReportFormat | None, output: Path | None) -> ReportFormat:
    """The format asked for, else the one the --out file's name says, else md; a name that
    says another format is refused (an .xlsx of Markdown text would not open in Excel), and so
    is one of a format no summary is written in (.xls, .doc, .pdf...), naming the file instead."""
    suffix = output.suffix.lower().lstrip(".") if output else ""
    if output is not None and suffix in OTHER_FORMATS:
        instead = output.with_suffix(f".{(given or OTHER_FORMATS[suffix]).value}")
        fail(
            [
                Problem(
                    str(output),
                    None,
                    "--out",
                    _(
                        "a summary is written as md (text), xlsx (Excel) or docx (Word), not .{suffix}",
                        suffix=suffix,
                    ),
                    _("name it {instead}", instead=instead),
                )
            ]
        )
    named = ReportFormat(suffix) if suffix in ReportFormat.__members__ else None
    if given is not None and named is not None and given is not named:
        fail(
            [
                Problem(
                    str(output),
                    None,
                    "--format",
                    _(
                        "the file is named .{named}, the format asked for is {given}",
                        named=named.value,
                        given=given.value,
                    ),
                    _("name the file .{given}, or leave out --format", given=given.value),
                )
            ]
        )
    return given or named or ReportFormat.md


@app.command(
    help=_(
        "Write the workbook to send out for a task: a sheet per district listing its units (with --under, "
        "a sheet per unit just below that one), a column for when each did it and one per figure. Filled "
        "in and sent back, it is imported unchanged: cascade signal CAMPAIGN --import FILE.xlsx (rows left "
        "blank are units not done)."
    ),
)
def template(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    out_file: Annotated[Path, typer.Option("--out", "-o", help=_("the workbook to write (.xlsx)"))],
    written: Annotated[
        str | None, typer.Argument(metavar="task", help=_("the task or report, as --task names it"))
    ] = None,
    task: Annotated[
        str | None, typer.Option("--task", help=_("the task or report the units below answer for"))
    ] = None,
    under: Annotated[str | None, typer.Option(help=_("only the units below this one"))] = None,
) -> None:
    from cascade.reports.answer_book import write_answer_book
    from cascade.views.answer_sheet import NotFound, answer_sheet

    # `cascade template CAMPAIGN TASK`, as `signal` and `extend` name a task, or `--task TASK`
    if (written is None) == (task is None):
        message = _("name the task once: cascade template CAMPAIGN TASK --out FILE.xlsx")
        fail([Problem("template", None, "TASK", message, _("a task's id or its title"))])
    task = written or task
    assert task is not None
    if out_file.suffix.lower() != ".xlsx":
        fail(
            [
                Problem(
                    str(out_file),
                    None,
                    "--out",
                    _("the template is an Excel workbook"),
                    _("name it FILE.xlsx"),
                )
            ]
        )
    engine = open_engine()
    campaign = campaign_id(engine, campaign)  # (or its title)
    task = task_of(engine, campaign, task)  # (or its title)
    try:
        with engine.connect() as conn:
            sheet = answer_sheet(conn, campaign, task, under)
    except NotFound as exc:
        fail([Problem("template", None, "", str(exc))])
    with whole_file(out_file) as handle:  # a full disk leaves no half-written workbook
        rows = write_answer_book(sheet, handle)
    err.print(
        _(
            "[green]✓[/green] {file}: {rows:,} unit(s) of «{task_title}» on {groups} sheet(s); import it "
            "back with: cascade signal {campaign} --import {out_file}",
            file=escape(str(out_file)),
            rows=rows,
            task_title=escape(sheet.task_title),
            groups=len(sheet.groups),
            campaign=campaign,
            out_file=out_file,
        )
    )
