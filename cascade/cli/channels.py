"""Commands that reach the officials' channels: `notify-test`, `dispatch`, `zalo-token`.

Each reads the channels as the flow's dispatch reads them (`channel_config`): the SMTP URL from
its Prefect Secret block when CASCADE_SMTP_SECRET names one, the Zalo token pair from the store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cascade.cli.chrome import count_column
from cascade.cli.common import app, campaign_id, campaign_row, err, fail, instant_of, open_engine, out
from cascade.errors import Problem
from cascade.i18n import _, _n, num
from cascade.plan.values import channel_said

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cascade.engine.outbox import Digest
    from cascade.settings import Settings
    from notifiers.channels import ChannelConfig
    from notifiers.dispatch import Send
    from notifiers.render import Message


def _nothing_due(engine: Engine, campaign: str, now: int) -> None:
    """A dispatch that sent nothing says so, and when the notices waiting go: an empty table read
    as "sent, to nobody" at 02:43, when the tick's notices wait out the quiet hours until 07:00."""
    import pendulum

    from cascade.engine.outbox import waiting

    count, first = waiting(engine, campaign, now)
    if count and first is not None:
        tz = str(campaign_row(engine, campaign).timezone)
        at = pendulum.from_timestamp(first, tz=tz).format("HH:mm DD/MM/YYYY")
        out.print(
            _n(
                "nothing is due to send now; {count} notice waits for its time, the first at {at} "
                "(notices wait out the quiet hours and holidays)",
                "nothing is due to send now; {count} notices wait for their time, the first at {at} "
                "(notices wait out the quiet hours and holidays)",
                count,
                at=at,
            )
        )
    else:
        out.print(_("nothing is due to send now, and no notice is waiting"))


@app.command(
    "notify-test",
    help=_("Send a test message on every channel of a unit's contacts, to check the channel settings."),
)
def notify_test(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    unit: Annotated[str, typer.Argument(help=_("the unit: its id or exact name"))],
    role: Annotated[str | None, typer.Option(help=_("only this contact role"))] = None,
) -> None:
    from sqlalchemy import select

    from cascade.engine import store
    from cascade.engine.deployed import units_named
    from cascade.settings import Settings
    from notifiers.channels import send, with_tokens
    from notifiers.render import test_message

    engine = open_engine()
    campaign = campaign_id(engine, campaign)  # (or its title)
    deployed = campaign_row(engine, campaign)
    c = store.contacts.c
    with engine.connect() as conn:
        found, wrong = units_named(conn, campaign, [unit])
        if wrong:
            fail([Problem("notify-test", None, "", p) for p in wrong])
        unit, name = found[unit]
        query = select(c.role, c.name, c.channels).where(c.campaign_id == campaign, c.unit_id == unit)
        contacts = [r for r in conn.execute(query) if role is None or r.role == role]
    if not contacts:
        fail(
            [
                Problem(
                    _("store"),
                    None,
                    "",
                    (
                        _("`{unit}` has no contact with role {role}", unit=unit, role=role)
                        if role
                        else _("`{unit}` has no contact", unit=unit)
                    ),
                )
            ]
        )
    message = test_message(name, deployed.title)  # what the officials read: names, not ids
    config = with_tokens(channel_config(Settings()), engine)  # real channels, in a drill too
    table = Table(_("role"), _("channel"), _("address"), _("result"))
    failed = 0
    for contact in contacts:
        for channel, address in contact.channels:
            result = send(channel, address, message, config)
            failed += not result.ok
            mark = "[green]✓[/green]" if result.ok else "[red]✗[/red]"
            table.add_row(
                escape(contact.role),
                channel_said(channel),
                escape(address),
                _("{mark} {detail}", mark=mark, detail=escape(result.detail)),
            )
    out.print(table)
    if failed:
        raise typer.Exit(1)


