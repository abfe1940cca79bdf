"""Amending a running campaign in the store: what a redeploy or one unit's decision changes.

`cascade.engine.lifecycle.rederive` says what becomes of one instance; this module reads what it
needs from the store (the instances, the escalation stages sent per deadline, the units'
decisions), collects the outcomes into `Changes` (what `cascade deploy --dry-run` prints:
with the tasks and units a file adds, removes, moves or renames, `stage_tasks`, `stage_units`,
`stage_targets`), and writes them: instance rows, the §7 events (`task.amended`, `task.exempted`,
`unit.moved`) and the notices they cause, in the caller's transaction, as one record in
the ticks table (the events' tick), so the audit log shows when and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pendulum
from sqlalchemy import Connection, func, insert, select, update

from cascade.engine import bulk, deployed, store
from cascade.engine.field_changes import FieldChange
from cascade.engine.lifecycle import DONE, Instance, Outcome
from cascade.engine.machine import Notice
from cascade.engine.tick import Tick, write_events
from cascade.plan.hierarchy import parent_of
from cascade.plan.model import Plan

_I = store.instances


@dataclass
class Amended:
    """One instance whose state or timing a change touched."""

    id: int
    task: str
    unit: str
    path: str
    outcome: Outcome
    reason: str | None = None
    by: str | None = None
    withdrawn: int | None = None  # `cascade withdraw`: when the completion taken back was
    taken_back: bool = False  # an extension taken back (`cascade extend --lift`)


@dataclass
class Moved:
    unit: str
    path: str  # its new path
    old_parent: str | None
    new_parent: str | None


@dataclass(frozen=True)
class SummaryMoved:
    """The campaign's summary date changed (the starts of the old and new dates), and when its
    summary went out (None: not yet)."""

    old: int
    new: int
    sent_at: int | None

    @property
    def again(self) -> bool:
        """A summary that went out goes out again at a later date (the campaign was extended)."""
        return self.sent_at is not None and self.new > self.old


@dataclass
class Changes:
    """What a redeploy (or a decision) does to a campaign: the summary it prints, what `record` writes."""

    campaign: str
    created: bool = False
    amended: list[Amended] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)
    added_units: list[str] = field(default_factory=list)
    removed_units: list[str] = field(default_factory=list)
    added_instances: int = 0
    archived_instances: int = 0
    added_tasks: list[str] = field(default_factory=list)  # ids new to the file
    # instances put back (task, unit, finished): their task or unit back in the file, archived since
    restored: list[tuple[str, str, bool]] = field(default_factory=list)
    recontacted: list[str] = field(default_factory=list)  # units whose contacts changed, in file order
    readdressed: Counter[str] = field(default_factory=Counter)  # notices sent to new addresses, by status
    # ids gone from the file -> title, the units it was asked of, how many had finished it
    removed_tasks: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # unit ids -> names
    tasks: dict[str, str] = field(default_factory=dict)  # task ids -> titles
    title: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    at: int = 0  # the instant the change applies
    opening: int = 0  # the units the next tick tells of work the change opens (new tasks, new units)
    finished_by: dict[str, int] = field(default_factory=dict)  # a removed unit -> the tasks it had finished
    # the units added and removed -> their path (the new file's, the old): who is under one parent
    changed_paths: dict[str, str] = field(default_factory=dict)
    summary: SummaryMoved | None = None  # the summary date changed
    # the campaign's own lines that changed: title, issued_at, issued_by, timezone, calendar -> (old, new)
    header: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    root: str = ""  # the top unit, who the summary goes to
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # ("unit" | "task", old, new name)
    # a task that stays -> the units it is now asked of, and no longer asked of
    retargeted: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    stopped_at: int | None = None  # deployed again after `cascade undeploy` at this instant
    fallen_due: int = 0  # then: the instances with something due that the next tick catches up on
    # an extension of a subtree or level: the units it leaves as they were (due that day or later)
    passed_over: list[str] = field(default_factory=list)
    # the issue date moved later: the signals recorded dated before it, (unit, task, at), oldest first
    before_issue: list[tuple[str, str, int]] = field(default_factory=list)
    # done instances whose deadline moved, judged as before: (task, old, new deadline, effect) -> count
    kept: Counter[tuple[str, int | None, int | None, str]] = field(default_factory=Counter)
    fields: list[FieldChange] = field(default_factory=list)  # figures gone from or new to a task

    @property
    def told(self) -> list[Amended]:
        """The amended instances logged and told: an exemption a decision lifts too (a redeploy's
        is the file's: the unit hears of it when the instance opens)."""
        return [a for a in self.amended if a.outcome.amended or a.outcome.exempted or _lifted(a)]

    def notices(self) -> Counter[str]:
        """The notices the change sends at once (escalations of instances it turns overdue
        follow at the next tick, as their stages fall due)."""
        out: Counter[str] = Counter()
        for a in self.told:
            out["task.exempted" if a.outcome.exempted else "task.amended"] += 1
        out["unit.moved"] += sum(1 for m in self.moved if m.new_parent and not self.follows_its_parent(m))
        return +out

    def follows_its_parent(self, m: Moved) -> bool:
        """A unit moved only because its parent's id changed in the units file (the one removed,
        the other added, under one name): nothing moved for the people, who are not told of it
        ("from Huyện ủy B to Huyện ủy B"); the log keeps the move."""
        if m.old_parent is None or m.new_parent is None:
            return False
        if m.old_parent not in self.removed_units or m.new_parent not in self.added_units:
            return False
        return self.units.get(m.old_parent) == self.units.get(m.new_parent)


# the instance columns `current` reads (a national redeploy reads them for 300,000 rows: not
# the JSON figures)
STATE_READ = (
    "state",
    "opens_on",
    "open_at",
    "opened_at",
    "deadline",
    "done_at",
    "stage",
    "next_reminder_at",
    "next_escalation_at",
    "next_action_at",
)


def _lifted(a: Amended) -> bool:
    return a.outcome.effect == "unexempted" and a.by is not None


def current(row: Any) -> Instance:
    """An instance row (or mapping with its columns) as `lifecycle.Instance`."""
    get = row.__getitem__ if isinstance(row, Mapping) else row._mapping.__getitem__
    return Instance(
        get("state"),
        get("opens_on"),
        get("open_at"),
        get("opened_at"),
        get("deadline"),
        get("done_at"),
        get("stage") or 0,
        get("next_reminder_at"),
        get("next_escalation_at"),
        get("next_action_at"),
    )


def escalations_sent(
    conn: Connection, campaign: str, tasks: Iterable[str]
) -> dict[tuple[str, str], dict[int, int]]:
    """Per (task, unit): the last escalation stage sent for each deadline (events that name it)."""
    e = store.events
    out: dict[tuple[str, str], dict[int, int]] = {}
    for chunk in bulk.chunked(sorted(set(tasks))):
        rows = conn.execute(
            select(e.c.task_id, e.c.unit_id, e.c.data).where(
                e.c.campaign_id == campaign, e.c.kind == "escalation.sent", e.c.task_id.in_(chunk)
            )
        )
        for task, unit, data in rows:
            deadline, stage = data.get("deadline"), data.get("stage")
            if deadline is None or stage is None:
                continue
            sent = out.setdefault((task, unit), {})
            sent[deadline] = max(stage, sent.get(deadline, 0))
    return out


def fallen_due(conn: Connection, campaign: str, now: int) -> int:
    """The live instances with something due by `now` that no tick has done (a deadline, a
    reminder, an escalation stage): a stopped campaign's, what its next tick catches up on."""
    i = store.instances.c
    due = (
        i.campaign_id == campaign,
        ~i.archived,
        i.next_action_at <= now,
        i.state.not_in((*DONE, "exempt")),
    )
    return int(conn.execute(select(func.count()).where(*due)).scalar_one())


def pending_signals(conn: Connection, campaign: str, now: int) -> dict[tuple[str, str], int]:
    """Per (task, unit): its earliest signal up to `now` that no tick has applied yet."""
    s = store.signals.c
    rows = conn.execute(
        select(s.task_id, s.unit_id, func.min(s.at))
        .where(s.campaign_id == campaign, s.applied_tick.is_(None), s.at <= now)
        .group_by(s.task_id, s.unit_id)
    )
    return {(task, unit): at for task, unit, at in rows}


def signals_before(conn: Connection, campaign: str, at: int) -> list[tuple[str, str, int]]:
    """The signals recorded, and not withdrawn, dated before `at` (a later issue date, before which
    a signal is refused from then on): (unit, task, at), oldest first. They stay as recorded
    (nothing that happened is rewritten); the operator is told which they are."""
    s = store.signals.c
    rows = conn.execute(
        select(s.unit_id, s.task_id, s.at)
        .where(s.campaign_id == campaign, s.at < at, s.withdrawn_at.is_(None))
        .order_by(s.at, s.id)
    )
    return [(unit, task, int(when)) for unit, task, when in rows]


# a decision's kind -> the decision in force it makes, or (a lift) takes back
_MAKES = {"extension": "extension", "exemption": "exemption"}
_TAKES_BACK = {"unextended": "extension", "lifted": "exemption"}


def standing_decisions(
    conn: Connection, campaign: str, task: str | None = None
) -> dict[tuple[str, str, str], Any]:
    """The decision rows in force: (kind, task, unit) -> its latest extension or exemption, not
    taken back since (`--lift`), read in the order they were recorded (under the campaign's
    lock), whatever the clock read."""
    d = store.decisions.c
    query = select(store.decisions).where(d.campaign_id == campaign).order_by(d.id)
    if task is not None:
        query = query.where(d.task_id == task)
    found: dict[tuple[str, str, str], Any] = {}
    for row in conn.execute(query).all():  # (one fetch: a nation's cells extended are 56,700 rows)
        if row.kind in _MAKES:
            found[(_MAKES[row.kind], row.task_id, row.unit_id)] = row
        elif row.kind in _TAKES_BACK:
            found.pop((_TAKES_BACK[row.kind], row.task_id, row.unit_id), None)
    return found


def decisions_of(conn: Connection, campaign: str) -> tuple[dict[tuple[str, str], int], set[tuple[str, str]]]:
    """The units' standing decisions: each instance's latest extension (its deadline; none once
    taken back), and the instances exempted by decision (and not lifted since)."""
    found = standing_decisions(conn, campaign)
    extensions = {
        (task, unit): row.deadline for (kind, task, unit), row in found.items() if kind == "extension"
    }
    exempt = {(task, unit) for kind, task, unit in found if kind == "exemption"}
    return extensions, exempt


# the columns a re-derivation sets (all of `instance_values` but the completion, which it keeps)
WRITTEN = (
    "state",
    "opens_on",
    "open_at",
    "opened_at",
    "deadline",
    "stage",
    "next_reminder_at",
    "next_escalation_at",
    "next_action_at",
)


def instance_values(outcome: Outcome) -> dict[str, Any]:
    i = outcome.instance
    return {
        "state": i.state,
        "opens_on": i.opens_on,
        "open_at": i.open_at,
        "opened_at": i.opened_at,
        "deadline": i.deadline,
        "done_at": i.done_at,
        "stage": i.stage,
        "next_reminder_at": i.next_reminder_at,
        "next_escalation_at": i.next_escalation_at,
        "next_action_at": i.next_action_at,
    }


def record(conn: Connection, campaign_id: str, changes: Changes, now: pendulum.DateTime) -> int | None:
    """The changes' events and notices, at `now`, under one tick record; its id (None: nothing to say)."""

    told, moved = changes.told, [m for m in changes.moved if m.new_parent]
    if not told and not moved:
        return None
    now_s = int(now.timestamp())
    t = events_tick(conn, campaign_id, now)
    for a in told:
        o = a.outcome
        row = {"task_id": a.task, "unit_id": a.unit, "path": a.path, "deadline": o.instance.deadline}
        extra = {
            k: v for k, v in (("reason", a.reason), ("by", a.by), ("withdrawn", a.withdrawn)) if v is not None
        }
        if o.exempted:
            ev = t.event("task.exempted", now_s, row, **extra)
            t.notify("task.exempted", row, ("self",), ev, **extra)
            continue
        data = {
            "old_deadline": o.old_deadline,
            "new_deadline": o.instance.deadline,
            "state": o.instance.state,
            **({"lifted": True} if _lifted(a) else {}),  # an exemption taken back
            **({"unextended": True} if a.taken_back else {}),  # an extension taken back
        }
        ev = t.event("task.amended", now_s, row, **data, **extra)
        t.notify("task.amended", row, ("self",), ev, **data, **extra)
    roles = tuple(dict.fromkeys(r for rules in t.rules.values() for r in rules.notify))
    for m in moved:
        # `to` keeps its §6 meaning (who was told: the new parent); `from` and `moved_to` say the move
        data = {"from": m.old_parent, "moved_to": m.new_parent}
        ev = t.event("unit.moved", now_s, {"task_id": None, "unit_id": m.unit}, **data)
        send = t.send_at(next(iter(t.rules.values()))) if t.rules else now_s
        payload = {"kind": "unit.moved", "unit": m.unit, **data}
        if not changes.follows_its_parent(m):  # (one that only follows its parent's new id: logged, not told)
            t.notices.append(Notice("unit.moved", [str(m.new_parent)], roles, send, payload, ev))
    write_events(t)
    return int(t.tick_id)


def events_tick(conn: Connection, campaign_id: str, now: pendulum.DateTime) -> Tick:
    """A tick record at `now` for events made outside a tick (an amendment, a request), and the
    engine's `Tick` to make them with: the same recipients, quiet hours and outbox rows."""
    campaign = deployed.must_read(conn, campaign_id)
    now_s = int(now.timestamp())
    inserted = conn.execute(insert(store.ticks).values(campaign_id=campaign_id, now=now_s, counts={}))
    return Tick(conn, campaign, now, int(inserted.inserted_primary_key[0]))  # type: ignore[index]


def signals_count_again(conn: Connection, campaign_id: str, amended: Iterable[Amended]) -> None:
    """A signal that came while its instance was exempt was passed over: no longer exempt (the
    file's `exempt:` or a decision lifted), the instance takes it at the next tick (the unit did
    the work: nothing that happened is lost)."""
    s = store.signals.c
    for a in amended:
        if a.outcome.effect == "unexempted":
            mine = (s.campaign_id == campaign_id, s.task_id == a.task, s.unit_id == a.unit)
            conn.execute(
                update(store.signals).where(*mine, s.withdrawn_at.is_(None)).values(applied_tick=None)
            )


def write_instances(conn: Connection, amended: list[Amended]) -> None:
    """The amended instances' new state and timing."""
    rows = []
    for a in amended:
        values = instance_values(a.outcome)
        rows.append((*(values[n] for n in WRITTEN), a.id))
    bulk.update_rows(conn, _I, WRITTEN, "id", rows)


def stage_tasks(
    changes: Changes,
    plan: Plan,
    old_rules: dict[str, Any],
    existing: dict[tuple[str, str], Any],
) -> None:
    """The tasks the file adds, and those it drops with what the units had done of them: a
    task is known by its id, so a corrected id is a new task and the old one's progress stays
    with the old id (archived; the id put back restores it)."""
    changes.added_tasks = [task for task in plan.tasks if task not in old_rules]
    titled = ((old_rules[t].title, task.title) for t, task in plan.tasks.items() if t in old_rules)
    changes.renamed += [("task", old, new) for old, new in titled if old != new]  # (corrected titles)
    for (task, _unit), old in existing.items():
        if task in plan.tasks or old.archived:
            continue
        title = old_rules[task].title if task in old_rules else task
        units, finished = changes.removed_tasks.get(task, (title, 0, 0))[1:]
        changes.removed_tasks[task] = (title, units + 1, finished + (old.state in DONE))


def stage_units(changes: Changes, old_paths: dict[str, str], paths: dict[str, str]) -> None:
    if changes.created:
        return
    # as an operator reads them: the added in the units file's order, the removed by where they
    # stood (a district's communes together, after it)
    changes.added_units = [unit for unit in paths if unit not in old_paths]
    changes.removed_units = sorted(set(old_paths) - set(paths), key=lambda unit: old_paths[unit].split("/"))
    changes.changed_paths = {unit: paths[unit] for unit in changes.added_units}
    changes.changed_paths |= {unit: old_paths[unit] for unit in changes.removed_units}
    for unit in sorted(set(paths) & set(old_paths)):
        old_parent, new_parent = parent_of(old_paths[unit]), parent_of(paths[unit])
        if old_parent != new_parent:
            changes.moved.append(Moved(unit, paths[unit], old_parent, new_parent))


def stage_targets(
    changes: Changes, plan: Plan, added: list[tuple[str, str]], gone: list[tuple[str, str]]
) -> None:
    """The units a task that stays is now asked of, or no longer (its `level`, `tags`, `units`
    or `exclude` changed): not those of a task or unit added or removed, said as such."""
    new_units, old_units = set(changes.added_units), set(changes.removed_units)
    for key, units, left in ((0, added, new_units), (1, gone, old_units)):
        for task, unit in units:
            if task in plan.tasks and task not in changes.added_tasks and unit not in left:
                changes.retargeted.setdefault(task, ([], []))[key].append(unit)
    place = {unit: n for n, unit in enumerate(plan.hierarchy.units)}  # as the units file has them
    for asked, dropped in changes.retargeted.values():
        asked.sort(key=place.__getitem__)
        dropped.sort(key=place.__getitem__)
