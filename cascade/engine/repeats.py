"""Signals for an instance that an earlier signal already finished: stored (the record keeps
every report) but changing nothing, since the first signal counts. The operator and the API
caller are told so, instead of "the next tick applies them"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from cascade.engine import bulk, deployed, store
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


def last_signal_id(conn: Connection) -> int:
    """The newest signal's id (0: none): what a command stores next has a greater one."""
    return int(conn.execute(select(func.max(store.signals.c.id))).scalar() or 0)


def done_before(
    rows: Iterable[dict[str, Any]], states: Mapping[tuple[str, str], str]
) -> list[tuple[str, str]]:
    """The (unit, task) of the signal `rows` whose instance was done when they were checked
    (`states`: (task, unit) -> state, as `signals.Lookups` read them)."""
    return [(r["unit_id"], r["task_id"]) for r in rows if states.get((r["task_id"], r["unit_id"])) in DONE]


def unchanged_of(conn: Connection, campaign_id: str, signals: Sequence[tuple[str, str]]) -> list[Unchanged]:
    """The signals just stored, as (unit, task), whose instance an earlier signal had finished
    when they were checked (`Lookups.states`: no query over the whole batch, which a national
    import of 219,327 signals spent a second on to find none): as `Unchanged`, with when it was
    done, by task and unit name."""
    if not signals:
        return []
    i = store.instances.c
    by_task: dict[str, set[str]] = {}
    for unit, task in signals:
        by_task.setdefault(task, set()).add(unit)
    done: dict[tuple[str, str], tuple[str, int]] = {}
    for task, units in by_task.items():
        for chunk in bulk.chunked(sorted(units)):
            rows = conn.execute(
                select(i.unit_id, i.state, i.done_at).where(
                    i.campaign_id == campaign_id, i.task_id == task, i.unit_id.in_(chunk), ~i.archived
                )
            )
            done.update(((unit, task), (state, int(at))) for unit, state, at in rows if state in DONE)
    names = deployed.unit_names(conn, campaign_id, {unit for unit, _task in signals})
    campaign = deployed.must_read(conn, campaign_id)
    titles = {task: rules.get("title", task) for task, rules in campaign.tasks.items()}
    found = [
        Unchanged(unit, names.get(unit, unit), task, titles.get(task, task), *done[unit, task])
        for unit, task in signals
        if (unit, task) in done
    ]
    return sorted(found, key=lambda u: (u.task, u.unit_name))
