"""Units files (§2): the hierarchy of organisations a campaign cascades through.

A units file is YAML (a tree under `children`), or rows of a CSV file or an Excel sheet (one
row a unit or contact, in any order: `unit_rows`). Both become one `Hierarchy`, checked for
the §2 rules: unique slug ids, one root at the top level, each unit exactly one level below
its parent unless the levels between are marked optional, a channel on every contact.
"""

from __future__ import annotations

from pathlib import Path

from cascade.compile.format import Level, Unit, UnitsFile
from cascade.compile.reading import Document, read_text, read_yaml
from cascade.compile.sheets import is_spreadsheet
from cascade.compile.unit_rows import Read, read_file_rows, read_text_rows
from cascade.compile.validate import checked
from cascade.errors import CampaignInvalid, Problem, Severity, Suggestions
from cascade.i18n import _
from cascade.plan.hierarchy import Hierarchy, UnitRecord
from cascade.plan.values import levels_hint


def read_units(text: str, file: str) -> Hierarchy:
    """Parse and check a units file's text; the file name picks YAML or CSV."""
    if file.lower().endswith(".csv"):
        return _from_rows(read_text_rows(text, file))
    return _from_yaml(read_yaml(text, file))


def read_units_file(path: Path, shown: str) -> Hierarchy:
    """A units file on disk: YAML, CSV (however Excel saved it) or an Excel workbook; its
    hierarchy's `file` is the file (a workbook's problems name their sheet too)."""
    if is_spreadsheet(path):
        hierarchy = _from_rows(read_file_rows(path, shown))
        hierarchy.file = shown
        return hierarchy
    return read_units(read_text(path, shown), shown)


def _from_rows(read: Read) -> Hierarchy:
    hierarchy = _hierarchy(read.file, read.levels, read.records, read.problems, read.refused)
    hierarchy.warnings = [p for p in read.problems if p.severity is Severity.WARNING]  # (ids made)
    return hierarchy


def _from_yaml(doc: Document) -> Hierarchy:
    problems: list[Problem] = []
    spec = checked(UnitsFile, doc.data, doc, (), problems)
    if spec is None:
        raise CampaignInvalid(problems)
    records: list[tuple[UnitRecord, tuple[str | int, ...]]] = []

    def walk(unit: Unit, parent: str | None, path: tuple[str | int, ...]) -> None:
        record = UnitRecord(
            unit.id,
            unit.name,
            unit.level,
            -1,
            parent,
            tuple(unit.tags),
            tuple(unit.contacts),
            doc.line_of(path),
        )
        records.append((record, path))
        for i, child in enumerate(unit.children):
            walk(child, unit.id, (*path, "children", i))

    for i, top in enumerate(spec.units):
        walk(top, None, ("units", i))
    hierarchy = _hierarchy(doc.file, list(spec.levels), [r for r, _path in records], problems)
    hierarchy.warnings = doc.warnings  # (a name cut at ` #`)
    return hierarchy


