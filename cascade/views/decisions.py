"""The decisions standing on a running campaign (`cascade decisions`): each unit's extension
and exemption in force, as the store keeps them (`cascade extend`, `cascade exempt`, a
parent's answer to a unit's request), without the ones taken back since (`--lift`). Read
only; the decisions themselves are `cascade.engine.decisions`.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from cascade.engine import bulk, deployed, store
from cascade.engine.amend import standing_decisions
from cascade.engine.lookups import WHOLE_CAMPAIGN


@dataclass(frozen=True)
class Standing:
    """One decision in force: an extension (to `deadline`; the file gives `file_deadline`, None
    where it was not kept) or an exemption, of one unit's task, with its reason, who decided
    (an operator, or the parent unit that approved the unit's request) and when."""

    kind: str  # extension | exemption
    task: str
    title: str
    unit: str
    name: str
    path: str
    deadline: int | None
    file_deadline: int | None
    state: str  # the instance's state now
    reason: str
    by: str
    at: int
    requested: bool  # approved from the unit's own request


@dataclass(frozen=True)
class Where:
    task: str | None = None
    under: str | None = None  # only the units below this one
    kind: str | None = None  # extension | exemption


def standing(conn: Connection, campaign: str, where: Where | None = None) -> list[Standing]:
    """The decisions in force, in the tree's order (then by task), of the units and tasks still
    in the campaign: each (task, unit)'s latest extension and exemption not taken back."""
    in_force = _in_force(conn, campaign, where or Where())
    return [in_force.made(key) for key in sorted(in_force.keys, key=in_force.order)]


@dataclass(frozen=True)
class FirstStanding:
    """The board's card: the first decisions in force, and how many there are of each kind."""

    shown: list[Standing]
    extensions: int
    exemptions: int


def first_standing(conn: Connection, campaign: str, most: int, where: Where | None = None) -> FirstStanding:
    """The first `most` decisions of `standing`, and the counts of all: a board shows 200 of a
    nation's 49,805 extensions (a table 2,000), and made each of them as a record to show it."""
    in_force = _in_force(conn, campaign, where or Where())
    first = heapq.nsmallest(most, in_force.keys, key=in_force.order)
    extensions = sum(1 for kind, _task, _unit in in_force.keys if kind == "extension")
    return FirstStanding([in_force.made(key) for key in first], extensions, len(in_force.keys) - extensions)


@dataclass(frozen=True)
class _InForce:
    """The decision rows in force, each with its instance as it stands (the ones whose unit or
    task left the file, or that are not under `Where.under`, left out)."""

    keys: list[tuple[str, str, str]]  # (kind, task, unit)
    found: dict[tuple[str, str, str], Any]
    instances: dict[tuple[str, str], Any]
    titles: dict[str, str]
    names: dict[str, str]  # the parent units that approved a request

    def order(self, key: tuple[str, str, str]) -> tuple[str, str, str]:
        kind, task, unit = key
        return self.instances[(task, unit)].path, task, kind

    def made(self, key: tuple[str, str, str]) -> Standing:
        kind, task, unit = key
        decision, instance = self.found[key], self.instances[(task, unit)]
        extension = kind == "extension"
        return Standing(
            kind,
            task,
            self.titles.get(task, task),
            unit,
            instance.name,
            instance.path,
            decision.deadline if extension else None,
            instance.file_deadline if extension else None,
            instance.state,
            decision.reason,
            self.names.get(decision.by, decision.by),
            decision.at,
            decision.request_id is not None,
        )


def _in_force(conn: Connection, campaign: str, where: Where) -> _InForce:
    found = standing_decisions(conn, campaign, where.task)
    if where.kind is not None:
        found = {key: row for key, row in found.items() if key[0] == where.kind}
    if not found:
        return _InForce([], {}, {}, {}, {})
    c = store.campaigns.c
    tasks = conn.execute(select(c.tasks).where(c.id == campaign)).scalar_one_or_none() or {}
    i, u = store.instances.c, store.units.c
    decided = sorted({task for _kind, task, _unit in found})
    live = (
        select(i.task_id, i.unit_id, i.state, i.file_deadline, u.name, u.path)
        .join(store.units, (u.campaign_id == i.campaign_id) & (u.id == i.unit_id))
        .where(i.campaign_id == campaign, i.task_id.in_(decided), ~i.archived)
    )
    if where.under is not None:
        live = live.where(u.path.contains(f":{where.under}/"))
    units = sorted({unit for _kind, _task, unit in found})
    if len(units) > WHOLE_CAMPAIGN:  # a nation's cells extended: their tasks read at once, not
        rows = conn.execute(live).all()  # in 57 chunks of units, row by row
    else:  # read by the units decided on (the whole campaign's on a board's every view: no)
        by_units = (live.where(i.unit_id.in_(chunk)) for chunk in bulk.chunked(units))
        rows = [r for query in by_units for r in conn.execute(query).all()]
    instances = {(r.task_id, r.unit_id): r for r in rows}
    # (its unit or task no longer in the file, or not under `where.under`: left out)
    keys = [key for key in found if (key[1], key[2]) in instances]
    deciders = sorted({found[key].by for key in keys})  # a parent unit that approved a request
    names = deployed.unit_names(conn, campaign, deciders)
    titles = {task: rules.get("title", task) for task, rules in tasks.items()}
    return _InForce(keys, found, instances, titles, names)
