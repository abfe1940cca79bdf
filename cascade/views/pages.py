"""What the web's pages read: one instance and its unit, the form's fields with their
roll-up figures, an extension request, the campaign's broken channels. Read only; the web
layer (`cascade.web`) turns these into pages and answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pendulum
from sqlalchemy import Engine, Row, select

from cascade.engine import deployed, store
from cascade.engine.deployed import Deployed
from cascade.engine.rollup import figure_type
from cascade.engine.rollup import load_for as load_rollup
from cascade.engine.words import deadline_text
from cascade.plan.rules import campaign_rules
from cascade.plan.values import channel_said


@dataclass(frozen=True)
class Found:
    """An instance a link names: its campaign's row, its own, and its unit's name and path."""

    campaign: Deployed
    row: Row[Any]
    unit: Row[Any]


def instance(engine: Engine, campaign_id: str, unit: str, task: str) -> Found | None:
    i, u = store.instances, store.units
    with engine.connect() as conn:
        campaign = deployed.read(conn, campaign_id)
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
    return Found(campaign, row, unit_row)


def page_context(found: Found) -> dict[str, Any]:
    """What every page about an instance shows: the campaign, the task, the unit, the deadline."""
    campaign, row = found.campaign, found.row
    task = campaign_rules(campaign)[row.task_id]
    return {
        "campaign": campaign,
        "task": task,
        "unit_name": found.unit.name,
        "deadline": deadline_text(row.deadline, campaign.timezone) if row.deadline is not None else None,
        "report": task.kind == "report",
        # undeployed: what is posted is kept, and acted on when it is deployed again
        "paused": (
            pendulum.from_timestamp(campaign.archived_at, tz=campaign.timezone).format("DD/MM/YYYY")
            if campaign.archived_at is not None
            else None
        ),
    }


def form_inputs(engine: Engine, found: Found, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The form's fields: the task's own, and for a report its roll-up figures, pre-filled."""
    campaign, row = found.campaign, found.row
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
                    "type": figure_type(figure, rules),  # (a count of units or members: the number pad)
                    "required": False,
                    "value": "" if value is None else value,
                    "computed": computed.get(figure.key),
                }
            )
    return inputs


def timezone_of(engine: Engine, campaign: str) -> str | None:
    with engine.connect() as conn:
        c = store.campaigns.c
        return conn.execute(select(c.timezone).where(c.id == campaign)).scalar()


def unit_name_of(engine: Engine, campaign: str, unit: str | None) -> str:
    if unit is None:
        return ""
    with engine.connect() as conn:
        u = store.units.c
        name = conn.execute(select(u.name).where(u.campaign_id == campaign, u.id == unit)).scalar()
    return str(name or unit)


def extension_request(engine: Engine, campaign: str, request_id: int) -> tuple[Row[Any], Found] | None:
    """A unit's request for more time, with the instance it is about."""
    r = store.extension_requests.c
    with engine.connect() as conn:
        req = conn.execute(
            select(store.extension_requests).where(r.campaign_id == campaign, r.id == request_id)
        ).first()
    if req is None:
        return None
    found = instance(engine, campaign, req.unit_id, req.task_id)
    return None if found is None else (req, found)


def broken_channels(engine: Engine, campaign: str) -> list[dict[str, Any]]:
    """The campaign's broken channels, and whether the operator has been told of each."""
    a = store.channel_alerts.c
    with engine.connect() as conn:
        tz = conn.execute(select(store.campaigns.c.timezone).where(store.campaigns.c.id == campaign)).scalar()
        rows = conn.execute(select(store.channel_alerts).where(a.campaign_id == campaign)).all()

    def when(t: int) -> str:
        return str(pendulum.from_timestamp(t, tz=tz or "UTC").format("HH:mm DD/MM/YYYY"))

    return [
        {
            "channel": r.channel,
            "said": channel_said(r.channel),  # (as the board shows it)
            "detail": r.detail,
            "since": when(r.since),
            "told": when(r.delivered_at) if r.delivered_at else None,
            "tries": r.tries,
        }
        for r in rows
    ]
