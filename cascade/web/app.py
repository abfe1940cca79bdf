"""The web application `cascade serve` (and `cascade web`) runs: signed forms for officials
(`cascade.web.forms`), the operator's status board (`cascade.web.board`), and a JSON API
described by /openapi.json (`cascade.web.api`). What their routes share is in
`cascade.web.deps`; what their pages read, in `cascade.views`.

A form and the API record signals through `cascade.engine.signals`, as `cascade signal`
does: same validation, same idempotency, same events (and the same announcement to Prefect
when a Prefect API is known, so the campaign ticks within seconds).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pendulum
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from cascade.engine import health
from cascade.engine.faults import StoreFault
from cascade.web import api, board, forms
from cascade.web.deps import Announce, Announcer, Web, WebConfig, WebDep, refused, words
from cascade.web.security import HEADERS, BodyLimit, SecurityHeaders

__all__ = ["Announce", "Announcer", "WebConfig", "create_app"]

log = logging.getLogger("cascade.web")


def create_app(
    engine: Engine, config: WebConfig, clock: Callable[[], pendulum.DateTime] = pendulum.now
) -> FastAPI:
    """The application over the store `engine`; `clock` is the instant requests act at."""
    app = FastAPI(
        title="Cascade",
        summary="Campaign status and signals for provincial e-office systems",
        version="1",
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = Web.of(engine, config, clock)
    app.include_router(forms.router)
    app.include_router(board.router)
    app.include_router(api.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz(w: WebDep) -> dict[str, Any]:
        """The web application answers; per deployed campaign, how long ago it last ticked and
        whether it has stalled (no tick for three intervals: the scheduler is not running it)."""
        campaigns = {
            h.campaign: {
                "last_tick_age_s": h.age if h.ticked_at is not None else None,
                "since_deploy_s": h.age if h.ticked_at is None else None,
                "interval_s": h.interval,
                "stalled": h.stalled,
            }
            for h in health.read(w.engine, int(time.time()), w.config.tick_interval)
        }
        stalled = any(c["stalled"] for c in campaigns.values())
        return {"status": "stalled" if stalled else "ok", "campaigns": campaigns}

    async def server_error(request: Request, exc: Exception) -> Response:
        """A bug's answer: a plain 500 that names nothing inside, with the same security headers
        as every other response (Starlette answers it outside the middleware that adds them)."""
        log.exception("%s %s failed", request.method, request.url.path)
        headers = {name.decode(): value.decode() for name, value in HEADERS}
        return Response(words("server_error"), 500, headers=headers, media_type="text/plain")

    async def store_unavailable(request: Request, error: Exception) -> Response:
        """The store is locked, full, read-only or down: 503 and when to try again, not a 500."""
        fault = StoreFault.of(error, str(engine.url.render_as_string(hide_password=True)))
        log.error("%s %s: %s", request.method, request.url.path, fault)
        return Response(
            words("store_unavailable"), 503, headers={"Retry-After": "30"}, media_type="text/plain"
        )

    async def no_such_page(request: Request, exc: Exception) -> Response:
        """A page that is not there (a link cut short when copied, a mistyped address): a page
        in words an official reads; the API keeps its JSON."""
        assert isinstance(exc, HTTPException)
        if exc.status_code != 404 or request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)
        return refused(request, words("no_such_page"), 404)

    app.add_exception_handler(HTTPException, no_such_page)
    app.add_exception_handler(OperationalError, store_unavailable)
    app.add_exception_handler(Exception, server_error)
    app.add_middleware(BodyLimit, limit=config.max_body)
    app.add_middleware(SecurityHeaders)
    return app
