"""Commands that read a campaign's record, never changing it: `events` (the audit log) and
`decisions` (the extensions and exemptions in force). Its progress is `cascade.cli.status`, its
documents `cascade.cli.documents`; a campaign run on a copy, `cascade.cli.simulation`."""

from __future__ import annotations

import csv
import functools
import json
import sys
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pendulum
import typer
from rich.markup import escape
from rich.table import Table

from cascade.cli.common import (
    TABLE_ROWS,
    app,
    campaign_id,
    campaign_row,
    campaign_tz,
    checked_filters,
    csv_stdout,
    err,
    fail,
    instant_of,
    json_lines_named,
    open_engine,
    out,
    whole_file,
)
from cascade.errors import Problem
from cascade.i18n import N_, _, num


@functools.cache
def _kind_words() -> dict[str, str]:
    """Each kind of the log in the words `cascade tick` and a deploy's summary count it in."""
    from cascade.engine.machine import COUNTED
    from cascade.views.changes import NOTICE_KINDS
    from cascade.views.eventlog import LOG_KINDS

    return {
        **{k: v for k, v in COUNTED.items() if k in LOG_KINDS},
        **NOTICE_KINDS,
        "extension.requested": N_("extension requests"),
        "extension.denied": N_("extensions denied"),
    }


def _kind_of(written: str) -> str:
    """A kind of the log, written as its id or its words in either language ("đôn đốc", "escalations")."""
    from cascade.plan.values import loose

    wanted = loose(written)
    for kind, words in _kind_words().items():
        if wanted in (loose(words), loose(_(words))):
            return kind
    return written


@app.command(
    help=_("The campaign's audit log: every event, one JSON object a line, in time order (spec §6)."),
)
def events(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    since: Annotated[
        str | None, typer.Option(help=_("only events at or after this time, e.g. 2020-12-01"))
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help=_("only this kind (repeatable)"))] = None,
    unit: Annotated[
        str | None, typer.Option(help=_("only the events of this unit (its id or exact name)"))
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help=_("write to this file (default: stdout)"))
    ] = None,
) -> None:
    from cascade.engine.deployed import unit_ever
    from cascade.views import eventlog

    if out_file:
        json_lines_named(out_file)
    engine = open_engine(read_only=True)
    campaign = campaign_id(engine, campaign)  # (or its title)
    tz = campaign_tz(engine, campaign)
    kinds = [_kind_of(k) for k in kind or ()]  # (or in the words `cascade tick` prints it)
    unknown = eventlog.unknown_kinds(kinds)
    if unknown:
        message = _("no event kind {unknown}", unknown=", ".join(unknown))
        shown = ", ".join(f"`{k}` («{_(_kind_words()[k])}»)" for k in eventlog.LOG_KINDS)
        fail([Problem("events", None, "--kind", message, _("one of: {choices}", choices=shown))])
    start = None
    if since:  # a day: from its start ("hôm qua": the command's)
        start = int(instant_of(engine, campaign, since, "events", "--since").timestamp())
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


class DecisionsFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class DecisionKind(StrEnum):
    extension = "extension"
    exemption = "exemption"


# the decisions as a sheet (`--format csv > quyet-dinh.csv`): its key, and its header in words
_DECISION_COLUMNS = (
    ("unit_id", N_("unit id")), ("unit", N_("unit")), ("task_id", N_("task id")), ("task", N_("task")),
    ("decision", N_("decision")), ("last_day", N_("last day")), ("file_last_day", N_("the file's last day")),
    ("state", N_("state")), ("reason", N_("reason")), ("by", N_("decided by")), ("at", N_("decided at")),
    ("requested", N_("asked by the unit")),
)  # fmt: skip


