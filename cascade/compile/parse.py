"""A campaign document's sections, each checked for its shape on its own.

The first of the compiler's three steps (see `cascade.compile.build`): one broken task
does not hide the errors of the next, and the tasks that failed are remembered by id so
that the reference checks do not report them twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from cascade.compile.format import CampaignFile, CampaignHeader, Defaults, Report, Task
from cascade.compile.reading import Document
from cascade.compile.validate import checked
from cascade.errors import Problem, did_you_mean, one_of
from cascade.i18n import _


@dataclass
class ParsedCampaign:
    """The sections that passed their shape checks (None or absent where they did not)."""

    doc: Document
    header: CampaignHeader | None
    defaults: Defaults
    tasks: list[tuple[int, Task]] = field(default_factory=list)
    reports: list[tuple[int, Report]] = field(default_factory=list)
    broken_ids: set[str] = field(default_factory=set)  # ids of tasks that failed their shape


def parse_campaign(doc: Document, problems: list[Problem]) -> ParsedCampaign:
    data = doc.data
    if not isinstance(data, dict):
        problems.append(doc.problem((), _("a campaign file is a mapping with `campaign:` and `tasks:`")))
        return ParsedCampaign(doc, None, Defaults())
    known = [f.alias or name for name, f in CampaignFile.model_fields.items()]
    in_header = [f.alias or name for name, f in CampaignHeader.model_fields.items()]
    for key in data:
        if key not in known:
            inside = _("`{key}` belongs under `campaign:` (indent it below it)", key=key)
            problems.append(
                doc.problem(
                    (key,),
                    _("unknown key `{key}`", key=key),
                    did_you_mean(str(key), known)
                    or (inside if key in in_header else None)
                    or _("known keys: {keys}", keys=one_of(known)),
                )
            )
    for key in ("campaign", "tasks"):
        if key not in data and not (key == "tasks" and isinstance(data.get("campaign"), dict)
                                    and "tasks" in data["campaign"]):  # fmt: skip
            problems.append(doc.problem((), _("`{key}` is required at the top of the file", key=key)))
    before = len(problems)
    header = (
        checked(CampaignHeader, data["campaign"], doc, ("campaign",), problems)
        if "campaign" in data
        else None
    )
    for n in range(before, len(problems)):  # `tasks:` indented under `campaign:`
        where, _dot, key = problems[n].key.partition(".")
        if where == "campaign" and key in known:
            hint = _("`{key}` belongs at the top of the file, not under `campaign:` (no indent)", key=key)
            problems[n] = replace(problems[n], hint=hint)
    defaults = checked(Defaults, data.get("defaults") or {}, doc, ("defaults",), problems) or Defaults()
    parsed = ParsedCampaign(doc, header, defaults)
    parsed.tasks = _section(doc, data, "tasks", Task, parsed.broken_ids, problems)
    parsed.reports = _section(doc, data, "reports", Report, parsed.broken_ids, problems)
    return parsed


S = TypeVar("S", Task, Report)


def _section(
    doc: Document,
    data: dict[str, Any],
    section: str,
    model: type[S],
    broken: set[str],
    problems: list[Problem],
) -> list[tuple[int, S]]:
    """The entries of `tasks` or `reports` that pass their shape check, with their index."""
    items = data.get(section) or []
    if not isinstance(items, list):
        problems.append(
            doc.problem(
                (section,), _("`{section}` is a list", section=section), _("start each entry with `- id:`")
            )
        )
        return []
    if section == "tasks" and "tasks" in data and not items:
        problems.append(doc.problem((section,), _("a campaign needs at least one task")))
    out = []
    for i, item in enumerate(items):
        spec = checked(model, item, doc, (section, i), problems)
        if spec is not None:
            out.append((i, spec))
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            broken.add(item["id"])
    return out
