"""Commands that run a campaign: `deploy`, `undeploy`, `serve`, `web`, `tick`, `dispatch`,
`notify-test`, `zalo-token`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pendulum
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from cascade.cli.common import (
    app,
    campaign_row,
    err,
    fail,
    instant_of,
    load,
    open_engine,
    out,
    print_problems,
    source_of,
)
from cascade.engine import health, locks, store
from cascade.engine.amend import describe
from cascade.engine.deploy import deploy as deploy_plan
from cascade.engine.deploy import undeploy as undeploy_campaign
from cascade.engine.store import integrity_problems
from cascade.engine.tick import tick_in
from cascade.errors import Problem
from cascade.settings import Settings


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
    compiled = load(file)
    print_problems(compiled.warnings)
    engine = open_engine()
    result = deploy_plan(
        engine, compiled, source_of(file, compiled), Settings().scheduler.now(), dry_run=dry_run
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
    engine = open_engine()
    if not undeploy_campaign(engine, campaign, pendulum.now("UTC")):
        campaign_row(engine, campaign)  # fails with "no deployed campaign" and its hint
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
    from notifiers.render import test_message

    engine = open_engine()
    campaign_row(engine, campaign)
    c = store.contacts.c
    query = select(c.role, c.name, c.channels).where(c.campaign_id == campaign, c.unit_id == unit)
    with engine.connect() as conn:
        contacts = [r for r in conn.execute(query) if role is None or r.role == role]
    if not contacts:
        fail([Problem("store", None, unit, f"`{unit}` has no contact{f' with role {role}' if role else ''}")])
    message = test_message(unit, campaign)
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

    engine = open_engine()
    instant = instant_of(engine, campaign, now, "dispatch", "--now")
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

    damaged = integrity_problems(open_engine())
    if damaged:  # a lightly damaged store must not tick on as if it were sound
        fail(
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
        fail([Problem("zalo-token", None, "", "CASCADE_ZALO_APP_ID and CASCADE_ZALO_SECRET_KEY are not set")])
    if refresh is None and zalo.refresh_token is not None:
        refresh = zalo.refresh_token.get_secret_value()
    if not refresh:
        fail([Problem("zalo-token", None, "", "give --refresh or set CASCADE_ZALO_REFRESH_TOKEN")])
    try:
        Tokens(open_engine(), app_).keep(access, refresh, expires_in)
    except TokenRefused as refused:
        fail([Problem("zalo-token", None, "", str(refused))])
    err.print(
        f"[green]✓[/green] Zalo tokens stored for app {app_.app_id}; Cascade refreshes them from now on"
    )


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
        fail([Problem("web", None, "secret", str(exc))])


@app.command("tick")
def tick_command(
    campaign: Annotated[str, typer.Argument(help="campaign id")],
    now: Annotated[str | None, typer.Option(help="the instant to tick at (default: now)")] = None,
) -> None:
    """Run one tick: open, remind, mark overdue, escalate, request reports, summarise."""
    engine = open_engine()
    instant = instant_of(engine, campaign, now, "tick", "--now")
    settings = Settings()

    def waiting(holder: locks.Holder | None) -> None:
        err.print(escape(locks.waiting(campaign, holder, settings.store.lock_wait)))

    try:
        with locks.ticking(
            engine, campaign, locks.me("cascade tick"), settings.store.lock_wait, waiting
        ) as conn:
            result = tick_in(conn, campaign, instant)
    except locks.Busy as busy:
        fail([Problem("tick", None, "", str(busy), "the holder's tick does this work; try again later")])
    if result.idle:
        err.print(f"{campaign}: nothing due at {instant.format('DD/MM/YYYY HH:mm')}")
    else:
        err.print(f"{campaign}: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())))
