"""The `cascade` command line.

The only place that turns domain errors into messages and exit codes: `CampaignInvalid`
becomes every problem printed with its file, line and hint, and exit code 1. Anything
else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

import csv
import getpass
import json
import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import pendulum
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from sqlalchemy import Engine, select

from cascade.compile.files import is_units_file, load_plan, load_units, read_text
from cascade.compile.format import CampaignFile, UnitsFile
from cascade.engine import amend, decisions, faults, health, locks, store
from cascade.engine.amend import describe
from cascade.engine.deploy import deploy as deploy_plan
from cascade.engine.deploy import undeploy as undeploy_campaign
from cascade.engine.faults import StoreFault
from cascade.engine.signal_files import read_signals
from cascade.engine.signals import Signal, parse_instant, record
from cascade.engine.simulate import Simulation
from cascade.engine.simulate import simulate as run_simulation
from cascade.engine.store import integrity_problems, open_store
from cascade.engine.tick import tick_in
from cascade.errors import CampaignInvalid, Problem, Severity
from cascade.plan.model import Plan
from cascade.settings import Settings, unreadable
from cascade.timing.deadlines import parse_date
from cascade.views import eventlog
from cascade.views.eventlog import LOG_KINDS, event_lines, write_events
from cascade.views.status import STATES, Status, campaign_status
from cascade.views.status import Where as StatusWhere
from cascade.views.tables import csv_cell, instance_table, summary_table, write_csv, write_json

app = typer.Typer(
    help="Cascade: cascading deadlines for resolution campaigns, from province to grassroots.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        colour = "red" if problem.severity is Severity.ERROR else "yellow"
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        key = f" [bold]{problem.key}[/bold]:" if problem.key else ""
        err.print(
            f"{where}: [{colour}]{problem.severity}[/{colour}]:{key} {problem.message}", highlight=False
        )
        if problem.hint:
            err.print(f"    [dim]hint: {problem.hint}[/dim]", highlight=False)


def _load(file: Path) -> Plan:
    """The plan, or every problem printed and exit 1."""
    try:
        if err.is_terminal:
            with err.status(f"compiling {file}"):
                return load_plan(file)
        return load_plan(file)
    except CampaignInvalid as exc:
        _print_problems(exc.problems)
        errors, warnings = len(exc.errors), len(exc.warnings)
        err.print(
            f"[red]✗[/red] {file}: {errors} error(s)" + (f", {warnings} warning(s)" if warnings else "")
        )
        raise typer.Exit(1) from None


def _validate_units(file: Path) -> bool:
    try:
        units = load_units(file)
    except CampaignInvalid as exc:
        _print_problems(exc.problems)
        err.print(f"[red]✗[/red] {file}: {len(exc.errors)} error(s)")
        return False
    levels = ", ".join(f"{lv}: {n:,}" for lv, n in Counter(u.level for u in units.units.values()).items())
    err.print(f"[green]✓[/green] {file}: units file, {len(units.units):,} units ({levels})")
    return True


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="campaign or units files")]) -> None:
    """Check campaigns and their units files; print every problem with file, line and a fix."""
    failed = 0
    for file in files:
        if is_units_file(file):
            failed += not _validate_units(file)
            continue
        try:
            plan = _load(file)
        except typer.Exit:
            failed += 1
            continue
        _print_problems(plan.warnings)
        levels = len(plan.hierarchy.levels)
        reports = sum(1 for t in plan.tasks.values() if t.kind == "report")
        note = f", {len(plan.warnings)} warning(s)" if plan.warnings else ""
        err.print(
            f"[green]✓[/green] {file}: {levels} levels, {len(plan.hierarchy.units):,} units, "
            f"{_count(len(plan.tasks) - reports, 'task')}, {_count(reports, 'report')}, "
            f"{len(plan.instances):,} instances{note}"
        )
    if failed:
        raise typer.Exit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@app.command()
def plan(
    file: Annotated[Path, typer.Argument(help="campaign file")],
    unit: Annotated[str | None, typer.Option(help="only this unit's instances")] = None,
    task: Annotated[str | None, typer.Option(help="only this task's instances")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table, json or csv")] = Format.table,
    summary: Annotated[bool, typer.Option(help="one row a task instead of one an instance")] = False,
) -> None:
    """The compiled schedule: every instance with its opening, deadline, reminders and escalations."""
    compiled = _load(file)
    _print_problems(compiled.warnings)
    for name, value, known in (("unit", unit, compiled.hierarchy.units), ("task", task, compiled.tasks)):
        if value is not None and value not in known:
            err.print(f"[red]error[/red]: no {name} `{value}` in {file}")
            raise typer.Exit(1)
    instances = compiled.instances_of(unit=unit, task=task)
    if format is Format.json:
        write_json(compiled, instances, sys.stdout)
    elif format is Format.csv:
        write_csv(compiled, instances, sys.stdout)
    elif summary:
        out.print(summary_table(compiled))
    else:
        out.print(instance_table(compiled, instances))


class SchemaKind(StrEnum):
    campaign = "campaign"
    units = "units"


def schema_of(kind: SchemaKind) -> dict[str, object]:
    model = CampaignFile if kind is SchemaKind.campaign else UnitsFile
    schema = model.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


@app.command()
def schema(
    kind: Annotated[SchemaKind, typer.Argument(help="campaign or units")] = SchemaKind.campaign,
) -> None:
    """Print the JSON Schema of campaign or units files (for editor completion)."""
    out.print_json(json.dumps(schema_of(kind), ensure_ascii=False)) if out.is_terminal else print(
        json.dumps(schema_of(kind), ensure_ascii=False, indent=2)
    )


# ---- the engine's commands -----------------------------------------------------------------


def _store(read_only: bool = False) -> Engine:
    """The store; `read_only` (status, report, events) writes nothing and works on a read-only copy."""
    settings = Settings().store
    if read_only and settings.database_url is None:  # (url() would create the data folder)
        return open_store(f"sqlite:///{settings.data_dir / 'cascade.db'}", read_only=True)
    return open_store(settings.url(), read_only=read_only)


def _source_of(file: Path, plan: Plan) -> str:
    """The campaign and units texts together: their hash tells a re-deploy what changed."""
    units = Path(plan.hierarchy.file)
    return file.read_text(encoding="utf-8") + "\n---\n" + units.read_text(encoding="utf-8")


@app.command()
def deploy(
    file: Annotated[Path, typer.Argument(help="campaign file")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print what deploying FILE would change, and change nothing")
    ] = False,
) -> None:
    """Validate and store a campaign, and create or update its Prefect deployment; a changed
    file updates it and keeps every signal, and the summary says what it did to the running
    campaign (spec §7)."""
    compiled = _load(file)
    _print_problems(compiled.warnings)
    engine = _store()
    result = deploy_plan(
        engine, compiled, _source_of(file, compiled), Settings().scheduler.now(), dry_run=dry_run
    )
    if result.changes is not None:
        for line in describe(result.changes):
            out.print(escape(line), highlight=False)
    if dry_run:
        if result.created:
            out.print(
                f"{result.campaign} is not deployed yet: deploying would create {result.added:,} instances"
            )
        err.print("dry run: nothing was changed")
        return
    verb = "deployed" if result.created else "updated"
    err.print(
        f"[green]✓[/green] {verb} {result.campaign}: {result.added:,} instances added, "
        f"{result.updated:,} updated, {result.archived:,} archived"
    )
    from flows.deployments import api_url, production_url, register

    url = api_url()
    if url is None:
        err.print("  no Prefect server is running: `cascade serve` creates its deployment when it starts")
        return
    pool = Settings().prefect.work_pool if production_url() else None
    every = int(register(result.campaign, url, pool).total_seconds())
    health.record_interval(engine, result.campaign, every)
    where = f"work pool {pool}" if pool else "cascade serve"
    err.print(
        f"[green]✓[/green] Prefect deployment cascade-campaign/{result.campaign}: a tick every {every} s "
        f"and on each signal, run by {where} ({url})"
    )


@app.command()
def undeploy(campaign: Annotated[str, typer.Argument(help="campaign id")]) -> None:
    """Stop a campaign: no more ticks, its Prefect deployment paused; its history is kept."""
    engine = _store()
    if not undeploy_campaign(engine, campaign, pendulum.now("UTC")):
        _campaign_row(engine, campaign)  # fails with "no deployed campaign" and its hint
    from flows.deployments import api_url, pause

    url = api_url()
    paused = url is not None and pause(campaign, url)
    err.print(
        f"[green]✓[/green] {campaign} undeployed; its signals, events and outbox are kept"
        + ("; Prefect deployment paused" if paused else "")
    )


@app.command("notify-test")
def notify_test(
    campaign: Annotated[str, typer.Argument(help="campaign id")],
    unit: Annotated[str, typer.Argument(help="unit id")],
    role: Annotated[str | None, typer.Option(help="only this contact role")] = None,
) -> None:
    """Send a test message on every channel of a unit's contacts, to check the channel settings."""
    from notifiers.channels import ChannelConfig, send, with_tokens
    from notifiers.render import Message

    engine = _store()
    _campaign_row(engine, campaign)
    c = store.contacts.c
    query = select(c.role, c.name, c.channels).where(c.campaign_id == campaign, c.unit_id == unit)
    with engine.connect() as conn:
        contacts = [r for r in conn.execute(query) if role is None or r.role == role]
    if not contacts:
        _fail(
            [Problem("store", None, unit, f"`{unit}` has no contact{f' with role {role}' if role else ''}")]
        )
    text = f"Thư thử kênh thông báo của Cascade cho {unit} ({campaign}). Không cần trả lời."
    message = Message("[Cascade] Thư thử kênh thông báo", text, f"<p>{text}</p>", text)
    table = Table("role", "channel", "address", "result")
    failed = 0
    for contact in contacts:
        for channel, address in contact.channels:
            result = send(channel, address, message, with_tokens(ChannelConfig.of(), engine))
            failed += not result.ok
            mark = "[green]✓[/green]" if result.ok else "[red]✗[/red]"
            table.add_row(escape(contact.role), channel, escape(address), f"{mark} {escape(result.detail)}")
    out.print(table)
    if failed:
        raise typer.Exit(1)


