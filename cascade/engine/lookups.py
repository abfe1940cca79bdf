"""What a batch of signals' checks need from the store, read once for the batch: the units it
names (by id, or by name), their instances' states, and when those done were done."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from cascade.engine import store
from cascade.plan.hierarchy import loosely_named


@dataclass
class Lookups:
    """What a batch's checks need from the store: the live units it names (by id, or by their
    exact name: name -> the ids so called) and their instances' states (and when those done
    were done: a signal for one changes nothing, and its caller is told since when)."""

    units: set[str]
    states: dict[tuple[str, str], str]  # (task, unit) -> state
    names: dict[str, list[str]] = field(default_factory=dict)
    done_at: dict[tuple[str, str], int] = field(default_factory=dict)  # (task, unit) -> done at


WHOLE_CAMPAIGN = 5_000  # a batch naming more units than this reads the campaign once


def read_lookups(conn: Connection, campaign_id: str, unit_ids: set[str], tasks: set[str]) -> Lookups:
    """The named units that exist, and the states of their instances of `tasks` (an import names
    thousands: in chunks; past WHOLE_CAMPAIGN units, one read of the campaign costs less than
    lookups). A name that is no unit's id is looked up as a unit's name. The tasks are part of
    the lookup because the instances' index begins (campaign, task, unit): by unit alone, each
    read went through every instance of the campaign (32 ms a signal on a national one)."""
    u, i = store.units.c, store.instances.c
    live = (u.campaign_id == campaign_id, u.archived.is_(False))
    state_query = select(i.task_id, i.unit_id, i.state, i.done_at).where(
        i.campaign_id == campaign_id, i.archived.is_(False), i.task_id.in_(sorted(tasks))
    )
    found = Lookups(set(), {})
    if len(unit_ids) > WHOLE_CAMPAIGN:
        everyone = conn.execute(select(u.id, u.name).where(*live)).all()
        for unit, name in everyone:
            if unit in unit_ids:
                found.units.add(unit)
            elif name in unit_ids:
                found.names.setdefault(name, []).append(unit)
        _loosely(found, unit_ids, everyone)
        wanted = found.units | {unit for ids in found.names.values() for unit in ids}
        _states(found, (row for row in conn.execute(state_query) if row[1] in wanted))
        return found
    named = sorted(unit_ids)
    for n in range(0, len(named), 900):
        chunk = named[n : n + 900]
        found.units.update(conn.execute(select(u.id).where(*live, u.id.in_(chunk))).scalars())
    names = [name for name in named if name not in found.units]
    for n in range(0, len(names), 900):
        for unit, name in conn.execute(select(u.id, u.name).where(*live, u.name.in_(names[n : n + 900]))):
            found.names.setdefault(name, []).append(unit)
    if any(name not in found.names for name in names):  # (rare) the campaign's names, read once
        _loosely(found, unit_ids, conn.execute(select(u.id, u.name).where(*live)).all())
    wanted_ids = sorted(found.units | {unit for ids in found.names.values() for unit in ids})
    for n in range(0, len(wanted_ids), 900):
        _states(found, conn.execute(state_query.where(i.unit_id.in_(wanted_ids[n : n + 900]))))
    return found


def _states(found: Lookups, rows: Iterable[Any]) -> None:
    """(task, unit, state, done_at) rows into `found`."""
    for task, unit, state, at in rows:
        found.states[task, unit] = state
        if at is not None:
            found.done_at[task, unit] = int(at)


def _loosely(found: Lookups, named: set[str], everyone: Iterable[Any]) -> None:
    """The units named but for capitals and spacing ("Huyện Ủy Can Lộc"), among `everyone`
    (id, name): added to `found.names` under the name as written."""
    unmatched = [each for each in named if each not in found.units and each not in found.names]
    if unmatched:
        for each, units in loosely_named(unmatched, everyone).items():
            found.names[each] = [unit for unit, _name in units]