def _hierarchy(
    file: str,
    levels: list[Level],
    records: list[UnitRecord],
    problems: list[Problem],
    refused_rows: frozenset[str] = frozenset(),
) -> Hierarchy:
    """The tree of `records` (parents first), and a problem for each unit wrong in it. A unit
    under a unit refused (its row, or its level) is left out unsaid: its parent's problem is
    its own (the cells of a commune whose level is wrong). One whose parent is unknown is still
    placed, so that its children are checked against it: the 56,700 cells of 9,450 communes
    naming a district gone from a national file were each refused as under no unit."""
    names = [level.name for level in levels]
    index = {name: i for i, name in enumerate(names)}
    if len(index) != len(names):
        problems.append(Problem(file, 1, "levels", _("a level is named twice"), _("name each level once")))
    if not 2 <= len(names) <= 6:
        problems.append(
            Problem(file, 1, "levels", _("{count} levels; a campaign has 2 to 6", count=len(names)))
        )
    optional = frozenset(level.name for level in levels if level.optional)
    units: dict[str, UnitRecord] = {}
    children: dict[str, list[str]] = {}
    roots = []
    refused = set(refused_rows)
    parent_hint = Suggestions(lambda: units)
    for record in records:
        if record.id in units:
            problems.append(
                Problem(
                    file,
                    record.line,
                    record.id,
                    _("unit id `{id}` is used twice", id=record.id),
                    _("the first is on line {line}; ids must be unique", line=units[record.id].line),
                )
            )
            continue
        if record.level not in index:
            problems.append(
                Problem(
                    file,
                    record.line,
                    f"{record.id}.level",
                    _("`{level}` is not a level", level=record.level),
                    levels_hint(record.level, names),
                )
            )
            refused.add(record.id)
            continue
        record.depth = index[record.level]
        if record.parent is None:
            roots.append(record)
        elif record.parent in refused:
            refused.add(record.id)
            continue
        elif record.parent not in units:
            problems.append(
                Problem(
                    file,
                    record.line,
                    f"{record.id}.parent",
                    _("parent `{parent}` is not a unit of this file", parent=record.parent),
                    parent_hint(record.parent) or _("name the parent by its id or its exact name"),
                )
            )
        else:
            parent = units[record.parent]
            if record.depth != parent.depth + 1:  # (one level below its parent: nothing to check)
                _check_level_step(record, parent, names, optional, file, problems)
            children.setdefault(record.parent, []).append(record.id)
        units[record.id] = record
    if not units and not any(p.severity == "error" for p in problems):
        problems.append(
            Problem(file, None, "", _("the units file lists no unit"), _("add at least the top unit"))
        )
    _check_roots(roots, names, file, problems)
    if any(p.severity == "error" for p in problems):
        raise CampaignInvalid(problems)
    return Hierarchy(file, names, optional, units, children)


def _check_level_step(
    record: UnitRecord,
    parent: UnitRecord,
    names: list[str],
    optional: frozenset[str],
    file: str,
    problems: list[Problem],
) -> None:
    skipped = names[parent.depth + 1 : record.depth]
    if record.depth <= parent.depth or any(name not in optional for name in skipped):
        expected = names[parent.depth + 1] if parent.depth + 1 < len(names) else None
        problems.append(
            Problem(
                file,
                record.line,
                f"{record.id}.level",
                _(
                    "`{id}` is at level `{level}` under `{parent}` ({parent_level})",
                    id=record.id,
                    level=record.level,
                    parent=parent.id,
                    parent_level=parent.level,
                ),
                _skip_hint(expected, [name for name in skipped if name not in optional], file)
                if expected
                else _("`{level}` is the lowest level; it can have no children", level=parent.level),
            )
        )


def _skip_hint(expected: str, skipped: list[str], file: str) -> str:
    """Where to put a unit, and, for one that skips levels, the other fix: the levels skipped
    may be what changed (a merger dropped the district level and its communes moved up; the
    hint alone told each commune to be a district)."""
    hint = _("a unit sits one level below its parent: `{expected}`", expected=expected)
    if not skipped:
        return hint
    first = skipped[0]
    if file.lower().endswith((".csv", ".xlsx", ".xls")):
        marked = _("`{level}?` in the `# levels:` line", level=first)
    else:
        marked = _("`{{name: {level}, optional: true}}` in `levels`", level=first)
    return hint + _(
        "; or, where units skip {levels} (a level dropped), mark it optional, {marked}, or take it out of "
        "the levels",
        levels=", ".join(f"`{name}`" for name in skipped),
        marked=marked,
    )


def _check_roots(roots: list[UnitRecord], names: list[str], file: str, problems: list[Problem]) -> None:
    if len(roots) > 1:
        others = ", ".join(r.id for r in roots[1:4])
        problems.append(
            Problem(
                file,
                roots[1].line,
                roots[1].id,
                _("more than one top unit (`{id}`, {others})", id=roots[0].id, others=others),
                _("a campaign cascades from one top unit; nest the others under it"),
            )
        )
    for root in roots[:1]:
        if names and root.level != names[0]:
            problems.append(
                Problem(
                    file,
                    root.line,
                    f"{root.id}.level",
                    _(
                        "the top unit is at `{level}`, not the top level `{top}`",
                        level=root.level,
                        top=names[0],
                    ),
                )
            )