@app.command("dispatch")
def dispatch_command(
    campaign: Annotated[str, typer.Argument(help="campaign id")],
    now: Annotated[str | None, typer.Option(help="send what is due at this instant (default: now)")] = None,
) -> None:
    """Send the campaign's due digests now (the scheduler does this after every tick)."""
    from notifiers.dispatch import Dispatcher, Policy

    engine = _store()
    instant = _instant(engine, campaign, now, "dispatch", "--now")
    dispatcher = Dispatcher(engine, campaign, policy=Policy.of(Settings().dispatch))
    with Progress(
        TextColumn("digests"), BarColumn(), TextColumn("{task.completed}"), TimeElapsedColumn(), console=err
    ) as progress:
        bar = progress.add_task("send", total=None)
        outcome = dispatcher.run(int(instant.timestamp()), lambda n: progress.advance(bar, n))
    table = Table("digests", "n")
    for status, n in sorted(outcome.digests.items()):
        table.add_row(status, str(n))
    out.print(table)
    if outcome.resent:
        err.print(f"{outcome.resent} digests sent again: an earlier dispatcher stopped before recording them")
    for alert in outcome.alerts:
        told = (
            "operator alerted"
            if alert.delivered
            else ("operator alerted before" if alert.told_before else "operator NOT reached yet: retried")
        )
        err.print(f"[red]channel {alert.channel} failed[/red]: {alert.detail} ({alert.held} waiting; {told})")
    if outcome.alerts:
        raise typer.Exit(1)


