"""Storing a plan: the first deploy of a campaign, and every re-deploy of an edited file.

A re-deploy never loses what happened: signals, completion times and figures stay; each
instance is re-derived under the new rules at the deploy instant (`cascade.engine.lifecycle.
rederive`, spec §7: re-opened, held, turned overdue or re-judged on time when its deadline
moves; left alone when nothing about its timing changed), and the units' standing decisions
(an extension wins when later than the file's deadline; an exemption) are applied again.
New tasks and units get instances; instances of removed tasks or units are archived, not
deleted. The changes are worked out before anything is written (`_stage`), so that
`deploy --dry-run` prints exactly what a deploy does; the deploy writes them, with their
events and notices (`cascade.engine.amend.record`), in one transaction. The next tick re-checks
every held instance (`rescan`), since opening rules may have changed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pendulum
from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from cascade.engine import amend, bulk, locks, store
from cascade.engine.amend import Changes
from cascade.engine.deliveries import readdress, readdressed
from cascade.engine.field_changes import fields_changed
from cascade.engine.lifecycle import DONE, Rules, rederive
from cascade.engine.queries import WAITING_STATES
from cascade.plan.model import Instance as PlannedInstance
from cascade.plan.model import OpensOn, Plan
from cascade.plan.rules import TaskRules, campaign_rules, rules_of
from cascade.timing.deadlines import zone


def epoch(t: pendulum.DateTime | None) -> int | None:
    return None if t is None else int(t.timestamp())


@dataclass
class DeployResult:
    campaign: str
    created: bool
    added: int
    updated: int
    archived: int
    changes: Changes | None = None  # what it did to a running campaign (None: the first deploy)


def plan_hash(source: str, paths: dict[str, str]) -> str:
    """The deployed plan's fingerprint: its source texts and the hierarchy stored from them
    (what the roll-ups' kept hierarchy is checked against, whatever text a caller passes)."""
    digest = hashlib.sha256(source.encode())
    for path in sorted(paths.values()):
        digest.update(b"\n" + path.encode())
    return digest.hexdigest()


def deploy(
    engine: Engine, plan: Plan, source: str, now: pendulum.DateTime, dry_run: bool = False
) -> DeployResult:
    """Store `plan` (compiled from `source`, the campaign and units text) in one transaction.
    A running campaign's instances are re-derived under the new rules at `now` (spec §7), its
    amendments logged and told; `dry_run` computes the same changes and stores nothing."""
    paths, contacts = plan.hierarchy.paths(), _contacts_of(plan)
    if dry_run:
        with engine.connect() as conn:
            staged = _stage(conn, plan, paths, now, contacts)
        return _result(plan, staged)
    with engine.begin() as conn:
        locks.hold(conn, plan.campaign.id)  # a tick under way first: its writes are read, not undone
        staged = _stage(conn, plan, paths, now, contacts)
        _upsert_campaign(conn, plan, plan_hash(source, paths), now, staged.changes.summary)
        _store_units(conn, plan, paths, contacts)
        _store_instances(conn, plan.campaign.id, staged)
        readdress(conn, staged.readdressed)
        amend.record(conn, plan.campaign.id, staged.changes, now)
    if engine.dialect.name == "postgresql":
        # fresh statistics for the tables a deploy just filled: without them PostgreSQL plans the
        # first reads of a national campaign (status, the first tick) as nested loops over
        # 300,000 instances (`cascade status` ran for minutes), until autovacuum gets to them
        with engine.begin() as conn:
            for table in (store.campaigns, store.units, store.contacts, store.instances):
                conn.exec_driver_sql(f"ANALYZE {table.name}")
    return _result(plan, staged)


def _result(plan: Plan, staged: _Staged) -> DeployResult:
    c = staged.changes
    return DeployResult(
        plan.campaign.id,
        c.created,
        len(staged.new),
        len(staged.changed),
        len(staged.gone),
        None if c.created else c,
    )


def _upsert_campaign(
    conn: Connection, plan: Plan, fingerprint: str, now: pendulum.DateTime, summary: amend.SummaryMoved | None
) -> bool:
    c = plan.campaign
    row: dict[str, Any] = {
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
        "document": c.document,
    }
    if summary is not None and summary.again:
        row["summary_sent_at"] = None  # extended: the summary goes out again at its new date
    exists = conn.execute(select(store.campaigns.c.id).where(store.campaigns.c.id == c.id)).first()
    if exists:
        conn.execute(update(store.campaigns).where(store.campaigns.c.id == c.id).values(**row))
    else:
        conn.execute(insert(store.campaigns).values(id=c.id, **row))
    return exists is None


def _store_units(conn: Connection, plan: Plan, paths: dict[str, str], contacts: list[StoredContact]) -> None:
    cid = plan.campaign.id
    t = store.units
    known = {row.id for row in conn.execute(select(t.c.id).where(t.c.campaign_id == cid))}
    positions = plan.hierarchy.positions()
    rows = [
        {
            "campaign_id": cid,
            "id": u.id,
            "name": u.name,
            "level": u.level,
            "path": paths[u.id],
            "position": positions[u.id],
            "archived": False,
        }
        for u in plan.hierarchy.units.values()
    ]
    new = [r for r in rows if r["id"] not in known]
    old = [{**r, "b_id": r["id"]} for r in rows if r["id"] in known]
    bulk.insert_many(conn, t, new)
    if old:
        conn.execute(
            update(t)
            .where(t.c.campaign_id == cid, t.c.id == bindparam("b_id"))
            .values(
                name=bindparam("name"),
                level=bindparam("level"),
                path=bindparam("path"),
                position=bindparam("position"),
                archived=False,
            ),
            old,
        )
    gone = known - {r["id"] for r in rows}
    if gone:
        for ids in bulk.chunked(sorted(gone)):
            conn.execute(update(t).where(t.c.campaign_id == cid, t.c.id.in_(ids)).values(archived=True))
    conn.execute(store.contacts.delete().where(store.contacts.c.campaign_id == cid))
    bulk.insert_rows(conn, store.contacts, _CONTACT_COLUMNS, [(cid, *row) for row in contacts])


_CONTACT_COLUMNS = ("campaign_id", "unit_id", "role", "name", "channels")
StoredContact = tuple[str, str, str | None, str]  # a contact as stored: unit, role, name, channels (JSON)


def _contacts_of(plan: Plan) -> list[StoredContact]:
    """Every contact as the store keeps it, in file order: unit, role, name, channels (JSON)."""
    dumps = bulk.dumps
    return [
        (u.id, c.role, c.name, dumps([[channel, getattr(c, channel)] for channel in c.channels]))
        for u in plan.hierarchy.units.values()
        for c in u.contacts
    ]


def _instance_rows(plan: Plan) -> Iterator[dict[str, Any]]:
    timed: dict[tuple[int, int, str], dict[str, Any]] = {}  # per shared opening and schedule
    for instance in plan.instances:
        # a task's instances share its Schedule and siblings their Opening (the plan keeps them
        # alive, so their ids are theirs): the five-level nation's 247,087 rows have 66,850
        # pairs (an `after:` task's instance has an opening of its own)
        key = (id(instance.opening), id(instance.schedule), instance.task)
        if (columns := timed.get(key)) is None:
            columns = timed[key] = _row(plan, instance)
        yield {**columns, "unit_id": instance.unit}
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


def _row(plan: Plan, instance: PlannedInstance) -> dict[str, Any]:
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


_RULE_COLUMNS = ("kind", "prereq_task", "prereq_unit", "file_deadline")  # what the file says, as it says it
_UPDATED = (*_RULE_COLUMNS, *amend.WRITTEN, "archived")


@dataclass
class _Staged:
    """A deploy worked out before anything is written: the rows, and the changes they make."""

    changes: Changes
    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[Any, ...]] = field(default_factory=list)  # _UPDATED values, then the id
    gone: list[int] = field(default_factory=list)
    rewaiting: list[dict[str, Any]] = field(default_factory=list)  # waiting, on another rule now
    readdressed: list[tuple[int, str, str]] = field(default_factory=list)  # outbox rows, new addresses


