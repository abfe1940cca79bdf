"""A contact's channels as Apprise services, and where their settings come from.

    email  CASCADE_SMTP_URL       mailto://... or mailtos://...?from=... (see notifiers.email)
    zalo   CASCADE_ZALO_APP_ID and CASCADE_ZALO_SECRET_KEY: the Official Account's tokens, kept in the
           store and refreshed by Cascade (notifiers.zalo_tokens); or CASCADE_ZALO_TOKEN, a fixed
           access token (it expires within a day). CASCADE_ZALO_API: another base URL
    phone  CASCADE_ZALO_TOKEN and CASCADE_ZNS_TEMPLATE  a ZNS template (CASCADE_ZNS_API: another base URL)

Secrets stay in the environment (or, for the SMTP URL, a Prefect Secret block: see
flows/campaign.py), never in campaign or units files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import apprise
from pydantic import SecretStr
from sqlalchemy import Engine

import notifiers  # noqa: F401  (registers zalo:// and zns://)
from cascade.i18n import _
from cascade.plan.values import zns_phone
from cascade.settings import Settings
from notifiers.email import send_email
from notifiers.render import Message
from notifiers.zalo import NotifyZalo
from notifiers.zalo_tokens import TokenRefused, Tokens, ZaloApp


@dataclass(frozen=True)
class ChannelConfig:
    smtp_url: str | None = None
    zalo_token: str | None = None  # a fixed token (CASCADE_ZALO_TOKEN), when Cascade does not refresh it
    zns_template: str | None = None
    zalo_api: str | None = None
    zns_api: str | None = None
    tokens: Tokens | None = None  # the OA's refreshed tokens (notifiers.zalo_tokens), over zalo_token

    @classmethod
    def of(cls, settings: Settings | None = None, smtp_url: str | None = None) -> ChannelConfig:
        """The channels as `settings` (default: the environment's) configure them; `smtp_url`
        (from a Prefect Secret block) over `smtp.url`."""
        settings = settings or Settings()
        zalo = settings.zalo
        return cls(
            smtp_url=smtp_url or _revealed(settings.smtp.url),
            zalo_token=_revealed(zalo.token),
            zns_template=zalo.zns_template or None,
            zalo_api=zalo.api or None,
            zns_api=zalo.zns_api or None,
        )


def _revealed(secret: SecretStr | None) -> str | None:
    return (secret.get_secret_value() or None) if secret is not None else None


def with_tokens(config: ChannelConfig, engine: Engine) -> ChannelConfig:
    """`config`, its Zalo token kept fresh in `engine`'s store when the OA's app is set
    (CASCADE_ZALO_APP_ID, CASCADE_ZALO_SECRET_KEY)."""
    app = ZaloApp.of(Settings().zalo)
    if config.tokens is not None or app is None:
        return config
    return replace(config, tokens=Tokens(engine, app))


@dataclass(frozen=True)
class Result:
    channel: str
    address: str
    ok: bool
    detail: str
    failure: str | None = None  # transient | channel | address (see notifiers.email, notifiers.zalo)
    provider_id: str | None = None


def send(
    channel: str, address: str, message: Message, config: ChannelConfig | None = None, key: str | None = None
) -> Result:
    """Send `message` to `address` on `channel` (email, zalo or phone), once; `key` is the
    message's idempotency key, sent along where the channel can carry it."""
    config = ChannelConfig.of() if config is None else config
    if channel == "email":
        if not config.smtp_url:
            return Result(channel, address, False, _("CASCADE_SMTP_URL is not set"), "channel")
        ok, failure, detail = send_email(message, config.smtp_url, address, key)
        return Result(channel, address, ok, detail, failure, key if ok else None)
    if config.tokens is None:
        if not config.zalo_token:
            why = _(
                "no Zalo token: set CASCADE_ZALO_APP_ID and CASCADE_ZALO_SECRET_KEY (or CASCADE_ZALO_TOKEN)"
            )
            return Result(channel, address, False, why, "channel")
        return _send_zalo(channel, address, message, config, key, config.zalo_token)
    try:
        token = config.tokens.current()
    except TokenRefused as refused:
        return Result(channel, address, False, str(refused), "channel")
    result = _send_zalo(channel, address, message, config, key, token)
    if result.failure == "channel" and INVALID_TOKEN in result.detail:  # expired early, or revoked
        try:
            token = config.tokens.refresh(token)
        except TokenRefused as refused:
            return Result(channel, address, False, f"{result.detail}; {refused}", "channel")
        result = _send_zalo(channel, address, message, config, key, token)
    return result


def logging_channel(logger: logging.Logger | logging.LoggerAdapter[Any]) -> Callable[..., Result]:
    """A stand-in for `send` that writes each message to `logger` (DEBUG: a national deadline
    makes tens of thousands) instead of sending it: drills and demos (CASCADE_NOTIFY=log) go
    through the same dispatcher, rendering and recording as the real channels."""

    def send_to_log(
        channel: str,
        address: str,
        message: Message,
        config: ChannelConfig | None = None,
        key: str | None = None,
    ) -> Result:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s to %s: %s", channel, address, message.subject)
        return Result(channel, address, True, _("logged"), None, key)

    return send_to_log


INVALID_TOKEN = "Zalo error -216"  # how notifiers.zalo words "Access token is invalid"


def _send_zalo(
    channel: str, address: str, message: Message, config: ChannelConfig, key: str | None, access: str
) -> Result:
    token = quote(access, safe="")
    query: dict[str, str] = {}
    if channel == "zalo":
        url = f"zalo://{token}/{quote(address, safe='')}"
        base = config.zalo_api
    elif channel == "phone":
        if not config.zns_template:
            return Result(channel, address, False, _("CASCADE_ZNS_TEMPLATE is not set"), "channel")
        phone = quote(zns_phone(address), safe="")  # 0912000002 as ZNS takes it: 84912000002
        url = f"zns://{token}/{quote(config.zns_template, safe='')}/{phone}"
        base = config.zns_api
        if key:
            query["track"] = key
    else:
        return Result(channel, address, False, _("unknown channel `{channel}`", channel=channel), "channel")
    if base:
        query["base"] = base
    if query:
        url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    service = apprise.Apprise()
    if not service.add(url):
        return Result(channel, address, False, "not a usable Zalo address or token", "address")
    plugin = service[0]
    assert isinstance(plugin, NotifyZalo)
    if service.notify(title=message.subject, body=message.short):
        return Result(
            channel, address, True, _("accepted by Zalo"), None, ",".join(plugin.message_ids) or None
        )
    kinds = [kind for kind, _detail in plugin.failures] or ["transient"]
    # the most telling kind: the channel is broken > this address > try again
    failure = next(k for k in ("channel", "address", "transient") if k in kinds)
    detail = "; ".join(d for _kind, d in plugin.failures) or _("Zalo refused (see the log)")
    return Result(channel, address, False, detail, failure)
