"""The units a campaign file names in `units:`, `exclude:` and `exempt:`, by id or by name.

A units sheet without an id column makes its ids from the names ("Chi bộ Trường THPT Càng
Long" -> `chi-bo-truong-thpt-cang-long`), ids its operator never sees; the campaign file may
name such a unit as the sheet writes it, as the commands and the replies do (capitals, spacing
or, typed with the keyboard off, all its marks aside). Each name is given its unit's id in place
before the checks and the plan read the lists; a name several units share is an error naming
their ids.
"""

from __future__ import annotations

from cascade.compile.parse import ParsedCampaign
from cascade.errors import Problem, several_named
from cascade.i18n import _
from cascade.plan.hierarchy import Hierarchy, loosely_named

KEYS = ("units", "exclude", "exempt")


def name_units(parsed: ParsedCampaign, hierarchy: Hierarchy, problems: list[Problem]) -> None:
    """Put each unit's id in place of its name in the tasks' and reports' lists."""
    units = hierarchy.units
    lists = [
        ((section, i, key), written)
        for section, items in (("tasks", parsed.tasks), ("reports", parsed.reports))
        for i, spec in items
        for key in KEYS
        if (written := getattr(spec, key, None))
    ]
    unknown = {each for _at, written in lists for each in written if each not in units}
    if not unknown:  # (the usual: ids, or nothing named)
        return
    found = loosely_named(sorted(unknown), ((unit.id, unit.name) for unit in units.values()))
    for at, written in lists:
        kept = []
        for n, each in enumerate(written):
            named = found.get(each, []) if each not in units else []
            if len(named) > 1:
                hint = _("write one of these ids in its place")
                problems.append(
                    parsed.doc.problem((*at, n), several_named(each, [uid for uid, _name in named]), hint)
                )
                continue  # (told here; not "no unit" again)
            kept.append(named[0][0] if named else each)
        written[:] = kept
