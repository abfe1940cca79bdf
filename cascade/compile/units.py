"""Units files (§2): the hierarchy of organisations a campaign cascades through.

A units file is YAML (a tree under `children`) or CSV (one row a unit or contact,
parents before children). Both become one `Hierarchy`, checked for the §2 rules:
unique slug ids, one root at the top level, each unit exactly one level below its
parent unless the levels between are marked optional, a channel on every contact.
A CSV file names its levels in a first comment line, `# levels: province, district,
grassroots` (an optional level ends in `?`); without one they are read off the tree.
"""

from __future__ import annotations

import itertools

from cascade.compile.format import Level, Unit, UnitsFile
from cascade.compile.reading import CsvRow, Document, read_csv, read_yaml
from cascade.compile.validate import checked, checked_all
from cascade.errors import CampaignInvalid, Problem, did_you_mean, one_of
from cascade.plan.hierarchy import Hierarchy, UnitRecord
from cascade.plan.values import CHANNELS


def read_units(text: str, file: str) -> Hierarchy:
    """Parse and check a units file's text; the file name picks YAML or CSV."""
    if file.lower().endswith(".csv"):
        return _from_csv(text, file)
    return _from_yaml(read_yaml(text, file))


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
    return _hierarchy(doc.file, list(spec.levels), [r for r, _ in records], problems)


_COLUMNS = ("id", "name", "level", "parent", "tags", "role", "contact_name", *CHANNELS)


def _from_csv(text: str, file: str) -> Hierarchy:
    header, rows, comments = read_csv(text, file)
    problems: list[Problem] = []
    if missing := [c for c in ("id", "name", "level", "parent") if c not in header]:
        raise CampaignInvalid(
            [
                Problem(
                    file,
                    1,
                    "header",
                    f"missing column(s) {one_of(missing)}",
                    f"columns: {','.join(_COLUMNS)}",
                )
            ]
        )
    for column in header:
        if column not in _COLUMNS:
            problems.append(
                Problem(
                    file,
                    1,
                    "header",
                    f"unknown column `{column}`",
                    did_you_mean(column, _COLUMNS) or f"known: {one_of(_COLUMNS)}",
                )
            )
    channels = [c for c in header if c in CHANNELS]  # the written order is the fallback order
    grouped: dict[str, list[CsvRow]] = {}
    for row in rows:
        grouped.setdefault(row.values["id"], []).append(row)
    doc = Document(file, None)
    raw: list[dict[str, object]] = []
    for i, (uid, unit_rows) in enumerate(grouped.items()):
        first = unit_rows[0]
        doc.lines[(i,)] = first.line
        if len(unit_rows) > 1:
            _check_repeats(uid, unit_rows, file, problems)
        contacts: list[dict[str, object]] = []
        for row in unit_rows:
            contact = _contact(row.values, channels)
            if contact is not None:
                doc.lines[(i, "contacts", len(contacts))] = row.line
                contacts.append(contact)
        raw.append(
            {
                "id": uid,
                "name": first.values["name"],
                "level": first.values["level"],
                "tags": _split_tags(first.values.get("tags", "")),
                "contacts": contacts,
            }
        )
    units = checked_all(Unit, raw, doc, (), problems)
    parents = {u.id: grouped[u.id][0].values["parent"] or None for u in units}
    lines = {u.id: grouped[u.id][0].line for u in units}
    levels = _csv_levels(comments, units, parents, file, problems)
    records = [
        UnitRecord(u.id, u.name, u.level, -1, parents[u.id], tuple(u.tags), tuple(u.contacts), lines[u.id])
        for u in units
    ]
    return _hierarchy(file, levels, records, problems)


def _contact(values: dict[str, str], channels: list[str]) -> dict[str, object] | None:
    contact = {c: values[c] for c in channels if values.get(c)}
    if not contact and not values.get("role"):
        return None
    out: dict[str, object] = {"role": values.get("role", ""), **contact, "channels": tuple(contact)}
    if values.get("contact_name"):
        out["name"] = values["contact_name"]
    return out


def _split_tags(text: str) -> list[str]:
    return [t for t in text.replace(";", " ").replace("|", " ").split() if t]


