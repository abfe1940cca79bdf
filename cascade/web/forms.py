"""The officials' pages: the signed form a notice links to, asking for more time, and the
parent's answer to such a request (spec §7).

    GET/POST /l/{campaign}/{unit}/{task}?exp=..&sig=..      the form a notice links to
    POST     /l/{campaign}/{unit}/{task}/extension?...       a unit asks for more time
    GET/POST /x/{campaign}/{request}/{approve|deny}?...      its parent answers

Every link is signed and expires (`cascade.engine.links`); every post carries a CSRF token
bound to its link, and is rate-limited per client address.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import pendulum
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Row
from starlette.concurrency import run_in_threadpool

from cascade.engine import decisions, requests
from cascade.engine.links import AnswerLink, Link, LinkRefused, verify
from cascade.engine.machine import summary_before
from cascade.engine.signals import Batch, Signal
from cascade.errors import CampaignInvalid
from cascade.plan.hierarchy import parent_of
from cascade.timing.deadlines import last_day_of, parse_date
from cascade.views.pages import Found, extension_request, form_inputs, instance, page_context, unit_name_of
from cascade.web.deps import Web, WebDep, client, page, refused, words
from cascade.web.security import CSRF_COOKIE, csrf_ok, csrf_token, new_nonce
from notifiers.render import days_left

ANSWER_CSRF_COOKIE = "cascade_csrf_answer"  # the answer pages' (path /x/)
MAX_EXTENSION_DAYS = 366  # the latest day a unit may ask for, counted from today

router = APIRouter(include_in_schema=False)


def checked_link(w: Web, campaign: str, unit: str, task: str, exp: int, sig: str) -> Link:
    link = Link(campaign, unit, task, exp)
    verify(w.config.secret, link, sig, int(w.now().timestamp()))
    return link


def checked_answer(w: Web, campaign: str, request_id: int, action: str, exp: int, sig: str) -> None:
    if action not in ("approve", "deny"):
        raise LinkRefused("bad")
    verify(w.config.secret, AnswerLink(campaign, request_id, action, exp), sig, int(w.now().timestamp()))


async def guarded(w: Web, request: Request, check: Callable[[], object], cookie: str, sig: str) -> Any:
    """A signed page's post, or the refusal it gets: over the rate limit, a bad or expired
    link (`check` raises LinkRefused), no CSRF token matching its cookie."""
    if not w.form_limit.allow(client(request)):
        return refused(request, words("too_many_posts"), 429)
    try:
        check()
    except LinkRefused as exc:
        return refused(request, words("link_" + exc.reason))
    data = await request.form()
    if not csrf_ok(w.config.secret, request.cookies.get(cookie), str(data.get("csrf", "")), sig):
        return refused(request, words("session_link"))
    return data


@router.get("/l/{campaign}/{unit}/{task}", response_class=HTMLResponse)
def form(
    request: Request, w: WebDep, campaign: str, unit: str, task: str, exp: int = 0, sig: str = ""
) -> Response:
    try:
        checked_link(w, campaign, unit, task, exp, sig)
    except LinkRefused as exc:
        return refused(request, words("link_" + exc.reason))
    found = instance(w.engine, campaign, unit, task)
    if found is None:
        return refused(request, words("gone"), 404)
    context = _form_context(w, found)
    if found.row.state in ("done", "done_late"):
        done = pendulum.from_timestamp(found.row.done_at, tz=found.campaign.timezone).format(
            "HH:mm DD/MM/YYYY"
        )
        return page(request, "done.html", already=True, done=done, **context)
    nonce = new_nonce()
    inputs = form_inputs(w.engine, found, {})
    csrf = csrf_token(w.config.secret, nonce, sig)
    extension = extension_box(w, request, found)
    response = page(request, "form.html", csrf=csrf, errors=[], inputs=inputs, extension=extension, **context)
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/l/")
    return response


def _form_context(w: Web, found: Found) -> dict[str, Any]:
    """The form's page as every answer draws it again: its task and unit, and how long is left
    before the deadline or how late it is, as the unit's notices say it."""
    left = ""
    if found.row.deadline is not None and found.row.state not in ("done", "done_late", "exempt"):
        left = days_left(found.row.deadline, int(w.now().timestamp()), found.campaign.timezone)
    return page_context(found) | {"left": left}