@app.command()
def serve(
    for_seconds: Annotated[
        float | None, typer.Option("--for", help="stop after this many seconds (demo, tests)")
    ] = None,
    poll: Annotated[float, typer.Option(help="seconds between checks for due runs")] = 2.0,
    port: Annotated[int | None, typer.Option(help="port of the local Prefect server (default 4200)")] = None,
    web_host: Annotated[str, typer.Option(help="address of the web forms and status page")] = "127.0.0.1",
    web_port: Annotated[int, typer.Option(help="port of the web application (0: none)")] = 8080,
) -> None:
    """Run every deployed campaign unattended: ticks on schedule and on each signal. Starts a
    local Prefect server (data in DATA_DIR/prefect) unless PREFECT_API_URL is set, and the
    web application (signed forms, status page, API) on --web-port."""
    from flows.serve import serve as run_serve

    damaged = integrity_problems(_store())
    if damaged:  # a lightly damaged store must not tick on as if it were sound
        _fail(
            [
                Problem(
                    "store",
                    None,
                    "integrity",
                    f"the store fails its integrity check ({escape(damaged[0])})",
                    "stop here, restore the store from a backup; `cascade doctor` lists what it found",
                )
            ]
        )
    server = None
    if web_port:
        from cascade.web.server import start_in_thread

        server = _web_server(web_host, web_port)
        start_in_thread(server)
        err.print(f"web: forms and status page on http://{web_host}:{web_port}/status")
    try:
        run_serve(for_seconds, poll, port, say=err.print)
    finally:
        if server is not None:
            server.should_exit = True


