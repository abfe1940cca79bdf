"""What `cascade template` sends out for one task: its units grouped by district, with the
figures each must report, read from the store. `cascade.reports.answer_book` writes it as a
workbook whose every sheet `cascade signal --import` reads back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, select

from cascade.engine import deployed, store
from cascade.engine.rollup import figure_type, figures_of
from cascade.engine.words import STATE_WORDS, deadline_short
from cascade.i18n import _
from cascade.plan.rules import TaskRules


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    type: str  # int, float, bool, text, date
    required: bool
    min: float | None
    max: float | None


@dataclass(frozen=True)
class UnitLine:
    id: str
    name: str
    state: str  # in words: "đang thực hiện", "quá hạn"...
    deadline: str  # its last day, "14/01/2021" ("" for none yet)


@dataclass
class Group:
    """A district (a unit just below the top unit, or below the unit the sheets are made under;
    that unit itself for the units right below it) and the units under it that owe the task, in
    tree order."""

    id: str
    name: str
    units: list[UnitLine] = field(default_factory=list)


@dataclass
class AnswerSheet:
    campaign: str
    campaign_title: str
    task: str
    task_title: str
    kind: str  # task | report
    figures: list[Figure]
    groups: list[Group]


class NotFound(LookupError):
    """No such campaign, task or unit: the message names which, for the operator."""


def answer_sheet(conn: Connection, campaign_id: str, task: str, under: str | None = None) -> AnswerSheet:
    campaign = deployed.read(conn, campaign_id)
    if campaign is None:
        raise NotFound(_("no deployed campaign `{campaign}`", campaign=campaign_id))
    if task not in campaign.tasks:
        begun, tasks = deployed.task_choices(campaign, task)
        said = dict(task=task, campaign=campaign_id)
        raise NotFound(
            _("no task or report `{task}` in `{campaign}`; did you mean {choice}?", **said, choice=begun)
            if begun
            else _("no task or report `{task}` in `{campaign}` (one of: {tasks})", **said, tasks=tasks)
        )
    rules = TaskRules.from_json(task, campaign.tasks[task])
    u, i = store.units.c, store.instances.c
    names = {r.id: r.name for r in conn.execute(select(u.id, u.name).where(u.campaign_id == campaign_id))}
    if under is not None:  # by its id or its exact name, as a signal names its unit
        found, wrong = deployed.units_named(conn, campaign_id, [under])
        if wrong:
            raise NotFound("; ".join(wrong))
        under = found[under].id
    query = (
        select(u.id, u.name, u.path, i.state, i.deadline)
        .join(store.instances, and_(i.campaign_id == u.campaign_id, i.unit_id == u.id))
        .where(
            u.campaign_id == campaign_id,
            u.archived.is_(False),
            i.archived.is_(False),
            i.task_id == task,
            i.state != "exempt",
        )
        .order_by(*store.IN_FILE_ORDER)
    )
    if under is not None:
        query = query.where(u.path.contains(f":{under}/"))
    groups: dict[str, Group] = {}
    for row in conn.execute(query):
        chain = [step.split(":", 1)[1] for step in row.path.split("/")]
        top = chain.index(under) if under is not None else 0  # the unit the sheets are under
        # the unit just below it (its district), or itself for the units right below it and its own
        head = chain[top + 1] if len(chain) > top + 2 else chain[top]
        group = groups.setdefault(head, Group(head, names.get(head, head)))
        deadline = deadline_short(row.deadline, campaign.timezone) if row.deadline is not None else ""
        group.units.append(UnitLine(row.id, row.name, STATE_WORDS.get(row.state, row.state), deadline))
    figures = [
        Figure(key, spec.title or key, spec.type or "float", spec.required, spec.min, spec.max)
        for key, spec in rules.fields.items()
        if spec.formula is None
    ]
    if rules.kind == "report":
        figures += _rolled_up(rules, campaign.tasks)
    return AnswerSheet(
        campaign.id, campaign.title, task, rules.title, rules.kind, figures, list(groups.values())
    )


def _rolled_up(report: TaskRules, tasks: Mapping[str, Any]) -> list[Figure]:
    """A report's roll-up figures a unit may give with it (not its rates, which are worked out):
    the report's sheet had no column for them, so the figures a commune counted could not be sent
    back with its report. Left blank, the figures rolled up from its units stand."""
    rules = {task: TaskRules.from_json(task, data) for task, data in tasks.items()}
    out = []
    for figure in figures_of(report, rules):
        if figure.kind == "rate":
            continue
        out.append(Figure(figure.key, figure.label(rules), figure_type(figure, rules), False, 0, None))
    return out
