"""A contact's channels as Apprise services, configured from the environment.

    email  CASCADE_SMTP_URL       mailto://... or mailtos://...?from=... (see notifiers.email)
    zalo   CASCADE_ZALO_TOKEN     the Official Account access token (CASCADE_ZALO_API: another base URL)
    phone  CASCADE_ZALO_TOKEN and CASCADE_ZNS_TEMPLATE  a ZNS template (CASCADE_ZNS_API: another base URL)

Secrets stay in the environment, never in campaign or units files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

import apprise

import notifiers  # noqa: F401  (registers zalo:// and zns://)
from notifiers.email import send_email
from notifiers.render import Message


@dataclass(frozen=True)
class Result:
    channel: str
    address: str
    ok: bool
    detail: str


def send(channel: str, address: str, message: Message) -> Result:
    """Send `message` to `address` on `channel` (email, zalo or phone)."""
    env = os.environ
    if channel == "email":
        if not env.get("CASCADE_SMTP_URL"):
            return Result(channel, address, False, "CASCADE_SMTP_URL is not set")
        ok = send_email(message, env["CASCADE_SMTP_URL"], address)
        return Result(
            channel, address, ok, "delivered to the SMTP server" if ok else "the SMTP server refused"
        )
    token = env.get("CASCADE_ZALO_TOKEN")
    if not token:
        return Result(channel, address, False, "CASCADE_ZALO_TOKEN is not set")
    if channel == "zalo":
        url = f"zalo://{quote(token, safe='')}/{quote(address, safe='')}"
        base = env.get("CASCADE_ZALO_API")
    elif channel == "phone":
        template = env.get("CASCADE_ZNS_TEMPLATE")
        if not template:
            return Result(channel, address, False, "CASCADE_ZNS_TEMPLATE is not set")
        url = f"zns://{quote(token, safe='')}/{quote(template, safe='')}/{quote(address, safe='')}"
        base = env.get("CASCADE_ZNS_API")
    else:
        return Result(channel, address, False, f"unknown channel `{channel}`")
    if base:
        url += f"?base={quote(base, safe='')}"
    service = apprise.Apprise()
    if not service.add(url):
        return Result(channel, address, False, "not a usable Zalo address or token")
    ok = bool(service.notify(title=message.subject, body=message.short))
    return Result(channel, address, ok, "accepted by Zalo" if ok else "Zalo refused (see the log)")