@app.command("zalo-token")
def zalo_token(
    refresh: Annotated[
        str | None,
        typer.Option(help="the refresh token from Zalo's console (default: CASCADE_ZALO_REFRESH_TOKEN)"),
    ] = None,
    access: Annotated[
        str | None, typer.Option(help="its access token, if you have it (else refreshed now)")
    ] = None,
    expires_in: Annotated[int, typer.Option(help="seconds the access token has left")] = 0,
) -> None:
    """Store the Zalo Official Account's first token pair; Cascade refreshes it from then on
    (CASCADE_ZALO_APP_ID and CASCADE_ZALO_SECRET_KEY name the app). Prefer passing the refresh
    token in CASCADE_ZALO_REFRESH_TOKEN to keeping it in the shell's history."""
    from notifiers.zalo_tokens import TokenRefused, Tokens, ZaloApp

    zalo = Settings().zalo
    app_ = ZaloApp.of(zalo)
    if app_ is None:
        _fail(
            [Problem("zalo-token", None, "", "CASCADE_ZALO_APP_ID and CASCADE_ZALO_SECRET_KEY are not set")]
        )
    if refresh is None and zalo.refresh_token is not None:
        refresh = zalo.refresh_token.get_secret_value()
    if not refresh:
        _fail([Problem("zalo-token", None, "", "give --refresh or set CASCADE_ZALO_REFRESH_TOKEN")])
    try:
        Tokens(_store(), app_).keep(access, refresh, expires_in)
    except TokenRefused as refused:
        _fail([Problem("zalo-token", None, "", str(refused))])
    err.print(
        f"[green]✓[/green] Zalo tokens stored for app {app_.app_id}; Cascade refreshes them from now on"
    )


@app.command("settings")
def show_settings(
    explain: Annotated[bool, typer.Option(help="a table: each setting's variable and what it does")] = False,
) -> None:
    """Every setting as the environment sets it now, by group, secrets masked (see the README)."""
    import json

    settings = Settings()
    if not explain:
        out.print_json(json.dumps(settings.shown(), ensure_ascii=False))
        return
    table = Table("setting", "variable", "value", "what it does")
    for group, name, variable, value, description in settings.rows():
        table.add_row(f"{group}.{name}", variable, escape(str(value)), escape(description))
    out.print(table)