@router.post("/l/{campaign}/{unit}/{task}", response_class=HTMLResponse)
async def submit(
    request: Request, w: WebDep, campaign: str, unit: str, task: str, exp: int = 0, sig: str = ""
) -> Response:
    check = functools.partial(checked_link, w, campaign, unit, task, exp, sig)
    data = await guarded(w, request, check, CSRF_COOKIE, sig)
    if isinstance(data, Response):
        return data
    found = await run_in_threadpool(instance, w.engine, campaign, unit, task)  # the store, off the event loop
    if found is None:
        return refused(request, words("gone"), 404)
    values = {k: str(v).strip() for k, v in data.items() if k != "csrf" and str(v).strip() != ""}
    when = w.now()
    try:
        # an official reads the form: its problems in Vietnamese, whatever the operator speaks
        posted = Batch(
            campaign,
            [Signal(unit, task, when, values)],
            "web",
            when,
            file="form",
            lang="vi",
            tell=True,
            tell_early=False,  # (its page says when its task was done already; no more)
        )
        answer = await asyncio.wrap_future(w.writer.submit(posted))
    except CampaignInvalid as exc:
        errors = [p.message for p in exc.problems]
        inputs = await run_in_threadpool(form_inputs, w.engine, found, values)
        csrf = str(data.get("csrf", ""))
        box = await run_in_threadpool(extension_box, w, request, found)  # (still offered)
        context = _form_context(w, found)
        return page(
            request, "form.html", 422, csrf=csrf, errors=errors, inputs=inputs, extension=box, **context
        )
    w.announce(campaign, answer[0])
    tz = found.campaign.timezone  # (not the server's zone)
    if answer.unchanged:  # done by an earlier signal (a phone call, another browser): the first counts
        first = pendulum.from_timestamp(answer.unchanged[0].done_at, tz=tz).format("HH:mm DD/MM/YYYY")
        return page(request, "done.html", already=True, kept=True, done=first, **page_context(found))
    done = when.in_timezone(tz).format("HH:mm DD/MM/YYYY")
    return page(request, "done.html", already=False, done=done, **page_context(found))


# ---- asking for more time, and the parent's answer (spec §7) -------------------------------


