"""Progress of a deployed campaign, read from the store only (never changes state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, and_, func, select

from cascade import store

STATES = ("done", "done_late", "overdue", "open", "held", "exempt")


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
    def finished(self) -> int:
        return self.counts.get("done", 0) + self.counts.get("done_late", 0) + self.counts.get("exempt", 0)


@dataclass
class Status:
    campaign: str
    title: str
    levels: list[str]
    progress: list[TaskProgress]
    overdue: list[tuple[str, str, str, int]]  # (unit, unit name, task, deadline)
    overdue_total: int


def state_counts(conn: Connection, campaign_id: str) -> dict[str, dict[str, dict[str, int]]]:
    """task -> level -> state -> number of live instances."""
    i, u = store.instances, store.units
    query = (
        select(i.c.task_id, u.c.level, i.c.state, func.count())
        .join(u, and_(u.c.campaign_id == i.c.campaign_id, u.c.id == i.c.unit_id))
        .where(i.c.campaign_id == campaign_id, i.c.archived.is_(False))
        .group_by(i.c.task_id, u.c.level, i.c.state)
    )
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for task, level, state, n in conn.execute(query):
        counts.setdefault(task, {}).setdefault(level, {})[state] = n
    return counts


def campaign_status(engine: Engine, campaign_id: str, overdue_limit: int = 30) -> Status | None:
    i, u, c = store.instances, store.units, store.campaigns
    joined = and_(u.c.campaign_id == i.c.campaign_id, u.c.id == i.c.unit_id)
    with engine.connect() as conn:
        campaign = conn.execute(select(c).where(c.c.id == campaign_id)).first()
        if campaign is None:
            return None
        counts = state_counts(conn, campaign_id)
        overdue_q = (
            select(i.c.unit_id, u.c.name, i.c.task_id, i.c.deadline)
            .join(u, joined)
            .where(i.c.campaign_id == campaign_id, i.c.archived.is_(False), i.c.state == "overdue")
        )
        overdue = [
            tuple(r) for r in conn.execute(overdue_q.order_by(i.c.deadline, u.c.path).limit(overdue_limit))
        ]
        total = conn.execute(select(func.count()).select_from(overdue_q.subquery())).scalar_one()
    order = {level: n for n, level in enumerate(campaign.levels)}
    progress = sorted(
        (
            TaskProgress(task, campaign.tasks[task]["title"], level, states)
            for task, levels in counts.items()
            for level, states in levels.items()
        ),
        key=lambda p: (order.get(p.level, 99), p.task),
    )
    return Status(campaign_id, campaign.title, campaign.levels, progress, overdue, total)
