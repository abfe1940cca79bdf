"""The JSON API, for provincial e-office systems (described by /openapi.json; Bearer token).

    GET  /api/campaigns                          the deployed campaigns
    GET  /api/campaigns/{id}/status              units by level with their state
    GET  /api/campaigns/{id}/events              the log (§6), newest first, paged by Link
    GET  /api/campaigns/{id}/decisions           the extensions and exemptions in force
    POST /api/campaigns/{id}/signals             record signals, all or nothing
    POST /api/campaigns/{id}/withdrawals         take back a unit's signals for a task

Signals are recorded as `cascade signal --import` records them: same validation, same
idempotency, same events; a withdrawal is `cascade withdraw`'s.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

import pendulum
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cascade.engine import deployed
from cascade.engine.early import Early as EarlySignal
from cascade.engine.signals import Batch, Signal
from cascade.errors import CampaignInvalid
from cascade.timing.deadlines import zone
from cascade.timing.instants import parse_instant
from cascade.views import eventlog
from cascade.views.board import board, campaigns
from cascade.views.decisions import standing
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


class Unchanged(BaseModel):
    unit: str = Field(description="unit id")
    task: str
    state: str = Field(description="done or done_late, by an earlier signal")
    done_at: str = Field(description="when it was done, by that earlier signal (ISO)")


class Early(BaseModel):
    unit: str = Field(description="unit id")
    task: str
    at: str = Field(description="when the signal says it was done (ISO)")
    opened_by_unit: str = Field(description="the unit whose work opens this task (its parent, or itself)")
    opened_by_task: str
    opened_at: str | None = Field(
        description="when that work was done, or is dated by a signal waiting for a tick (ISO); "
        "null: nothing is recorded for it yet"
    )


class Recorded(BaseModel):
    stored: int = Field(description="new signals")
    known: int = Field(description="signals recorded before (the same signal again is stored once)")
    unchanged: list[Unchanged] = Field(
        default_factory=list,
        description="this post's signals for a task an earlier signal had already finished: kept, but "
        "they change nothing (the first signal counts; `cascade withdraw` takes back a wrong one)",
    )
    early: list[Early] = Field(
        default_factory=list,
        description="this post's signals dated before the work that opens their task (a district's "
        "conference before its province's): kept as dated; a wrong date is taken back with a withdrawal",
    )


class WithdrawalIn(BaseModel):
    unit: str = Field(max_length=200, description="unit id or exact name")
    task: str = Field(max_length=64, description="task or report id")
    reason: str = Field(max_length=500, description="why: kept in the audit log, told to the unit")


class Withdrawal(BaseModel):
    unit: str = Field(description="unit id")
    task: str
    done_at: str | None = Field(description="the completion taken back (ISO), or null: none was applied yet")
    state: str = Field(description="the task's state now: open, held or overdue")
    signals: int = Field(description="signals marked withdrawn")


class DecisionOut(BaseModel):
    unit: str = Field(description="unit id")
    unit_name: str
    task: str = Field(description="task or report id")
    task_title: str
    decision: str = Field(description="extension or exemption")
    deadline: str | None = Field(description="an extension's deadline (ISO; the end of its last day)")
    file_deadline: str | None = Field(description="the deadline the campaign file gives (ISO), if kept")
    state: str = Field(description="the task's state now")
    reason: str
    by: str = Field(description="the operator, or the parent unit's name that approved the unit's request")
    at: str = Field(description="when it was decided (ISO)")
    requested: bool = Field(description="approved from the unit's own request")


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


@router.get("/campaigns/{campaign}/decisions", tags=["status"], responses=NOT_FOUND)
def api_decisions(campaign: str, caller: ApiCaller) -> list[DecisionOut]:
    """The decisions in force, as `cascade decisions` lists them: each unit's extension and
    exemption, without those taken back, in the tree's order."""
    with caller.web.engine.connect() as conn:
        row = deployed.read(conn, campaign)
        if row is None:
            raise HTTPException(404, f"no campaign `{campaign}`")
        found = standing(conn, campaign)

    tz, said = zone(row.timezone), {}  # (a nation's 56,700 extensions share a few instants)

    def iso(epoch: int | None) -> str | None:
        if epoch is None:
            return None
        if epoch not in said:
            said[epoch] = pendulum.from_timestamp(epoch, tz=tz).isoformat()
        return said[epoch]

    return [
        DecisionOut(
            unit=s.unit,
            unit_name=s.name,
            task=s.task,
            task_title=s.title,
            decision=s.kind,
            deadline=iso(s.deadline),
            file_deadline=iso(s.file_deadline),
            state=s.state,
            reason=s.reason,
            by=s.by,
            at=iso(s.at) or "",
            requested=s.requested,
        )
        for s in found
    ]


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
        found = await run_in_threadpool(timezone_of, w.engine, campaign)
        if found is None:
            raise HTTPException(404, f"no campaign `{campaign}`")
        w.zones[campaign] = found
    try:
        tz = w.zones[campaign]
        batch = [
            Signal(s.unit, s.task, parse_instant(s.at, tz) if s.at else when, dict(s.fields), n)
            for n, s in enumerate(body.signals, 1)
        ]
        posted = Batch(campaign, batch, "api", when, file="request", tell=True)
        answer = await asyncio.wrap_future(w.writer.submit(posted))
    except CampaignInvalid as exc:
        problems = [
            {"where": f"signals[{p.line}]" if p.line else p.key, "message": p.message} for p in exc.problems
        ]
        return JSONResponse({"detail": problems}, status_code=422)  # type: ignore[return-value]
    except ValueError as exc:
        return JSONResponse({"detail": [{"where": "at", "message": str(exc)}]}, status_code=422)  # type: ignore[return-value]
    stored, known = answer
    w.announce(campaign, stored)  # (what it tells was read in the transaction that stored them)
    unchanged = [
        Unchanged(
            unit=u.unit,
            task=u.task,
            state=u.state,
            done_at=pendulum.from_timestamp(u.done_at, tz=zone(tz)).isoformat(),
        )
        for u in answer.unchanged
    ]
    early = [_early_out(e, tz) for e in answer.early]
    return Recorded(stored=stored, known=known, unchanged=unchanged, early=early)


