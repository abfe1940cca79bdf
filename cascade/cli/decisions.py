"""The operator's decisions on a running campaign (spec §7): `extend` and `exempt` (what a unit
owes), and `withdraw` (a signal recorded by mistake, taken back)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pendulum
import typer
from rich.markup import escape

from cascade.cli.chrome import working
from cascade.cli.common import (
    app,
    campaign_id,
    campaign_row,
    campaign_tz,
    err,
    fail,
    not_among,
    open_engine,
    out,
    task_of,
)
from cascade.compile.reading import read_text
from cascade.errors import CampaignInvalid, Problem, listed
from cascade.i18n import N_, _, num
from cascade.timing.deadlines import parse_day_ahead

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _chosen_units(
    engine: Engine,
    campaign: str,
    unit: str | None,
    under: str | None,
    level: str | None,
    units_file: Path | None,
) -> tuple[str, ...]:
    """UNIT, or the units --under / --level / --units name (together: the units all of them name);
    each named by its id or its exact name, as `signal` takes them."""
    from cascade.engine import decisions
    from cascade.engine.deployed import units_named
    from cascade.engine.words import level_choices, level_named

    lines = _read_unit_list(units_file) if units_file is not None else []
    # a list's line names a unit whole ("Đảng ủy xã Đồng Lộc, Can Lộc", "Chi bộ #2") where it
    # does; else what comes before a comment or a second column (`hu-can-loc  # bão`)
    shorter = {line: cut for line in lines if (cut := _before_comment_or_column(line)) != line}
    named = ([unit] if unit else []) + lines + list(shorter.values())
    if level is not None:  # its id, or as people write it or the tables show it
        levels = campaign_row(engine, campaign).levels
        if (level_id := level_named(level, levels)) is None:
            fail([not_among("--level", "", _("no level `{level}`", level=level), level_choices(levels))])
        level = level_id
    with engine.connect() as conn:
        under_id = None
        if under:
            found_under, wrong = units_named(conn, campaign, [under])
            if wrong:
                fail([Problem("--under", None, "", p) for p in wrong])
            under_id = found_under[under].id
        # each named by its id or its exact name; one that names no unit goes on as written, for
        # the decision to refuse along with every other reason at once
        found, _wrong = units_named(conn, campaign, named)
        lines = [line if line in found else shorter.get(line, line) for line in lines]
        resolved = {each: found[each].id if each in found else each for each in named}
        unresolved = {each for each in named if each not in found}
        chosen: list[str] | None = [resolved[unit]] if unit else None
        if under_id or level:
            below = decisions.units_under(conn, campaign, under_id, level)
            kept = set(below)
            chosen = below if chosen is None else [u for u in chosen if u in kept or u in unresolved]
    if units_file is not None:
        in_file = [resolved[each] for each in lines]
        chosen = in_file if chosen is None else [u for u in chosen if u in set(in_file)]
    return tuple(chosen or ())


def _read_unit_list(path: Path) -> list[str]:
    """Units, each its id or exact name: one a line (blank lines and `#` comment lines skipped), or a
    sheet as an office keeps the list (a workbook, or a CSV with a separator Excel writes): its
    unit column (`unit`, `Mã đơn vị`, `Đơn vị`), else its names (`name`, `Tên đơn vị`), else its
    first column; a title above the header and a row-number column are passed over."""
    from cascade.compile.sheets import is_workbook

    try:
        if is_workbook(path):  # (an .xls or .ods refused, saying how to save it)
            return _units_in_sheets(path)
        text = read_text(path, str(path))
        if _is_table(path, text):
            return _units_in_sheets(path)
    except CampaignInvalid as exc:
        fail(exc.problems)
    lines = []
    for line in text.splitlines():
        whole = line.strip()
        if whole and not whole.startswith("#") and whole.lower() not in ("unit", "unit_id", "id"):
            lines.append(whole)
    return lines


def _before_comment_or_column(line: str) -> str:
    return line.split("#", 1)[0].split(",", 1)[0].strip()


_LIST_COLUMNS = {"unit": "unit", "unit_id": "unit", "id": "unit", "name": "name"}


def _is_table(path: Path, text: str) -> bool:
    """A CSV (its `text`) whose lines have more than one cell (a one-column list is read a line at
    a time)."""
    if path.suffix.lower() != ".csv":
        return False
    return any(sep in line for line in text.splitlines()[:5] for sep in (",", ";", "\t"))


def _units_in_sheets(path: Path) -> list[str]:
    from cascade.compile.sheets import header_key, tables, text
    from cascade.engine.signal_files import ALIASES

    aliases = {**ALIASES, **_LIST_COLUMNS}
    units = []
    for table in tables(path, str(path)):
        keys = [header_key(cell, aliases) for cell in table.header]
        column = next(
            (keys.index(k) for k in ("unit", "name") if k in keys),
            next((i for i, k in enumerate(keys) if k), 0),  # its first column but the rows' numbers
        )
        for _line, cells in table.rows:
            if column < len(cells) and (written := text(cells[column])):
                units.append(written)
    return units


def _decide(campaign: str, decision_of: Any, what: str, dry_run: bool = False) -> None:
    from cascade.engine import decisions
    from cascade.settings import Settings
    from cascade.views.changes import describe

    engine = open_engine()
    campaign = campaign_id(engine, campaign)  # (or its title)
    now = Settings().scheduler.now()
    decision = decision_of(engine, campaign)
    try:
        doing = working(err, _("working out the decision for {campaign}", campaign=campaign))
        with engine.connect() as conn, conn.begin() as transaction, doing:  # (a nation's cells: 12 s)
            changes = decisions.decide(conn, campaign, decision, now)
            if dry_run:  # worked out, told, and undone whole (a mistyped --level: 18 units)
                transaction.rollback()
    except decisions.DecisionRefused as refused:
        fail([Problem(what, None, "", p) for p in refused.problems])
    for line in describe(changes):
        out.print(escape(line), highlight=False)
    unchanged = len(changes.units) - len(changes.amended)
    if unchanged:
        count = num(unchanged)
        said = (
            _(
                "{unchanged} unit(s) unchanged (finished, or already so); the decision would be recorded for "
                "them too",
                unchanged=count,
            )
            if dry_run
            else _(
                "{unchanged} unit(s) unchanged (finished, or already so); the decision is recorded for them "
                "too",
                unchanged=count,
            )
        )
        out.print(said)
    if changes.passed_over:  # (a subtree or level extended: those already due that day or later)
        count, units = num(len(changes.passed_over)), escape(listed(changes.passed_over))
        left = (
            _(
                "{count} unit(s) would keep their deadline, due that day or later already, or not due yet "
                "(it follows their signal): {units}",
                count=count,
                units=units,
            )
            if dry_run
            else _(
                "{count} unit(s) keep their deadline, due that day or later already, or not due yet (it "
                "follows their signal): {units}",
                count=count,
                units=units,
            )
        )
        out.print(left, highlight=False)
    _after_the_summary(engine, campaign, decision)
    if dry_run:
        err.print(_("dry run: nothing was changed"))
        return
    err.print(
        _(
            "[green]✓[/green] {what} recorded for {units} unit(s) of {campaign}, by {by}",
            what=what,
            units=num(len(changes.units)),
            campaign=campaign,
            by=escape(decision.by),
        )
    )


def _after_the_summary(engine: Engine, campaign: str, decision: Any) -> None:
    """An extension past the summary date, warned of (as `validate` warns of a file's): the
    summary goes out while those units may still do it, and counts them as not done."""
    from cascade.engine.machine import summary_before

    row = campaign_row(engine, campaign)
    if decision.deadline is None or not summary_before(row, decision.deadline):
        return
    day = pendulum.from_timestamp(decision.deadline - 1, tz=row.timezone).format("DD/MM/YYYY")
    summary = pendulum.from_timestamp(row.summary_at, tz=row.timezone).format("DD/MM/YYYY")
    err.print(
        _(
            "[yellow]warning[/yellow]: the summary goes out on {summary}, before the last day {day} has "
            "passed: it counts these units as not done unless they finish before; move `summary_date` in "
            "the file to wait for them",
            day=day,
            summary=summary,
        ),
        highlight=False,
    )


def _target(args: list[str], command: str) -> tuple[str | None, str]:
    if len(args) == 2:
        return args[0], args[1]
    if len(args) == 1:
        return None, args[0]
    fail(
        [
            Problem(
                command,
                None,
                "",
                _("expected UNIT TASK or TASK with --under/--level/--units, got {args}", args=" ".join(args)),
            )
        ]
    )


UNITS_HELP = _("one unit: UNIT TASK; many: TASK with --under/--level/--units")


ReasonOption = Annotated[
    str, typer.Option("--reason", help=_("why (kept in the audit log, told to the unit)"))
]


UnderOption = Annotated[str | None, typer.Option("--under", help=_("every unit below this one"))]


LevelOption = Annotated[str | None, typer.Option("--level", help=_("every unit of this level"))]


UnitsOption = Annotated[
    Path | None, typer.Option("--units", help=_("a file of units (ids or exact names), one a line"))
]


ByOption = Annotated[
    str,
    typer.Option(
        "--by",
        help=_("who decided, as the units are told (default: the campaign's operator, else its issuer)"),
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help=_("print what the decision would do, and change nothing"))
]


@app.command(
    help=_(
        "Give one unit (or many) a later deadline for a task (spec §7). It is kept in the store, not the "
        "file: a later redeploy keeps the later of this and the file's deadline. An extension given by "
        "mistake is corrected with an earlier --to (not before the file's deadline), or taken back with "
        "--lift."
    ),
)
def extend(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    args: Annotated[list[str], typer.Argument(help=UNITS_HELP, metavar="[UNIT] TASK")],
    to: Annotated[
        str | None, typer.Option("--to", help=_("the new last day that counts, e.g. 20/12/2020"))
    ] = None,
    reason: ReasonOption = "",
    under: UnderOption = None,
    level: LevelOption = None,
    units_file: UnitsOption = None,
    by: ByOption = "",
    dry_run: DryRunOption = False,
    lift: Annotated[
        bool,
        typer.Option(
            "--lift",
            help=_("take back the extension an earlier `cascade extend` gave: the file's deadline again"),
        ),
    ] = False,
) -> None:
    unit, task = _target(args, "extend")
    if (to is None) == (not lift):  # exactly one of them
        said = _("give --to or --lift, not both") if lift else _("the new deadline is missing")
        hint = _("--to 20/12/2020 gives the last day that counts; --lift takes the extension back")
        fail([Problem("extend", None, "--to", said, hint)])
    from cascade.engine import decisions
    from cascade.settings import Settings

    def decision_of(engine: Engine, campaign: str) -> decisions.Decision:
        units = _chosen_units(engine, campaign, unit, under, level, units_file)
        named = unit is not None or units_file is not None
        task_id = task_of(engine, campaign, task)  # (or its title)
        if to is None:
            return decisions.Decision(
                "unextended", task_id, units, reason, by or _decider(engine, campaign), named=named
            )
        tz = campaign_tz(engine, campaign)
        try:  # (`15/1`: the next 15 January from the command's today)
            day = parse_day_ahead(to, Settings().scheduler.now().in_timezone(tz).date())
        except ValueError as exc:
            hint = _("write the last day that counts, e.g. 20/12/2020")
            fail([Problem("extend", None, "--to", str(exc), hint)])
        deadline = pendulum.datetime(day.year, day.month, day.day, tz=tz).add(days=1)  # end of that day
        return decisions.Decision(
            "extension",
            task_id,
            units,
            reason,
            by or _decider(engine, campaign),
            int(deadline.timestamp()),
            named=named,
        )

    _decide(campaign, decision_of, _("extension taken back") if lift else _("extension"), dry_run)


@app.command(
    help=_(
        "Exempt one unit (or many) from a task from now on (spec §7); kept across redeploys. --lift takes "
        "an exemption back, --dry-run shows what it would do."
    ),
)
def exempt(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    args: Annotated[list[str], typer.Argument(help=UNITS_HELP, metavar="[UNIT] TASK")],
    reason: ReasonOption = "",
    under: UnderOption = None,
    level: LevelOption = None,
    units_file: UnitsOption = None,
    by: ByOption = "",
    dry_run: DryRunOption = False,
    lift: Annotated[
        bool,
        typer.Option(
            "--lift",
            help=_(
                "take back the exemption an earlier `cascade exempt` made: the unit is asked the task again"
            ),
        ),
    ] = False,
) -> None:
    unit, task = _target(args, "exempt")
    from cascade.engine import decisions

    def decision_of(engine: Engine, campaign: str) -> decisions.Decision:
        units = _chosen_units(engine, campaign, unit, under, level, units_file)
        named = unit is not None or units_file is not None
        task_id = task_of(engine, campaign, task)  # (or its title)
        kind = "lifted" if lift else "exemption"
        return decisions.Decision(kind, task_id, units, reason, by or _decider(engine, campaign), named=named)

    _decide(campaign, decision_of, _("exemption lifted") if lift else _("exemption"), dry_run)


@app.command(
    help=_(
        "Take back a unit's signals for a task, recorded by mistake: they are kept, marked withdrawn, and "
        "the task is as it would be without them (open, or overdue past its deadline; its figures gone); "
        "the unit is told. What its completion set off stays. The right signal may then be recorded."
    ),
)
def withdraw(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    unit: Annotated[str, typer.Argument(help=_("unit id or exact name"))],
    task: Annotated[str, typer.Argument(help=_("task or report id"))],
    reason: ReasonOption = "",
    by: ByOption = "",
) -> None:
    from cascade.engine import decisions
    from cascade.settings import Settings

    engine = open_engine()
    campaign = campaign_id(engine, campaign)  # (or its title)
    tz = campaign_tz(engine, campaign)
    now = Settings().scheduler.now().in_timezone(tz)
    task = task_of(engine, campaign, task)  # (or its title)
    try:
        with engine.begin() as conn:
            taken = decisions.withdraw(
                conn, campaign, task, unit, reason, by or _decider(engine, campaign), now
            )
    except decisions.DecisionRefused as refused:
        fail([Problem(_("withdrawal"), None, "", p) for p in refused.problems])
    state = _(STATE_WORDS.get(taken.state, taken.state))
    if taken.done_at is None:
        said = _(
            "[green]✓[/green] {count} signal(s) for «{title}» of {unit} withdrawn before any tick applied "
            "them; the task stays {state}",
            count=taken.signals,
            title=escape(taken.title),
            unit=escape(taken.unit_name),
            state=state,
        )
    else:
        said = _(
            "[green]✓[/green] «{title}» of {unit}, done on {when}, withdrawn ({count} signal(s)): now "
            "{state}; the unit is told in its next notice",
            title=escape(taken.title),
            unit=escape(taken.unit_name),
            when=pendulum.from_timestamp(taken.done_at, tz=tz).format("DD/MM/YYYY HH:mm"),
            count=taken.signals,
            state=state,
        )
    err.print(said)


STATE_WORDS = {
    "open": N_("open"),
    "overdue": N_("overdue"),
    "held": N_("not open yet (waiting for what it follows)"),
    "done": N_("done"),
    "done_late": N_("done late"),
    "exempt": N_("exempt"),
}


def _decider(engine: Engine, campaign: str) -> str:
    from cascade.engine.deployed import decider

    with engine.connect() as conn:
        return decider(conn, campaign)
