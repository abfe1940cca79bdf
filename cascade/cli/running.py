"""Commands that run a campaign: `deploy`, `undeploy`, `serve`, `web`, `tick` (the commands that
reach the officials' channels are `cascade.cli.channels`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from cascade.cli.chrome import working
from cascade.cli.common import (
    app,
    campaign_id,
    campaign_row,
    err,
    fail,
    instant_of,
    load,
    open_engine,
    out,
    print_problems,
    source_of,
    stopped_since,
)
from cascade.errors import Problem
from cascade.i18n import _

if TYPE_CHECKING:
    import pendulum
    from sqlalchemy import Engine


@app.command(
    help=_(
        "Validate and store a campaign, and create or update its Prefect deployment; a changed file updates "
        "it and keeps every signal, and the summary says what it did to the running campaign (spec §7)."
    ),
)
def deploy(
    file: Annotated[Path, typer.Argument(help=_("campaign file"))],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=_("print what deploying FILE would change, and change nothing"))
    ] = False,
    renamed: Annotated[
        bool,
        typer.Option(
            "--renamed",
            help=_("FILE is the running campaign's own file, renamed: update the campaign from it"),
        ),
    ] = False,
    beside: Annotated[
        bool,
        typer.Option(
            "--beside",
            help=_(
                "FILE is a new campaign to run beside one deployed from the same file or under the same title"
            ),
        ),
    ] = False,
) -> None:
    from cascade.engine import health
    from cascade.engine.deploy import deploy as deploy_plan
    from cascade.settings import Settings
    from cascade.views.changes import describe

    compiled = load(file)
    print_problems(compiled.warnings)
    engine, cid = open_engine(), compiled.campaign.id
    if not renamed:
        _same_file(engine, cid, file)
    if not beside:
        _not_beside(engine, cid, compiled.campaign.title, file)
    doing = _("deploying {campaign}", campaign=cid)
    if dry_run:
        doing = _("reading what deploying {campaign} would change", campaign=cid)
    with working(err, doing):
        result = deploy_plan(engine, compiled, source_of(file, compiled), Settings().scheduler.now(), dry_run)
    if result.changes is not None:
        for line in describe(result.changes):
            out.print(escape(line), highlight=False)
    if dry_run:
        if result.created:
            out.print(
                _(
                    "{campaign} is not deployed yet: deploying would create {added:,} instances",
                    campaign=result.campaign,
                    added=result.added,
                )
            )
        err.print(_("dry run: nothing was changed"))
        return
    restarted = result.changes is not None and result.changes.stopped_at is not None
    verb = _("deployed") if result.created else _("started again") if restarted else _("updated")
    err.print(
        _(
            "[green]✓[/green] {verb} {campaign}: {added:,} instances added, {updated:,} updated, "
            "{archived:,} archived",
            verb=verb,
            campaign=result.campaign,
            added=result.added,
            updated=result.updated,
            archived=result.archived,
        )
    )
    from flows.project import api_url, production_url

    url = api_url()
    if url is None:
        err.print(_("  no Prefect server is running: `cascade serve` creates its deployment when it starts"))
        return
    from flows.deployments import register

    pool = Settings().prefect.work_pool if production_url() else None
    every = int(register(result.campaign, url, pool).total_seconds())
    health.record_interval(engine, result.campaign, every)
    where = _("work pool {pool}", pool=pool) if pool else _("cascade serve")
    err.print(
        _(
            "[green]✓[/green] Prefect deployment cascade-campaign/{campaign}: a tick every {every} s and on "
            "each signal, run by {where} ({url})",
            campaign=result.campaign,
            every=every,
            where=where,
            url=url,
        )
    )


def _same_file(engine: Engine, campaign: str, file: Path) -> None:
    """Refuse a file of another name than the one `campaign` was deployed from: most often a copy
    made for a new campaign whose `id:` was left as it was, which would rewrite the running one."""
    from cascade.engine import deployed

    with engine.connect() as conn:
        row = deployed.read(conn, campaign)
    if row is None or Path(row.source_file).name == file.name:
        return
    message = _(
        "`{campaign}` is already deployed, from {deployed}; this file has the same id, so deploying it "
        "would change that campaign (its tasks, deadlines and units)",
        campaign=campaign,
        deployed=row.source_file,
    )
    hint = _(
        "a new campaign: give it its own `id:`; the same campaign's file renamed or moved: deploy again "
        "with --renamed"
    )
    fail([Problem(str(file), None, "campaign.id", message, hint)])


def _not_beside(engine: Engine, campaign: str, title: str, file: Path) -> None:
    """Refuse a new campaign from the file a running one was deployed from, or under its title:
    most often the running campaign's `id:` changed in its file, which would start a second
    campaign beside it, every notice sent twice and the title naming neither."""
    from cascade.engine import deployed

    with engine.connect() as conn:
        if deployed.read(conn, campaign) is not None:
            return  # an update of `campaign` (or one stopped, deployed again)
        others = deployed.running_beside(conn, title, str(file))
    problems = []
    for other, same_file, same_title in others:
        if same_file:  # (whole sentences: a translation is not spliced from two)
            message = (
                _(
                    "`{other}` runs from this file, under the same title; deploying it as `{campaign}` would "
                    "start a second campaign beside it, and its officials would get every notice twice",
                    other=other,
                    campaign=campaign,
                )
                if same_title
                else _(
                    "`{other}` runs from this file; deploying it as `{campaign}` would start a second "
                    "campaign beside it, and its officials would get every notice twice",
                    other=other,
                    campaign=campaign,
                )
            )
            hint = _(
                "a campaign keeps its id while it runs: to change `{other}`, put its id back "
                "(`id: {other}`); to replace it, `cascade undeploy {other}` first; to run both, deploy "
                "again with --beside",
                other=other,
            )
            problems.append(Problem(str(file), None, "campaign.id", message, hint))
        else:
            message = _(
                "`{other}` runs under the same title; deploying this file as `{campaign}` would start a "
                "second campaign its officials could not tell from it",
                other=other,
                campaign=campaign,
            )
            hint = _(
                "a new campaign: give this one its own `title:`; one that replaces `{other}`: "
                "`cascade undeploy {other}` first; to run both, deploy again with --beside",
                other=other,
            )
            problems.append(Problem(str(file), None, "campaign.title", message, hint))
    if problems:
        fail(problems)


@app.command(
    help=_("Stop a campaign: no more ticks, its Prefect deployment paused; its history is kept."),
)
def undeploy(campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))]) -> None:
    from cascade.engine.deploy import undeploy as undeploy_campaign
    from cascade.settings import Settings

    engine = open_engine()
    campaign = campaign_id(engine, campaign)  # (or its title; refuses one not in the store, with its hint)
    undeploy_campaign(engine, campaign, Settings().scheduler.now())  # (as deploy: a drill's clock)
    from flows.project import api_url

    url, paused = api_url(), False
    if url is not None:  # (Prefect is imported only to speak to a server that is there)
        from flows.deployments import pause

        paused = pause(campaign, url)
    err.print(
        _(
            "[green]✓[/green] {campaign} undeployed; its signals, events and outbox are kept",
            campaign=campaign,
        )
        + (_("; its Prefect deployment paused") if paused else "")
    )


@app.command(
    help=_(
        "Run every deployed campaign unattended: ticks on schedule and on each signal. Starts a local "
        "Prefect server (data in DATA_DIR/prefect) unless PREFECT_API_URL is set, and the web application "
        "(signed forms, status page, API) on --web-port."
    ),
)
def serve(
    for_seconds: Annotated[
        float | None, typer.Option("--for", help=_("stop after this many seconds (demo, tests)"))
    ] = None,
    poll: Annotated[float, typer.Option(help=_("seconds between checks for due runs"))] = 2.0,
    port: Annotated[
        int | None, typer.Option(help=_("port of the local Prefect server (default 4200)"))
    ] = None,
    web_host: Annotated[str, typer.Option(help=_("address of the web forms and status page"))] = "127.0.0.1",
    web_port: Annotated[int, typer.Option(help=_("port of the web application (0: none)"))] = 8080,
) -> None:
    from cascade.settings import Settings
    from flows.serve import AlreadyServed, only_serve

    folder = Settings().store.data_dir.resolve()
    try:
        with only_serve(folder):
            _serve(for_seconds, poll, port, web_host, web_port)
    except AlreadyServed as holder:
        fail(
            [
                Problem(
                    "serve",
                    None,
                    "",
                    _(
                        "another `cascade serve` serves this data folder ({folder}): {holder}",
                        folder=folder,
                        holder=holder,
                    ),
                    _(
                        "stop it first (Ctrl-C where it runs, or kill its pid); to serve at the same time "
                        "campaigns of another store, give this one another folder with CASCADE_DATA_DIR"
                    ),
                )
            ]
        )


def _serve(for_seconds: float | None, poll: float, port: int | None, web_host: str, web_port: int) -> None:
    from cascade.engine.store import integrity_problems
    from flows.serve import serve as run_serve

    damaged = integrity_problems(open_engine())
    if damaged:  # a lightly damaged store must not tick on as if it were sound
        fail(
            [
                Problem(
                    _("store"),
                    None,
                    "",
                    _("the store fails its integrity check ({damaged})", damaged=escape(damaged[0])),
                    _("stop here, restore the store from a backup; `cascade doctor` lists what it found"),
                )
            ]
        )
    web = None
    if web_port:
        from cascade.web.server import WebThread

        web = WebThread(_web_server(web_host, web_port))
        err.print(
            _(
                "web: forms and status page on http://{web_host}:{web_port}/status",
                web_host=web_host,
                web_port=web_port,
            )
        )
    try:
        run_serve(for_seconds, poll, port, say=err.print)
    finally:
        if web is not None:
            web.stop()


@app.command(
    help=_(
        "Only the web application: signed forms for officials, the status page (CASCADE_WEB_TOKEN) and the "
        "JSON API (/openapi.json). Links in notices point at CASCADE_WEB_URL."
    ),
)
def web(
    host: Annotated[str, typer.Option(help=_("address to listen on"))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=_("port to listen on"))] = 8080,
) -> None:
    _web_server(host, port).run()


def _web_server(host: str, port: int) -> Any:
    """The web application's server, or a clear refusal when its signing secret is unusable."""
    from cascade.engine.links import SecretInvalid
    from cascade.web.server import make_server
    from flows.deployments import announce
    from flows.project import template

    try:
        return make_server(
            host, port, tick_interval=int(template().interval.total_seconds()), announce=announce
        )
    except SecretInvalid as exc:
        fail([Problem("web", None, "secret", str(exc))])


