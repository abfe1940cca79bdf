"""Email through Apprise's `mailto://`/`mailtos://`: one digest, one message, HTML and text.

The SMTP server is an Apprise URL from the environment (`CASCADE_SMTP_URL`, e.g.
`mailtos://user:password@smtp.example.vn?from=cascade@example.vn`), never from a campaign
file; each send adds the recipient as `to=`. The HTML part is the rendered digest; Apprise
derives the plain-text part from it (block elements become lines).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apprise

from notifiers.render import Message


def email_url(server: str, to: str) -> str:
    """`server` (an Apprise mailto URL) addressed to `to`."""
    parts = urlsplit(server)
    if parts.scheme not in ("mailto", "mailtos"):
        raise ValueError(f"the SMTP URL must start with mailto:// or mailtos://, not `{parts.scheme}://`")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "to"] + [("to", to)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def send_email(message: Message, server: str, to: str) -> bool:
    """Send `message` to the address `to` through `server`; False when the server refused it."""
    service = apprise.Apprise()
    if not service.add(email_url(server, to)):
        raise ValueError(f"not a usable SMTP URL for {to}: {apprise.URLBase.pprint(server, privacy=True)}")
    return bool(
        service.notify(title=message.subject, body=message.html, body_format=apprise.NotifyFormat.HTML)
    )
