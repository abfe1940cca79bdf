"""Is every deployed campaign still ticking? Read from the store, for the watchdog, the status
page, `/healthz` and `cascade status`.

Every live tick (a run of the campaign's flow, `cascade tick`) stamps `campaigns.ticked_at`
(wall clock) in its transaction, idle or not (cascade.engine.locks.ticking), so a campaign whose
last stamp is older than three of its tick intervals is *stalled*: its scheduler stopped, its
workers are gone, or every run fails. A campaign deployed and never ticked counts from its
deploy. The interval is the one its deployment was last registered with (`cascade deploy`,
`cascade serve`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, select, update

from cascade.engine import store

STALLED_AFTER = 3  # tick intervals without a tick
DEFAULT_INTERVAL = 600  # seconds between ticks when the deployment recorded none (prefect.yaml's)
_C = store.campaigns.c


@dataclass(frozen=True)
class Health:
    campaign: str
    title: str
    timezone: str
    ticked_at: int | None  # None: never ticked
    since: int  # the last tick, or the deploy when it never ticked
    interval: int  # seconds between scheduled runs
    age: int  # seconds since `since`
    alerted_at: int | None  # when the operator was told it stalled (None: not told, or not stalled)

    @property
    def stalled(self) -> bool:
        return self.age > STALLED_AFTER * self.interval


def read(engine: Engine, wall: int, default_interval: int, campaign: str | None = None) -> list[Health]:
    """The health of every deployed (not undeployed) campaign at wall-clock `wall`, or of
    `campaign` alone."""
    query = (
        select(
            _C.id, _C.title, _C.timezone, _C.ticked_at, _C.deployed_at, _C.tick_interval, _C.stalled_alert_at
        )
        .where(_C.archived_at.is_(None))
        .order_by(_C.id)
    )
    if campaign is not None:
        query = query.where(_C.id == campaign)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for row in rows:
        since = row.ticked_at if row.ticked_at is not None else row.deployed_at
        interval = row.tick_interval or default_interval
        age = max(0, wall - since)
        out.append(
            Health(row.id, row.title, row.timezone, row.ticked_at, since, interval, age, row.stalled_alert_at)
        )
    return out


def record_interval(engine: Engine, campaign: str, seconds: int) -> None:
    """The tick interval `campaign`'s deployment was registered with."""
    with engine.begin() as conn:
        conn.execute(update(store.campaigns).where(_C.id == campaign).values(tick_interval=seconds))


_CLAIM = (
    update(store.campaigns)
    .where(_C.id == bindparam("campaign"), _C.stalled_alert_at.is_(None))
    .values(stalled_alert_at=bindparam("wall"))
)
_CLEAR = update(store.campaigns).where(_C.id == bindparam("campaign")).values(stalled_alert_at=None)


def claim_alert(engine: Engine, campaign: str, wall: int) -> bool:
    """Take the job of telling the operator that `campaign` stalled: True for exactly one caller
    (the web process and `cascade serve` may both watch), until `clear_alert`."""
    with engine.begin() as conn:
        return bool(conn.execute(_CLAIM, {"campaign": campaign, "wall": wall}).rowcount)


def clear_alert(engine: Engine, campaign: str) -> None:
    """The campaign ticks again (or the alert could not be sent and must be tried again)."""
    with engine.begin() as conn:
        conn.execute(_CLEAR, {"campaign": campaign})