@app.command()
def doctor() -> None:
    """Check what an unattended Cascade depends on: its settings, the store (reachable, its
    schema current, its integrity), the web secret, the notification channels' settings and
    the Prefect API. Exit 1 if anything fails."""
    checks: list[tuple[str, bool, str]] = []

    def check(name: str, probe: Any) -> Any:
        try:
            result = probe()
        except Exception as error:  # a check reports any failure; it never raises
            checks.append((name, False, str(error) or type(error).__name__))
            return None
        ok, detail = result if isinstance(result, tuple) else (True, str(result))
        checks.append((name, ok, detail))
        return result

    check("settings", lambda: (True, f"read; data in {Settings().store.data_dir}"))
    settings = Settings() if checks[-1][1] else None
    engine = None
    if settings is not None:
        url = settings.store.url()
        engine = check("store", lambda: open_store(url))
        if engine is not None:
            checks[-1] = ("store", True, faults.shown(url))

            def integrity() -> tuple[bool, str]:
                found = integrity_problems(engine)
                return (not found, "sound" if not found else "; ".join(found[:5]))

            check("store integrity", integrity)

            def deployed() -> tuple[bool, str]:
                with engine.connect() as conn:
                    n = len(
                        conn.execute(
                            select(store.campaigns.c.id).where(store.campaigns.c.archived_at.is_(None))
                        ).all()
                    )
                return True, f"{n} deployed campaign(s)"

            check("campaigns", deployed)
    from cascade.engine.links import secret_from

    def web_secret() -> tuple[bool, str]:
        read = settings or Settings()
        return bool(secret_from(read.web.secret, read.store.data_dir)), "usable"

    check("web secret", web_secret)
    from notifiers.channels import ChannelConfig

    def channels() -> tuple[bool, str]:
        config = ChannelConfig.of()
        have = [name for name, value in (("email", config.smtp_url), ("zalo", config.zalo_token)) if value]
        return bool(have), (
            "configured: " + ", ".join(have)
        ) if have else "no channel configured (CASCADE_SMTP_URL, Zalo)"

    check("channels", channels)

    def prefect() -> tuple[bool, str]:
        from flows.deployments import api_url

        url = api_url()
        return (
            (True, f"answers at {url}") if url else (True, "no server running (`cascade serve` starts one)")
        )

    check("Prefect API", prefect)
    for name, ok, detail in checks:
        mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
        out.print(f"{mark} {name}: {escape(detail)}", highlight=False)
    if not all(ok for _, ok, _ in checks):
        raise typer.Exit(1)


@app.command()
def web(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8080,
) -> None:
    """Only the web application: signed forms for officials, the status page (CASCADE_WEB_TOKEN)
    and the JSON API (/openapi.json). Links in notices point at CASCADE_WEB_URL."""
    _web_server(host, port).run()


def _web_server(host: str, port: int) -> Any:
    """The web application's server, or a clear refusal when its signing secret is unusable."""
    from cascade.engine.links import SecretInvalid
    from cascade.web.server import make_server
    from flows.deployments import announce, template

    try:
        return make_server(
            host, port, tick_interval=int(template().interval.total_seconds()), announce=announce
        )
    except SecretInvalid as exc:
        _fail([Problem("web", None, "secret", str(exc))])


def _fail(problems: list[Problem]) -> NoReturn:
    _print_problems(problems)
    raise typer.Exit(1)


def _instant(
    engine: Engine, campaign: str, value: str | None, command: str, option: str
) -> pendulum.DateTime:
    """`value` (an option's text) as an instant in the campaign's timezone; now if not given."""
    tz = _campaign_tz(engine, campaign)
    try:
        return parse_instant(value, tz) if value else Settings().scheduler.now().in_timezone(tz)
    except ValueError as exc:
        _fail([Problem(command, None, option, str(exc))])


def _campaign_tz(engine: Engine, campaign: str) -> str:
    row = _campaign_row(engine, campaign)
    return str(row.timezone)


