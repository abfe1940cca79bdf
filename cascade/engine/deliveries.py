"""A tick's outbox rows: one per notice and contact reached, the contacts read once per deploy."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from cascade.engine import bulk
from cascade.engine import queries as q
from cascade.engine.deployed import Deployed, PerDeploy
from cascade.engine.machine import Notice


def deliveries(
    conn: Connection, campaign: Deployed, tick: int, notices: list[Notice]
) -> list[tuple[Any, ...]]:
    """Outbox rows: one per notice and reached contact; fills each event's `to`."""
    cid, dumps = campaign.id, bulk.dumps
    contacts = _contacts(conn, campaign, {u for n in notices for u in n.recipients})
    rows = []
    for notice in notices:
        reached: list[str] = []
        payload = None
        for unit in notice.recipients:
            for role, channels in contacts.get(unit, ()):
                if role not in notice.roles:
                    continue
                payload = payload or dumps(notice.payload)
                digest = f"{cid}|{unit}|{role}|{notice.send_at}"
                rows.append(
                    (cid, tick, notice.send_at, notice.kind, unit, role, channels, digest, payload, "pending")
                )
                if unit not in reached:
                    reached.append(unit)
        if notice.event is not None:
            notice.event.data["to"] = reached
    return rows


# per campaign and deploy, the contacts read so far: unit -> [(role, channels as JSON)]
_CONTACTS: PerDeploy[dict[str, list[tuple[str, str]]]] = PerDeploy()


def _contacts(conn: Connection, campaign: Deployed, units: set[str]) -> dict[str, list[tuple[str, str]]]:
    """The contacts of `units`, each unit's read once per deploy and process (a simulation's
    ticks notify the same units again and again)."""
    known = _CONTACTS.get(campaign, dict)
    missing = sorted(units.difference(known))
    for chunk in bulk.chunked(missing):
        for unit in chunk:
            known[unit] = []
        for row in conn.execute(q.CONTACTS, {"campaign": campaign.id, "units": chunk}):
            known[row.unit_id].append((row.role, bulk.dumps(row.channels)))
    return known