def _stage(
    conn: Connection, plan: Plan, paths: dict[str, str], now: pendulum.DateTime, contacts: list[StoredContact]
) -> _Staged:
    cid, c = plan.campaign.id, plan.campaign
    old_campaign = conn.execute(select(store.campaigns).where(store.campaigns.c.id == cid)).first()
    changes = Changes(cid, created=old_campaign is None)
    changes.units = {u.id: u.name for u in plan.hierarchy.units.values()}
    changes.tasks = {t.id: t.title for t in plan.tasks.values()}
    changes.title, changes.timezone, changes.at = c.title, c.timezone, int(now.timestamp())
    staged = _Staged(changes)
    changes.root = plan.hierarchy.root.name
    if old_campaign is not None:  # the campaign's own lines the file changes
        stored, summary_at = old_campaign._mapping, int(c.summary_at.timestamp())
        if stored["summary_at"] != summary_at:
            changes.summary = amend.SummaryMoved(stored["summary_at"], summary_at, stored["summary_sent_at"])
        header = {"title": c.title, "issued_at": epoch(c.issued_at), "issued_by": c.issued_by}
        header.update(timezone=c.timezone, calendar=c.calendar.code)
        changes.header = {k: (stored[k], v) for k, v in header.items() if stored[k] != v}
        if (issued := changes.header.get("issued_at")) and issued[1] > (issued[0] or 0):
            changes.before_issue = amend.signals_before(conn, cid, issued[1])
        changes.stopped_at = stored["archived_at"]
        if changes.stopped_at is not None:  # undeployed: it starts again
            changes.fallen_due = amend.fallen_due(conn, cid, int(now.timestamp()))
    u = store.units
    old_units = conn.execute(
        select(u.c.id, u.c.name, u.c.path).where(u.c.campaign_id == cid, ~u.c.archived)
    ).all()
    old_paths = {row.id: row.path for row in old_units}
    for unit in old_units:
        changes.units.setdefault(unit.id, unit.name)  # the removed ones keep their names in the summary
        if unit.name != changes.units[unit.id]:
            changes.renamed.append(("unit", unit.name, changes.units[unit.id]))
    amend.stage_units(changes, old_paths, paths)
    if old_campaign is not None:  # contacts changed: what has not gone out yet goes to the new ones
        recontacted, staged.readdressed = readdressed(conn, cid, contacts)
        changes.recontacted = [unit for unit in paths if unit in old_paths and unit in recontacted]
        changes.readdressed.update(was for _id, _channels, was in staged.readdressed)
    t = store.instances
    # the row's [3:3 + n] are its _UPDATED values, then what else `amend.current` reads
    read = ("id", "task_id", "unit_id", *_UPDATED, *(k for k in amend.STATE_READ if k not in _UPDATED))
    columns = [t.c[name] for name in read]
    existing = {
        (r.task_id, r.unit_id): r for r in conn.execute(select(*columns).where(t.c.campaign_id == cid))
    }
    old_rules = campaign_rules(old_campaign) if old_campaign is not None else {}
    extensions, exempt = amend.decisions_of(conn, cid)  # (kept even while a campaign is not deployed)
    rows = list(_instance_rows(plan))
    moved_tasks = {  # whose ladders may restart: a deadline moved, or an exemption lifted
        r["task_id"]
        for r in rows
        if (old := existing.get((r["task_id"], r["unit_id"]))) is not None
        and (old.deadline != r["deadline"] or old.state == "exempt")
    }
    sent = amend.escalations_sent(conn, cid, moved_tasks) if moved_tasks else {}
    pending = amend.pending_signals(conn, cid, int(now.timestamp())) if old_campaign is not None else {}
    calendar, now_s = c.calendar, int(now.timestamp())
    timing = {task.id: TaskRules.of(task) for task in plan.tasks.values()}
    retimed = {
        tid for tid, rules in timing.items() if tid in old_rules and _timing(old_rules[tid]) != _timing(rules)
    }
    if old_campaign is not None:  # a field's id renamed leaves its figures uncounted: said
        finished = Counter(r.task_id for r in existing.values() if r.state in DONE and not r.archived)
        changes.fields = fields_changed(conn, cid, old_rules, timing, finished)
    seen = set()
    for row in rows:
        key = (row["task_id"], row["unit_id"])
        seen.add(key)
        old = existing.get(key)
        if old is not None and row["opens_on"] == str(OpensOn.SOURCE_SIGNAL) and old.opened_at is not None:
            # an `after:` deadline counts from its source's signal (when the instance opened):
            # under the file's rule as it now reads (7 days after may have become 14)
            signalled = pendulum.from_timestamp(old.opened_at, tz=zone(c.timezone))
            rule = plan.tasks[row["task_id"]].rule
            row["deadline"] = int(rule.instant_after(signalled, c.timezone, calendar).timestamp())
        row["file_deadline"] = None  # (kept beside an extension, which `cascade extend --lift` restores)
        if key in extensions and row["deadline"] is not None:
            row["file_deadline"] = row["deadline"]
            row["deadline"] = max(row["deadline"], extensions[key])  # the unit keeps its extension
        if old is None:
            if key in exempt:
                row.update(state="exempt", next_action_at=None)
            staged.new.append({"campaign_id": cid, "stage": 0, "archived": False, **row})
            continue
        rules = Rules(
            row["deadline"],
            row["state"] == "exempt" or key in exempt,
            timing[row["task_id"]],
            row["opens_on"],
            row["open_at"],
            timing_changed=row["task_id"] in retimed or bool(old.archived),  # (put back: resumed from now)
        )
        outcome = rederive(
            amend.current(old), rules, now_s, c.timezone, calendar, sent.get(key), pending.get(key)
        )
        values = {**{k: row[k] for k in _RULE_COLUMNS}, **amend.instance_values(outcome), "archived": False}
        written, was = tuple(values[k] for k in _UPDATED), tuple(old[3 : 3 + len(_UPDATED)])
        if written != was:  # (a redeploy rewrites only what changes)
            staged.changed.append((*written, old.id))
            if _waits_otherwise(was, written):
                staged.rewaiting.append({**values, "unit_id": key[1]})
        if old.archived:  # its task or unit back in the file: its progress with it
            changes.restored.append((key[0], key[1], old.state in DONE))
        elif outcome.effect != "unchanged":
            changes.amended.append(amend.Amended(old.id, key[0], key[1], paths[key[1]], outcome))
        elif old.state in DONE and outcome.instance.deadline != old.deadline:  # (for the summary's count)
            kept = "kept_on_time" if old.state == "done" else "kept_late"
            changes.kept[(key[0], old.deadline, outcome.instance.deadline, kept)] += 1
    gone = [key for key, old in existing.items() if key not in seen and not old.archived]
    staged.gone = [existing[key].id for key in gone]
    if changes.removed_units:  # what each had finished, which a unit whose id changed starts over
        removed = set(changes.removed_units)
        for (_task, unit), old in existing.items():
            if unit in removed and not old.archived and old.state in DONE:
                changes.finished_by[unit] = changes.finished_by.get(unit, 0) + 1
    changes.added_instances, changes.archived_instances = len(staged.new), len(staged.gone)
    if old_campaign is not None:
        amend.stage_tasks(changes, plan, old_rules, existing)
        amend.stage_targets(changes, plan, [(row["task_id"], row["unit_id"]) for row in staged.new], gone)
        changes.opening = _opened_next([*staged.new, *staged.rewaiting], existing, now_s)
    return staged


