"""Progress of a deployed campaign, read from the store only (never changes state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from cascade.engine import deployed, store
from cascade.engine.summary import state_counts
from cascade.plan.hierarchy import parent_of
from cascade.timing.deadlines import days_late

STATES = ("done", "done_late", "overdue", "open", "held", "exempt")
_RANK = {state: n for n, state in enumerate(STATES)}


@dataclass
class TaskProgress:
    task: str
    title: str
    level: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def owed(self) -> int:
        """The instances that owe the work: not exempt (as the board and the summary count)."""
        return self.total - self.counts.get("exempt", 0)

    @property
    def finished(self) -> int:
        """Those done, on time or late, of the `owed`: an exempted unit did nothing."""
        return self.counts.get("done", 0) + self.counts.get("done_late", 0)


@dataclass(frozen=True)
class Overdue:
    """One overdue instance, as `cascade status` lists it."""

    unit: str
    name: str
    level: str
    parent: str | None  # the parent unit's name
    task: str
    title: str
    deadline: int
    days: int  # whole days past the deadline, as of the last tick
    stage: int  # escalation stages sent
    stages: int  # stages in its ladder


@dataclass
class Status:
    campaign: str
    title: str
    timezone: str
    levels: list[str]
    progress: list[TaskProgress]
    overdue: list[Overdue]
    overdue_total: int
    as_of: int | None  # the instant of the last tick (engine time): what the states are as of


@dataclass(frozen=True)
class Where:
    """Which instances `cascade status` counts and lists."""

    level: str | None = None
    task: str | None = None
    under: str | None = None  # a unit: those below it


@dataclass(frozen=True)
class Overview:
    """One campaign of the store, as `cascade status` without a campaign lists it."""

    campaign: str
    title: str
    timezone: str
    stopped_at: int | None  # undeployed then (None: running)
    as_of: int | None  # its last tick's instant (engine time)
    overdue: int  # instances overdue as of then
    summary_at: int
    summary_sent_at: int | None
    issued_at: int


def overview(engine: Engine) -> list[Overview]:
    """Every campaign in the store, stopped ones too, by id: one query per table, never a campaign's rows."""
    c, t, i = store.campaigns.c, store.ticks.c, store.instances.c
    with engine.connect() as conn:
        last = select(t.campaign_id, func.max(t.now)).group_by(t.campaign_id)
        ticked: dict[str, int] = {cid: at for cid, at in conn.execute(last)}
        overdue: dict[str, int] = {
            cid: n
            for cid, n in conn.execute(
                select(i.campaign_id, func.count())
                .where(i.state == "overdue", i.archived.is_(False))
                .group_by(i.campaign_id)
            )
        }
        rows = conn.execute(
            select(
                c.id,
                c.title,
                c.timezone,
                c.archived_at,
                c.summary_at,
                c.summary_sent_at,
                c.issued_at,
                c.checked_at,
            ).order_by(c.id)
        ).all()
    return [
        Overview(
            r.id, r.title, r.timezone, r.archived_at, _later(ticked.get(r.id), r.checked_at),
            overdue.get(r.id, 0), r.summary_at, r.summary_sent_at, r.issued_at,
        )
        for r in rows
    ]  # fmt: skip


def _later(a: int | None, b: int | None) -> int | None:
    return max(a, b) if a is not None and b is not None else a if b is None else b


def last_tick(conn: Connection, campaign_id: str) -> int | None:
    """The instant (engine time) of the campaign's last tick that found something due."""
    t = store.ticks.c
    return conn.execute(select(func.max(t.now)).where(t.campaign_id == campaign_id)).scalar()


def states_as_of(conn: Connection, campaign_id: str) -> int | None:
    """What the campaign's states are as of: its last tick's instant, idle or not (a quiet week's
    ticks find nothing due and write no `ticks` row; `campaigns.checked_at`, kept since revision
    0015); None before its first tick."""
    c = store.campaigns.c
    checked = conn.execute(select(c.checked_at).where(c.id == campaign_id)).scalar()
    return _later(last_tick(conn, campaign_id), checked)


def campaign_status(
    engine: Engine, campaign_id: str, limit: int | None = None, where: Where | None = None
) -> Status | None:
    """Progress and the overdue instances (all, or the first `limit` of them: `overdue_total`
    says how many there are), most overdue first, within `where`."""
    i, u, c = store.instances, store.units, store.campaigns
    where = where or Where()
    joined = and_(u.c.campaign_id == i.c.campaign_id, u.c.id == i.c.unit_id)
    with engine.connect() as conn:
        campaign = conn.execute(select(c).where(c.c.id == campaign_id)).first()
        if campaign is None:
            return None
        as_of = states_as_of(conn, campaign_id)
        filters: list[Any] = []
        if where.level is not None:
            filters.append(u.c.level == where.level)
        if where.task is not None:
            filters.append(i.c.task_id == where.task)
        if where.under is not None:
            filters.append(u.c.path.contains(f":{where.under}/"))
        counts = state_counts(conn, campaign_id, filters)
        overdue_q = (
            select(i.c.unit_id, u.c.name, u.c.level, u.c.path, i.c.task_id, i.c.deadline, i.c.stage)
            .join(u, joined)
            .where(i.c.campaign_id == campaign_id, i.c.archived.is_(False), *filters, i.c.state == "overdue")
        )
        ordered = overdue_q.order_by(i.c.deadline, *store.IN_FILE_ORDER, i.c.task_id)
        rows = conn.execute(ordered if limit is None else ordered.limit(limit)).all()
        total = conn.execute(select(func.count()).select_from(overdue_q.subquery())).scalar_one()
        parents = [parent for r in rows if (parent := parent_of(r.path)) is not None]
        names = deployed.unit_names(conn, campaign_id, parents)
    tasks = campaign.tasks
    at = as_of if as_of is not None else campaign.issued_at
    overdue = [
        Overdue(
            r.unit_id,
            r.name,
            r.level,
            names.get(parent_of(r.path) or ""),
            r.task_id,
            tasks.get(r.task_id, {}).get("title", r.task_id),
            r.deadline,
            days_late(r.deadline, at, campaign.timezone),  # by the calendar, from the last day
            r.stage,
            len(tasks.get(r.task_id, {}).get("escalate", [])),
        )
        for r in rows
    ]
    order = {level: n for n, level in enumerate(campaign.levels)}
    written = {task: n for n, task in enumerate(tasks)}  # the file's order (a level's report last)
    progress = sorted(
        (
            TaskProgress(task, tasks[task]["title"], level, _in_reading_order(states))
            for task, levels in counts.items()
            for level, states in levels.items()
        ),
        key=lambda p: (order.get(p.level, 99), written.get(p.task, len(written)), p.task),
    )
    return Status(
        campaign_id, campaign.title, campaign.timezone, campaign.levels, progress, overdue, total, as_of
    )


def _in_reading_order(states: dict[str, int]) -> dict[str, int]:
    """A task's counts in the order its table reads them (`STATES`), whatever order the store's
    grouping gave them in (PostgreSQL's depends on its plan: two reads of an unchanged store
    differed once its statistics were refreshed between them)."""
    return dict(sorted(states.items(), key=lambda item: _RANK.get(item[0], len(STATES))))