@app.command(
    "dispatch",
    help=_("Send the campaign's due digests now (the scheduler does this after every tick)."),
)
def dispatch_command(
    campaign: Annotated[str, typer.Argument(help=_("the campaign: its id or its title"))],
    now: Annotated[
        str | None, typer.Option(help=_("send what is due at this instant (default: now)"))
    ] = None,
) -> None:
    from cascade.settings import Settings
    from notifiers.dispatch import Dispatcher, Policy

    engine = open_engine()
    campaign = campaign_id(engine, campaign)  # (or its title)
    instant = instant_of(engine, campaign, now, "dispatch", "--now")
    settings = Settings()
    config, send = _channels(settings)  # as the flow's dispatch has them
    drill = settings.dispatch.mode == "log"
    dispatcher = Dispatcher(engine, campaign, config, Policy.of(settings.dispatch), send=send, drill=drill)
    if drill:
        dispatcher.observe = shown = _Shown(dispatcher.names)
    with Progress(
        TextColumn(_("digests")),
        BarColumn(),
        count_column(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        bar = progress.add_task("send", total=None)
        with _told_here():
            outcome = dispatcher.run(int(instant.timestamp()), lambda n: progress.advance(bar, n))
    if outcome.digests:
        table = Table(_("digests"), _("number"))
        for status, n in outcome.digests_in_words():
            table.add_row(status, n)
        out.print(table)
    else:
        _nothing_due(engine, campaign, int(instant.timestamp()))
    if outcome.resent:
        err.print(
            _(
                "{resent} digests sent again: an earlier dispatcher stopped before recording them",
                resent=num(outcome.resent),
            )
        )
    for alert in outcome.alerts:
        told = (
            _("operator alerted")
            if alert.delivered
            else (
                _("operator alerted before") if alert.told_before else _("operator NOT reached yet: retried")
            )
        )
        err.print(
            _(
                "[red]channel {channel} failed[/red]: {detail} ({held} waiting; {told})",
                channel=channel_said(alert.channel),
                detail=alert.detail,
                held=num(alert.held),
                told=told,
            )
        )
    if drill:
        shown.print()
        err.print(_("CASCADE_NOTIFY=log: the digests were written to no channel (a drill)"))
        from cascade.views.pages import broken_channels

        for broken in broken_channels(engine, campaign):
            err.print(
                _(
                    "channel {channel} broken since {since}: a drill does not try it; the next real "
                    "dispatch does",
                    channel=channel_said(broken["channel"]),
                    since=broken["since"],
                )
            )
    if outcome.alerts:
        raise typer.Exit(1)


def _channels(settings: Settings) -> tuple[ChannelConfig, Send]:
    """The channels and the way to send as the flow's dispatch has them: in a drill
    (CASCADE_NOTIFY=log) none, the digests recorded as sent; else the SMTP URL from its Prefect
    Secret block when CASCADE_SMTP_SECRET names one."""
    import logging

    from notifiers.channels import ChannelConfig, logging_channel, send

    if settings.dispatch.mode == "log":
        return ChannelConfig(), logging_channel(logging.getLogger("cascade.drill"))
    return channel_config(settings), send


def channel_config(settings: Settings) -> ChannelConfig:
    """The channels as `settings` set them up, the SMTP URL from its Prefect Secret block when
    CASCADE_SMTP_SECRET names one (as `flows.campaign.channel_config`, but read through the
    Prefect API configured or a local `cascade serve`'s, and told as an error if it cannot be)."""
    from cascade.cli.admin import BlockUnread, smtp_url_of
    from notifiers.channels import ChannelConfig

    block = settings.smtp.secret
    try:
        smtp_url = smtp_url_of(block) if block else None
    except BlockUnread as error:
        fail([Problem("CASCADE_SMTP_SECRET", None, "", str(error))])
    return ChannelConfig.of(settings, smtp_url=smtp_url)


@contextmanager
def _told_here() -> Iterator[None]:
    """The dispatcher's own log lines (English, for a service's log) held back: this command
    tells the operator the same in their language."""
    import logging

    logger = logging.getLogger("notifiers.dispatch")
    was, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = was


@app.command(
    "zalo-token",
    help=_(
        "Store the Zalo Official Account's first token pair; Cascade refreshes it from then on "
        "(CASCADE_ZALO_APP_ID and CASCADE_ZALO_SECRET_KEY name the app). Prefer passing the refresh token "
        "in CASCADE_ZALO_REFRESH_TOKEN to keeping it in the shell's history."
    ),
)
def zalo_token(
    refresh: Annotated[
        str | None,
        typer.Option(help=_("the refresh token from Zalo's console (default: CASCADE_ZALO_REFRESH_TOKEN)")),
    ] = None,
    access: Annotated[
        str | None, typer.Option(help=_("its access token, if you have it (else refreshed now)"))
    ] = None,
    expires_in: Annotated[int, typer.Option(help=_("seconds the access token has left"))] = 0,
) -> None:
    from cascade.settings import Settings
    from notifiers.zalo_tokens import TokenRefused, Tokens, ZaloApp

    zalo = Settings().zalo
    app_ = ZaloApp.of(zalo)
    if app_ is None:
        fail(
            [
                Problem(
                    "zalo-token", None, "", _("CASCADE_ZALO_APP_ID and CASCADE_ZALO_SECRET_KEY are not set")
                )
            ]
        )
    if refresh is None and zalo.refresh_token is not None:
        refresh = zalo.refresh_token.get_secret_value()
    if not refresh:
        fail([Problem("zalo-token", None, "", _("give --refresh or set CASCADE_ZALO_REFRESH_TOKEN"))])
    try:
        Tokens(open_engine(), app_).keep(access, refresh, expires_in)
    except TokenRefused as refused:
        fail([Problem("zalo-token", None, "", str(refused))])
    err.print(
        _(
            "[green]✓[/green] Zalo tokens stored for app {app_id}; Cascade refreshes them from now on",
            app_id=app_.app_id,
        )
    )


class _Shown:
    """What a drill wrote, for `dispatch` to print (a drill at the command line said only that
    nothing was sent: the operator trying the campaign's notices saw neither who is told nor in
    which words): the first `SHOWN` digests written, in the tree's order, and how many in all."""

    SHOWN = 20

    def __init__(self, names: dict[str, str]) -> None:
        self.place = {unit: n for n, unit in enumerate(names)}  # (the dispatcher's: the tree's order)
        self.names, self.written = names, 0
        self.rows: list[tuple[int, str, str, str, Message]] = []
        self.lock = threading.Lock()

    def __call__(self, digest: Digest, channel: str, address: str, message: Message) -> None:
        with self.lock:  # (the dispatcher's threads send)
            self.written += 1
            if len(self.rows) < self.SHOWN:
                place = self.place.get(digest.unit, len(self.place))
                self.rows.append((place, self.names.get(digest.unit, digest.unit), channel, address, message))

    def print(self) -> None:
        rows = sorted(self.rows, key=lambda row: row[:2])
        if not rows:
            return
        table = Table(_("to"), _("channel, address"), _("subject"), title=_("Written in the drill"))
        for _place, name, channel, address, message in rows:
            table.add_row(escape(name), escape(f"{channel_said(channel)} {address}"), escape(message.subject))
        out.print(table)
        if self.written > len(rows):
            out.print(_("… and {count} more", count=num(self.written - len(rows))))
        _place, name, channel, _address, message = rows[0]
        out.print(_("The first, to {name}:", name=escape(name)), style="bold", highlight=False)
        out.print(escape(message.short if channel == "zalo" else message.text), highlight=False)
