"""What every route of the web application depends on, in one place.

`create_app` makes one `Web` (the store, the configuration, the clock, the signal writer,
the announcer, the rate limits) and keeps it on the application; a page's route asks for
it with `WebDep`, an API route for it and the checked token with `ApiCaller`; pages are
answered through `page` and `refused`.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import pendulum
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from cascade.engine import health
from cascade.engine.words import number_text
from cascade.settings import WebSettings
from cascade.web.security import MAX_BODY, RateLimit, csrf_token, new_nonce, same
from cascade.web.writer import SignalWriter

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["n"] = number_text  # counts as Vietnamese writes them: 9.450
SESSION_COOKIE = "cascade_operator"
LOGIN_CSRF_COOKIE = "cascade_csrf_login"  # the login form's (path /login)

Announce = Callable[[str, int], None]  # (campaign, signals stored)


@dataclass
class WebConfig:
    secret: bytes  # signs links and CSRF tokens
    operator_token: str  # the status board and the API
    form_rate: str = "30/60"  # form submissions per client address: 30 a minute
    api_rate: str = "2000/1"  # API signal posts per token
    announce: Announce | None = None  # tells the scheduler a campaign has new signals (best effort)
    tick_interval: int = health.DEFAULT_INTERVAL  # for campaigns whose deployment recorded none
    https: bool = False  # served behind https (CASCADE_WEB_URL): the session cookie is Secure
    max_body: int = MAX_BODY  # bytes a request body may hold (CASCADE_WEB_MAX_BODY); more: 413

    @classmethod
    def of(cls, web: WebSettings, secret: bytes, tick_interval: int, announce: Announce | None) -> WebConfig:
        return cls(
            secret=secret,
            operator_token=web.token.get_secret_value(),
            form_rate=web.rate_form,
            api_rate=web.rate_api,
            announce=announce,
            tick_interval=tick_interval,
            https=web.https,
            max_body=web.max_body,
        )


class Announcer:
    """Best effort, off the request: tells the scheduler (`cascade.signal.received` to Prefect)
    at most once a second per campaign (one tick applies every signal stored by then); when
    it cannot, the scheduled tick applies them."""

    def __init__(self, send: Announce, every: float = 1.0) -> None:
        self.send = send
        self.every = every
        self.last: dict[str, float] = {}
        self.lock = threading.Lock()

    def announce(self, campaign: str, stored: int) -> None:
        with self.lock:
            now = time.monotonic()
            if now - self.last.get(campaign, -self.every) < self.every:
                return
            self.last[campaign] = now
        threading.Thread(target=self._send, args=(campaign, stored), daemon=True).start()

    def _send(self, campaign: str, stored: int) -> None:
        with contextlib.suppress(Exception):  # the signal is stored; the scheduled tick applies it anyway
            self.send(campaign, stored)


@dataclass
class Web:
    """The application's collaborators and its shared state."""

    engine: Engine
    config: WebConfig
    clock: Callable[[], pendulum.DateTime]
    writer: SignalWriter  # concurrent posts share a transaction (see cascade.web.writer)
    form_limit: RateLimit
    api_limit: RateLimit
    announcer: Announcer | None = None
    zones: dict[str, str] = field(default_factory=dict)  # campaign -> timezone (it does not change)

    @classmethod
    def of(cls, engine: Engine, config: WebConfig, clock: Callable[[], pendulum.DateTime]) -> Web:
        return cls(
            engine=engine,
            config=config,
            clock=clock,
            writer=SignalWriter(engine),
            form_limit=RateLimit.parse(config.form_rate),
            api_limit=RateLimit.parse(config.api_rate),
            announcer=Announcer(config.announce) if config.announce else None,
        )

    def now(self) -> pendulum.DateTime:
        return self.clock()

    def announce(self, campaign: str, stored: int) -> None:
        if stored and self.announcer:
            self.announcer.announce(campaign, stored)

    def stalled(self, campaign: str | None = None) -> list[health.Health]:
        """The campaigns (or `campaign`) that stopped ticking, for the pages' banner."""
        found = health.read(self.engine, int(time.time()), self.config.tick_interval, campaign)
        return [h for h in found if h.stalled]

    def session(self) -> str:
        """The operator's cookie: derived from the token, so it is never the token itself."""
        token = self.config.operator_token.encode()
        return hmac.new(self.config.secret, b"operator\x1f" + token, "sha256").hexdigest()

    def operator(self, request: Request) -> bool:
        token = request.cookies.get(SESSION_COOKIE, "")
        return bool(self.config.operator_token) and same(token, self.session())


def web_of(request: Request) -> Web:
    return request.app.state.web  # type: ignore[no-any-return]


async def web(request: Request) -> Web:
    """The dependency (async: FastAPI would run a plain function in its thread pool)."""
    return web_of(request)


WebDep = Annotated[Web, Depends(web)]


class Caller(NamedTuple):
    """An API request's application and its checked token (one dependency: the API's hot path)."""

    web: Web
    token: str


async def bearer(request: Request) -> Caller:
    """The API's token (`Authorization: Bearer ...`), checked against the operator's."""
    w = web_of(request)
    expected = w.config.operator_token
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not same(token.strip(), expected):
        raise HTTPException(
            401, "a Bearer token is required (CASCADE_WEB_TOKEN)", {"WWW-Authenticate": "Bearer"}
        )
    return Caller(w, token.strip())


ApiCaller = Annotated[Caller, Depends(bearer)]


@functools.cache
def _words() -> Any:
    return TEMPLATES.get_template("words.html").module


def words(key: str, **values: Any) -> str:
    """A sentence of `templates/words.html`, by key: the web's wording is in one place. (Its
    values are escaped there; the sentence is markup-safe text.)"""
    return _words().said(key, **values)  # type: ignore[no-any-return]


def state_words() -> dict[str, str]:
    """A unit's state on the board, in words (`templates/words.html`)."""
    return _words().states  # type: ignore[no-any-return]


def client(request: Request) -> str:
    return request.client.host if request.client else "?"


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status)


def refused(request: Request, reason: str, status: int = 403) -> HTMLResponse:
    return page(request, "refused.html", status, reason=reason)


def login_page(
    request: Request, w: Web, error: str | None = None, status: int = 401, next_url: str = "/status"
) -> HTMLResponse:
    nonce = new_nonce()
    response = page(
        request,
        "login.html",
        status,
        csrf=csrf_token(w.config.secret, nonce, "login"),
        error=error,
        next_url=next_url,
        configured=bool(w.config.operator_token),
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/login")
    return response