def _told_if_before_the_last_tick(engine: Engine, campaign: str, instant: pendulum.DateTime) -> None:
    """A tick at an instant before the campaign's last one (a `--now` mistyped, a drill's clock
    behind) finds nothing that tick did not do: the operator is told, the tick still runs (a
    signal recorded for before it is applied)."""
    import pendulum

    from cascade.views.status import last_tick

    with engine.connect() as conn:
        last = last_tick(conn, campaign)
    if last is not None and int(instant.timestamp()) < last:
        err.print(
            _(
                "[yellow]warning[/yellow]: {campaign} last ticked at {last}, after {mm}: what fell due "
                "before then was done by that tick",
                campaign=campaign,
                last=pendulum.from_timestamp(last, tz=instant.timezone_name or "UTC").format(
                    "DD/MM/YYYY HH:mm"
                ),
                mm=instant.format("DD/MM/YYYY HH:mm"),
            )
        )


def _not_stopped(engine: Engine, campaign: str) -> None:
    """Refuse to tick an undeployed campaign: no tick changes it (it said "nothing due")."""
    if (since := stopped_since(campaign_row(engine, campaign))) is None:
        return
    message = _(
        "{campaign} is stopped since {since} (cascade undeploy): nothing ticks it",
        campaign=campaign,
        since=since,
    )
    fail([Problem("tick", None, "", message, _("`cascade deploy FILE` starts it again"))])


