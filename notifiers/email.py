"""Email through Apprise's `mailto://`/`mailtos://`: one digest, one message, HTML and text.

The SMTP server is an Apprise URL from the environment (`CASCADE_SMTP_URL`, e.g.
`mailtos://user:password@smtp.example.vn?from=cascade@example.vn`) or a Prefect Secret
block, never from a campaign file; each send adds the recipient as `to=` and the digest's
idempotency key as the header `X-Cascade-Key`. The HTML part is the rendered digest;
Apprise derives the plain-text part from it (block elements become lines).

Apprise only answers True or False; why a send failed is in what its email plugin logs
(the SMTP reply, e.g. `(535, b'5.7.8 Authentication failed')`). `send_email` reads those
lines for its own thread and classifies the failure: `channel` (the server refuses our
credentials or sender, its certificate does not verify, or it does not speak the TLS mode
the URL asks for: every send will fail), `address` (this recipient is refused) or
`transient` (no connection, a timeout, a 4xx reply: worth retrying).

Apprise's email plugin builds a fresh `ssl.create_default_context()` for every send, even
to a server without TLS; with OpenSSL 3 that reloads the system CA bundle each time
(≈ 30-40 ms here, holding the interpreter lock: CPython gh-95031), which alone caps a
dispatcher near 30 messages/s whatever its concurrency. `_ReusedContexts` hands the plugin
one context per thread instead, reloaded every `CONTEXT_SECONDS` (a changed CA bundle is
seen within that time), and puts back the secure defaults that the plugin may have turned
off for an unverified (`verify=no`) server before handing it out again.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apprise
import apprise.plugins.email.base as apprise_email

from cascade.i18n import _
from notifiers.render import Message

KEY_HEADER = "X-Cascade-Key"
_REPLY = re.compile(r"\((\d{3}), b?['\"](.*?)['\"]\)")
_AUTH_CODES = {"530", "534", "535", "538"}


def email_url(server: str, to: str, key: str | None = None) -> str:
    """`server` (an Apprise mailto URL) addressed to `to`, with `key` as a header."""
    parts = urlsplit(server)
    if parts.scheme not in ("mailto", "mailtos"):
        raise ValueError(f"the SMTP URL must start with mailto:// or mailtos://, not `{parts.scheme}://`")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("to", "+" + KEY_HEADER)] + [("to", to)]
    if key:
        query.append(("+" + KEY_HEADER, key))
    return urlunsplit(parts._replace(query=urlencode(query)))


def smtp_url_problem(server: str) -> str | None:
    """What makes the SMTP URL `server` another URL than the one meant, or None. A password
    holding `@` or `#` must be written percent-encoded: as it is, `#` ends the address and the
    last `@` but one is taken for the server's start (`cascade:p@ss#w0rd@smtp.example.vn` is
    the server `ss` with the password `p`)."""
    parts = urlsplit(server)
    if parts.scheme not in ("mailto", "mailtos"):
        return _("it must start with mailto:// or mailtos://, not `{scheme}://`", scheme=parts.scheme)
    if parts.fragment or "#" in server:
        return _(
            "it holds a `#` (write it %23 in the password): as it is, the address ends there, and the "
            "server would be `{host}`",
            host=parts.hostname or "",
        )
    if parts.netloc.count("@") > 1:
        return _(
            "its password holds a `@` (write it %40): as it is, the server would be `{host}`",
            host=parts.hostname,
        )
    if not parts.hostname:
        return _("it names no SMTP server: write mailtos://user:password@smtp.example.vn?from=address")
    if not apprise.Apprise().add(server):
        return _("Apprise does not take it: write mailtos://user:password@smtp.example.vn?from=address")
    return None


def send_email(
    message: Message, server: str, to: str, key: str | None = None
) -> tuple[bool, str | None, str]:
    """Send `message` to `to` through `server`: (sent, failure kind or None, detail)."""
    service = apprise.Apprise()
    if not service.add(email_url(server, to, key)):
        return (
            False,
            "channel",
            _("not a usable SMTP URL: {url}", url=apprise.URLBase.pprint(server, privacy=True)),
        )
    with _captured() as lines:
        ok = service.notify(title=message.subject, body=message.html, body_format=apprise.NotifyFormat.HTML)
    if ok:
        return True, None, _("accepted by the SMTP server")
    return (False, *classify(lines))


def classify(lines: list[str]) -> tuple[str, str]:
    """The failure kind and a one-line detail, from what Apprise logged about a failed send."""
    text = " ".join(lines)
    reply = _REPLY.search(text)
    if reply:
        code, said = reply.groups()
        detail = f"SMTP {code} {said}".strip()
        if code in _AUTH_CODES or "Sender" in text or "sender" in said:
            return "channel", detail
        return ("address" if code.startswith("5") else "transient"), detail
    exception = next((line.split(":", 1)[1].strip() for line in lines if "Socket Exception" in line), "")
    if "CERTIFICATE_VERIFY_FAILED" in exception or "WRONG_VERSION_NUMBER" in exception:
        return "channel", exception  # the server's certificate or TLS mode: every send fails alike
    return "transient", exception or (lines[-1] if lines else _("the SMTP server refused"))


class _Capture(logging.Filter):
    """On Apprise's logger: copies each record to the current thread's capture, if one is
    open, and passes on only what the logger would have passed before (nothing new shows)."""

    def __init__(self, passes: int) -> None:
        super().__init__()
        self.passes = passes
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        lines = getattr(self.local, "lines", None)
        if lines is not None:
            lines.append(record.getMessage())
        return record.levelno >= self.passes


_apprise_log = logging.getLogger("apprise")
_CAPTURE = _Capture(_apprise_log.getEffectiveLevel())
_apprise_log.addFilter(_CAPTURE)
_apprise_log.setLevel(logging.DEBUG)


@contextmanager
def _captured() -> Iterator[list[str]]:
    lines: list[str] = []
    _CAPTURE.local.lines = lines
    try:
        yield lines
    finally:
        _CAPTURE.local.lines = None


CONTEXT_SECONDS = 600.0


class _ReusedContexts:
    """Stands in for the `ssl` module inside Apprise's email plugin: `create_default_context()`
    without arguments returns this thread's context (made at most `CONTEXT_SECONDS` ago),
    verifying certificates and host names again; everything else is `ssl`'s own."""

    def __init__(self) -> None:
        self.local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    def create_default_context(self, *args: Any, **kwargs: Any) -> ssl.SSLContext:
        if args or kwargs:
            return ssl.create_default_context(*args, **kwargs)
        made, context = getattr(self.local, "context", (0.0, None))
        if context is None or time.monotonic() - made > CONTEXT_SECONDS:
            context = ssl.create_default_context()
            self.local.context = (time.monotonic(), context)
        context.check_hostname = True  # (also sets verify_mode to CERT_REQUIRED)
        context.verify_mode = ssl.CERT_REQUIRED
        return context


if getattr(apprise_email, "ssl", None) is ssl:
    apprise_email.ssl = _ReusedContexts()  # type: ignore[attr-defined]
