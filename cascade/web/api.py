"""The JSON API, for provincial e-office systems (described by /openapi.json; Bearer token).

    GET  /api/campaigns                          the deployed campaigns
    GET  /api/campaigns/{id}/status              units by level with their state
    GET  /api/campaigns/{id}/events              the log (§6), newest first, paged by Link
    POST /api/campaigns/{id}/signals             record signals, all or nothing

Signals are recorded as `cascade signal --import` records them: same validation, same
idempotency, same events.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cascade.engine.signals import Batch, Signal
from cascade.errors import CampaignInvalid
from cascade.timing.instants import parse_instant
from cascade.views import eventlog
from cascade.views.board import board, campaigns
from cascade.views.pages import timezone_of
from cascade.web.deps import ApiCaller

router = APIRouter(prefix="/api")
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such campaign"}}


class SignalIn(BaseModel):
    unit: str = Field(max_length=64, description="unit id")
    task: str = Field(max_length=64, description="task or report id")
    at: str | None = Field(
        None,
        max_length=40,
        description="when it was done, campaign time (DD/MM/YYYY HH:mm or ISO); default now",
    )
    fields: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=64)


class SignalsIn(BaseModel):
    signals: list[SignalIn] = Field(min_length=1, max_length=5000)


class Recorded(BaseModel):
    stored: int = Field(description="new signals")
    known: int = Field(description="signals recorded before (the same signal again is stored once)")


class ProblemOut(BaseModel):
    where: str
    message: str


class Refused(BaseModel):
    detail: list[ProblemOut]


@router.get("/campaigns", tags=["status"])
def api_campaigns(caller: ApiCaller) -> list[dict[str, str]]:
    """The deployed campaigns."""
    w = caller.web
    with w.engine.connect() as conn:
        return [{"id": cid, "title": title} for cid, title in campaigns(conn)]


@router.get("/campaigns/{campaign}/status", tags=["status"], responses=NOT_FOUND)
def api_status(campaign: str, caller: ApiCaller) -> dict[str, Any]:
    """Units by level with their state, counts per state, each task's progress."""
    w = caller.web
    with w.engine.connect() as conn:
        data = board(conn, campaign, int(w.now().timestamp()), events=0)
    if data is None:
        raise HTTPException(404, f"no campaign `{campaign}`")
    return {
        "campaign": data.campaign,
        "title": data.title,
        "levels": [
            {
                "level": level,
                "counts": data.counts.get(level, {}),
                "units": [
                    {"id": u.id, "name": u.name, "state": u.state, "tasks": u.tasks}
                    for u in data.units.get(level, [])
                ],
            }
            for level in data.levels
        ],
        "tasks": [{"task": t.task, "title": t.title, "total": t.total, "done": t.done} for t in data.tasks],
    }


@router.get("/campaigns/{campaign}/events", tags=["status"], responses=NOT_FOUND)
def api_events(
    campaign: str,
    caller: ApiCaller,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[str | None, Query(description="the cursor of the next page (its Link header)")] = None,
) -> list[dict[str, Any]]:
    """The campaign's log (§6), newest first, `limit` at a time: while there is more, the
    `Link` header (rel="next") gives the next page's address."""
    w = caller.web
    after = None
    if before:
        try:
            at, eid = (int(x) for x in before.split(":", 1))
        except ValueError:
            raise HTTPException(422, "`before` is a cursor from a Link header, e.g. 1606064400:42") from None
        after = (at, eid)
    tz = timezone_of(w.engine, campaign)
    if tz is None:
        raise HTTPException(404, f"no campaign `{campaign}`")
    with w.engine.connect() as conn:
        lines, cursor = eventlog.page(conn, campaign, tz, eventlog.Filter(), limit, after, newest_first=True)
    if cursor is not None:
        path = f"/api/campaigns/{quote(campaign, safe='')}/events"
        nxt = f"{path}?limit={limit}&before={cursor[0]}:{cursor[1]}"
        response.headers["Link"] = f'<{nxt}>; rel="next"'
    return lines


@router.post(
    "/campaigns/{campaign}/signals",
    tags=["signals"],
    status_code=201,
    responses={
        422: {"model": Refused, "description": "refused, nothing stored"},
        429: {"description": "slow down"},
    },
)
async def api_signals(campaign: str, body: SignalsIn, caller: ApiCaller) -> Recorded:
    """Record signals, all or nothing, as `cascade signal --import` does."""
    w = caller.web
    if not w.api_limit.allow(caller.token):
        raise HTTPException(429, "too many requests", {"Retry-After": "1"})
    when = w.now()
    if campaign not in w.zones:
        zone = await run_in_threadpool(timezone_of, w.engine, campaign)
        if zone is None:
            raise HTTPException(404, f"no campaign `{campaign}`")
        w.zones[campaign] = zone
    try:
        tz = w.zones[campaign]
        batch = [
            Signal(s.unit, s.task, parse_instant(s.at, tz) if s.at else when, dict(s.fields), n)
            for n, s in enumerate(body.signals, 1)
        ]
        posted = Batch(campaign, batch, "api", when, file="request")
        stored, known = await asyncio.wrap_future(w.writer.submit(posted))
    except CampaignInvalid as exc:
        problems = [
            {"where": f"signals[{p.line}]" if p.line else p.key, "message": p.message} for p in exc.problems
        ]
        return JSONResponse({"detail": problems}, status_code=422)  # type: ignore[return-value]
    except ValueError as exc:
        return JSONResponse({"detail": [{"where": "at", "message": str(exc)}]}, status_code=422)  # type: ignore[return-value]
    w.announce(campaign, stored)
    return Recorded(stored=stored, known=known)
