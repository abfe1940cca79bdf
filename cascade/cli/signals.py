"""Commands that tell Cascade what happened: `signal` (one, a file, a CSV import), and the
operator's decisions `extend` and `exempt`."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pendulum
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cascade.cli.common import (
    app,
    campaign_row,
    campaign_tz,
    err,
    fail,
    open_engine,
    out,
)
from cascade.compile.reading import read_text
from cascade.compile.sheets import is_spreadsheet
from cascade.errors import CampaignInvalid, Problem
from cascade.i18n import _
from cascade.timing.deadlines import parse_date

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cascade.engine.signals import Unchanged


@app.command(
    help=_(
        "Record that a unit completed a task or report (or import many at once, all or nothing). A signal "
        "dated before the campaign's issue is refused, and one more than a day ahead unless --allow-future: "
        "the first signal of an instance counts, so a wrong date sticks."
    ),
)
def signal(
    campaign: Annotated[str, typer.Argument(help=_("campaign id"))],
    unit: Annotated[str | None, typer.Argument(help=_("unit id"))] = None,
    task: Annotated[str | None, typer.Argument(help=_("task or report id"))] = None,
    at: Annotated[
        str | None, typer.Option(help=_("when it was done (campaign timezone); default now"))
    ] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help=_("a figure, k=v (repeatable)"))
    ] = None,
    import_file: Annotated[
        Path | None, typer.Option("--import", help=_("a signals file: CSV, Excel (.xlsx) or YAML"))
    ] = None,
    allow_future: Annotated[
        bool, typer.Option("--allow-future", help=_("accept signals dated more than a day from now"))
    ] = False,
) -> None:
    from cascade.engine.signal_files import load_signals
    from cascade.engine.signals import Signal, last_signal_id, parse_instant, record
    from cascade.settings import Settings

    engine = open_engine()
    tz = campaign_tz(engine, campaign)
    now = Settings().scheduler.now().in_timezone(tz)
    with engine.connect() as conn:
        before = last_signal_id(conn)
    try:
        if import_file is not None and is_spreadsheet(import_file):
            stored, known = _import_table(engine, campaign, import_file, now, allow_future)
            if stored + known == 0:
                _nothing_in(str(import_file))
            else:
                _recorded(engine, campaign, now, before, stored, known)
            return
        if import_file is not None:
            batch = load_signals(import_file, tz)
            where = str(import_file)
            if not batch:
                _nothing_in(where)
                return
        else:
            if unit is None or task is None:
                fail([Problem("signal", None, "", _("name the UNIT and the TASK, or give --import FILE"))])
            batch = [Signal(unit, task, parse_instant(at, tz) if at else now, _fields(field or []))]
            where = "signal"
        stored, known = record(engine, campaign, batch, "cli", now, file=where, allow_future=allow_future)
    except (CampaignInvalid, ValueError) as exc:
        fail(
            exc.problems if isinstance(exc, CampaignInvalid) else [Problem("signal", None, "--at", str(exc))]
        )
    _recorded(engine, campaign, now, before, stored, known)


def _nothing_in(where: str) -> None:
    err.print(_("[yellow]warning[/yellow]: {where} holds no signals; nothing recorded", where=escape(where)))


def _recorded(
    engine: Engine, campaign: str, now: pendulum.DateTime, before: int, stored: int, known: int
) -> None:
    """What was recorded (the signals after id `before`), what of it will change nothing (its
    task already done by an earlier signal), and the campaign told to tick now (when a Prefect
    server runs)."""
    from cascade.engine.signals import unchanged

    if not stored:
        said = _("nothing new for {campaign}: all {known} signal(s) were already recorded", campaign=campaign,
                 known=known)  # fmt: skip
        err.print(f"[green]✓[/green] {said}")
        return
    with engine.connect() as conn:
        same = unchanged(conn, campaign, before, int(now.timestamp()), "cli")
    _tell_unchanged(same, now.timezone_name or "UTC")
    note = _(" ({known} already recorded)", known=known) if known else ""
    if same and len(same) == stored:
        err.print(
            _(
                "[yellow]![/yellow] {stored} signal(s) recorded for {campaign}{note}, but none changes "
                "anything: their tasks were already done",
                stored=stored,
                campaign=campaign,
                note=note,
            )
        )
        return
    if same:
        note += _(" ({count} of them change nothing: already done)", count=len(same))
    err.print(
        _(
            "[green]✓[/green] {stored} signal(s) recorded for {campaign}{note}; the next tick applies them",
            stored=stored,
            campaign=campaign,
            note=note,
        )
    )
    if stored:
        from flows.deployments import announce_signal, api_url

        if url := api_url():
            announce_signal(campaign, stored, url)
            err.print(_("  cascade.signal.received sent: the campaign ticks now"))


SHOWN_UNCHANGED = 10


def _tell_unchanged(same: list[Unchanged], tz: str) -> None:
    for each in same[:SHOWN_UNCHANGED]:
        when = pendulum.from_timestamp(each.done_at, tz=tz).format("DD/MM/YYYY HH:mm")
        late = each.state == "done_late"
        said = _("done late on {when}", when=when) if late else _("done on {when}", when=when)
        err.print(
            _(
                "[yellow]warning[/yellow]: {unit}: «{title}» was already {said}; this signal is kept "
                "but changes nothing (the first signal of a task counts)",
                unit=escape(each.unit_name),
                title=escape(each.title),
                said=said,
            )
        )
    if len(same) > SHOWN_UNCHANGED:
        err.print(_("… and {more:,} more like it", more=len(same) - SHOWN_UNCHANGED))


def _import_table(
    engine: Engine, campaign: str, path: Path, now: pendulum.DateTime, allow_future: bool
) -> tuple[int, int]:
    """A CSV or Excel import, streamed (memory flat in its size), with a progress bar on a terminal."""
    from cascade.engine.signal_files import import_table

    if not path.exists():
        fail([Problem(str(path), None, "", _("no such file"))])
    with Progress(
        TextColumn(_("importing")), BarColumn(), TextColumn(_("{rows} rows", rows="{task.completed}")),
        TimeElapsedColumn(),
        console=err, disable=not err.is_terminal,
    ) as bar:  # fmt: skip
        job = bar.add_task("import", total=None)
        return import_table(engine, campaign, path, "cli", now, allow_future, lambda n: bar.advance(job, n))


def _fields(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(
                [
                    Problem(
                        "signal",
                        None,
                        "--field",
                        _("`{pair}` is not key=value", pair=pair),
                        _("e.g. --field attendees=450"),
                    )
                ]
            )
        out[key.strip()] = value.strip()
    return out


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

    listed = _read_unit_list(units_file) if units_file is not None else []
    named = ([unit] if unit else []) + listed
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
        resolved = {each: found[each].id if each in found else each for each in named}
        unresolved = {each for each in named if each not in found}
        chosen: list[str] | None = [resolved[unit]] if unit else None
        if under_id or level:
            below = decisions.units_under(conn, campaign, under_id, level)
            kept = set(below)
            chosen = below if chosen is None else [u for u in chosen if u in kept or u in unresolved]
    if units_file is not None:
        in_file = [resolved[each] for each in listed]
        chosen = in_file if chosen is None else [u for u in chosen if u in set(in_file)]
    return tuple(chosen or ())


def _read_unit_list(path: Path) -> list[str]:
    """Units, one a line (or the first column of a CSV), each its id or exact name; blank lines and
    `#` comments skipped."""
    try:
        text = read_text(path, str(path))
    except CampaignInvalid as exc:
        fail(exc.problems)
    ids = []
    for line in text.splitlines():
        first = line.split("#", 1)[0].split(",", 1)[0].strip()
        if first and first.lower() not in ("unit", "unit_id", "id"):
            ids.append(first)
    return ids


def _decide(campaign: str, decision_of: Any, what: str) -> None:
    from cascade.engine import amend, decisions
    from cascade.settings import Settings

    engine = open_engine()
    now = Settings().scheduler.now()
    decision = decision_of(engine)
    try:
        with engine.begin() as conn:
            changes = decisions.decide(conn, campaign, decision, now)
    except decisions.DecisionRefused as refused:
        fail([Problem(what, None, "", p) for p in refused.problems])
    for line in amend.describe(changes):
        out.print(escape(line), highlight=False)
    unchanged = len(changes.units) - len(changes.amended)
    if unchanged:
        out.print(
            _(
                "{unchanged} unit(s) unchanged (finished, or already so); the decision is recorded for them "
                "too",
                unchanged=unchanged,
            )
        )
    err.print(
        _(
            "[green]✓[/green] {what} recorded for {units} unit(s) of {campaign}, by {by}",
            what=what,
            units=len(changes.units),
            campaign=campaign,
            by=escape(decision.by),
        )
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


ByOption = Annotated[str, typer.Option("--by", help=_("who decided (default: your login)"))]


@app.command(
    help=_(
        "Give one unit (or many) a later deadline for a task (spec §7). It is kept in the store, not the "
        "file: a later redeploy keeps the later of this and the file's deadline."
    ),
)
def extend(
    campaign: Annotated[str, typer.Argument(help=_("campaign id"))],
    args: Annotated[list[str], typer.Argument(help=UNITS_HELP, metavar="[UNIT] TASK")],
    to: Annotated[str, typer.Option("--to", help=_("the new last day that counts, e.g. 20/12/2020"))],
    reason: ReasonOption = "",
    under: UnderOption = None,
    level: LevelOption = None,
    units_file: UnitsOption = None,
    by: ByOption = "",
) -> None:
    unit, task = _target(args, "extend")
    from cascade.engine import decisions

    def decision_of(engine: Engine) -> decisions.Decision:
        tz = campaign_tz(engine, campaign)
        try:
            day = parse_date(to)
        except ValueError as exc:
            fail(
                [
                    Problem(
                        "extend", None, "--to", str(exc), _("write the last day that counts, e.g. 20/12/2020")
                    )
                ]
            )
        deadline = pendulum.datetime(day.year, day.month, day.day, tz=tz).add(days=1)  # end of that day
        units = _chosen_units(engine, campaign, unit, under, level, units_file)
        named = unit is not None or units_file is not None
        return decisions.Decision(
            "extension", task, units, reason, by or _login(), int(deadline.timestamp()), named=named
        )

    _decide(campaign, decision_of, _("extension"))


@app.command(
    help=_("Exempt one unit (or many) from a task from now on (spec §7); kept across redeploys."),
)
def exempt(
    campaign: Annotated[str, typer.Argument(help=_("campaign id"))],
    args: Annotated[list[str], typer.Argument(help=UNITS_HELP, metavar="[UNIT] TASK")],
    reason: ReasonOption = "",
    under: UnderOption = None,
    level: LevelOption = None,
    units_file: UnitsOption = None,
    by: ByOption = "",
) -> None:
    unit, task = _target(args, "exempt")
    from cascade.engine import decisions

    def decision_of(engine: Engine) -> decisions.Decision:
        campaign_row(engine, campaign)
        units = _chosen_units(engine, campaign, unit, under, level, units_file)
        named = unit is not None or units_file is not None
        return decisions.Decision("exemption", task, units, reason, by or _login(), named=named)

    _decide(campaign, decision_of, _("exemption"))


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"
