"""The command that tells Cascade what happened: `signal` (one, a file, a CSV import). The
operator's decisions about what happened or what is owed are `cascade.cli.decisions`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import pendulum
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cascade.cli.chrome import count_column
from cascade.cli.common import (
    app,
    campaign_id,
    campaign_row,
    err,
    fail,
    open_engine,
    stopped_since,
)
from cascade.compile.sheets import is_spreadsheet
from cascade.errors import CampaignInvalid, Problem
from cascade.i18n import N_, _, language, num

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cascade.engine.early import Early
    from cascade.engine.repeats import Unchanged
    from cascade.engine.signals import Recorded


@app.command(
    help=_(
        "Record that a unit completed a task or report (or import many at once, all or nothing). A signal "
        "dated before the campaign's issue is refused, and one more than a day ahead unless "
        "--allow-future: the first signal of an instance counts (one recorded by mistake is taken back "
        "with cascade withdraw)."
    ),
)
def signal(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    unit: Annotated[str | None, typer.Argument(help=_("unit id or exact name"))] = None,
    task: Annotated[str | None, typer.Argument(help=_("task or report id"))] = None,
    figures: Annotated[
        list[str] | None, typer.Argument(help=_("figures, k=v, as --field gives them: attendees=450"))
    ] = None,
    at: Annotated[
        str | None, typer.Option(help=_("when it was done (campaign timezone); default now"))
    ] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help=_("a figure, k=v (repeatable)"))
    ] = None,
    import_file: Annotated[
        Path | None,
        typer.Option(
            "--import",
            help=_(
                "a signals file: CSV, Excel (.xlsx) or YAML; or a folder, every workbook and CSV in it "
                "(the replies the units below sent back), all or none"
            ),
        ),
    ] = None,
    allow_future: Annotated[
        bool, typer.Option("--allow-future", help=_("accept signals dated more than a day from now"))
    ] = False,
) -> None:
    from cascade.engine.signal_files import is_table, load_signals, signal_span
    from cascade.engine.signals import Signal, record
    from cascade.settings import Settings
    from cascade.timing.instants import parse_instant

    engine = open_engine()
    campaign = campaign_id(engine, campaign)  # (or its title)
    row = campaign_row(engine, campaign)
    tz = str(row.timezone)
    now = Settings().scheduler.now().in_timezone(tz)
    span = signal_span(row.issued_at, tz, now, allow_future)  # `--at 15/12`: this campaign's
    try:
        if import_file is not None and (import_file.is_dir() or is_table(import_file)):
            answer = _import_table(engine, campaign, import_file, now, allow_future)
            if sum(answer) == 0:
                _nothing_in(str(import_file))
            else:
                _recorded(engine, campaign, now, answer)
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
            batch = [
                Signal(
                    unit,
                    task,
                    parse_instant(at, tz, now.date(), span) if at else now,
                    _fields([*(field or []), *(figures or [])]),
                )
            ]
            where = "signal"
        answer = record(
            engine, campaign, batch, "cli", now, file=where, allow_future=allow_future, tell=True,
            said_back=import_file is None,
        )  # fmt: skip
    except (CampaignInvalid, ValueError) as exc:
        fail(
            exc.problems if isinstance(exc, CampaignInvalid) else [Problem("signal", None, "--at", str(exc))]
        )
    _recorded(engine, campaign, now, answer)
    if import_file is None and answer.rows:  # (stored: not one already recorded)
        _said_back(engine, campaign, answer.rows[0])


def _said_back(engine: Engine, campaign: str, stored: dict[str, Any]) -> None:
    """The one signal typed, as it was stored: the unit by its name, the work by its title, the
    time in full, each figure by its title as it was read ("hôm qua 15:30", "45 đ/c": the
    operator sees what they meant, and what was understood)."""
    from cascade.engine.deployed import unit_names
    from cascade.engine.rollup import figures_of
    from cascade.plan.rules import campaign_rules

    row = campaign_row(engine, campaign)
    with engine.connect() as conn:
        unit = unit_names(conn, campaign, [stored["unit_id"]]).get(stored["unit_id"], stored["unit_id"])
    every = campaign_rules(row)
    rules = every.get(stored["task_id"])
    title = rules.title if rules else stored["task_id"]
    moment = pendulum.from_timestamp(stored["at"], tz=row.timezone).format("HH:mm DD/MM/YYYY")
    said = _("  {unit}: «{task}», {at}", unit=escape(unit), task=escape(title), at=moment)
    titles = {name: spec.title for name, spec in (rules.fields if rules else {}).items() if spec.title}
    if rules is not None and rules.kind == "report":  # a roll-up figure by its label
        titles.update((f.key, f.label(every)) for f in figures_of(rules, every))
    figures = [
        f"{escape(titles.get(name, name))} {_figure(value)}" for name, value in stored["fields"].items()
    ]
    err.print(said + ("; " + "; ".join(figures) if figures else ""), highlight=False)


def _figure(value: Any) -> str:
    """A figure as the operator's language writes it: 1.234 and 0,85 (vi, as the notices write
    it: `engine.words.number_text`); 1,234 and 0.85 (en)."""
    from cascade.engine.words import number_text

    if isinstance(value, bool) or not isinstance(value, int | float):
        return escape(str(value))
    if language() == "vi":
        return number_text(value)
    return num(int(value)) if float(value).is_integer() else f"{value:,}"


def _nothing_in(where: str) -> None:
    err.print(_("[yellow]warning[/yellow]: {where} holds no signals; nothing recorded", where=escape(where)))


def _recorded(engine: Engine, campaign: str, now: pendulum.DateTime, answer: Recorded) -> None:
    """What was recorded, what of it will change nothing (its task already done by an earlier
    signal) or is dated before its work opened, and the campaign told to tick now (when a
    Prefect server runs)."""
    stored, known = answer
    if not stored:
        said = _("nothing new for {campaign}: all {known} signal(s) were already recorded", campaign=campaign,
                 known=num(known))  # fmt: skip
        err.print(f"[green]✓[/green] {said}")
        return
    same = answer.unchanged
    _tell_unchanged(same, now.timezone_name or "UTC")
    tell_early(answer.early, now.timezone_name or "UTC")
    note = _(" ({known} already recorded)", known=num(known)) if known else ""
    if same and len(same) == stored:
        err.print(
            _(
                "[yellow]![/yellow] {stored} signal(s) recorded for {campaign}{note}, but none changes "
                "anything: their tasks were already done",
                stored=num(stored),
                campaign=campaign,
                note=note,
            )
        )
        return
    if same:
        note += _(" ({count} of them change nothing: already done)", count=num(len(same)))
    if since := stopped_since(campaign_row(engine, campaign)):  # undeployed: no tick comes till deployed
        err.print(
            _(
                "[green]✓[/green] {stored} signal(s) recorded for {campaign}{note}; {campaign} is stopped "
                "since {since}: they apply once it is deployed again",
                stored=num(stored),
                campaign=campaign,
                note=note,
                since=since,
            )
        )
        return
    err.print(
        _(
            "[green]✓[/green] {stored} signal(s) recorded for {campaign}{note}; the next tick applies them",
            stored=num(stored),
            campaign=campaign,
            note=note,
        )
    )
    if stored:
        from flows.project import api_url

        if url := api_url():  # (Prefect is imported only to speak to a server that is there)
            from flows.deployments import announce_signal

            announce_signal(campaign, stored, url)
            err.print(_("  cascade.signal.received sent: the campaign ticks now"))


SHOWN_WARNINGS = 10  # warnings said one by one, then counted
T = TypeVar("T")


def _tell_first(items: Sequence[T], say: Callable[[T], str]) -> None:
    """The first SHOWN_WARNINGS warnings `say` makes of `items`, and how many more there are."""
    for each in items[:SHOWN_WARNINGS]:
        err.print(say(each))
    if len(items) > SHOWN_WARNINGS:
        err.print(_("… and {more:,} more like it", more=len(items) - SHOWN_WARNINGS))


def _tell_unchanged(same: Sequence[Unchanged], tz: str) -> None:
    def say(each: Unchanged) -> str:
        when = pendulum.from_timestamp(each.done_at, tz=tz).format("DD/MM/YYYY HH:mm")
        late = each.state == "done_late"
        said = _("done late on {when}", when=when) if late else _("done on {when}", when=when)
        return _(
            "[yellow]warning[/yellow]: {unit}: «{title}» was already {said}; this signal is kept "
            "but changes nothing (the first signal of a task counts; if that one was a mistake, "
            "`cascade withdraw` takes it back)",
            unit=escape(each.unit_name),
            title=escape(each.title),
            said=said,
        )

    _tell_first(same, say)


def tell_early(ahead: Sequence[Early], tz: str, simulated: bool = False) -> None:
    """The signals dated before their work opened: kept as dated, and said, so that a wrong date
    is put right while it is fresh (`simulated`: a simulation's file, put right before the import)."""

    def day(epoch: int) -> str:
        return pendulum.from_timestamp(epoch, tz=tz).format("DD/MM/YYYY HH:mm")

    def say(each: Early) -> str:
        names = {
            "unit": escape(each.unit_name),
            "title": escape(each.title),
            "when": day(each.at),
            "opener": escape(each.opener_name),
            "opener_title": escape(each.opener_title),
        }
        if simulated:
            return _early_in_file(each, names, day)
        if each.opener_at is None:
            return _(
                "[yellow]warning[/yellow]: {unit}: «{title}» is dated {when}, but {opener}'s "
                "«{opener_title}», which opens it, is not recorded yet; it is kept as dated: record "
                "{opener}'s when it is known, and check this date",
                **names,
            )
        return _(
            "[yellow]warning[/yellow]: {unit}: «{title}» is dated {when}, before {opener}'s "
            "«{opener_title}» ({opened}), which opens it; it is kept as dated: check the two "
            "dates (`cascade withdraw` takes a wrong signal back)",
            **names,
            opened=day(each.opener_at),
        )

    _tell_first(ahead, say)


def _early_in_file(each: Early, names: dict[str, str], day: Callable[[int], str]) -> str:
    """What a simulation says of a signal of its file dated before its work opened."""
    if each.opener_at is None:  # (at a simulation's start, a signal waiting is one of the file)
        return _(
            "[yellow]warning[/yellow]: {unit}: «{title}» is dated {when}, but the file has no "
            "signal of {opener}'s «{opener_title}», which opens it; the simulation kept it as "
            "dated, as an import would",
            **names,
        )
    return _(
        "[yellow]warning[/yellow]: {unit}: «{title}» is dated {when}, before {opener}'s "
        "«{opener_title}» ({opened}), which opens it; the simulation kept it as dated, as an "
        "import would: check the two dates in the file",
        **names,
        opened=day(each.opener_at),
    )


def _import_table(
    engine: Engine, campaign: str, path: Path, now: pendulum.DateTime, allow_future: bool
) -> Recorded:
    """A CSV or Excel import (or every one in a folder), streamed (memory flat in its size), with a
    progress bar on a terminal."""
    from cascade.engine.signal_files import import_table

    if not path.exists():
        fail([Problem(str(path), None, "", _("no such file"))])
    paths = [path]
    if path.is_dir():  # Excel's `~$` owner files, left while a workbook is open, are no replies
        paths = sorted(p for p in path.iterdir() if is_spreadsheet(p) and not p.name.startswith("~$"))
        if not paths:
            fail([Problem(str(path), None, "", _("the folder holds no workbook (.xlsx) or CSV file"))])
    with Progress(
        TextColumn(_("importing")), BarColumn(), count_column(N_("{rows} rows")),
        TimeElapsedColumn(),
        console=err, disable=not err.is_terminal,
    ) as bar:  # fmt: skip
        job = bar.add_task("import", total=None)
        return import_table(
            engine, campaign, paths, "cli", now, allow_future, lambda n: bar.advance(job, n), tell=True
        )


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
