"""The operator's board: the whole cascade at a glance, read from the store only.

Each unit gets one state across its tasks and reports — `overdue` if anything is overdue,
else `open` while anything is open, else `held` while anything waits to open (its
prerequisite not done yet: the unit has not been told to start), else `late` if anything was
done late, else `done` (`none` for a unit with nothing to do) — shown by level as a heat map; beside it
each task's progress over time and the latest events.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import pendulum
from sqlalchemy import Connection, and_, select

from cascade.engine import store
from cascade.engine.words import event_text
from cascade.timing.deadlines import zone
from cascade.views.eventlog import LOG_KINDS

UNIT_STATES = ("overdue", "open", "held", "late", "done", "none")


def unit_state(states: list[str]) -> str:
    live = [s for s in states if s != "exempt"]
    if not live:
        return "none"
    if "overdue" in live:
        return "overdue"
    if "open" in live:
        return "open"
    if "held" in live:
        return "held"
    return "late" if "done_late" in live else "done"


def focus(board: Board, task: str) -> Board:
    """The same board with each unit's state that of one task (units without it: `none`)."""
    units: dict[str, list[BoardUnit]] = {}
    counts: dict[str, dict[str, int]] = {}
    for level, items in board.units.items():
        counts[level] = dict.fromkeys(UNIT_STATES, 0)
        units[level] = []
        for unit in items:
            own = unit.tasks.get(task)
            state = unit_state([own]) if own else "none"
            units[level].append(BoardUnit(unit.id, unit.name, unit.level, state, unit.tasks))
            counts[level][state] += 1
    return Board(
        board.campaign, board.title, board.timezone, board.levels, units, counts, board.tasks, board.events
    )


@dataclass
class BoardUnit:
    id: str
    name: str
    level: str
    state: str
    tasks: dict[str, str]  # task -> state


@dataclass
class TaskLine:
    task: str
    title: str
    total: int  # not exempt
    done: int
    points: list[tuple[int, int]] = field(default_factory=list)  # (epoch day end, done by then)


@dataclass(frozen=True)
class BoardEvent:
    """A line of the board's latest events, in words: when, what, which unit, which task."""

    at: str  # "07:00 03/12/2020"
    what: str  # "Đôn đốc lần 2"
    unit: str  # the unit's name ("" for a campaign-wide event)
    task: str  # the task's title


@dataclass
class Board:
    campaign: str
    title: str
    timezone: str
    levels: list[str]
    units: dict[str, list[BoardUnit]]  # level -> units in hierarchy order
    counts: dict[str, dict[str, int]]  # level -> unit state -> n
    tasks: list[TaskLine]
    events: list[BoardEvent]


def campaigns(conn: Connection) -> list[tuple[str, str]]:
    c = store.campaigns.c
    query = select(c.id, c.title).where(c.archived_at.is_(None)).order_by(c.id)
    return [(r.id, r.title) for r in conn.execute(query)]


def board(conn: Connection, campaign_id: str, now: int, events: int = 30, points: int = 30) -> Board | None:
    c, u, i = store.campaigns, store.units, store.instances
    campaign = conn.execute(select(c).where(c.c.id == campaign_id)).first()
    if campaign is None:
        return None
    tz = campaign.timezone
    tasks_of: dict[str, dict[str, str]] = {}
    done_at: dict[str, list[int]] = {}
    owed: dict[str, int] = {}
    query = (
        select(i.c.unit_id, i.c.task_id, i.c.state, i.c.done_at)
        .join(u, and_(u.c.campaign_id == i.c.campaign_id, u.c.id == i.c.unit_id))
        .where(i.c.campaign_id == campaign_id, i.c.archived.is_(False), u.c.archived.is_(False))
    )
    for unit_id, task, state, at in conn.execute(query):
        tasks_of.setdefault(unit_id, {})[task] = state
        if state != "exempt":
            owed[task] = owed.get(task, 0) + 1
            if state in ("done", "done_late") and at is not None:
                done_at.setdefault(task, []).append(at)
    units: dict[str, list[BoardUnit]] = {level: [] for level in campaign.levels}
    counts: dict[str, dict[str, int]] = {level: dict.fromkeys(UNIT_STATES, 0) for level in campaign.levels}
    rows = conn.execute(
        select(u.c.id, u.c.name, u.c.level)
        .where(u.c.campaign_id == campaign_id, u.c.archived.is_(False))
        .order_by(*store.IN_FILE_ORDER)
    )
    names: dict[str, str] = {}
    for unit_id, name, level in rows:
        names[unit_id] = name
        states = tasks_of.get(unit_id, {})
        state = unit_state(list(states.values()))
        units.setdefault(level, []).append(BoardUnit(unit_id, name, level, state, states))
        counts.setdefault(level, dict.fromkeys(UNIT_STATES, 0))[state] += 1
    lines = []
    start, end = (
        campaign.issued_at,
        max(min(now, campaign.summary_at + 14 * 86400), campaign.issued_at + 86400),
    )
    marks = [start + (end - start) * n // points for n in range(1, points + 1)]
    for task, rules in campaign.tasks.items():
        times = sorted(done_at.get(task, []))
        line = TaskLine(task, rules["title"], owed.get(task, 0), len(times))
        line.points = [(mark, bisect.bisect_right(times, mark)) for mark in marks]
        lines.append(line)
    e = store.events
    latest = conn.execute(
        select(e)
        .where(e.c.campaign_id == campaign_id, e.c.kind.in_(LOG_KINDS), e.c.at <= now)
        .order_by(e.c.at.desc(), e.c.id.desc())
        .limit(events)
    ).all()
    return Board(
        campaign_id,
        campaign.title,
        tz,
        list(campaign.levels),
        units,
        counts,
        lines,
        [
            BoardEvent(
                pendulum.from_timestamp(row.at, tz=zone(tz)).format("HH:mm DD/MM/YYYY"),
                event_text(
                    row.kind,
                    row.data.get("stage"),
                    bool(row.data.get("late")),
                    "withdrawn" in row.data,
                    bool(row.data.get("lifted")),
                    bool(row.data.get("unextended")),
                ),
                names.get(row.unit_id, row.unit_id or ""),
                str(campaign.tasks.get(row.task_id, {}).get("title", row.task_id or "")),
            )
            for row in latest
        ],
    )
