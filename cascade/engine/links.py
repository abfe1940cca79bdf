"""Signed links: one per instance, so an official can confirm it with one tap, no account.

A link names a campaign, a unit, a task (or report) and an expiry, and carries an
HMAC-SHA256 of those four with the server's secret:

    {base}/l/{campaign}/{unit}/{task}?exp=1611075600&sig=3q2-7w...

Changing any part (another unit, a later expiry) breaks the signature; after `exp` the
link is refused even with a good signature. A parent's answer to a unit's request for more
time is signed the same way (`AnswerLink`: {base}/x/{campaign}/{request}/{approve|deny}?..).
The secret is `CASCADE_WEB_SECRET`, or one made at first use and kept in
DATA_DIR/web-secret (0600).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pydantic import SecretStr

from cascade.i18n import _
from cascade.settings import Settings

LINK_DAYS = 60  # a link stays valid this long after its notice (a campaign's reports come late)
MIN_SECRET = 32  # bytes: an HMAC key shorter than this is refused


class SecretInvalid(ValueError):
    """The signing secret is missing or too short; the message says which and what to do."""


@dataclass(frozen=True)
class Link:
    campaign: str
    unit: str
    task: str
    expires: int  # epoch seconds

    def path(self, secret: bytes) -> str:
        parts = "/".join(quote(p, safe="") for p in (self.campaign, self.unit, self.task))
        return f"/l/{parts}?exp={self.expires}&sig={sign(secret, self)}"


@dataclass(frozen=True)
class AnswerLink:
    """A parent's answer to one of its unit's requests for more time: approve or deny. Signed
    like a `Link`, over a message of its own kind, so neither can stand in for the other."""

    campaign: str
    request: int
    action: str  # approve | deny
    expires: int

    def path(self, secret: bytes) -> str:
        campaign = quote(self.campaign, safe="")
        return f"/x/{campaign}/{self.request}/{self.action}?exp={self.expires}&sig={sign(secret, self)}"


def _message(link: Link | AnswerLink) -> bytes:
    if isinstance(link, AnswerLink):
        parts = ("answer", link.campaign, str(link.request), link.action, str(link.expires))
        return "\x1f".join(parts).encode()
    return "\x1f".join((link.campaign, link.unit, link.task, str(link.expires))).encode()


def sign(secret: bytes, link: Link | AnswerLink) -> str:
    if len(secret) < MIN_SECRET:  # never sign (or check a signature) with an empty or short key
        raise SecretInvalid(f"a signing secret has at least {MIN_SECRET} bytes")
    mac = hmac.new(secret, _message(link), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


class LinkRefused(Exception):
    """A link not honoured; `reason`: "tampered" (altered, or another unit's) or "expired"
    (the web words it for the official who opened it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the link is {reason}")
        self.reason = reason


def verify(secret: bytes, link: Link | AnswerLink, signature: str, now: int) -> None:
    """Raise LinkRefused unless `signature` is this link's and it has not expired."""
    given = (signature or "").encode("utf-8", "surrogateescape")  # any text; never an exception
    if not hmac.compare_digest(sign(secret, link).encode(), given):
        raise LinkRefused("tampered")
    if now >= link.expires:
        raise LinkRefused("expired")


LinkMaker = Callable[[str, str, int], str]  # (unit, task, sent at) -> URL


def _web(settings: Settings | None) -> tuple[str, bytes] | None:
    """The web application's address (`web.url`) and the secret, or None when unknown."""
    settings = settings or Settings()
    base = settings.web.url.rstrip("/")
    return (base, secret_from(settings.web.secret, settings.store.data_dir)) if base else None


def link_maker(campaign: str, settings: Settings | None = None) -> LinkMaker | None:
    """Links for a campaign's notices when the web application's address is known
    (CASCADE_WEB_URL, e.g. https://cascade.tinhuy.vn); None: notices go without links."""
    web = _web(settings)
    if web is None:
        return None
    base, secret = web

    def make(unit: str, task: str, sent: int) -> str:
        return base + Link(campaign, unit, task, sent + LINK_DAYS * 86400).path(secret)

    return make


AnswerMaker = Callable[[int, str, int], str]  # (request id, approve | deny, sent at) -> URL


def answer_maker(campaign: str, settings: Settings | None = None) -> AnswerMaker | None:
    """Approve and deny links for a campaign's extension requests (None: no web address known)."""
    web = _web(settings)
    if web is None:
        return None
    base, secret = web

    def make(request: int, action: str, sent: int) -> str:
        return base + AnswerLink(campaign, request, action, sent + LINK_DAYS * 86400).path(secret)

    return make


def secret_from(given: SecretStr | None, data_dir: Path) -> bytes:
    """The given secret (CASCADE_WEB_SECRET), else DATA_DIR/web-secret (made once, readable by
    its owner only). Either must hold at least MIN_SECRET bytes: a short or empty one raises
    SecretInvalid."""
    if given is not None:
        secret = given.get_secret_value().strip().encode()
        if len(secret) < MIN_SECRET:
            raise SecretInvalid(
                _(
                    "CASCADE_WEB_SECRET has {bytes} bytes; it needs at least {least}. Make one with "
                    "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`, or unset it to have "
                    "DATA_DIR/web-secret made",
                    bytes=len(secret),
                    least=MIN_SECRET,
                )
            )
        return secret
    path = data_dir / "web-secret"
    if not path.exists():
        _create_secret(path)
    secret = path.read_bytes().strip()
    if len(secret) < MIN_SECRET:
        raise SecretInvalid(
            _(
                "{path} holds {bytes} bytes; a signing secret needs at least {least} (a crash or a "
                "full disk while it was written?). Delete it to have a new one made at the next start "
                "(links already sent stop working), or set CASCADE_WEB_SECRET",
                path=path,
                bytes=len(secret),
                least=MIN_SECRET,
            )
        )
    return secret


def _create_secret(path: Path) -> None:
    """Write a new secret so that no reader ever sees it half-written: into a private temporary
    file, synced, then linked to its name (atomic; the first of several processes wins, the
    others read the winner's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(MIN_SECRET))
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: all use that one
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
