"""The decisions standing on a running campaign (`cascade decisions`): each unit's extension
and exemption in force, as the store keeps them (`cascade extend`, `cascade exempt`, a
parent's answer to a unit's request), without the ones taken back since (`--lift`). Read
only; the decisions themselves are `cascade.engine.decisions`.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    where = where or Where()
    found = standing_decisions(conn, campaign, where.task)
    if where.kind is not None:
        found = {key: row for key, row in found.items() if key[0] == where.kind}
    if not found:
        return []
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
    deciders = sorted({row.by for row in found.values()})  # a parent unit that approved a request
    names = deployed.unit_names(conn, campaign, deciders)
    out = []
    for (kind, task, unit), decision in found.items():
        instance = instances.get((task, unit))
        if instance is None:  # its unit or task no longer in the file, or not under `where.under`
            continue
        out.append(
            Standing(
                kind,
                task,
                tasks.get(task, {}).get("title", task),
                unit,
                instance.name,
                instance.path,
                decision.deadline if kind == "extension" else None,
                instance.file_deadline if kind == "extension" else None,
                instance.state,
                decision.reason,
                names.get(decision.by, decision.by),
                decision.at,
                decision.request_id is not None,
            )
        )
    return sorted(out, key=lambda s: (s.path, s.task, s.kind))
