"""`cascade simulate`: a campaign file run by the real engine on a temporary store and a virtual
clock, its notices captured (`cascade.engine.simulate`)."""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pendulum
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cascade.cli.common import (
    app,
    err,
    fail,
    json_lines_named,
    load,
    out,
    source_of,
    status_table,
    whole_file,
    writable,
)
from cascade.errors import CampaignInvalid, Problem
from cascade.i18n import _, num
from cascade.plan.model import Plan

if TYPE_CHECKING:
    from cascade.engine.simulate import Simulation


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
        Path | None, typer.Option("--out", "-o", help=_("write the event log (JSON lines) here"))
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

    if out_file:
        json_lines_named(out_file)
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
    if result.early:
        from cascade.cli.signals import tell_early

        tell_early(result.early, tz, simulated=True)
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
        out.print(status_table(status))
    if out_file:
        err.print(_("event log: {out_file} ({lines:,} lines)", out_file=out_file, lines=sum(kinds.values())))
