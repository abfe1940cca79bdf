"""Storing a plan: the first deploy of a campaign, and every re-deploy of an edited file.

A re-deploy never loses what happened: signals, states, completion times and figures
stay; deadlines, opening rules and notice rules follow the new file; new tasks and units
get instances; instances of removed tasks or units are archived, not deleted. The next
tick re-checks every held instance (`rescan`), since opening rules may have changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pendulum
from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from cascade import store
from cascade.plan import Instance, OpensOn, Plan
from cascade.rules import TaskRules, next_reminder, rules_of


def epoch(t: pendulum.DateTime | None) -> int | None:
    return None if t is None else int(t.timestamp())


@dataclass
class DeployResult:
    campaign: str
    created: bool
    added: int
    updated: int
    archived: int


def plan_hash(source: str, paths: dict[str, str]) -> str:
    """The deployed plan's fingerprint: its source texts and the hierarchy stored from them
    (what the roll-ups' kept hierarchy is checked against, whatever text a caller passes)."""
    digest = hashlib.sha256(source.encode())
    for path in sorted(paths.values()):
        digest.update(b"\n" + path.encode())
    return digest.hexdigest()


def deploy(engine: Engine, plan: Plan, source: str, now: pendulum.DateTime) -> DeployResult:
    """Store `plan` (compiled from `source`, the campaign and units text) in one transaction."""
    paths = {unit: plan.hierarchy.path_of(unit) for unit in plan.hierarchy.units}
    with engine.begin() as conn:
        created = _upsert_campaign(conn, plan, plan_hash(source, paths), now)
        _store_units(conn, plan, paths)
        added, updated, archived = _store_instances(conn, plan, now)
    if engine.dialect.name == "postgresql":
        # fresh statistics for the tables a deploy just filled: without them PostgreSQL plans the
        # first reads of a national campaign (status, the first tick) as nested loops over
        # 300,000 instances (`cascade status` ran for minutes), until autovacuum gets to them
        with engine.begin() as conn:
            for table in (store.campaigns, store.units, store.contacts, store.instances):
                conn.exec_driver_sql(f"ANALYZE {table.name}")
    return DeployResult(plan.campaign.id, created, added, updated, archived)


def _upsert_campaign(conn: Connection, plan: Plan, fingerprint: str, now: pendulum.DateTime) -> bool:
    c = plan.campaign
    row = {
        "title": c.title,
        "timezone": c.timezone,
        "calendar": c.calendar.code,
        "issued_at": epoch(c.issued_at),
        "summary_at": epoch(c.summary_at),
        "levels": plan.hierarchy.levels,
        "tasks": rules_of(plan),
        "source_file": c.file,
        "plan_hash": fingerprint,
        "deployed_at": epoch(now),
        "archived_at": None,
        "rescan": True,
        "operator": c.operator,
        "issued_by": c.issued_by,
    }
    exists = conn.execute(select(store.campaigns.c.id).where(store.campaigns.c.id == c.id)).first()
    if exists:
        conn.execute(update(store.campaigns).where(store.campaigns.c.id == c.id).values(**row))
    else:
        conn.execute(insert(store.campaigns).values(id=c.id, **row))
    return exists is None


def _store_units(conn: Connection, plan: Plan, paths: dict[str, str]) -> None:
    cid = plan.campaign.id
    t = store.units
    known = {row.id for row in conn.execute(select(t.c.id).where(t.c.campaign_id == cid))}
    rows = [
        {
            "campaign_id": cid,
            "id": u.id,
            "name": u.name,
            "level": u.level,
            "path": paths[u.id],
            "archived": False,
        }
        for u in plan.hierarchy.units.values()
    ]
    new = [r for r in rows if r["id"] not in known]
    old = [{**r, "b_id": r["id"]} for r in rows if r["id"] in known]
    store.insert_many(conn, t, new)
    if old:
        conn.execute(
            update(t)
            .where(t.c.campaign_id == cid, t.c.id == bindparam("b_id"))
            .values(name=bindparam("name"), level=bindparam("level"), path=bindparam("path"), archived=False),
            old,
        )
    gone = known - {r["id"] for r in rows}
    if gone:
        for ids in store.chunked(sorted(gone)):
            conn.execute(update(t).where(t.c.campaign_id == cid, t.c.id.in_(ids)).values(archived=True))
    conn.execute(store.contacts.delete().where(store.contacts.c.campaign_id == cid))
    contacts = [
        {
            "campaign_id": cid,
            "unit_id": u.id,
            "role": c.role,
            "name": c.name,
            "channels": [[channel, getattr(c, channel)] for channel in c.channels],
        }
        for u in plan.hierarchy.units.values()
        for c in u.contacts
    ]
    store.insert_many(conn, store.contacts, contacts)


def _instance_rows(plan: Plan) -> Iterator[dict[str, Any]]:
    for instance in plan.instances:
        yield _row(plan, instance)
    for task in plan.tasks.values():
        for unit in task.exempt:
            yield {
                "task_id": task.id,
                "unit_id": unit,
                "kind": str(task.kind),
                "state": "exempt",
                "opens_on": str(OpensOn.ISSUED),
                "open_at": None,
                "prereq_task": None,
                "prereq_unit": None,
                "deadline": None,
                "next_action_at": None,
            }


def _row(plan: Plan, instance: Instance) -> dict[str, Any]:
    opening, deadline = instance.opening, epoch(instance.schedule.deadline)
    open_at = epoch(opening.at)
    # a held instance acts when it may open (at a time, or on a signal) and at its deadline
    due = [t for t in (open_at, deadline) if t is not None]
    return {
        "task_id": instance.task,
        "unit_id": instance.unit,
        "kind": str(plan.tasks[instance.task].kind),
        "state": "held",
        "opens_on": str(opening.on),
        "open_at": open_at,
        "prereq_task": opening.task,
        "prereq_unit": opening.unit,
        "deadline": deadline,
        "next_action_at": min(due) if due else None,
    }


_RULE_COLUMNS = ("kind", "opens_on", "open_at", "prereq_task", "prereq_unit")


def _store_instances(conn: Connection, plan: Plan, now: pendulum.DateTime) -> tuple[int, int, int]:
    cid = plan.campaign.id
    t = store.instances
    existing = {
        (r.task_id, r.unit_id): r
        for r in conn.execute(
            select(
                t.c.id,
                t.c.task_id,
                t.c.unit_id,
                t.c.state,
                t.c.deadline,
                t.c.archived,
                t.c.opens_on,
                t.c.stage,
                t.c.opened_at,
            ).where(t.c.campaign_id == cid)
        )
    }
    new, changed, seen, timing = [], [], set(), _Timing(plan, now)
    for row in _instance_rows(plan):
        key = (row["task_id"], row["unit_id"])
        seen.add(key)
        old = existing.get(key)
        if old is None:
            new.append({"campaign_id": cid, "stage": 0, "archived": False, **row})
        else:
            changed.append(_updated(old, row, timing))
    store.insert_many(conn, t, new)
    if changed:
        conn.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(
                {
                    c: bindparam(c)
                    for c in (
                        *_RULE_COLUMNS,
                        "deadline",
                        "state",
                        "archived",
                        "stage",
                        "next_reminder_at",
                        "next_escalation_at",
                        "next_action_at",
                    )
                }
            ),
            changed,
        )
    gone = [old.id for key, old in existing.items() if key not in seen and not old.archived]
    if gone:
        for ids in store.chunked(gone):
            conn.execute(update(t).where(t.c.id.in_(ids)).values(archived=True, next_action_at=None))
    return len(new), len(changed), len(gone)