def _early_out(e: EarlySignal, tz: str) -> Early:
    opened = None if e.opener_at is None else pendulum.from_timestamp(e.opener_at, tz=zone(tz)).isoformat()
    return Early(
        unit=e.unit,
        task=e.task,
        at=pendulum.from_timestamp(e.at, tz=zone(tz)).isoformat(),
        opened_by_unit=e.opener_unit,
        opened_by_task=e.opener_task,
        opened_at=opened,
    )


@router.post(
    "/campaigns/{campaign}/withdrawals",
    tags=["signals"],
    responses={422: {"model": Refused, "description": "refused, nothing changed"}, **NOT_FOUND},
)
def api_withdrawals(campaign: str, body: WithdrawalIn, caller: ApiCaller) -> Withdrawal:
    """Take back a unit's signals for a task, recorded by mistake, as `cascade withdraw` does:
    kept and marked, the task as it would be without them, the unit told."""
    from cascade.engine.decisions import DecisionRefused, withdraw

    w = caller.web
    tz = timezone_of(w.engine, campaign)
    if tz is None:
        raise HTTPException(404, f"no campaign `{campaign}`")
    try:
        with w.engine.begin() as conn:
            taken = withdraw(conn, campaign, body.task, body.unit, body.reason, "api", w.now())
    except DecisionRefused as refused:
        problems = [{"where": "request", "message": p} for p in refused.problems]
        return JSONResponse({"detail": problems}, status_code=422)  # type: ignore[return-value]
    done = pendulum.from_timestamp(taken.done_at, tz=tz).isoformat() if taken.done_at is not None else None
    return Withdrawal(unit=taken.unit, task=body.task, done_at=done, state=taken.state, signals=taken.signals)
