"""The summary's tables as headers and rows of plain values, shared by every format."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cascade.engine.summary import Owed, Summary
from cascade.engine.words import STATE_WORDS, deadline_short, measured_text, target_text
from cascade.engine.words import number_text as thousands
from cascade.engine.words import percent_text as percent
from cascade.reports.words import COUNT_HEADERS, W, said

# the rows a unit-by-unit table shows in a document to read (docx, Markdown): a national campaign
# has 66,844 units and owes 232,013 tasks (its Markdown was 32 MB); the xlsx has them all
ROWS = 300


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]
    total: list[Any] | None = None  # a totals row, if the table has one


class Rate(float):
    """A share (0.8444): shown as a percentage (84,4%), kept as a number in xlsx."""


class Day(str):
    """A last day that counts, as the seeds write it ("27/11/2020"): text in md and docx, a date
    cell in xlsx (sorted and filtered as a date)."""

    day: date

    @classmethod
    @functools.lru_cache(maxsize=4096)  # (a nation owes 232,013 tasks over a few dozen deadlines)
    def of(cls, epoch: int, tz: str) -> Day:
        shown = cls(deadline_short(epoch, tz))
        shown.day = datetime.strptime(shown, "%d/%m/%Y").date()
        return shown


def figure_value(value: Any, rate: bool) -> Any:
    return Rate(value) if rate and value is not None else value


def text(value: Any) -> str:
    """A cell as text, Vietnamese style: 1.234, 84,4%, 0,75."""
    if value is None:
        return ""
    if isinstance(value, Rate):
        return percent(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return thousands(value)
    return str(value)


def level_counts(s: Summary, level: str) -> Table:
    """Each task and report of the level: units by state."""
    rows = []
    for t in s.tasks_at(level):
        c = t.counts
        title = said("report_task", t.title) if t.kind == "report" else t.title
        rows.append(
            [title, t.owed, c["done"], c["done_late"], c["overdue"], c["open"], c["held"], c["exempt"]]
        )
    return Table(said("level_results", s.level_name(level)), COUNT_HEADERS, rows)


def level_figures(s: Summary, level: str) -> list[Table]:
    """Each report's rolled-up figures summed over the level's units (as they stand behind them)."""
    tables = []
    for r in s.reports:
        values = r.by_level.get(level)
        if not values:
            continue
        rows = [
            [r.labels[f.key], figure_value(values.get(f.key), f.kind == "rate")]
            for f in r.figures
            if values.get(f.key) is not None
        ]
        if rows:  # (a level none of whose units has the figures: no table, not an empty one)
            title = said("level_figures", s.level_name(level), r.title)
            tables.append(Table(title, [W["figure"], W["value"]], rows))
    return tables


def totals(s: Summary) -> list[Table]:
    tables = []
    for r in s.reports:
        rows = [
            [r.labels[f.key], figure_value(r.totals.get(f.key), f.kind == "rate")]
            for f in r.figures
            if r.totals.get(f.key) is not None
        ]
        if rows:
            tables.append(Table(said("total_figures", s.root_name, r.title), [W["figure"], W["value"]], rows))
    return tables


def unit_table(s: Summary, level: str, limit: int | None = None) -> Table:
    """One row per unit of the level: each task's state, then its reports' figures."""
    units = s.units_at(level)
    tasks = list(dict.fromkeys(t.task for t in s.tasks_at(level)))
    figures = [(r, f) for r in s.reports for f in r.figures]
    # a figure no unit of the level has (all empty or 0: e.g. commune conferences at cell level)
    # is left out of its table
    shown = [(r, f) for r, f in figures if any(u.figures.get(r.report, {}).get(f.key) for u in units)]
    headers = [W["id"], W["unit"], *[s.titles[t] for t in tasks], *[r.labels[f.key] for r, f in shown]]
    rows = []
    for unit in units[:limit] if limit is not None else units:
        states = [STATE_WORDS.get(unit.states[t], unit.states[t]) if t in unit.states else "" for t in tasks]
        values = [figure_value(unit.figures.get(r.report, {}).get(f.key), f.kind == "rate") for r, f in shown]
        rows.append([unit.id, unit.name, *states, *values])
    return Table(said("units_of", s.level_name(level), thousands(len(units))), headers, rows)


def all_met(s: Summary) -> str:
    """Section III where no unit missed a target: that every unit met them only once every unit's
    figures are in (units with none yet were said to have met them), else as far as they are."""
    if not s.targets:
        return W["no_targets"]
    if not s.unjudged:
        return W["all_met"]
    if not s.judged:
        return said("none_judged", thousands(s.unjudged))
    return said("met_so_far", thousands(s.judged), thousands(s.unjudged))


def misses(s: Summary) -> Table:
    rows = [
        [
            m.unit,
            m.name,
            s.unit_level(m.unit, m.level),
            s.titles.get(m.task, m.task),
            m.label,
            measured_text(m.value, m.target),
            target_text(m.target),
        ]
        for m in s.misses
    ]
    headers = [W[k] for k in ("id", "unit", "level", "task", "target", "reached", "required")]
    return Table(said("missed_title", thousands(len(s.misses))), headers, rows)


def owed(s: Summary, limit: int | None = None) -> Table:
    items = s.owed[:limit] if limit is not None else s.owed
    tz = s.timezone
    rows = [
        [
            o.unit,
            o.name,
            s.unit_level(o.unit, o.level),
            o.title,
            STATE_WORDS.get(o.state, o.state),
            Day.of(o.deadline, tz) if o.deadline is not None else last_day(o, s),
        ]
        for o in items
    ]
    headers = [W[k] for k in ("id", "unit", "level", "task_owed", "state", "deadline")]
    return Table(said("owed_title", thousands(len(s.owed))), headers, rows)


def owed_by_unit(s: Summary, limit: int | None = None) -> Table:
    """The work still owed, a row a unit: what it has not done, each with its state and last day
    (the document's list: one line a unit reads shorter than one a task)."""
    grouped: dict[str, list[Owed]] = {}
    for o in s.owed:
        grouped.setdefault(o.unit, []).append(o)
    units = list(grouped.items())
    rows = [
        [
            items[0].unit,
            items[0].name,
            s.unit_level(unit, items[0].level),
            "; ".join(
                said("owed_item", o.title, STATE_WORDS.get(o.state, o.state), last_day(o, s)) for o in items
            ),
        ]
        for unit, items in (units[:limit] if limit is not None else units)
    ]
    headers = [W[k] for k in ("id", "unit", "level", "task_owed")]
    return Table(said("owed_units_title", thousands(len(units)), thousands(len(s.owed))), headers, rows)


def last_day(o: Owed, s: Summary) -> str:
    """The last day of work owed; for one whose deadline counts from a task not done yet, the rule:
    "7 ngày sau khi hoàn thành «Sinh hoạt chi bộ»" (it was blank, as if it had none)."""
    if o.deadline is not None:
        return deadline_short(o.deadline, s.timezone)
    if (rule := s.counted_after.get(o.task)) is not None:
        days, working, source = rule
        return said("after_done", days, working, s.titles.get(source, source))
    return ""


def corrections(s: Summary) -> Table:
    rows = [[c.unit, c.name, c.label, c.computed, c.reported] for c in s.corrections]
    headers = [W[k] for k in ("id", "unit", "figure", "computed", "reported")]
    return Table(said("corrected_title", thousands(len(s.corrections))), headers, rows)


def heading(s: Summary) -> tuple[str, str]:
    """The report's title and its 'as of' line."""
    return said("title", s.title), said("as_of", s.at, s.summary_date)
