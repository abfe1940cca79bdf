"""The outbox: notices the ticks wrote, grouped into one digest per recipient and send time.

A tick writes one outbox row per notice and contact, each with a digest key
(campaign|unit|role|send_at). Dispatch reads the rows whose send time has come,
groups them by that key, hands each digest to a channel and records the outcome on
the rows, in one transaction per batch, so a digest is never half marked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, bindparam, select, update

from cascade import store

_O = store.outbox
_DUE = (
    select(_O.c.id, _O.c.digest_key, _O.c.recipient_unit, _O.c.role, _O.c.channels, _O.c.kind, _O.c.payload)
    .where(
        _O.c.campaign_id == bindparam("campaign"),
        _O.c.status == "pending",
        _O.c.send_at <= bindparam("now"),
    )
    .order_by(_O.c.send_at, _O.c.id)
)
_MARK = (
    update(_O)
    .where(_O.c.id.in_(bindparam("ids", expanding=True)), _O.c.status == "pending")
    .values(status=bindparam("status"))
)


@dataclass
class Digest:
    key: str
    unit: str
    role: str
    channels: list[list[str]]
    notices: list[dict[str, Any]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


def due_digests(engine: Engine, campaign: str, now: int, limit: int = 10_000) -> list[Digest]:
    """Pending notices whose send time has come, one digest per recipient contact and send time."""
    digests: dict[str, Digest] = {}
    with engine.connect() as conn:
        for row in conn.execute(_DUE.limit(limit), {"campaign": campaign, "now": now}):
            d = digests.get(row.digest_key)
            if d is None:
                d = digests[row.digest_key] = Digest(
                    row.digest_key, row.recipient_unit, row.role, row.channels
                )
            d.notices.append(row.payload)
            d.ids.append(row.id)
    return list(digests.values())


def dispatch(
    engine: Engine, campaign: str, now: int, send: Callable[[Digest], str], limit: int = 10_000
) -> dict[str, int]:
    """Hand each due digest to `send`, which returns the status to record ("sent", "logged", ...).
    Returns how many digests ended in each status."""
    outcome: dict[str, int] = {}
    for digest in due_digests(engine, campaign, now, limit):
        status = send(digest)
        with engine.begin() as conn:
            conn.execute(_MARK, {"ids": digest.ids, "status": status})
        outcome[status] = outcome.get(status, 0) + 1
    return outcome