def extension_box(
    w: Web,
    request: Request,
    found: Found,
    errors: list[str] | None = None,
    values: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """The "Xin gia hạn" form under an open (or overdue, or held) instance with a deadline and
    a parent to ask; or the pending request's note."""
    campaign, row = found.campaign, found.row
    parent = parent_of(found.unit.path)
    if parent is None or row.deadline is None or row.state not in ("open", "held", "overdue"):
        return None
    tz = campaign.timezone
    with w.engine.connect() as conn:
        pending = requests.pending_request(conn, campaign.id, row.task_id, row.unit_id)
    box: dict[str, Any] = {"parent": unit_name_of(w.engine, campaign.id, parent)}
    if pending is not None:
        box["pending"] = last_day_of(pending.deadline, tz).format("DD/MM/YYYY")
        return box
    today = w.now().in_timezone(tz).date()
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


def _proposal_errors(w: Web, found: Found, values: dict[str, str]) -> tuple[list[str], int | None]:
    """What is wrong with a request for more time, and the deadline it proposes (epoch seconds)."""
    errors, proposed = [], None
    try:
        day = parse_date(values["deadline"])
        tz = found.campaign.timezone
        proposed = int(pendulum.datetime(day.year, day.month, day.day, tz=tz).add(days=1).timestamp())
    except ValueError:
        errors.append(words("pick_day"))
    now = w.now()
    if proposed is not None and proposed <= max(found.row.deadline, int(now.timestamp())):
        errors.append(words("day_too_early"))
    elif proposed is not None and proposed > int(now.add(days=MAX_EXTENSION_DAYS + 1).timestamp()):
        errors.append(words("day_too_late", n=MAX_EXTENSION_DAYS))
    if not values["reason"]:
        errors.append(words("no_reason"))
    elif len(values["reason"]) > 1000:
        errors.append(words("reason_too_long"))
    return errors, proposed


@router.post("/l/{campaign}/{unit}/{task}/extension", response_class=HTMLResponse)
async def ask(
    request: Request, w: WebDep, campaign: str, unit: str, task: str, exp: int = 0, sig: str = ""
) -> Response:
    check = functools.partial(checked_link, w, campaign, unit, task, exp, sig)
    data = await guarded(w, request, check, CSRF_COOKIE, sig)
    if isinstance(data, Response):
        return data
    found = await run_in_threadpool(instance, w.engine, campaign, unit, task)
    if found is None:
        return refused(request, words("gone"), 404)
    values = {k: str(data.get(k, "")).strip() for k in ("deadline", "reason")}
    box = await run_in_threadpool(extension_box, w, request, found)
    if box is None or "pending" in box:
        return refused(request, words("request_pending" if box else "no_extension"), 409)
    errors, proposed = _proposal_errors(w, found, values)
    if errors or proposed is None:
        inputs = await run_in_threadpool(form_inputs, w.engine, found, {})
        box = await run_in_threadpool(extension_box, w, request, found, errors, values)
        return page(
            request, "form.html", 422, csrf=str(data.get("csrf", "")), errors=[], inputs=inputs,
            extension=box, **_form_context(w, found),
        )  # fmt: skip

    def store_request() -> None:
        with w.engine.begin() as conn:
            requests.request_extension(conn, campaign, task, unit, proposed, values["reason"], w.now())

    await run_in_threadpool(store_request)
    w.announce(campaign, 1)
    last = last_day_of(proposed, found.campaign.timezone).format("DD/MM/YYYY")
    return page(request, "asked.html", proposed=last, parent=box["parent"], **page_context(found))


def answer_context(req: Row[Any], found: Found, just: bool = False) -> dict[str, Any]:
    tz = found.campaign.timezone
    context = page_context(found)
    proposed = last_day_of(req.deadline, tz).format("DD/MM/YYYY")
    context.update(proposed=proposed, reason=req.reason)
    if req.status == "pending" and summary_before(found.campaign, req.deadline):  # (as `extend` warns)
        summary = pendulum.from_timestamp(found.campaign.summary_at, tz=tz).format("DD/MM/YYYY")
        context["past_summary"] = words("past_summary", when=summary, day=proposed, name=found.unit.name)
    if req.status != "pending":
        when = pendulum.from_timestamp(req.answered_at, tz=tz).format("HH:mm DD/MM/YYYY")
        approved = req.status == "approved"
        if just:
            context["answered"] = words("answered_now", approved=approved, name=found.unit.name)
        else:
            context["answered"] = words("answered_before", approved=approved, when=when)
    return context


@router.get("/x/{campaign}/{request_id}/{action}", response_class=HTMLResponse)
def answer_form(
    request: Request, w: WebDep, campaign: str, request_id: int, action: str, exp: int = 0, sig: str = ""
) -> Response:
    try:
        checked_answer(w, campaign, request_id, action, exp, sig)
    except LinkRefused as exc:
        return refused(request, words("link_" + exc.reason))
    found = extension_request(w.engine, campaign, request_id)
    if found is None:
        return refused(request, words("request_gone"), 404)
    nonce = new_nonce()
    context = answer_context(*found)
    csrf = csrf_token(w.config.secret, nonce, sig)
    response = page(request, "answer.html", csrf=csrf, approve=action == "approve", **context)
    response.set_cookie(ANSWER_CSRF_COOKIE, nonce, httponly=True, samesite="strict", path="/x/")
    return response


@router.post("/x/{campaign}/{request_id}/{action}", response_class=HTMLResponse)
async def answer(
    request: Request, w: WebDep, campaign: str, request_id: int, action: str, exp: int = 0, sig: str = ""
) -> Response:
    check = functools.partial(checked_answer, w, campaign, request_id, action, exp, sig)
    data = await guarded(w, request, check, ANSWER_CSRF_COOKIE, sig)
    if isinstance(data, Response):
        return data

    def apply() -> str | None:
        try:
            with w.engine.begin() as conn:
                requests.answer_request(conn, campaign, request_id, action == "approve", w.now())
        except requests.AlreadyAnswered:
            return None
        except decisions.DecisionRefused:
            return words("cannot_extend")
        return None

    problem = await run_in_threadpool(apply)
    if problem:
        return refused(request, problem, 409)
    found = await run_in_threadpool(extension_request, w.engine, campaign, request_id)
    if found is None:
        return refused(request, words("request_gone"), 404)
    w.announce(campaign, 1)
    context = answer_context(*found, just=True)
    return page(request, "answer.html", csrf="", approve=action == "approve", **context)