@app.command(
    "tick",
    help=_("Run one tick: open, remind, mark overdue, escalate, request reports, summarise."),
)
def tick_command(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    now: Annotated[str | None, typer.Option(help=_("the instant to tick at (default: now)"))] = None,
) -> None:
    import pendulum

    from cascade.engine import locks
    from cascade.engine.machine import counts_text
    from cascade.engine.tick import tick_in
    from cascade.settings import Settings

    engine = open_engine()
    campaign = campaign_id(engine, campaign)  # (or its title)
    instant = instant_of(engine, campaign, now, "tick", "--now")
    _not_stopped(engine, campaign)
    settings = Settings()
    _told_if_before_the_last_tick(engine, campaign, instant)

    def waiting(holder: locks.Holder | None) -> None:
        err.print(escape(locks.waiting(campaign, holder, settings.store.lock_wait)))

    try:
        with (
            locks.ticking(
                engine, campaign, locks.me(_("cascade tick")), settings.store.lock_wait, waiting
            ) as conn,
            working(err, _("ticking {campaign}", campaign=campaign)),
        ):
            result = tick_in(conn, campaign, instant)
    except locks.Busy as busy:
        fail([Problem("tick", None, "", str(busy), _("the holder's tick does this work; try again later"))])
    if result.idle:
        err.print(
            _("{campaign}: nothing due at {mm}", campaign=campaign, mm=instant.format("DD/MM/YYYY HH:mm"))
        )
    else:
        err.print(_("{campaign}: {counts}", campaign=campaign, counts=counts_text(dict(result.counts))))
    if instant.timestamp() < (issued := campaign_row(engine, campaign).issued_at):  # deployed ahead
        day = pendulum.from_timestamp(issued, tz=instant.timezone_name or "UTC").format("DD/MM/YYYY")
        err.print(_("it is issued on {day}: its work opens then", day=day))
