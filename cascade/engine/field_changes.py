"""A redeploy's figures that came or went under a task that runs: a field the file no longer
asks keeps the figures recorded under it, uncounted; a field new to the file is empty for the
units that had finished the task. A field's id renamed in the file is both (its figures stay
under the old id, and the summary's roll-ups of the new one read 0), so the summary says so
before it is deployed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from cascade.engine import store
from cascade.plan.rules import TaskRules


@dataclass(frozen=True)
class FieldChange:
    task: str
    field: str
    title: str
    gone: bool  # no longer in the file (else new to it)
    count: int  # gone: the signals that recorded a figure for it; new: the units that had finished


def fields_changed(
    conn: Connection,
    campaign_id: str,
    old: Mapping[str, TaskRules],
    new: Mapping[str, TaskRules],
    finished: Counter[str],
) -> list[FieldChange]:
    """Of the tasks in both, the figures (not formulas) gone with a figure recorded, and those
    new to a task some unit had finished."""
    s = store.signals.c
    out = []
    for task, rules in new.items():
        was = old.get(task)
        if was is None:
            continue
        before = {name for name, spec in was.fields.items() if spec.formula is None}
        after = {name for name, spec in rules.fields.items() if spec.formula is None}
        for name in sorted(before - after):
            recorded = select(func.count()).where(
                s.campaign_id == campaign_id,
                s.task_id == task,
                s.withdrawn_at.is_(None),
                s.fields[name].as_string().is_not(None),
            )
            if count := conn.execute(recorded).scalar_one():
                out.append(FieldChange(task, name, was.fields[name].title or name, True, count))
        if finished[task]:
            for name in sorted(after - before):
                out.append(FieldChange(task, name, rules.fields[name].title or name, False, finished[task]))
    return out
