"""The operator's pages: logging in with the operator's token, and the status board.

GET  /status, /status/{campaign}     the board (after logging in; / and /login lead there)
POST /login, /logout                 a session cookie derived from CASCADE_WEB_TOKEN
"""

from __future__ import annotations

from urllib.parse import quote

import pendulum
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cascade.engine.words import deadline_short, level_name
from cascade.views.board import UNIT_STATES, board, campaigns, focus
from cascade.views.decisions import first_standing
from cascade.views.pages import broken_channels
from cascade.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    WebDep,
    client,
    login_page,
    page,
    refused,
    state_words,
    words,
)
from cascade.web.security import csrf_ok, same

SESSION_SECONDS = 12 * 3600  # an operator's login lasts a working day
SHOWN_DECISIONS = 200  # the board's first decisions in force; `cascade decisions` lists them all
SHOWN_UNITS = 3000  # a level's units drawn (a nation has 56,700 cells); `cascade status` lists them all

router = APIRouter(include_in_schema=False)


@router.get("/")
@router.get("/login")
def to_status() -> Response:
    """The site's address, or the login form's, typed or bookmarked: the board (its login form
    first), not a bare "Not Found" or "Method Not Allowed" in JSON."""
    return RedirectResponse("/status", status_code=303)


@router.get("/status", response_class=HTMLResponse)
def status_index(request: Request, w: WebDep) -> Response:
    if not w.operator(request):
        return login_page(request, w)
    with w.engine.connect() as conn:
        return page(request, "index.html", campaigns=campaigns(conn), stalled=w.stalled())


@router.post("/login")
async def login(request: Request, w: WebDep) -> Response:
    if not w.form_limit.allow("login:" + client(request)):
        return refused(request, words("too_many_logins"), 429)
    data = await request.form()
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not csrf_ok(w.config.secret, nonce, str(data.get("csrf", "")), "login"):
        return refused(request, words("session_page"))
    token = str(data.get("token", ""))
    if not w.config.operator_token or not same(token, w.config.operator_token):
        return login_page(request, w, error=words("wrong_token"), status=401)
    target = str(data.get("next", "/status"))
    response = RedirectResponse(target if target.startswith("/status") else "/status", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        w.session(),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=w.config.https,
    )
    return response


@router.post("/logout")
def logout(w: WebDep) -> Response:
    response = RedirectResponse("/status", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", secure=w.config.https)
    return response


@router.get("/status/{campaign}", response_class=HTMLResponse)
def status_page(
    request: Request,
    w: WebDep,
    campaign: str,
    overdue: bool = False,
    level: str | None = None,
    task: str | None = None,
) -> Response:
    if not w.operator(request):
        return login_page(request, w, next_url=f"/status/{quote(campaign)}")
    with w.engine.connect() as conn:
        data = board(conn, campaign, int(w.now().timestamp()))
        decided = first_standing(conn, campaign, SHOWN_DECISIONS)  # (none: no such campaign, said below)
    if data is None:
        return refused(request, words("no_campaign", name=campaign), 404)
    tz = data.timezone
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
        words=state_words(),
        states=UNIT_STATES,
        tz=tz,
        limit=SHOWN_UNITS,
        titles={t.task: t.title for t in data.tasks},  # (the overdue list names tasks as people do)
        decisions=decided,  # in force: the extensions and exemptions of `cascade decisions`
        day=lambda epoch: deadline_short(epoch, tz),
        moment=lambda epoch: pendulum.from_timestamp(epoch, tz=tz).format("DD/MM/YYYY HH:mm"),
        level_name=level_name,
        stalled=w.stalled(campaign),
        channel_alerts=broken_channels(w.engine, campaign),
    )
