"""Ids for a units sheet's rows that give none, made from their names: "Đảng ủy xã Thiên Lộc" is
`dang-uy-xa-thien-loc`; a name that units under other parents share ("Chi bộ ấp 1" of every
commune) makes each one's with its parent's name too. `unit_rows` reads the rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cascade.errors import Problem, Severity
from cascade.i18n import _
from cascade.plan.values import unmarked

MAX_ID = 64  # the store's id columns


@dataclass
class Row:
    line: int
    values: dict[str, str]


def slug(name: str) -> str:
    """An id made from a name: "Đảng ủy xã Thiên Lộc" -> "dang-uy-xa-thien-loc"."""
    made = re.sub(r"[^a-z0-9]+", "-", unmarked(name)).strip("-")
    if len(made) > MAX_ID:
        made = made[:MAX_ID].rsplit("-", 1)[0]
    return made


def _shared_names(rows: list[Row]) -> set[str]:
    """The ids made from a name that several units have, each under another parent (a commune's
    "Chi bộ ấp 1" and the next commune's), where no row gives an id: those units' ids are made
    with their parent's name too (rows with the name and no parent are its contacts). Two names
    that make one id (Tân Thành, Tân Thạnh) are not one name shared: refused, both rows named."""
    seen: dict[str, tuple[set[str], set[str]]] = {}  # made id -> (the names, their parents)
    for row in rows:
        values = row.values
        if not values.get("id") and (name := values.get("name")) and (parent := values.get("parent")):
            names, parents = seen.setdefault(slug(name), (set(), set()))
            names.add(name)
            parents.add(parent)
    return {uid for uid, (names, parents) in seen.items() if len(names) == 1 and len(parents) > 1}


def give_ids(rows: list[Row], file: str, problems: list[Problem]) -> None:
    """Ids for the rows that have none, from their names; a row with neither adds a contact to
    the unit above it. A made id that another unit has or makes is reported, with ids to write."""
    given = {row.values["id"]: row for row in rows if row.values.get("id")}
    shared = _shared_names(rows)
    made: dict[str, Row] = {}  # id -> the row that made it
    named: dict[str, str] = {}  # a shared name -> the id made for its last unit (for its contact rows)
    suffixed: dict[str, None] = {}  # the ids so made
    last: str | None = None
    for row in rows:
        values = row.values
        if values.get("id"):
            last = values["id"]
            continue
        name = values.get("name", "")
        if not name:
            if last is not None:
                values["id"] = last  # a further contact of the unit above
            continue
        uid = slug(name)
        if uid in shared:  # "Chi bộ ấp 1" of many communes: each by its parent too
            parent = values.get("parent", "")
            uid = slug(f"{name} {parent}") if parent else named.get(uid, uid)
            named[slug(name)] = uid
            suffixed.setdefault(uid, None)
        first = made.get(uid) or given.get(uid)
        same = (
            first is not None
            and uid in made
            and first.values.get("name") == name
            and values.get("parent", "") in ("", first.values.get("parent", ""))
        )
        if first is not None and not same:
            ids = [f"{uid}-{slug(p)}" if (p := v.get("parent")) else uid for v in (first.values, values)]
            if ids[0] == ids[1]:  # the same parent: numbered
                ids = [f"{uid}-1", f"{uid}-2"]
            hints = [
                _("`{id}` for `{name}`", id=made_id, name=v.get("name", ""))
                for made_id, v in zip(ids, (first.values, values), strict=True)
            ]
            problems.append(
                Problem(
                    file,
                    row.line,
                    "id",
                    _(
                        "`{name}` makes the id `{id}`, as `{other}` on line {line} does",
                        name=name,
                        id=uid,
                        other=first.values.get("name", uid),
                        line=first.line,
                    ),
                    _("give these units ids in an `id` column, e.g. {ids}", ids=_(" and ").join(hints))
                    if hints
                    else _("give these units ids in an `id` column"),
                )
            )
            continue
        if not uid:
            problems.append(
                Problem(
                    file, row.line, "id", _("cannot make an id from `{name}`", name=name), _("write an id")
                )
            )
            continue
        made.setdefault(uid, row)
        values["id"] = last = uid
    if suffixed:
        problems.append(
            Problem(
                file,
                None,
                "id",
                _(
                    "{count} units share their names with units under other parents: each one's id is made "
                    "with its parent's name (`{example}`)",
                    count=len(suffixed),
                    example=next(iter(suffixed)),
                ),
                _(
                    "to keep the ids when the sheet changes (a unit moved, a name given once more), write "
                    "them in an `id` column: `cascade plan --format csv` lists them"
                ),
                Severity.WARNING,
            )
        )
