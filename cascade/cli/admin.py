"""Commands about Cascade itself: `settings`, `doctor`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cascade.cli.common import (
    app,
    out,
)
from cascade.errors import listed
from cascade.i18n import _, _n

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cascade.settings import Settings


@app.command(
    "settings",
    help=_("Every setting as the environment sets it now, by group, secrets masked (see the README)."),
)
def show_settings(
    explain: Annotated[
        bool, typer.Option(help=_("a table: each setting's variable and what it does"))
    ] = False,
) -> None:
    from cascade.settings import Settings

    settings = Settings()
    if not explain:
        out.print_json(json.dumps(settings.shown(), ensure_ascii=False))
        return
    table = Table(_("setting"), _("variable"), _("value"), _("what it does"))
    for group, name, variable, value, description in settings.rows():
        table.add_row(
            f"{group}.{name}", variable, escape(str(value)), escape(_(description) if description else "")
        )
    out.print(table)


def zalo_tokens(engine: Engine, settings: Settings) -> tuple[bool, str] | None:
    """The Zalo OA app's token pair in the store, as doctor tells it (None: no app set)."""
    import time

    from notifiers.zalo_tokens import KEEP_ALIVE, Tokens, ZaloApp

    app_set = ZaloApp.of(settings.zalo)
    if app_set is None:
        return None
    pair = Tokens(engine, app_set).stored()
    if pair is None:
        return False, _("the Zalo app is set but no token pair is stored: run `cascade zalo-token`")
    age = int(time.time()) - int(pair.refreshed_at)
    days = age // 86_400
    if age > 2 * KEEP_ALIVE:  # the watchdog renews it at 30 days: it has not run, or Zalo refused
        return False, _(
            "Zalo's tokens were last renewed {days} days ago, and the refresh token lapses at about 90: "
            "the web application's watchdog renews them (is it running?), or Zalo refused (its log says)",
            days=days,
        )
    return True, _("zalo (tokens renewed {days} days ago)", days=days)


class BlockUnread(Exception):
    """The Prefect Secret block holding the SMTP URL cannot be read; the message says why."""


def smtp_url_of(block: str) -> str:
    """The SMTP URL in the Prefect Secret block `block` (CASCADE_SMTP_SECRET, as production
    workers read it), read through the Prefect API configured or a local `cascade serve`'s."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.campaign import smtp_url_in
    from flows.project import api_url

    url = api_url()
    if url is None:
        raise BlockUnread(
            _(
                "the SMTP URL is in the Prefect Secret block `{block}`, and no Prefect API runs to read "
                "it from (PREFECT_API_URL)",
                block=block,
            )
        )
    try:
        with temporary_settings({PREFECT_API_URL: url}):
            value = smtp_url_in(block)
    except Exception as error:  # (the block's name unknown, the API refusing, ...)
        raise BlockUnread(
            _(
                "the Prefect Secret block `{block}` cannot be read: {error}",
                block=block,
                error=str(error) or type(error).__name__,
            )
        ) from None
    if not value.strip():
        raise BlockUnread(_("the Prefect Secret block `{block}` holds no SMTP URL", block=block))
    return value


def smtp_block(block: str) -> tuple[bool, str]:
    """Whether the Prefect Secret block holding the SMTP URL can be read (`smtp_url_of`)."""
    from notifiers.email import smtp_url_problem

    try:
        url = smtp_url_of(block)
    except BlockUnread as error:
        return False, str(error)
    if problem := smtp_url_problem(url):
        return False, _(
            "the SMTP URL in the Prefect Secret block `{block}`: {problem}", block=block, problem=problem
        )
    return True, _("email (Prefect Secret block `{block}`)", block=block)


def stall_alerts(usable: set[str]) -> tuple[bool, str]:
    """The channels the watchdog can tell the operator on that a campaign stopped ticking. It
    runs in the web application and never reads a Prefect Secret block: it must speak when
    Prefect has stopped, so email needs CASCADE_SMTP_URL itself (notifiers/watchdog.py)."""
    from notifiers.channels import ChannelConfig

    on = [name for name in ("email", "zalo") if name in usable]
    if not ChannelConfig.of().smtp_url:
        on = [name for name in on if name != "email"]
    if not on:
        return False, _(
            "the web application's watchdog, which tells the operator when a campaign stops ticking, "
            "sends email only with CASCADE_SMTP_URL (it does not read the Prefect Secret block: it must "
            "speak when Prefect has stopped) and there is no Zalo: a stopped scheduler would be silent. "
            "Set CASCADE_SMTP_URL in the web application's environment too, or set up Zalo"
        )
    return True, _("on {channels}", channels=", ".join(on))


def reach(engine: Engine, usable: set[str]) -> tuple[bool, str]:
    """Whether every live unit of the deployed campaigns has a contact on a channel set up
    (`usable`): one that has none never gets a notice. Told by the units' names."""
    from sqlalchemy import select

    from cascade.engine import store

    k, u, c = store.campaigns.c, store.units.c, store.contacts.c
    with engine.connect() as conn:
        live = [row.id for row in conn.execute(select(k.id).where(k.archived_at.is_(None)))]
        units = list(
            conn.execute(
                select(u.campaign_id, u.id, u.name, u.path)
                .where(u.campaign_id.in_(live), u.archived.is_(False))
                .order_by(u.campaign_id, *store.IN_FILE_ORDER)
            )
        )
        reached = {
            (campaign, unit)
            for campaign, unit, ways in conn.execute(
                select(c.campaign_id, c.unit_id, c.channels).where(c.campaign_id.in_(live))
            )
            if any(channel in usable for channel, _address in ways)
        }
    channels = ", ".join(sorted(usable))
    units.sort(key=lambda row: row.path.count("/"))  # the upper levels first (best known), each as listed
    missing = list(dict.fromkeys(row.name for row in units if (row.campaign_id, row.id) not in reached))
    if not missing:
        return True, _n(
            "every unit of {count} campaign has a contact on a channel set up ({channels})",
            "every unit of {count} campaigns has a contact on a channel set up ({channels})",
            len(live),
            channels=channels,
        )
    return False, _n(
        "{count} unit has no contact on a channel set up ({channels}), and gets no notice: {units}",
        "{count} units have no contact on a channel set up ({channels}), and get no notice: {units}",
        len(missing),
        channels=channels,
        units=listed(missing),
    )


