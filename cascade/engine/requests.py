"""A unit's request for more time, from its signed link, and its parent's answer, once: an
approval is an extension decided as `cascade extend`'s (`cascade.engine.decisions.decide`,
`by` the parent), a denial is logged and told to the unit.
"""

from __future__ import annotations

from typing import Any

import pendulum
from sqlalchemy import Connection, insert, select, update

from cascade.engine import store
from cascade.engine.amend import Changes, events_tick
from cascade.engine.decisions import Decision, decide
from cascade.engine.tick import write_events
from cascade.plan.hierarchy import parent_of

_I = store.instances


class AlreadyAnswered(Exception):
    def __init__(self, status: str, by: str | None, at: int | None) -> None:
        super().__init__(status)
        self.status, self.by, self.at = status, by, at


def pending_request(conn: Connection, campaign_id: str, task: str, unit: str) -> Any:
    r = store.extension_requests.c
    return conn.execute(
        select(store.extension_requests).where(
            r.campaign_id == campaign_id, r.task_id == task, r.unit_id == unit, r.status == "pending"
        )
    ).first()


def request_extension(
    conn: Connection,
    campaign_id: str,
    task: str,
    unit: str,
    proposed: int,
    reason: str,
    now: pendulum.DateTime,
) -> int:
    """Record a unit's request (`extension.requested`) and tell its parent, whose notice carries
    signed approve and deny links; the request's id."""
    now_s = int(now.timestamp())
    inserted = conn.execute(
        insert(store.extension_requests).values(
            campaign_id=campaign_id,
            task_id=task,
            unit_id=unit,
            deadline=proposed,
            reason=reason,
            requested_at=now_s,
            status="pending",
        )
    )
    request = int(inserted.inserted_primary_key[0])  # type: ignore[index]
    t = events_tick(conn, campaign_id, now)
    row = _instance_row(conn, campaign_id, task, unit)
    data = {"proposed": proposed, "reason": reason, "request": request}
    ev = t.event("extension.requested", now_s, row, **data)
    t.notify("extension.requested", row, ("parent",), ev, **data)
    write_events(t)
    return request


def answer_request(
    conn: Connection, campaign_id: str, request_id: int, approve: bool, now: pendulum.DateTime
) -> tuple[Any, Changes | None]:
    """The parent's answer, once: approval applies the extension (`task.amended`, `by` the parent),
    denial logs `extension.denied` and tells the unit. Raises AlreadyAnswered, or DecisionRefused
    when the extension can no longer apply (its date has passed); nothing is written then."""
    r = store.extension_requests
    request = conn.execute(
        select(r).where(r.c.id == request_id, r.c.campaign_id == campaign_id).with_for_update()
    ).first()
    if request is None:
        raise LookupError(request_id)
    if request.status != "pending":
        raise AlreadyAnswered(request.status, request.answered_by, request.answered_at)
    row = _instance_row(conn, campaign_id, request.task_id, request.unit_id)
    parent = parent_of(row["path"]) or "operator"
    now_s = int(now.timestamp())
    status = "approved" if approve else "denied"
    done = conn.execute(
        update(r)
        .where(r.c.id == request_id, r.c.status == "pending")
        .values(status=status, answered_at=now_s, answered_by=parent)
    )
    if done.rowcount != 1:  # answered meanwhile (SQLite: no row lock)
        again = conn.execute(select(r).where(r.c.id == request_id)).one()
        raise AlreadyAnswered(again.status, again.answered_by, again.answered_at)
    if approve:
        decision = Decision(
            "extension",
            request.task_id,
            (request.unit_id,),
            request.reason,
            parent,
            request.deadline,
            request_id,
        )
        return request, decide(conn, campaign_id, decision, now)
    t = events_tick(conn, campaign_id, now)
    data = {"proposed": request.deadline, "request": request_id, "by": parent}
    ev = t.event("extension.denied", now_s, row, **data)
    t.notify("extension.denied", row, ("self",), ev, **data)
    write_events(t)
    return request, None


def _instance_row(conn: Connection, campaign_id: str, task: str, unit: str) -> dict[str, Any]:
    i, u = _I.c, store.units.c
    found = conn.execute(
        select(i.task_id, i.unit_id, i.deadline, i.state, u.path)
        .join(store.units, (u.campaign_id == i.campaign_id) & (u.id == i.unit_id))
        .where(i.campaign_id == campaign_id, i.task_id == task, i.unit_id == unit)
    ).one()
    return dict(found._mapping)
