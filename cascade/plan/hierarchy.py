"""The hierarchy of units a campaign cascades through, and the recipients named along it.

The compiler reads a units file into a `Hierarchy`; a deployed campaign keeps each unit's
ancestry as a path, "level:id/.../level:id", which is all the engine needs to find a
parent or the recipients of a notice (`recipients`) without loading the tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cascade.errors import Problem
from cascade.plan.values import Contact, loose, unmarked


@dataclass(slots=True)
class UnitRecord:
    id: str
    name: str
    level: str
    depth: int
    parent: str | None
    tags: tuple[str, ...]
    contacts: tuple[Contact, ...]
    line: int | None


@dataclass
class Hierarchy:
    """Units top-down (parents before children), with their levels."""

    file: str
    levels: list[str]
    optional: frozenset[str]
    units: dict[str, UnitRecord]
    children: dict[str, list[str]] = field(default_factory=dict)
    _by_level: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)
    # what its file says that is likely a mistake (a name YAML cut at ` #`): told, not refused
    warnings: list[Problem] = field(default_factory=list, repr=False, compare=False)

    @property
    def root(self) -> UnitRecord:
        return next(iter(self.units.values()))

    def parent_of(self, unit_id: str) -> str | None:
        return self.units[unit_id].parent

    def ancestors(self, unit_id: str) -> Iterator[str]:
        """Parent, grandparent, ... up to the root."""
        parent = self.units[unit_id].parent
        while parent is not None:
            yield parent
            parent = self.units[parent].parent

    def path_of(self, unit_id: str) -> str:
        """The unit's ancestry from the root, "level:id/.../level:id": all `recipients` needs,
        and what the store keeps per unit."""
        chain = [unit_id, *self.ancestors(unit_id)]
        return "/".join(f"{self.units[u].level}:{u}" for u in reversed(chain))

    def paths(self) -> dict[str, str]:
        """Every unit's `path_of`, each from its parent's (the units come parents first)."""
        out: dict[str, str] = {}
        for unit in self.units.values():
            step = f"{unit.level}:{unit.id}"
            out[unit.id] = step if unit.parent is None else f"{out[unit.parent]}/{step}"
        return out

    def positions(self) -> dict[str, int]:
        """Every unit's place in the file read as a tree: top-down, each unit's children in the order
        written, after it and before its next sibling. The order people read units in (a sheet
        that lists every district before the communes puts each commune under its district)."""
        out: dict[str, int] = {}
        stack = [u.id for u in reversed(self.units.values()) if u.parent is None]
        while stack:
            unit = stack.pop()
            out[unit] = len(out)
            stack.extend(reversed(self.children.get(unit, ())))
        return out

    def tags(self) -> set[str]:
        return {tag for unit in self.units.values() for tag in unit.tags}

    def at_level(self, level: str) -> list[str]:
        """The ids of the units at `level`, in the hierarchy's order (indexed on first use: a
        campaign's tasks target a level each, over ~66,000 units nationally)."""
        if self._by_level is None:
            self._by_level = {name: [] for name in self.levels}
            for unit in self.units.values():
                self._by_level.setdefault(unit.level, []).append(unit.id)
        return self._by_level.get(level, [])


def parent_of(path: str) -> str | None:
    """The parent's id of the unit at the end of `path` ("level:id/.../level:id"); None at the top."""
    chain = path.rsplit("/", 2)  # (the last two steps are all it needs)
    return chain[-2].split(":", 1)[1] if len(chain) > 1 else None


def recipients(path: str, targets: Iterable[str]) -> list[str]:
    """Unit ids named by `targets` for the unit at the end of `path` ("level:id/.../level:id")."""
    if targets == ("self",):  # most notices (openings, reminders, requests): the unit alone
        return [path[path.rfind(":") + 1 :]]
    chain = [part.split(":", 1) for part in path.split("/")]
    found: dict[str, None] = {}
    for target in targets:
        kind, _, arg = target.partition(":")
        unit: str | None = None
        if kind == "self":
            unit = chain[-1][1]
        elif kind == "parent":
            unit = chain[-2][1] if len(chain) > 1 else None
        elif kind == "root":
            unit = chain[0][1]
        elif kind == "ancestor":
            n = int(arg)
            unit = chain[-1 - n][1] if len(chain) > n else None
        elif kind == "level":
            unit = next((uid for level, uid in chain if level == arg), None)
        if unit is not None:
            found[unit] = None
    return list(found)


def loosely_named(written: Iterable[str], everyone: Iterable[Any]) -> dict[str, list[tuple[str, str]]]:
    """Of the names `written`, those that are units' names but for capitals and spacing ("Huyện
    Ủy  Can Lộc"), each with the (id, name) of every unit of `everyone` (id, name) it names. A
    name typed with no marks at all, the Vietnamese keyboard off ("chi bo ap long hoi"), names
    the units whose names are it but for their marks: one is found, several are told as several
    (Tân Thành, Tân Thạnh); a name with marks is never matched against other marks."""
    by_loose: dict[str, list[tuple[str, str]]] = {}
    by_bare: dict[str, list[tuple[str, str]]] | None = None
    found: dict[str, list[tuple[str, str]]] = {}
    everyone = list(everyone)
    for uid, name in everyone:
        by_loose.setdefault(loose(name), []).append((uid, name))
    for each in written:
        if units := by_loose.get(loose(each)):
            found[each] = units
        elif each.isascii():
            if by_bare is None:  # (read once, for the first name typed so)
                by_bare = {}
                for uid, name in everyone:
                    by_bare.setdefault(unmarked(loose(name)), []).append((uid, name))
            if units := by_bare.get(loose(each)):  # (`each` has no marks: `loose` is its bare form)
                found[each] = units
    return found
