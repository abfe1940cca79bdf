"""A units file's rows placed in a tree (`unit_rows` reads them): each unit's parent, given by
its id or by its exact name; the units with each after its parent (a sheet sorted by name
lists children first), a circle of parents named; the levels, from a `# levels:` line or
read off the tree.
"""

from __future__ import annotations

import itertools

from cascade.compile.format import Level
from cascade.errors import Problem, one_of
from cascade.i18n import _, num
from cascade.plan.hierarchy import UnitRecord
from cascade.plan.values import SLUG, level_hint, level_of_word


def parents_of(
    units: list[UnitRecord], written_of: dict[str, str], file: str, problems: list[Problem]
) -> dict[str, str | None]:
    """Each unit's parent id: its `parent` cell (`written_of[unit]`) as an id, or as the exact
    name of one unit (a parent that is neither is kept as written, for the hierarchy's check
    to name)."""
    by_name: dict[str, list[str]] = {}
    if not all(written in written_of or not written for written in written_of.values()):
        for unit in units:  # some parent is named, not given by its id
            by_name.setdefault(unit.name, []).append(unit.id)
    parents: dict[str, str | None] = {}
    for unit in units:
        written = written_of[unit.id]
        named = by_name.get(written, []) if written not in written_of else []
        parents[unit.id] = named[0] if len(named) == 1 else written or None
        if len(named) > 1:
            message = _(
                "{count} units are named `{name}` ({ids})",
                count=num(len(named)),
                name=written,
                ids=one_of(named),
            )
            line = unit.line
            problems.append(Problem(file, line, f"{unit.id}.parent", message, _("name the parent by its id")))
    return parents


def parents_first(
    units: list[UnitRecord], parents: dict[str, str | None], file: str, problems: list[Problem]
) -> list[UnitRecord]:
    """The units with each after its parent and siblings in the file's order (a tree walk from
    the top units). Units under an unknown parent follow, for the hierarchy's check to name; a
    circle of parents is reported here."""
    by_id = {unit.id: unit for unit in units}
    children: dict[str | None, list[str]] = {}
    for unit in units:
        parent = parents.get(unit.id)
        children.setdefault(parent if parent is None or parent in by_id else "?", []).append(unit.id)
    placed: dict[str, None] = {}
    stack = list(reversed(children.get(None, []) + children.get("?", [])))
    while stack:
        uid = stack.pop()
        placed[uid] = None
        stack.extend(reversed(children.get(uid, [])))
    broken: set[str] = set()  # in a circle, or under one: reported once, as the circle
    for unit in units:
        if unit.id in placed or unit.id in broken:
            continue
        chain: list[str] = []
        at: str | None = unit.id
        while at is not None and at not in chain and at not in placed and at not in broken:
            chain.append(at)
            at = parents.get(at)
        if at is not None and at in chain:  # not reached from the top: a circle above it
            circle = " -> ".join([*chain[chain.index(at) :], at])
            hint = _("one of them belongs under another parent")
            message = _("parents go round in a circle: {circle}", circle=circle)
            problems.append(Problem(file, by_id[at].line, f"{at}.parent", message, hint))
        broken.update(chain)  # (under a circle, or in one)
    return [by_id[uid] for uid in placed if uid not in broken]


def _levels_line(written: str, file: str, problems: list[Problem]) -> list[Level]:
    """`# levels: province, district?, grassroots`, each level by its id or as the rows may
    write it (`Tỉnh, Huyện?, Cơ sở`); `?` marks an optional one."""
    levels = []
    for name in (n.strip() for n in written.replace(";", ",").split(",")):
        if not name:
            continue
        level = level_of_word(name.removesuffix("?").strip())
        if SLUG.fullmatch(level):
            levels.append(Level(name=level, optional=name.endswith("?")))
        else:
            message = _("`{level}` is not a level id", level=name)
            problems.append(Problem(file, 1, "levels", message, level_hint()))
    return levels


def levels_of(
    comments: list[str],
    units: list[UnitRecord],
    parents: dict[str, str | None],
    file: str,
    problems: list[Problem],
) -> list[Level]:
    for comment in comments:
        key, _sep, rest = comment.partition(":")
        if key.strip().lower() in ("levels", "cấp"):
            return _levels_line(rest, file, problems)
    # No levels line: order levels by the deepest place each occurs, so that one unit
    # wrongly placed higher up is reported by the level-step check, not here.
    depth: dict[str, int] = {}
    deepest: dict[str, int] = {}
    orphans: dict[str, None] = {}
    for unit in units:
        parent = parents.get(unit.id)
        if parent is not None and parent not in depth:
            orphans[unit.level] = None  # the unknown parent is reported; keep the level
            continue
        depth[unit.id] = depth[parent] + 1 if parent is not None else 0
        deepest[unit.level] = max(deepest.get(unit.level, 0), depth[unit.id])
    order = sorted(deepest, key=deepest.__getitem__)
    alike: set[str] = set()  # the upper of two levels told apart here, not again on each row
    for upper, lower in itertools.pairwise(order):
        if deepest[upper] == deepest[lower] and {upper, lower} == {"commune", "grassroots"}:
            message = _(
                "communes and wards (`Xã`, `Phường`) and grassroots units (`Cơ sở`) at the same depth of "
                "the tree"
            )
            hint = _(
                "where communes and wards are grassroots units like the others, write `Cơ sở` for them too"
            )
            problems.append(Problem(file, 1, "levels", message, hint))
            alike.add(upper)
        elif deepest[upper] == deepest[lower]:
            problems.append(
                Problem(
                    file,
                    1,
                    "levels",
                    _(
                        "cannot tell whether `{upper}` or `{lower}` is the higher level",
                        upper=upper,
                        lower=lower,
                    ),
                    _("name the levels in a first line: # levels: province, district, commune"),
                )
            )
    order += [level for level in orphans if level not in deepest]
    return [Level(name=name, optional=name in alike) for name in order]