def _check_repeats(uid: str, rows: list[CsvRow], file: str, problems: list[Problem]) -> None:
    """Rows after a unit's first add contacts; their unit columns must be blank or equal."""
    first = rows[0].values
    for row in rows[1:]:
        for column in ("name", "level", "parent", "tags"):
            value = row.values.get(column, "")
            if value and value != first.get(column, ""):
                problems.append(
                    Problem(
                        file,
                        row.line,
                        f"{uid}.{column}",
                        f"`{value}` differs from `{first.get(column, '')}` on line {rows[0].line}",
                        "rows after a unit's first only add contacts; leave these columns blank",
                    )
                )


def _csv_levels(
    comments: list[str], units: list[Unit], parents: dict[str, str | None], file: str, problems: list[Problem]
) -> list[Level]:
    for comment in comments:
        key, _, rest = comment.partition(":")
        if key.strip().lower() == "levels":
            names = [n.strip() for n in rest.split(",") if n.strip()]
            return [Level(name=n.rstrip("?"), optional=n.endswith("?")) for n in names]
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
    for upper, lower in itertools.pairwise(order):
        if deepest[upper] == deepest[lower]:
            problems.append(
                Problem(
                    file,
                    1,
                    "levels",
                    f"cannot tell whether `{upper}` or `{lower}` is the higher level",
                    "name the levels in a first line: # levels: province, district, commune",
                )
            )
    order += [level for level in orphans if level not in deepest]
    return [Level(name=name) for name in order]


def _hierarchy(
    file: str, levels: list[Level], records: list[UnitRecord], problems: list[Problem]
) -> Hierarchy:
    names = [level.name for level in levels]
    index = {name: i for i, name in enumerate(names)}
    if len(index) != len(names):
        problems.append(Problem(file, 1, "levels", "a level is named twice", "name each level once"))
    if not 2 <= len(names) <= 6:
        problems.append(Problem(file, 1, "levels", f"{len(names)} levels; a campaign has 2 to 6"))
    optional = frozenset(level.name for level in levels if level.optional)
    units: dict[str, UnitRecord] = {}
    children: dict[str, list[str]] = {}
    roots = []
    for record in records:
        if record.id in units:
            problems.append(
                Problem(
                    file,
                    record.line,
                    record.id,
                    f"unit id `{record.id}` is used twice",
                    f"the first is on line {units[record.id].line}; ids must be unique",
                )
            )
            continue
        if record.level not in index:
            problems.append(
                Problem(
                    file,
                    record.line,
                    f"{record.id}.level",
                    f"`{record.level}` is not a level",
                    did_you_mean(record.level, names) or f"levels: {one_of(names)}",
                )
            )
            continue
        record.depth = index[record.level]
        if record.parent is None:
            roots.append(record)
        elif record.parent not in units:
            problems.append(
                Problem(
                    file,
                    record.line,
                    f"{record.id}.parent",
                    f"parent `{record.parent}` is not a unit listed before this one",
                    did_you_mean(record.parent, units) or "list parents before children",
                )
            )
            continue
        else:
            _check_level_step(record, units[record.parent], names, optional, file, problems)
            children.setdefault(record.parent, []).append(record.id)
        units[record.id] = record
    if not units and not any(p.severity == "error" for p in problems):
        problems.append(Problem(file, None, "", "the units file lists no unit", "add at least the top unit"))
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
                f"`{record.id}` is at level `{record.level}` under `{parent.id}` ({parent.level})",
                f"a unit sits one level below its parent: `{expected}`"
                if expected
                else f"`{parent.level}` is the lowest level; it can have no children",
            )
        )


def _check_roots(roots: list[UnitRecord], names: list[str], file: str, problems: list[Problem]) -> None:
    if len(roots) > 1:
        others = ", ".join(r.id for r in roots[1:4])
        problems.append(
            Problem(
                file,
                roots[1].line,
                roots[1].id,
                f"more than one top unit (`{roots[0].id}`, {others})",
                "a campaign cascades from one top unit; nest the others under it",
            )
        )
    for root in roots[:1]:
        if names and root.level != names[0]:
            problems.append(
                Problem(
                    file,
                    root.line,
                    f"{root.id}.level",
                    f"the top unit is at `{root.level}`, not the top level `{names[0]}`",
                )
            )
