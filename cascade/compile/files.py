"""The file edge of the compiler: read a campaign file and the units file it names.

This is the only module of the compiler that touches the disk. Problems in the units
file are gathered with those of the campaign file, so one `cascade validate` shows both.
"""

from __future__ import annotations

import re
from pathlib import Path, PureWindowsPath

from cascade import collector
from cascade.compile.build import compile_plan
from cascade.compile.reading import decoded, read_text, read_yaml
from cascade.compile.sheets import is_spreadsheet
from cascade.compile.units import read_units_file
from cascade.errors import CampaignInvalid, Problem
from cascade.i18n import _
from cascade.plan.hierarchy import Hierarchy
from cascade.plan.model import Plan


def load_plan(path: str | Path) -> Plan:
    """Read, check and compile a campaign file; raises CampaignInvalid with every problem."""
    path = Path(path)
    if is_spreadsheet(path):  # (given for the campaign: told what it is)
        raise CampaignInvalid([_not_a_campaign(path)])
    with collector.paused():  # ~10^6 long-lived objects, no cycles
        doc = read_yaml(read_text(path, str(path)), str(path))
        if isinstance(doc.data, dict) and "levels" in doc.data and "campaign" not in doc.data:
            raise CampaignInvalid([_not_a_campaign(path)])  # a units file
        problems: list[Problem] = []
        hierarchy = _units_of(path, doc.data, doc.line_of(("campaign", "units")), problems)
        return compile_plan(doc, hierarchy, problems)


def is_units_file(path: str | Path) -> bool:
    """A CSV file or Excel workbook, or YAML whose top level has `levels:` and no `campaign:`."""
    path = Path(path)
    if is_spreadsheet(path):
        return True
    try:
        text = decoded(path.read_bytes())
    except (OSError, UnicodeDecodeError):
        return False  # load_plan reports it
    keys = {line.split(":", 1)[0] for line in text.splitlines() if line[:1].isalpha()}
    return "levels" in keys and "campaign" not in keys


def _not_a_campaign(path: Path) -> Problem:
    """A units file or a spreadsheet given where a campaign file goes: what it is, and for a units
    file the campaign files beside it (or a folder up) that name it."""
    if is_spreadsheet(path):
        return Problem(
            str(path),
            None,
            "",
            _("a spreadsheet, not a campaign file"),
            _("give the campaign's YAML file (its `units:` may name this sheet)"),
        )
    naming = _campaigns_naming(path)
    return Problem(
        str(path),
        None,
        "",
        _("a units file, not a campaign file"),
        _("give the campaign file that names it in `units:`: {files}", files=", ".join(naming))
        if naming
        else _("write a campaign file whose `units:` names it (as campaigns/*.yaml do)"),
    )


_UNITS_LINE = re.compile(r"^[ \t]+units:[ \t]*['\"]?([^'\"#\n]+?)['\"]?[ \t]*(?:#.*)?$", re.MULTILINE)


def _campaigns_naming(units: Path) -> list[str]:
    """The campaign files in the units file's folder and the one above it whose `units:` names it
    (the first 50 YAML files of each looked at)."""
    target = units.resolve()
    found = []
    for folder in dict.fromkeys((units.parent, units.parent.parent)):
        for candidate in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])[:50]:
            try:
                text = decoded(candidate.read_bytes())
            except (OSError, UnicodeDecodeError):
                continue
            for m in _UNITS_LINE.finditer(text):
                if (candidate.parent / m.group(1).strip().replace("\\", "/")).resolve() == target:
                    found.append(str(candidate))
                    break
    return found


def load_units(path: str | Path) -> Hierarchy:
    """Read and check a units file on its own; raises CampaignInvalid with every problem."""
    path = Path(path)
    with collector.paused():
        return read_units_file(path, str(path))


UNITS_SUFFIXES = (".yaml", ".yml", ".csv", ".xlsx")


def _meant_file(base: Path, name: str) -> str | None:
    """The one file a units path found nowhere likely means: its folders and name in other capitals
    (Windows does not tell them apart; the server does), or its name without the extension Windows
    hides (`units/don-vi` for `units/don-vi.xlsx`); as a path from `base`, or None."""
    if name.startswith("/"):
        return None
    folder, found = base, list[str]()
    parts = [part for part in name.split("/") if part not in ("", ".")]
    for n, part in enumerate(parts):
        if part == "..":
            folder, found = folder.parent, [*found, part]
            continue
        try:
            entries = list(folder.iterdir())
        except OSError:
            return None
        last = n == len(parts) - 1
        same = [
            e
            for e in entries
            if e.name.casefold() == part.casefold() and (e.is_file() if last else e.is_dir())
        ]
        if last and not same:
            same = [
                e
                for e in entries
                if e.is_file() and e.suffix.lower() in UNITS_SUFFIXES and e.stem.casefold() == part.casefold()
            ]
        if len(same) != 1:
            return None
        folder, found = same[0], [*found, same[0].name]
    return "/".join(found) if found else None


def _units_of(path: Path, data: object, line: int | None, problems: list[Problem]) -> Hierarchy | None:
    header = data.get("campaign") if isinstance(data, dict) else None
    name = header.get("units") if isinstance(header, dict) else None
    if not isinstance(name, str):
        return None  # the shape check reports the missing key
    units_path = path.parent / name
    if not units_path.is_file() and (slashed := path.parent / name.replace("\\", "/")).is_file():
        units_path = slashed  # `units\don-vi.xlsx`, as Windows writes it
    shown = str(units_path)
    if not units_path.is_file():
        windows = re.match(r"^[A-Za-z]:[\\/]", name)  # a path on the operator's own computer
        shown = name if windows else shown
        meant = None if windows else _meant_file(path.parent, name.replace("\\", "/"))
        hint = (
            _("`{name}` is a path on a Windows computer: put the units file beside the campaign file "
              "and write its name, `units: {file}`", name=name, file=PureWindowsPath(name).name)
            if windows
            else _("the folder holds `{file}`: write `units: {file}` (on the server, capitals and the "
                   "extension count)", file=meant)
            if meant
            else _("the path is relative to the campaign file")
        )  # fmt: skip
        problems.append(
            Problem(str(path), line, "campaign.units", _("units file `{shown}` not found", shown=shown), hint)
        )
        return None
    try:
        return read_units_file(units_path, shown)
    except CampaignInvalid as exc:
        problems.extend(exc.problems)
        return None