_OPENING = ("opens_on", "open_at", "prereq_task", "prereq_unit")


_AT = {name: n for n, name in enumerate(_UPDATED)}


def _waits_otherwise(was: tuple[Any, ...], written: tuple[Any, ...]) -> bool:
    """An instance still waiting to open (its _UPDATED values `was`, now `written`) whose wait the
    change alters: its unit moved (`at: parent` is another unit now), its `opens_after` changed
    or was dropped; or put back (its task or unit back in the file), its prerequisite maybe done
    meanwhile."""
    return (
        written[_AT["state"]] in WAITING_STATES
        and written[_AT["opened_at"]] is None
        and (was[_AT["archived"]] or any(was[_AT[k]] != written[_AT[k]] for k in _OPENING))
    )


def _opened_next(rows: list[dict[str, Any]], existing: dict[tuple[str, str], Any], now_s: int) -> int:
    """The units the next tick tells of work a change opens: of the instances it adds (a new
    task, a new unit) and of those whose wait it alters, those that open at a time now past and
    those whose prerequisite or source is done already."""
    units = set()
    for row in rows:
        if row["state"] not in WAITING_STATES:  # (an instance may wait on past its deadline)
            continue
        if row["opens_on"] in (OpensOn.ISSUED, OpensOn.REQUEST):
            opens = row["open_at"] is None or row["open_at"] <= now_s
        else:
            before = existing.get((row["prereq_task"], row["prereq_unit"]))
            opens = before is not None and not before.archived and before.state in DONE
        if opens:
            units.add(row["unit_id"])
    return len(units)


def _timing(rules: TaskRules) -> tuple[Any, ...]:
    return (rules.remind, rules.quiet, rules.escalate)


def _store_instances(conn: Connection, cid: str, staged: _Staged) -> None:
    t = store.instances
    bulk.insert_many(conn, t, staged.new)
    bulk.update_rows(conn, t, _UPDATED, "id", staged.changed)
    for ids in bulk.chunked(staged.gone):
        conn.execute(update(t).where(t.c.id.in_(ids)).values(archived=True, next_action_at=None))
    amend.signals_count_again(conn, cid, staged.changes.amended)


def undeploy(engine: Engine, campaign_id: str, now: pendulum.DateTime) -> bool:
    """Stop ticking `campaign_id`: it is marked archived, with every instance, signal and
    event kept (a later `deploy` of its file resumes it). False if no such campaign."""
    c = store.campaigns
    with engine.begin() as conn:
        done = conn.execute(update(c).where(c.c.id == campaign_id).values(archived_at=epoch(now)))
    return done.rowcount == 1
