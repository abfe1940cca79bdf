"""Signals for an instance that an earlier signal already finished: stored (the record keeps
every report) but changing nothing, since the first signal counts. The operator and the API
caller are told so, instead of "the next tick applies them"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from cascade.engine import deployed, store
from cascade.engine.lifecycle import DONE


@dataclass(frozen=True)
class Unchanged:
    """A signal just stored for an instance an earlier signal already finished: kept, but it
    changes nothing (the first signal counts)."""

    unit: str
    unit_name: str
    task: str
    title: str
    state: str  # done or done_late
    done_at: int


# a signal's instance, joined to `signals` (archived ones left out by `stored_by`)
ITS_INSTANCE = (
    (store.instances.c.campaign_id == store.signals.c.campaign_id)
    & (store.instances.c.task_id == store.signals.c.task_id)
    & (store.instances.c.unit_id == store.signals.c.unit_id)
)


def stored_by(
    campaign_id: str, after_id: int, received_at: int, source: str
) -> tuple[ColumnElement[bool], ...]:
    """One command's signals still waiting for a tick, `signals` joined to their live instances:
    those `source` stored at `received_at` after signal `after_id`."""
    s = store.signals.c
    return (
        s.campaign_id == campaign_id,
        s.id > after_id,
        s.applied_tick.is_(None),
        s.received_at == received_at,
        s.source == source,
        store.instances.c.archived.is_(False),
    )


def last_signal_id(conn: Connection) -> int:
    """The newest signal's id (0: none): what a command stores next has a greater one."""
    return int(conn.execute(select(func.max(store.signals.c.id))).scalar() or 0)


def unchanged(
    conn: Connection, campaign_id: str, after_id: int, received_at: int, source: str
) -> list[Unchanged]:
    """The signals `source` stored at `received_at` after signal `after_id` (one command's) that
    wait for a tick although their instance is already finished: the operator is told, instead
    of "the next tick applies them", since the tick will not (the first signal counts)."""
    s, i, u = store.signals.c, store.instances.c, store.units.c
    rows = conn.execute(
        select(s.unit_id, u.name, s.task_id, i.state, i.done_at)
        .join(store.instances, ITS_INSTANCE)
        .join(store.units, (u.campaign_id == s.campaign_id) & (u.id == s.unit_id))
        .where(*stored_by(campaign_id, after_id, received_at, source), i.state.in_(DONE))
        .order_by(s.task_id, u.name)
    ).all()
    return _unchanged_rows(conn, campaign_id, rows)


def _unchanged_rows(conn: Connection, campaign_id: str, rows: Iterable[Any]) -> list[Unchanged]:
    """(unit, its name, task, state, done_at) rows as `Unchanged`, with the tasks' titles."""
    campaign = deployed.must_read(conn, campaign_id)
    titles = {task: rules.get("title", task) for task, rules in campaign.tasks.items()}
    return [
        Unchanged(unit, name, task, titles.get(task, task), state, int(done_at))
        for unit, name, task, state, done_at in rows
    ]
