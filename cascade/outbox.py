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
    select(_O.c.id, _O.c.digest_key, _O.c.recipient_unit, _O.c.role, _O.c.channels, _O.c.payload)
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


def due_digests(engine: Engine, campaign: str, now: int) -> list[Digest]:
    """Pending notices whose send time has come, one digest per recipient contact and send time
    (all of them: a digest split over two reads would reach its recipient twice)."""
    digests: dict[str, Digest] = {}
    with engine.connect() as conn:
        for row in conn.execute(_DUE, {"campaign": campaign, "now": now}):
            d = digests.get(row.digest_key)
            if d is None:
                d = digests[row.digest_key] = Digest(
                    row.digest_key, row.recipient_unit, row.role, row.channels
                )
            d.notices.append(row.payload)
            d.ids.append(row.id)
    return list(digests.values())


def dispatch(
    engine: Engine, campaign: str, now: int, send: Callable[[Digest], str], batch: int = 500
) -> dict[str, int]:
    """Hand each due digest once to `send`, which returns the status to record ("sent",
    "logged", ..., or "pending" to leave it for a later run); the statuses of each `batch` of
    digests are recorded in one transaction. Returns how many digests ended in each status."""
    outcome: dict[str, int] = {}
    digests = due_digests(engine, campaign, now)
    for start in range(0, len(digests), batch):
        by_status: dict[str, list[int]] = {}
        for digest in digests[start : start + batch]:
            status = send(digest)
            by_status.setdefault(status, []).extend(digest.ids)
            outcome[status] = outcome.get(status, 0) + 1
        with engine.begin() as conn:
            for status, ids in by_status.items():
                for chunk in range(0, len(ids), 1000):
                    conn.execute(_MARK, {"ids": ids[chunk : chunk + 1000], "status": status})
    return outcome
