"""The web application `cascade serve` (and `cascade web`) runs: signed forms for officials,
the operator's status board, and a JSON API described by /openapi.json.

    GET/POST /l/{campaign}/{unit}/{task}?exp=..&sig=..   the form a notice links to
    GET      /status, /status/{campaign}                 the board (operator token, by login)
    GET      /api/campaigns[/{id}/status|/events]         the same as JSON (Bearer token)
    POST     /api/campaigns/{id}/signals                  record signals (Bearer token)

A form and the API record signals through `cascade.engine.signals.record`, as `cascade signal`
does: same validation, same idempotency, same events (and the same announcement to Prefect
when a Prefect API is known, so the campaign ticks within seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import pendulum
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from cascade.engine import decisions, health, store
from cascade.engine.faults import StoreFault
from cascade.engine.links import AnswerLink, Link, LinkRefused, verify
from cascade.engine.rollup import load_for as load_rollup
from cascade.engine.signals import Batch, Signal, parse_instant
from cascade.engine.summary import level_name
from cascade.errors import CampaignInvalid
from cascade.plan.hierarchy import parent_of
from cascade.plan.rules import campaign_rules
from cascade.settings import WebSettings
from cascade.timing.deadlines import last_day_of, parse_date
from cascade.views import eventlog
from cascade.views.board import UNIT_STATES, board, campaigns, focus
from cascade.web.security import (
    CSRF_COOKIE,
    HEADERS,
    MAX_BODY,
    BodyLimit,
    RateLimit,
    SecurityHeaders,
    csrf_ok,
    csrf_token,
    new_nonce,
    same,
)
from cascade.web.writer import SignalWriter
from notifiers.render import deadline_text

log = logging.getLogger("cascade.web")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
SESSION_COOKIE = "cascade_operator"
# each page family has its own CSRF cookie: one name on two paths (the login's "/" and the
# forms' "/l/") sent the browser both, and after an operator's login every form was refused
ANSWER_CSRF_COOKIE = "cascade_csrf_answer"  # the answer pages' (path /x/)
LOGIN_CSRF_COOKIE = "cascade_csrf_login"  # the login form's (path /login)
SESSION_SECONDS = 12 * 3600  # an operator's login lasts a working day
MAX_EXTENSION_DAYS = 366  # the latest day a unit may ask for, counted from today
STATE_WORDS = {
    "done": "đã hoàn thành",
    "late": "hoàn thành muộn",
    "overdue": "quá hạn",
    "open": "đang thực hiện",
    "none": "không có việc",
}


Announce = Callable[[str, int], None]  # (campaign, signals stored)


@dataclass
class WebConfig:
    secret: bytes  # signs links and CSRF tokens
    operator_token: str  # the status board and the API
    form_rate: str = "30/60"  # form submissions per client address: 30 a minute
    api_rate: str = "2000/1"  # API signal posts per token
    announce: Announce | None = None  # tells the scheduler a campaign has new signals (best effort)
    tick_interval: int = 600  # seconds, for campaigns whose deployment recorded none (watchdog)
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


def create_app(
    engine: Engine, config: WebConfig, clock: Callable[[], pendulum.DateTime] = pendulum.now
) -> FastAPI:
    app = FastAPI(
        title="Cascade",
        summary="Campaign status and signals for provincial e-office systems",
        version="1",
        docs_url=None,
        redoc_url=None,
    )
    app.state.config = config
    writer = SignalWriter(engine)  # concurrent posts share a transaction (see cascade.web.writer)
    announcer = Announcer(config.announce) if config.announce else None
    form_limit, api_limit = RateLimit.parse(config.form_rate), RateLimit.parse(config.api_rate)

    def now() -> pendulum.DateTime:
        return clock()

    def stalled(campaign: str | None = None) -> list[health.Health]:
        """The campaigns (or `campaign`) that stopped ticking, for the pages' banner."""
        return [h for h in health.read(engine, int(time.time()), config.tick_interval, campaign) if h.stalled]

    def broken_channels(campaign: str) -> list[dict[str, Any]]:
        """The campaign's broken channels, and whether the operator has been told of each."""
        a = store.channel_alerts.c
        with engine.connect() as conn:
            tz = conn.execute(
                select(store.campaigns.c.timezone).where(store.campaigns.c.id == campaign)
            ).scalar()
            rows = conn.execute(select(store.channel_alerts).where(a.campaign_id == campaign)).all()

        def when(t: int) -> str:
            return str(pendulum.from_timestamp(t, tz=tz or "UTC").format("HH:mm DD/MM/YYYY"))

        return [
            {
                "channel": r.channel,
                "detail": r.detail,
                "since": when(r.since),
                "told": when(r.delivered_at) if r.delivered_at else None,
                "tries": r.tries,
            }
            for r in rows
        ]

    def client(request: Request) -> str:
        return request.client.host if request.client else "?"

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status)

    def refused(request: Request, reason: str, status: int = 403) -> HTMLResponse:
        return page(request, "refused.html", status, reason=reason)

    # ---- signed forms --------------------------------------------------------------------

    def instance(campaign_id: str, unit: str, task: str) -> tuple[Any, Any, Any] | None:
        c, i, u = store.campaigns, store.instances, store.units
        with engine.connect() as conn:
            campaign = conn.execute(select(c).where(c.c.id == campaign_id)).first()
            row = conn.execute(
                select(i).where(
                    i.c.campaign_id == campaign_id,
                    i.c.unit_id == unit,
                    i.c.task_id == task,
                    i.c.archived.is_(False),
                )
            ).first()
            unit_row = conn.execute(
                select(u.c.name, u.c.path).where(u.c.campaign_id == campaign_id, u.c.id == unit)
            ).first()
        if campaign is None or row is None or unit_row is None:
            return None
        return campaign, row, unit_row

    def page_context(campaign: Any, row: Any, unit_row: Any) -> dict[str, Any]:
        """What every page about an instance shows: the campaign, the task, the unit, the deadline."""
        task = campaign_rules(campaign)[row.task_id]
        return {
            "campaign": campaign,
            "task": task,
            "unit_name": unit_row.name,
            "deadline": deadline_text(row.deadline, campaign.timezone) if row.deadline is not None else None,
            "report": task.kind == "report",
        }

    def form_inputs(campaign: Any, row: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
        """The form's fields: the task's own, and for a report its roll-up figures, pre-filled."""
        rules = campaign_rules(campaign)
        task = rules[row.task_id]
        inputs = [
            {
                "name": name,
                "label": spec.title or name,
                "type": spec.type or "float",
                "required": spec.required,
                "value": values.get(name, ""),
            }
            for name, spec in task.fields.items()
            if spec.formula is None
        ]
        if task.kind == "report" and task.rollup:
            with engine.connect() as conn:
                rollup = load_rollup(conn, campaign, task, rules, [row.unit_id])
            computed = rollup.computed_of(row.unit_id)
            for figure in rollup.figures:
                if figure.kind == "rate":
                    continue
                value = values.get(figure.key, computed.get(figure.key))
                inputs.append(
                    {
                        "name": figure.key,
                        "label": figure.label(rules),
                        "type": "float",
                        "required": False,
                        "value": "" if value is None else value,
                        "computed": computed.get(figure.key),
                    }
                )
        return inputs

    def timezone_of(campaign: str) -> str | None:
        with engine.connect() as conn:
            c = store.campaigns.c
            return conn.execute(select(c.timezone).where(c.id == campaign)).scalar()

    def checked_link(campaign: str, unit: str, task: str, exp: int, sig: str) -> Link:
        link = Link(campaign, unit, task, exp)
        verify(config.secret, link, sig, int(now().timestamp()))
        return link

    async def guarded(request: Request, check: Callable[[], object], cookie: str, sig: str) -> Any:
        """A signed page's post, or the refusal it gets: over the rate limit, a bad or expired
        link (`check` raises LinkRefused), no CSRF token matching its cookie."""
        if not form_limit.allow(client(request)):
            return refused(
                request, "Quá nhiều lần gửi trong thời gian ngắn; đề nghị thử lại sau ít phút.", 429
            )
        try:
            check()
        except LinkRefused as exc:
            return refused(request, str(exc))
        data = await request.form()
        if not csrf_ok(config.secret, request.cookies.get(cookie), str(data.get("csrf", "")), sig):
            return refused(request, "Phiên làm việc không hợp lệ; đề nghị mở lại đường dẫn trong thông báo.")
        return data

    @app.get("/l/{campaign}/{unit}/{task}", response_class=HTMLResponse, include_in_schema=False)
    def form(request: Request, campaign: str, unit: str, task: str, exp: int = 0, sig: str = "") -> Response:
        try:
            checked_link(campaign, unit, task, exp, sig)
        except LinkRefused as exc:
            return refused(request, str(exc))
        found = instance(campaign, unit, task)
        if found is None:
            return refused(request, "Nội dung này không còn trong chiến dịch.", 404)
        campaign_row, row, unit_row = found
        context = page_context(campaign_row, row, unit_row)
        if row.state in ("done", "done_late"):
            done = pendulum.from_timestamp(row.done_at, tz=campaign_row.timezone).format("HH:mm DD/MM/YYYY")
            return page(request, "done.html", already=True, done=done, **context)
        nonce = new_nonce()
        inputs = form_inputs(campaign_row, row, {})
        csrf = csrf_token(config.secret, nonce, sig)
        extension = extension_box(request, campaign_row, row, unit_row)
        response = page(
            request, "form.html", csrf=csrf, errors=[], inputs=inputs, extension=extension, **context
        )
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/l/")
        return response

    # ---- asking for more time, and the parent's answer (spec §7) ---------------------------

    def unit_name_of(campaign: str, unit: str | None) -> str:
        if unit is None:
            return ""
        with engine.connect() as conn:
            u = store.units.c
            name = conn.execute(select(u.name).where(u.campaign_id == campaign, u.id == unit)).scalar()
        return str(name or unit)

    def extension_box(
        request: Request, campaign_row: Any, row: Any, unit_row: Any, errors: list[str] | None = None,
        values: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:  # fmt: skip
        """The "Xin gia hạn" form under an open (or overdue, or held) instance with a deadline and
        a parent to ask; or the pending request's note."""
        parent = parent_of(unit_row.path)
        if parent is None or row.deadline is None or row.state not in ("open", "held", "overdue"):
            return None
        tz = campaign_row.timezone
        with engine.connect() as conn:
            pending = decisions.pending_request(conn, campaign_row.id, row.task_id, row.unit_id)
        box: dict[str, Any] = {"parent": unit_name_of(campaign_row.id, parent)}
        if pending is not None:
            box["pending"] = last_day_of(pending.deadline, tz).format("DD/MM/YYYY")
            return box
        today = now().in_timezone(tz).date()
        first = max(last_day_of(row.deadline, tz).add(days=1), today)
        path = request.url.path.removesuffix("/extension")
        box.update(
            action=f"{path}/extension?{request.url.query}",
            min=first.isoformat(),
            max=today.add(days=MAX_EXTENSION_DAYS).isoformat(),
            errors=errors or [],
            value=(values or {}).get("deadline", ""),
            reason=(values or {}).get("reason", ""),
        )
        return box

    @app.post("/l/{campaign}/{unit}/{task}/extension", response_class=HTMLResponse, include_in_schema=False)
    async def ask(
        request: Request, campaign: str, unit: str, task: str, exp: int = 0, sig: str = ""
    ) -> Response:
        check = functools.partial(checked_link, campaign, unit, task, exp, sig)
        data = await guarded(request, check, CSRF_COOKIE, sig)
        if isinstance(data, Response):
            return data
        found = await run_in_threadpool(instance, campaign, unit, task)
        if found is None:
            return refused(request, "Nội dung này không còn trong chiến dịch.", 404)
        campaign_row, row, unit_row = found
        tz = campaign_row.timezone
        values = {k: str(data.get(k, "")).strip() for k in ("deadline", "reason")}
        box = await run_in_threadpool(extension_box, request, campaign_row, row, unit_row)
        if box is None or "pending" in box:
            why = "Đã có đề nghị gia hạn đang chờ trả lời." if box else "Việc này không thể xin gia hạn."
            return refused(request, why, 409)
        errors, proposed = [], None
        try:
            day = parse_date(values["deadline"])
            proposed = int(pendulum.datetime(day.year, day.month, day.day, tz=tz).add(days=1).timestamp())
        except ValueError:
            errors.append("Đề nghị chọn ngày gia hạn (ngày cuối cùng được tính).")
        if proposed is not None and proposed <= max(row.deadline, int(now().timestamp())):
            errors.append("Ngày đề nghị phải sau hạn chót hiện tại và sau hôm nay.")
        elif proposed is not None and proposed > int(now().add(days=MAX_EXTENSION_DAYS + 1).timestamp()):
            errors.append(f"Chỉ xin gia hạn tối đa {MAX_EXTENSION_DAYS} ngày kể từ hôm nay.")
        if not values["reason"]:
            errors.append("Đề nghị nêu lý do xin gia hạn.")
        elif len(values["reason"]) > 1000:
            errors.append("Lý do tối đa 1.000 ký tự.")
        if errors or proposed is None:
            inputs = await run_in_threadpool(form_inputs, campaign_row, row, {})
            box = await run_in_threadpool(extension_box, request, campaign_row, row, unit_row, errors, values)
            return page(
                request, "form.html", 422, csrf=str(data.get("csrf", "")), errors=[], inputs=inputs,
                extension=box, **page_context(campaign_row, row, unit_row),
            )  # fmt: skip

        def store_request() -> None:
            with engine.begin() as conn:
                decisions.request_extension(conn, campaign, task, unit, proposed, values["reason"], now())

        await run_in_threadpool(store_request)
        if announcer:
            announcer.announce(campaign, 1)
        last = last_day_of(proposed, tz).format("DD/MM/YYYY")
        context = page_context(campaign_row, row, unit_row)
        return page(request, "asked.html", proposed=last, parent=box["parent"], **context)

    def extension_request(campaign: str, request_id: int) -> tuple[Any, Any, Any, Any] | None:
        r = store.extension_requests.c
        with engine.connect() as conn:
            req = conn.execute(
                select(store.extension_requests).where(r.campaign_id == campaign, r.id == request_id)
            ).first()
        if req is None:
            return None
        found = instance(campaign, req.unit_id, req.task_id)
        return None if found is None else (req, *found)

    def answer_context(
        req: Any, campaign_row: Any, row: Any, unit_row: Any, just: bool = False
    ) -> dict[str, Any]:
        tz = campaign_row.timezone
        context = page_context(campaign_row, row, unit_row)
        context.update(proposed=last_day_of(req.deadline, tz).format("DD/MM/YYYY"), reason=req.reason)
        if req.status != "pending":
            when = pendulum.from_timestamp(req.answered_at, tz=tz).format("HH:mm DD/MM/YYYY")
            verdict = "Đã đồng ý gia hạn" if req.status == "approved" else "Đã không đồng ý gia hạn"
            if just:
                context["answered"] = f"{verdict}; {unit_row.name} sẽ được thông báo."
            else:
                context["answered"] = f"Đề nghị này đã được trả lời lúc {when}: {verdict.lower()}."
        return context

    def checked_answer(campaign: str, request_id: int, action: str, exp: int, sig: str) -> None:
        if action not in ("approve", "deny"):
            raise LinkRefused("Đường dẫn không hợp lệ.")
        verify(config.secret, AnswerLink(campaign, request_id, action, exp), sig, int(now().timestamp()))

    @app.get("/x/{campaign}/{request_id}/{action}", response_class=HTMLResponse, include_in_schema=False)
    def answer_form(
        request: Request, campaign: str, request_id: int, action: str, exp: int = 0, sig: str = ""
    ) -> Response:
        try:
            checked_answer(campaign, request_id, action, exp, sig)
        except LinkRefused as exc:
            return refused(request, str(exc))
        found = extension_request(campaign, request_id)
        if found is None:
            return refused(request, "Đề nghị này không còn trong chiến dịch.", 404)
        nonce = new_nonce()
        context = answer_context(*found)
        csrf = csrf_token(config.secret, nonce, sig)
        response = page(request, "answer.html", csrf=csrf, approve=action == "approve", **context)
        response.set_cookie(ANSWER_CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/x/")
        return response

    @app.post("/x/{campaign}/{request_id}/{action}", response_class=HTMLResponse, include_in_schema=False)
    async def answer(
        request: Request, campaign: str, request_id: int, action: str, exp: int = 0, sig: str = ""
    ) -> Response:
        check = functools.partial(checked_answer, campaign, request_id, action, exp, sig)
        data = await guarded(request, check, ANSWER_CSRF_COOKIE, sig)
        if isinstance(data, Response):
            return data

        def apply() -> str | None:
            try:
                with engine.begin() as conn:
                    decisions.answer_request(conn, campaign, request_id, action == "approve", now())
            except decisions.AlreadyAnswered:
                return None
            except decisions.DecisionRefused:
                return (
                    "Không thể gia hạn: ngày đề nghị đã qua, hoặc hạn chót đã được điều chỉnh muộn hơn. "
                    "Đơn vị có thể gửi đề nghị mới."
                )
            return None

        problem = await run_in_threadpool(apply)
        if problem:
            return refused(request, problem, 409)
        found = await run_in_threadpool(extension_request, campaign, request_id)
        if found is None:
            return refused(request, "Đề nghị này không còn trong chiến dịch.", 404)
        if announcer:
            announcer.announce(campaign, 1)
        context = answer_context(*found, just=True)
        return page(request, "answer.html", csrf="", approve=action == "approve", **context)

    @app.post("/l/{campaign}/{unit}/{task}", response_class=HTMLResponse, include_in_schema=False)
    async def submit(
        request: Request, campaign: str, unit: str, task: str, exp: int = 0, sig: str = ""
    ) -> Response:
        check = functools.partial(checked_link, campaign, unit, task, exp, sig)
        data = await guarded(request, check, CSRF_COOKIE, sig)
        if isinstance(data, Response):
            return data
        found = await run_in_threadpool(instance, campaign, unit, task)  # the store, off the event loop
        if found is None:
            return refused(request, "Nội dung này không còn trong chiến dịch.", 404)
        campaign_row, row, unit_row = found
        values = {k: str(v).strip() for k, v in data.items() if k != "csrf" and str(v).strip() != ""}
        when = now()
        try:
            posted = Batch(campaign, [Signal(unit, task, when, values)], "web", when, file="form")
            stored, _ = await asyncio.wrap_future(writer.submit(posted))
        except CampaignInvalid as exc:
            errors = [p.message for p in exc.problems]
            inputs = await run_in_threadpool(form_inputs, campaign_row, row, values)
            return page(
                request,
                "form.html",
                422,
                csrf=str(data.get("csrf", "")),
                errors=errors,
                inputs=inputs,
                **page_context(campaign_row, row, unit_row),
            )
        if stored and announcer:
            announcer.announce(campaign, stored)
        done = when.format("HH:mm DD/MM/YYYY")
        return page(
            request, "done.html", already=False, done=done, **page_context(campaign_row, row, unit_row)
        )

    # ---- operator: login and the board ----------------------------------------------------

    def operator(request: Request) -> bool:
        token = request.cookies.get(SESSION_COOKIE, "")
        return bool(config.operator_token) and same(token, _session(config))

    @app.get("/status", response_class=HTMLResponse, include_in_schema=False)
    def status_index(request: Request) -> Response:
        if not operator(request):
            return _login_page(request, page, config)
        with engine.connect() as conn:
            return page(request, "index.html", campaigns=campaigns(conn), stalled=stalled())

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        if not form_limit.allow("login:" + client(request)):
            return refused(request, "Quá nhiều lần đăng nhập; đề nghị thử lại sau.", 429)
        data = await request.form()
        nonce = request.cookies.get(LOGIN_CSRF_COOKIE)
        if not csrf_ok(config.secret, nonce, str(data.get("csrf", "")), "login"):
            return refused(request, "Phiên làm việc không hợp lệ; đề nghị tải lại trang.")
        token = str(data.get("token", ""))
        if not config.operator_token or not same(token, config.operator_token):
            return _login_page(request, page, config, error="Mã truy cập không đúng.", status=401)
        target = str(data.get("next", "/status"))
        response = RedirectResponse(target if target.startswith("/status") else "/status", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            _session(config),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=config.https,
        )
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/status", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", secure=config.https)
        return response

    @app.get("/status/{campaign}", response_class=HTMLResponse, include_in_schema=False)
    def status_page(
        request: Request,
        campaign: str,
        overdue: bool = False,
        level: str | None = None,
        task: str | None = None,
    ) -> Response:
        if not operator(request):
            return _login_page(request, page, config, next_url=f"/status/{quote(campaign)}")
        with engine.connect() as conn:
            data = board(conn, campaign, int(now().timestamp()))
        if data is None:
            return refused(request, f"Không có chiến dịch {campaign}.", 404)
        if task and task in {t.task for t in data.tasks}:
            data = focus(data, task)
        else:
            task = None
        return page(
            request,
            "status.html",
            board=data,
            overdue=overdue,
            level=level,
            task=task,
            words=STATE_WORDS,
            states=UNIT_STATES,
            tz=data.timezone,
            limit=3000,
            level_name=level_name,
            stalled=stalled(campaign),
            channel_alerts=broken_channels(campaign),
        )

    # ---- JSON API ---------------------------------------------------------------------------

    @app.get("/api/campaigns", tags=["status"])
    def api_campaigns(_: Token) -> list[dict[str, str]]:
        """The deployed campaigns."""
        with engine.connect() as conn:
            return [{"id": cid, "title": title} for cid, title in campaigns(conn)]

    @app.get(
        "/api/campaigns/{campaign}/status",
        tags=["status"],
        responses={404: {"description": "no such campaign"}},
    )
    def api_status(campaign: str, _: Token) -> dict[str, Any]:
        """Units by level with their state, counts per state, each task's progress."""
        with engine.connect() as conn:
            data = board(conn, campaign, int(now().timestamp()), events=0)
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
            "tasks": [
                {"task": t.task, "title": t.title, "total": t.total, "done": t.done} for t in data.tasks
            ],
        }

    @app.get(
        "/api/campaigns/{campaign}/events",
        tags=["status"],
        responses={404: {"description": "no such campaign"}},
    )
    def api_events(
        campaign: str,
        _: Token,
        response: Response,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before: Annotated[
            str | None, Query(description="the cursor of the next page (its Link header)")
        ] = None,
    ) -> list[dict[str, Any]]:
        """The campaign's log (§6), newest first, `limit` at a time: while there is more, the
        `Link` header (rel="next") gives the next page's address."""
        after = None
        if before:
            try:
                at, eid = (int(x) for x in before.split(":", 1))
            except ValueError:
                raise HTTPException(
                    422, "`before` is a cursor from a Link header, e.g. 1606064400:42"
                ) from None
            after = (at, eid)
        with engine.connect() as conn:
            tz = conn.execute(
                select(store.campaigns.c.timezone).where(store.campaigns.c.id == campaign)
            ).scalar()
            if tz is None:
                raise HTTPException(404, f"no campaign `{campaign}`")
            lines, cursor = eventlog.page(
                conn, campaign, tz, eventlog.Filter(), limit, after, newest_first=True
            )
        if cursor is not None:
            path = f"/api/campaigns/{quote(campaign, safe='')}/events"
            nxt = f"{path}?limit={limit}&before={cursor[0]}:{cursor[1]}"
            response.headers["Link"] = f'<{nxt}>; rel="next"'
        return lines

    zones: dict[str, str] = {}  # campaign -> timezone (a campaign's timezone does not change)

    @app.post(
        "/api/campaigns/{campaign}/signals",
        tags=["signals"],
        status_code=201,
        responses={
            422: {"model": Refused, "description": "refused, nothing stored"},
            429: {"description": "slow down"},
        },
    )
    async def api_signals(campaign: str, body: SignalsIn, token: Token) -> Recorded:
        """Record signals, all or nothing, as `cascade signal --import` does."""
        if not api_limit.allow(token):
            raise HTTPException(429, "too many requests", {"Retry-After": "1"})
        when = now()
        if campaign not in zones:
            zone = await run_in_threadpool(timezone_of, campaign)
            if zone is None:
                raise HTTPException(404, f"no campaign `{campaign}`")
            zones[campaign] = zone
        try:
            tz = zones[campaign]
            batch = [
                Signal(s.unit, s.task, parse_instant(s.at, tz) if s.at else when, dict(s.fields), n)
                for n, s in enumerate(body.signals, 1)
            ]
            posted = Batch(campaign, batch, "api", when, file="request")
            stored, known = await asyncio.wrap_future(writer.submit(posted))
        except CampaignInvalid as exc:
            problems = [
                {"where": f"signals[{p.line}]" if p.line else p.key, "message": p.message}
                for p in exc.problems
            ]
            return JSONResponse({"detail": problems}, status_code=422)  # type: ignore[return-value]
        except ValueError as exc:
            return JSONResponse({"detail": [{"where": "at", "message": str(exc)}]}, status_code=422)  # type: ignore[return-value]
        if stored and announcer:
            announcer.announce(campaign, stored)
        return Recorded(stored=stored, known=known)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        """The web application answers; per deployed campaign, how long ago it last ticked and
        whether it has stalled (no tick for three intervals: the scheduler is not running it)."""
        campaigns = {
            h.campaign: {
                "last_tick_age_s": h.age if h.ticked_at is not None else None,
                "since_deploy_s": h.age if h.ticked_at is None else None,
                "interval_s": h.interval,
                "stalled": h.stalled,
            }
            for h in health.read(engine, int(time.time()), config.tick_interval)
        }
        stalled = any(c["stalled"] for c in campaigns.values())
        return {"status": "stalled" if stalled else "ok", "campaigns": campaigns}

    async def server_error(request: Request, exc: Exception) -> Response:
        """A bug's answer: a plain 500 that names nothing inside, with the same security headers
        as every other response (Starlette answers it outside the middleware that adds them)."""
        log.exception("%s %s failed", request.method, request.url.path)
        headers = {name.decode(): value.decode() for name, value in HEADERS}
        return Response("Lỗi hệ thống; đề nghị thử lại sau.", 500, headers=headers, media_type="text/plain")

    async def store_unavailable(request: Request, error: Exception) -> Response:
        """The store is locked, full, read-only or down: 503 and when to try again, not a 500."""
        fault = StoreFault.of(error, str(engine.url.render_as_string(hide_password=True)))
        log.error("%s %s: %s", request.method, request.url.path, fault)
        text = "Hệ thống tạm thời không ghi được dữ liệu; đề nghị thử lại sau ít phút."
        return Response(text, 503, headers={"Retry-After": "30"}, media_type="text/plain")

    app.add_exception_handler(OperationalError, store_unavailable)
    app.add_exception_handler(Exception, server_error)
    app.add_middleware(BodyLimit, limit=config.max_body)
    app.add_middleware(SecurityHeaders)
    return app


async def bearer(request: Request) -> str:
    """The API's token (`Authorization: Bearer ...`), checked against the operator's."""
    expected: str = request.app.state.config.operator_token
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not same(token.strip(), expected):
        raise HTTPException(
            401, "a Bearer token is required (CASCADE_WEB_TOKEN)", {"WWW-Authenticate": "Bearer"}
        )
    return token.strip()


Token = Annotated[str, Depends(bearer)]


def _session(config: WebConfig) -> str:
    """The operator's cookie: derived from the token, so it is never the token itself."""
    return hmac.new(config.secret, b"operator\x1f" + config.operator_token.encode(), "sha256").hexdigest()


def _login_page(
    request: Request,
    page: Callable[..., HTMLResponse],
    config: WebConfig,
    error: str | None = None,
    status: int = 401,
    next_url: str = "/status",
) -> HTMLResponse:
    nonce = new_nonce()
    response = page(
        request,
        "login.html",
        status,
        csrf=csrf_token(config.secret, nonce, "login"),
        error=error,
        next_url=next_url,
        configured=bool(config.operator_token),
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/login")
    return response


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
