"""A tick's outbox rows: one per notice and contact reached, the contacts read once per deploy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Text, cast, select

from cascade.engine import bulk, store
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


def readdressed(
    conn: Connection, campaign_id: str, contacts: Iterable[tuple[Any, ...]]
) -> tuple[set[str], list[tuple[int, str, str]]]:
    """What a redeploy's units file does to the notices not gone out yet: the units whose
    contacts changed (`contacts` now: unit, role, name, channels as JSON, in file order), and
    the outbox rows to send to the new addresses, (id, channels, status before). A
    notice waiting stays so; one every address refused for good (`failed`: the address the
    operator has just corrected) waits again, for the next dispatch, which passes over those
    whose work was settled meanwhile. Channels are compared as the JSON text the store keeps
    (decoding a nation's contacts took a second a redeploy)."""
    c, o = store.contacts.c, store.outbox.c
    after: dict[tuple[str, str], list[str]] = {}
    for unit, role, _name, channels in contacts:
        after.setdefault((unit, role), []).append(channels)
    before: dict[tuple[str, str], list[str]] = {}
    stored = select(c.unit_id, c.role, cast(c.channels, Text)).where(c.campaign_id == campaign_id)
    for unit, role, channels in conn.execute(stored.order_by(c.id)):
        before.setdefault((unit, role), []).append(channels)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    units = {unit for unit, _role in changed}
    rows: list[tuple[int, str, str]] = []
    if not units:
        return units, rows
    # the notices not gone out, read at once by the status index and sorted out here: a units file
    # may change every unit's address (the nation's 66,844, its 87,068 notices waiting: 5.6 s for
    # the whole dry run), one read rather than a scan of them per thousand units named
    waiting = select(o.id, o.recipient_unit, o.role, cast(o.channels, Text), o.status).where(
        o.status.in_(("pending", "failed")), o.campaign_id == campaign_id
    )
    for oid, unit, role, channels, status in conn.execute(waiting):
        if (unit, role) not in changed or not (new := after.get((unit, role))):
            continue  # (a role no longer in the file: its notices go where they were meant)
        old = before.get((unit, role), [])
        now = new[min(old.index(channels) if channels in old else 0, len(new) - 1)]
        if now != channels:
            rows.append((oid, now, status))
    return units, rows


def readdress(conn: Connection, rows: list[tuple[int, str, str]]) -> None:
    """Write `readdressed`'s rows: their new addresses, each waiting for the next dispatch."""
    values = [(channels, "pending", oid) for oid, channels, _was in rows]
    bulk.update_rows(conn, store.outbox, ("channels", "status"), "id", values)
