"""Signals for an instance that an earlier signal already finished: stored (the record keeps
every report) but changing nothing, since the first signal counts. The operator and the API
caller are told so, instead of "the next tick applies them"."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from cascade.engine import deployed, store
from cascade.engine.lifecycle import DONE
from cascade.engine.lookups import Lookups


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


def last_signal_id(conn: Connection) -> int:
    """The newest signal's id (0: none): what a command stores next has a greater one."""
    return int(conn.execute(select(func.max(store.signals.c.id))).scalar() or 0)


# a signal stored for an instance already done: (unit, task, state, done_at)
Finished = tuple[str, str, str, int]


def done_before(rows: Iterable[dict[str, Any]], checked: Lookups) -> list[Finished]:
    """The signal `rows` whose instance was done when they were checked, with since when."""
    found: list[Finished] = []
    for r in rows:
        key = (r["task_id"], r["unit_id"])
        state = checked.states.get(key)
        if state in DONE:
            found.append((r["unit_id"], r["task_id"], state, checked.done_at[key]))
    return found


def unchanged_of(conn: Connection, campaign_id: str, signals: Sequence[Finished]) -> list[Unchanged]:
    """The signals just stored for an instance an earlier signal had finished (`done_before`: read
    with their checks, no query over the whole batch, which a national import of 219,327 signals
    spent a second on to find none), as `Unchanged`, by task and unit name."""
    if not signals:
        return []
    names = deployed.unit_names(conn, campaign_id, {unit for unit, *_rest in signals})
    campaign = deployed.must_read(conn, campaign_id)
    titles = {task: rules.get("title", task) for task, rules in campaign.tasks.items()}
    found = [
        Unchanged(unit, names.get(unit, unit), task, titles.get(task, task), state, done_at)
        for unit, task, state, done_at in signals
    ]
    return sorted(found, key=lambda u: (u.task, u.unit_name))