def _campaign_row(engine: Engine, campaign: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(select(store.campaigns).where(store.campaigns.c.id == campaign)).first()
    if row is None:
        _fail(
            [
                Problem(
                    "store",
                    None,
                    "campaign",
                    f"no deployed campaign `{campaign}`",
                    "deploy it first: cascade deploy FILE",
                )
            ]
        )
    return row


@app.command()
def signal(
    campaign: Annotated[str, typer.Argument(help="campaign id")],
    unit: Annotated[str | None, typer.Argument(help="unit id")] = None,
    task: Annotated[str | None, typer.Argument(help="task or report id")] = None,
    at: Annotated[str | None, typer.Option(help="when it was done (campaign timezone); default now")] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="a figure, k=v (repeatable)")
    ] = None,
    import_file: Annotated[Path | None, typer.Option("--import", help="a CSV or YAML signals file")] = None,
    allow_future: Annotated[
        bool, typer.Option("--allow-future", help="accept signals dated more than a day from now")
    ] = False,
) -> None:
    """Record that a unit completed a task or report (or import many at once, all or nothing).
    A signal dated before the campaign's issue is refused, and one more than a day ahead
    unless --allow-future: the first signal of an instance counts, so a wrong date sticks."""
    engine = _store()
    tz = _campaign_tz(engine, campaign)
    now = Settings().scheduler.now().in_timezone(tz)
    try:
        if import_file is not None and import_file.suffix.lower() == ".csv":
            stored, known = _import_csv(engine, campaign, import_file, now, allow_future)
            note = f" ({known} already recorded)" if known else ""
            if stored + known == 0:
                err.print(
                    f"[yellow]warning[/yellow]: {escape(str(import_file))} holds no signals; nothing recorded"
                )
                return
            done = f"{stored} signal(s) recorded for {campaign}{note}; the next tick applies them"
            err.print(f"[green]✓[/green] {done}")
            _announce(campaign, stored)
            return
        if import_file is not None:
            batch = read_signals(read_text(import_file, str(import_file)), str(import_file), tz)
            where = str(import_file)
            if not batch:
                err.print(f"[yellow]warning[/yellow]: {escape(where)} holds no signals; nothing recorded")
                return
        else:
            if unit is None or task is None:
                _fail([Problem("signal", None, "", "name the UNIT and the TASK, or give --import FILE")])
            batch = [Signal(unit, task, parse_instant(at, tz) if at else now, _fields(field or []))]
            where = "signal"
        stored, known = record(engine, campaign, batch, "cli", now, file=where, allow_future=allow_future)
    except (CampaignInvalid, ValueError) as exc:
        _fail(
            exc.problems if isinstance(exc, CampaignInvalid) else [Problem("signal", None, "--at", str(exc))]
        )
    note = f" ({known} already recorded)" if known else ""
    err.print(
        f"[green]✓[/green] {stored} signal(s) recorded for {campaign}{note}; the next tick applies them"
    )
    _announce(campaign, stored)


def _announce(campaign: str, stored: int) -> None:
    if stored:
        from flows.deployments import announce_signal, api_url

        if url := api_url():
            announce_signal(campaign, stored, url)
            err.print("  cascade.signal.received sent: the campaign ticks now")


def _import_csv(
    engine: Engine, campaign: str, path: Path, now: pendulum.DateTime, allow_future: bool
) -> tuple[int, int]:
    """A CSV import, streamed (memory flat in its size), with a progress bar on a terminal."""
    from cascade.engine.signal_files import import_csv

    if not path.exists():
        _fail([Problem(str(path), None, "", "no such file")])
    with Progress(
        TextColumn("importing"), BarColumn(), TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
        console=err, disable=not err.is_terminal,
    ) as bar:  # fmt: skip
        job = bar.add_task("import", total=None)
        return import_csv(engine, campaign, path, "cli", now, allow_future, lambda n: bar.advance(job, n))


