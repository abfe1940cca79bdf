"""The web layer's safeguards: CSRF tokens, rate limits, security headers, no secrets in logs."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

CSRF_COOKIE = "cascade_csrf"

# ---- CSRF: a random nonce in a SameSite=Strict cookie, and in the form its HMAC bound to the
# page (the link's signature, or "login"); a cross-site post has neither.


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def csrf_token(secret: bytes, nonce: str, bound_to: str) -> str:
    return hmac.new(secret, f"csrf\x1f{nonce}\x1f{bound_to}".encode(), hashlib.sha256).hexdigest()


def same(given: str | None, expected: str) -> bool:
    """A secret compared in constant time, as UTF-8 bytes: a non-ASCII value (a forged cookie,
    token or signature) is simply different, where `compare_digest` on text raised (a 500)."""
    return hmac.compare_digest((given or "").encode("utf-8", "surrogateescape"), expected.encode())


def csrf_ok(secret: bytes, nonce: str | None, token: str | None, bound_to: str) -> bool:
    return bool(nonce and token) and same(token, csrf_token(secret, nonce or "", bound_to))


# ---- rate limits: a token bucket per client and endpoint family, in this process


@dataclass
class RateLimit:
    """At most `burst` requests at once, refilled at `per_second`; `parse("30/60")` is 30 a minute."""

    burst: int
    per_second: float
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        count, _, seconds = text.partition("/")
        return cls(int(count), int(count) / float(seconds or 1))

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self.lock:
            tokens, at = self.buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
            allowed = tokens >= 1
            self.buckets[key] = (tokens - 1 if allowed else tokens, now)
            if len(self.buckets) > 100_000:  # forget the idle (their buckets are full again)
                self.buckets = {
                    k: v for k, v in self.buckets.items() if now - v[1] < self.burst / self.per_second
                }
            return allowed


# ---- headers on every response

HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),  # a signed link never leaks through Referer
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cache-control", b"no-store"),
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response (the OpenAPI docs page
    loads its script from a CDN, so it is not served: /openapi.json is)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


# ---- request bodies: bounded


MAX_BODY = 4 * 1024 * 1024  # bytes: 5,000 signals with their figures fit with room to spare


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes gets 413, read no further (a 50 MB
    API body cost 645 MB before). The body is read here, up to the limit, and handed on."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._too_large(send)
                return
            if not message.get("more_body", False):
                break
        body, sent = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # (a disconnect, when the client goes)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        text = f"request body over {self.limit:,} bytes: send fewer signals per request".encode()
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(text)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})  # (+ SecurityHeaders)
        await send({"type": "http.response.body", "body": text})


# ---- logs: request lines without their query strings (a link's signature is one)

_QUERY = re.compile(r"\?\S*")


class NoQueryStrings(logging.Filter):
    """On uvicorn's access log: `GET /l/c/u/t?exp=..&sig=..` is logged as `GET /l/c/u/t?…`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_QUERY.sub("?…", a) if isinstance(a, str) else a for a in record.args)
        record.msg = _QUERY.sub("?…", str(record.msg))
        return True


def quiet_access_log() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, NoQueryStrings) for f in logger.filters):
        logger.addFilter(NoQueryStrings())