@app.command(
    help=_(
        "The decisions in force: each unit's extension (its last day, the file's, why, who decided and "
        "when) and exemption, without those taken back (--lift). A list to check before a lift, or to "
        "file."
    ),
)
def decisions(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    task: Annotated[str | None, typer.Option(help=_("only this task or report"))] = None,
    under: Annotated[str | None, typer.Option(help=_("only the units below this one"))] = None,
    kind: Annotated[
        DecisionKind | None, typer.Option("--kind", help=_("only extensions, or only exemptions"))
    ] = None,
    fmt: Annotated[DecisionsFormat, typer.Option("--format", help=_("table, csv or json"))] = (
        DecisionsFormat.table
    ),
) -> None:
    from cascade.engine.words import deadline_short
    from cascade.timing.deadlines import zone
    from cascade.views import decisions as standing
    from cascade.views.tables import csv_cell, headed

    engine = open_engine(read_only=True)
    campaign = campaign_id(engine, campaign)  # (or its title)
    row = campaign_row(engine, campaign)
    _level, task, under = checked_filters(engine, row, None, task, under, "decisions")
    where = standing.Where(task, under, str(kind) if kind else None)
    with engine.connect() as conn:  # (a table: its first rows made, the rest counted)
        if fmt is DecisionsFormat.table:
            first = standing.first_standing(conn, campaign, TABLE_ROWS, where)
            found, extended, exempt = first.shown, first.extensions, first.exemptions
        else:
            found = standing.standing(conn, campaign, where)
            extended = sum(1 for s in found if s.kind == "extension")
            exempt = len(found) - extended
    tz = row.timezone

    def day(epoch: int | None) -> str:
        return deadline_short(epoch, tz) if epoch is not None else ""

    @functools.cache
    def moment(epoch: int) -> str:  # (one a decision taken: a command's thousands share it)
        return pendulum.from_timestamp(epoch, tz=zone(tz)).format("DD/MM/YYYY HH:mm")

    records: list[dict[str, Any]] = [
        {
            "unit_id": s.unit,
            "unit": s.name,
            "task_id": s.task,
            "task": s.title,
            "decision": s.kind,
            "last_day": day(s.deadline),
            "file_last_day": day(s.file_deadline),
            "state": s.state,
            "reason": s.reason,
            "by": s.by,
            "at": moment(s.at),
            "requested": s.requested,
        }
        for s in found
    ]
    if fmt is DecisionsFormat.csv:
        writer = csv.writer(csv_stdout(), lineterminator="\n")  # (its values in words, as a table's)
        writer.writerow(headed(_DECISION_COLUMNS))
        writer.writerows([csv_cell(_in_words(k, r[k])) for k, _words in _DECISION_COLUMNS] for r in records)
    elif fmt is DecisionsFormat.json:
        body = {"campaign": campaign, "title": row.title, "decisions": records}
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=1) + "\n")
    elif records:
        _print_decisions(records)
        if extended + exempt > TABLE_ROWS:
            out.print(
                _(
                    "… and {more:,} more, too many to read in a table. Every one: cascade decisions "
                    "{campaign} --format csv > quyet-dinh.csv (it opens in Excel); fewer: --task, "
                    "--under, --kind",
                    more=extended + exempt - TABLE_ROWS,
                    campaign=escape(campaign),
                ),
                highlight=False,
            )
    err.print(
        _(
            "{extended} extension(s) and {exempt} exemption(s) in force",
            extended=num(extended),
            exempt=num(exempt),
        )
    )


_DECISION_WORDS = {"extension": N_("extension"), "exemption": N_("exemption")}


def _in_words(key: str, value: Any) -> Any:
    """A decision's cell as the operator reads it: the decision, the state and whether the unit
    asked in words ("gia hạn", "quá hạn", "có"); the rest as it is."""
    from cascade.cli.decisions import STATE_WORDS

    if key == "decision":
        return _(_DECISION_WORDS.get(value, value))
    if key == "state":
        return _(STATE_WORDS.get(value, value))
    if key == "requested":
        return _("yes") if value else ""
    return value


def _print_decisions(records: list[dict[str, Any]]) -> None:
    table = Table()
    headers = (_("unit"), _("task"), _("decision"), _("the file's last day"), _("reason"), _("decided by"))
    for column in headers:
        table.add_column(column)
    for r in records:
        extended = r["decision"] == "extension"
        decided = _("extended to {day}", day=r["last_day"]) if extended else _("exemption")
        by = _("{by}, asked by the unit", by=r["by"]) if r["requested"] else r["by"]
        table.add_row(
            escape(r["unit"]),
            escape(r["task"]),
            decided,
            r["file_last_day"],
            escape(r["reason"]),
            escape(_("{by} on {at}", by=by, at=r["at"])),
        )
    out.print(table)