def _fields(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            _fail(
                [
                    Problem(
                        "signal", None, "--field", f"`{pair}` is not key=value", "e.g. --field attendees=450"
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
    """UNIT, or the units --under / --level / --units name (together: the units all of them name)."""
    chosen: list[str] | None = [unit] if unit else None
    if under or level:
        with engine.connect() as conn:
            found = decisions.units_under(conn, campaign, under, level)
        chosen = found if chosen is None else [u for u in chosen if u in set(found)]
    if units_file is not None:
        listed = _read_unit_list(units_file)
        chosen = listed if chosen is None else [u for u in chosen if u in set(listed)]
    return tuple(chosen or ())


def _read_unit_list(path: Path) -> list[str]:
    """Unit ids, one a line (or the first column of a CSV); blank lines and `#` comments skipped."""
    try:
        text = read_text(path, str(path))
    except CampaignInvalid as exc:
        _fail(exc.problems)
    ids = []
    for line in text.splitlines():
        first = line.split("#", 1)[0].split(",", 1)[0].strip()
        if first and first.lower() not in ("unit", "unit_id", "id"):
            ids.append(first)
    return ids


def _decide(campaign: str, decision_of: Any, what: str) -> None:
    engine = _store()
    now = Settings().scheduler.now()
    decision = decision_of(engine)
    try:
        with engine.begin() as conn:
            changes = decisions.decide(conn, campaign, decision, now)
    except decisions.DecisionRefused as refused:
        _fail([Problem(what, None, "", p) for p in refused.problems])
    for line in amend.describe(changes):
        out.print(escape(line), highlight=False)
    unchanged = len(changes.units) - len(changes.amended)
    if unchanged:
        out.print(
            f"{unchanged} unit(s) unchanged (finished, or already so); the decision is recorded for them too"
        )
    err.print(
        f"[green]✓[/green] {what} recorded for {len(changes.units)} unit(s) of {campaign}, "
        f"by {escape(decision.by)}"
    )


def _target(args: list[str], command: str) -> tuple[str | None, str]:
    if len(args) == 2:
        return args[0], args[1]
    if len(args) == 1:
        return None, args[0]
    _fail(
        [
            Problem(
                command,
                None,
                "",
                f"expected UNIT TASK or TASK with --under/--level/--units, got {' '.join(args)}",
            )
        ]
    )


UNITS_HELP = "one unit: UNIT TASK; many: TASK with --under/--level/--units"
ReasonOption = Annotated[str, typer.Option("--reason", help="why (kept in the audit log, told to the unit)")]
UnderOption = Annotated[str | None, typer.Option("--under", help="every unit below this one")]
LevelOption = Annotated[str | None, typer.Option("--level", help="every unit of this level")]
UnitsOption = Annotated[Path | None, typer.Option("--units", help="a file of unit ids, one a line")]
ByOption = Annotated[str, typer.Option("--by", help="who decided (default: your login)")]


@app.command()
def extend(
    campaign: Annotated[str, typer.Argument(help="campaign id")],
    args: Annotated[list[str], typer.Argument(help=UNITS_HELP, metavar="[UNIT] TASK")],
    to: Annotated[str, typer.Option("--to", help="the new last day that counts, e.g. 20/12/2020")],
    reason: ReasonOption = "",
    under: UnderOption = None,
    level: LevelOption = None,
    units_file: UnitsOption = None,
    by: ByOption = "",
) -> None:
    """Give one unit (or many) a later deadline for a task (spec §7). It is kept in the store,
    not the file: a later redeploy keeps the later of this and the file's deadline."""
    unit, task = _target(args, "extend")

    def decision_of(engine: Engine) -> decisions.Decision:
        tz = _campaign_tz(engine, campaign)
        try:
            day = parse_date(to)
        except ValueError as exc:
            _fail(
                [Problem("extend", None, "--to", str(exc), "write the last day that counts, e.g. 20/12/2020")]
            )
        deadline = pendulum.datetime(day.year, day.month, day.day, tz=tz).add(days=1)  # end of that day
        units = _chosen_units(engine, campaign, unit, under, level, units_file)
        named = unit is not None or units_file is not None
        return decisions.Decision(
            "extension", task, units, reason, by or _login(), int(deadline.timestamp()), named=named
        )

    _decide(campaign, decision_of, "extension")


@app.command()
def exempt(
    campaign: Annotated[str, typer.Argument(help="campaign id")],
    args: Annotated[list[str], typer.Argument(help=UNITS_HELP, metavar="[UNIT] TASK")],
    reason: ReasonOption = "",
    under: UnderOption = None,
    level: LevelOption = None,
    units_file: UnitsOption = None,
    by: ByOption = "",
) -> None:
    """Exempt one unit (or many) from a task from now on (spec §7); kept across redeploys."""
    unit, task = _target(args, "exempt")

    def decision_of(engine: Engine) -> decisions.Decision:
        _campaign_row(engine, campaign)
        units = _chosen_units(engine, campaign, unit, under, level, units_file)
        named = unit is not None or units_file is not None
        return decisions.Decision("exemption", task, units, reason, by or _login(), named=named)

    _decide(campaign, decision_of, "exemption")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


@app.command("tick")
def tick_command(
    campaign: Annotated[str, typer.Argument(help="campaign id")],
    now: Annotated[str | None, typer.Option(help="the instant to tick at (default: now)")] = None,
) -> None:
    """Run one tick: open, remind, mark overdue, escalate, request reports, summarise."""
    engine = _store()
    instant = _instant(engine, campaign, now, "tick", "--now")
    settings = Settings()

    def waiting(holder: locks.Holder | None) -> None:
        err.print(escape(locks.waiting(campaign, holder, settings.store.lock_wait)))

    try:
        with locks.ticking(
            engine, campaign, locks.me("cascade tick"), settings.store.lock_wait, waiting
        ) as conn:
            result = tick_in(conn, campaign, instant)
    except locks.Busy as busy:
        _fail([Problem("tick", None, "", str(busy), "the holder's tick does this work; try again later")])
    if result.idle:
        err.print(f"{campaign}: nothing due at {instant.format('DD/MM/YYYY HH:mm')}")
    else:
        err.print(f"{campaign}: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())))


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
    compiled = _load(file)
    tz = compiled.campaign.timezone
    try:
        batch = (
            read_signals(read_text(signals_file, str(signals_file)), str(signals_file), tz)
            if signals_file
            else []
        )
        end = parse_instant(until, tz) if until else compiled.campaign.summary_at.add(days=14)
    except (CampaignInvalid, ValueError) as exc:
        _fail(
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
                _source_of(file, compiled),
                batch,
                end,
                on_tick=lambda t: progress.update(bar, completed=(t - start).total_seconds()),
                signals_file=str(signals_file),
            )
        except CampaignInvalid as exc:
            _fail(exc.problems)
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
    engine = _store(read_only=True)
    tz = _campaign_tz(engine, campaign)
    kinds = list(kind or ())
    unknown = eventlog.unknown_kinds(kinds)
    if unknown:
        _fail(
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
            _fail([Problem("events", None, "--since", str(exc))])
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
    engine = _store(read_only=True)
    row = _campaign_row(engine, campaign)
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
        _fail(problems)


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
        tz = _campaign_tz(engine, campaign)
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

    engine = _store(read_only=True)
    instant = _instant(engine, campaign, at, "report", "--at")
    with err.status("reading the store"):
        summary = build(engine, campaign, instant)
    assert summary is not None  # _campaign_tz refused an unknown campaign
    target = output or Path(f"{campaign}-summary-{instant.format('YYYYMMDD')}.{format.value}")
    with err.status(f"writing {target}"):
        written = write(summary, format.value, target)
    for path in written:
        out.print(str(path))


def main() -> None:
    """The `cascade` command: a store that fails (disk full, read-only, locked, damaged, a
    database that does not answer) is one message naming it and what to do, not a traceback."""
    from pydantic import ValidationError
    from sqlalchemy import exc as db

    try:
        app()
    except StoreFault as fault:
        err.print(f"[red]store error[/red]: {escape(str(fault))}", highlight=False)
        sys.exit(1)
    except ValidationError as error:  # a CASCADE_* setting that cannot be read
        for name, message in unreadable(error):
            err.print(f"[red]setting error[/red]: {name}: {escape(message)}", highlight=False)
        sys.exit(1)
    except (db.OperationalError, db.DatabaseError) as error:
        store_settings = Settings().store
        url = store_settings.database_url.get_secret_value() if store_settings.database_url else None
        found = StoreFault.of(error, url or f"sqlite:///{store_settings.data_dir / 'cascade.db'}")
        err.print(f"[red]store error[/red]: {escape(str(found))}", highlight=False)
        sys.exit(1)