@dataclass
class _Timing:
    """What a re-deploy needs to restart reminders after `now`, not from the opening again."""

    plan: Plan
    now: pendulum.DateTime

    def next_reminder(self, task: str, deadline: int | None, opened_at: int | None) -> int | None:
        if deadline is None or opened_at is None:
            return None
        c = self.plan.campaign
        rules = TaskRules.of(self.plan.tasks[task])
        nxt = next_reminder(
            rules,
            pendulum.from_timestamp(deadline, tz=c.timezone),
            c.calendar,
            not_before=pendulum.from_timestamp(opened_at, tz=c.timezone),
            after=self.now,
        )
        return epoch(nxt)


def _updated(old: Any, row: dict[str, Any], timing: _Timing) -> dict[str, Any]:
    """New rules for an existing instance; its state and history stay, except that a changed
    deadline re-opens an overdue instance and restarts its escalations. Reminders resume with
    the first one after the re-deploy, so none is repeated."""
    finished = old.state in ("done", "done_late")
    state = old.state if old.state != "exempt" or row["state"] == "exempt" else "held"
    if row["state"] == "exempt" and not finished:
        state = "exempt"
    deadline = row["deadline"] if row["opens_on"] != str(OpensOn.SOURCE_SIGNAL) else old.deadline
    moved = deadline != old.deadline
    if moved and state == "overdue":
        state = "open"
    out = {c: row[c] for c in _RULE_COLUMNS}
    out.update(b_id=old.id, deadline=deadline, state=state, archived=False, stage=0 if moved else old.stage)
    reminder = timing.next_reminder(row["task_id"], deadline, old.opened_at) if state == "open" else None
    # the next tick (rescan) recomputes escalations and turns what is now past its deadline overdue
    out.update(
        next_reminder_at=reminder,
        next_escalation_at=None,
        next_action_at=None if finished or state == "exempt" else 0,
    )
    return out


def undeploy(engine: Engine, campaign_id: str, now: pendulum.DateTime) -> bool:
    """Stop ticking `campaign_id`: it is marked archived, with every instance, signal and
    event kept (a later `deploy` of its file resumes it). False if no such campaign."""
    c = store.campaigns
    with engine.begin() as conn:
        done = conn.execute(update(c).where(c.c.id == campaign_id).values(archived_at=epoch(now)))
    return done.rowcount == 1