@app.command(
    help=_(
        "Check what an unattended Cascade depends on: its settings, the store (reachable, its schema "
        "current, its integrity), the web secret, the notification channels' settings (and that every unit "
        "has a contact on one of them) and the Prefect API. Exit 1 if anything fails."
    ),
)
def doctor() -> None:
    from sqlalchemy import select

    from cascade.engine import faults, store
    from cascade.engine.store import integrity_problems, open_store
    from cascade.settings import Settings

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

    check(_("settings"), lambda: (True, _("read; data in {data_dir}", data_dir=Settings().store.data_dir)))
    settings = Settings() if checks[-1][1] else None
    engine = None
    if settings is not None:
        url = settings.store.url()
        engine = check(_("store"), lambda: open_store(url))
        if engine is not None:
            checks[-1] = (_("store"), True, faults.shown(url))

            def integrity() -> tuple[bool, str]:
                found = integrity_problems(engine)
                return (not found, _("sound") if not found else "; ".join(found[:5]))

            check(_("store integrity"), integrity)

            def deployed() -> tuple[bool, str]:
                with engine.connect() as conn:
                    n = len(
                        conn.execute(
                            select(store.campaigns.c.id).where(store.campaigns.c.archived_at.is_(None))
                        ).all()
                    )
                return True, _("{number} deployed campaign(s)", number=n)

            check(_("campaigns"), deployed)
    from cascade.engine.links import secret_from

    def web_secret() -> tuple[bool, str]:
        read = settings or Settings()
        return bool(secret_from(read.web.secret, read.store.data_dir)), _("usable")

    check(_("web secret"), web_secret)
    from notifiers.channels import ChannelConfig

    usable: set[str] = set()  # the channels set up: email, zalo, phone

    def channels() -> tuple[bool, str]:
        from notifiers.email import smtp_url_problem

        config = ChannelConfig.of()
        if config.smtp_url and (problem := smtp_url_problem(config.smtp_url)):
            return False, "CASCADE_SMTP_URL: " + problem
        have = ["email"] if config.smtp_url else []
        if not have and settings is not None and settings.smtp.secret:
            block = smtp_block(settings.smtp.secret)
            if not block[0]:
                return block
            have.append(block[1])
        if have:
            usable.add("email")
        if config.zalo_token:
            have.append("zalo")
            usable.add("zalo")
        elif engine is not None and settings is not None:
            zalo = zalo_tokens(engine, settings)
            if zalo is not None and not zalo[0]:
                return zalo
            if zalo is not None:
                have.append(zalo[1])
                usable.add("zalo")
        if not have:
            return False, _("no channel configured (CASCADE_SMTP_URL, Zalo)")
        if "zalo" in usable and config.zns_template:
            usable.add("phone")  # ZNS: Zalo's token and the template
        return True, _("configured: {channels}", channels=", ".join(have))

    check(_("channels"), channels)
    if usable and engine is not None:
        check(_("reach"), lambda: reach(engine, usable))
    if usable:
        check(_("stall alerts"), lambda: stall_alerts(usable))

    def prefect() -> tuple[bool, str]:
        from flows.project import api_url

        url = api_url()
        return (
            (True, _("answers at {url}", url=url))
            if url
            else (True, _("no server running (`cascade serve` starts one)"))
        )

    check("Prefect API", prefect)
    for name, ok, detail in checks:
        mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
        out.print(f"{mark} {name}: {escape(detail)}", highlight=False)
    if not all(ok for _name, ok, _detail in checks):
        raise typer.Exit(1)
