"""A deployed campaign as the store keeps it: its row of `campaigns`, as a typed record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Row, bindparam, select

from cascade.engine import store


@dataclass(frozen=True, slots=True)
class Deployed:
    """What the tick, the roll-ups and the signal checks read of a deployed campaign. Instants
    are epoch seconds; `tasks` holds each task's rules as JSON (`cascade.plan.rules.TaskRules`)."""

    id: str
    title: str
    timezone: str
    calendar: str
    issued_at: int
    summary_at: int
    summary_sent_at: int | None
    levels: list[str]
    tasks: dict[str, Any]
    source_file: str
    plan_hash: str
    deployed_at: int
    archived_at: int | None
    rescan: bool
    operator: dict[str, Any] | None
    issued_by: str | None
    ticked_at: int | None
    tick_interval: int | None
    stalled_alert_at: int | None
    document: dict[str, Any] | None  # the summary's heading (None: deployed before it was kept)

    @classmethod
    def of(cls, row: Row[Any]) -> Deployed:
        """A row of `select(store.campaigns)` (every tick reads one: positional, checked below)."""
        return cls(*row)


# the record's fields are the table's columns, in the table's order (what `of` relies on)
_COLUMNS = tuple(c.name for c in store.campaigns.columns)
if tuple(f.name for f in fields(Deployed)) != _COLUMNS:
    raise RuntimeError(f"Deployed's fields must be the campaigns table's columns, in order: {_COLUMNS}")


_CAMPAIGN = select(store.campaigns).where(store.campaigns.c.id == bindparam("campaign"))
_CAMPAIGN_FOR_UPDATE = _CAMPAIGN.with_for_update()  # SQLite: no-op; its writers are serialized anyway


def read(conn: Connection, campaign_id: str, for_update: bool = False) -> Deployed | None:
    """The campaign `campaign_id`, or None; `for_update` locks its row (PostgreSQL) until commit."""
    statement = _CAMPAIGN_FOR_UPDATE if for_update else _CAMPAIGN
    row = conn.execute(statement, {"campaign": campaign_id}).first()
    return None if row is None else Deployed.of(row)


def must_read(conn: Connection, campaign_id: str, for_update: bool = False) -> Deployed:
    """The campaign `campaign_id`; raises LookupError when it is not deployed."""
    found = read(conn, campaign_id, for_update)
    if found is None:
        raise LookupError(f"campaign `{campaign_id}` is not deployed")
    return found


T = TypeVar("T")


class PerDeploy(Generic[T]):
    """A value kept in the process per campaign for as long as its deploy stands: what only a
    deploy changes (its units, their contacts) is read once, not once per tick. A deploy sets
    `deployed_at` and `plan_hash` (which covers the units file), so a campaign row carrying
    others is another deploy's: the value is made again."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[tuple[int, str], T]] = {}

    def get(self, campaign: Deployed, make: Callable[[], T]) -> T:
        key = (campaign.deployed_at, campaign.plan_hash)
        kept = self._kept.get(campaign.id)
        if kept is None or kept[0] != key:
            kept = self._kept[campaign.id] = (key, make())
        return kept[1]
