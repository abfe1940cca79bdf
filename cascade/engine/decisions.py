"""One unit's decision on a running campaign: an extension or an exemption, decided by the
operator (`cascade extend`, `cascade exempt`) or asked for by the unit and answered by its
parent (the web's request and answer links). Each comes down to an amendment
(`cascade.engine.amend`): the same re-derivation, events and notices as a redeploy's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pendulum
from sqlalchemy import Connection, func, null, select, update

from cascade.engine import bulk, locks, store
from cascade.engine.amend import (
    Amended,
    Changes,
    current,
    decisions_of,
    escalations_sent,
    pending_signals,
    record,
    signals_count_again,
    write_instances,
)
from cascade.engine.deployed import Deployed, task_choices, units_named
from cascade.engine.lifecycle import DONE, Rules, rederive, withdrawn
from cascade.errors import listed
from cascade.i18n import _
from cascade.plan.rules import campaign_rules
from cascade.timing.workdays import Calendar

_I = store.instances


class DecisionRefused(Exception):
    """Why a decision is refused, every reason at once; nothing of it was applied."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Decision:
    kind: str  # extension | exemption | lifted (an exemption taken back) | unextended (an extension)
    task: str
    units: tuple[str, ...]
    reason: str
    by: str
    deadline: int | None = None  # an extension's new deadline (epoch seconds)
    request_id: int | None = None  # the unit's request it answers
    named: bool = True  # the units were named one by one (not chosen by --under/--level): each must fit


@dataclass
class _Chosen:
    """The units a decision is about as its checks narrow them (id -> name, id -> instance row),
    what the checks find (each unit's deadline as the file gives it, for an extension; the units
    a subtree's or level's extension passes over) and every problem."""

    title: str  # the task's
    names: dict[str, str]
    rows: dict[str, Any]
    problems: list[str]
    files: dict[str, int | None] = field(default_factory=dict)
    passed: list[str] = field(default_factory=list)

    def keep(self, units: set[str]) -> tuple[dict[str, str], dict[str, Any]]:
        """Only `units` of those chosen, from now on; the names and rows kept."""
        self.names = {u: n for u, n in self.names.items() if u in units}
        self.rows = {u: r for u, r in self.rows.items() if u in units}
        return self.names, self.rows


def decide(conn: Connection, campaign_id: str, decision: Decision, now: pendulum.DateTime) -> Changes:
    """Apply `decision` at `now` in the caller's transaction, all or nothing: the decision
    rows (kept across redeploys), the instances re-derived (`lifecycle.rederive`, as a
    redeploy does), their events (`task.amended` / `task.exempted` with `reason` and `by`)
    and notices. Raises DecisionRefused naming every unit or value at fault."""
    campaign = _locked(conn, campaign_id)
    rules = campaign_rules(campaign)
    now_s = int(now.timestamp())
    problems = _reason_and_task(decision.reason, decision.task, campaign)
    if decision.kind == "extension":
        if decision.deadline is None:
            problems.append(_("an extension needs its new deadline (--to DD/MM/YYYY)"))
        elif decision.deadline <= campaign.issued_at:
            problems.append(_("the new deadline falls before the campaign was issued"))
        elif decision.deadline <= now_s:
            problems.append(_("the new deadline has already passed: give a later day"))
    if not decision.units:
        problems.append(
            _("no unit chosen: name one (its id or exact name), or use --under, --level or --units")
        )
    if decision.task not in rules:
        raise DecisionRefused(problems)
    i = _I.c
    resolved, wrong = units_named(conn, campaign_id, decision.units)  # each by its id or its exact name
    problems.extend(wrong)
    names = {unit.id: unit.name for unit in resolved.values()}
    rows: dict[str, Any] = {}
    for chunk in bulk.chunked(sorted(names)):
        query = select(_I, store.units.c.path).join(
            store.units, (store.units.c.campaign_id == i.campaign_id) & (store.units.c.id == i.unit_id)
        )
        for row in conn.execute(
            query.where(
                i.campaign_id == campaign_id, i.task_id == decision.task, i.unit_id.in_(chunk), ~i.archived
            )
        ):
            rows[row.unit_id] = row
    title = rules[decision.task].title if decision.task in rules else decision.task
    untargeted = [unit for unit in names if unit not in rows]
    if not decision.named:  # a whole subtree or level: the units the task is asked of
        if names and not rows:  # (no unit chosen at all is said once, above)
            problems.append(_("«{title}» is asked of none of the units chosen", title=title))
        names = {unit: name for unit, name in names.items() if unit in rows}
        untargeted = []
    if untargeted:
        problems.append(
            _("«{title}» is not asked of {units}", title=title, units=listed([names[x] for x in untargeted]))
        )
    chosen = _Chosen(title, names, rows, problems)
    if decision.kind == "lifted":  # an exemption taken back: only one a decision made
        _exempt_by_decision(conn, campaign_id, decision, chosen)
    if decision.kind in ("extension", "unextended"):
        _extended(conn, campaign_id, decision, chosen)
    names, rows, files = chosen.names, chosen.rows, chosen.files
    if problems:
        raise DecisionRefused(problems)
    pending = pending_signals(conn, campaign_id, now_s)
    calendar = Calendar(campaign.calendar)
    changes = _changes(campaign, names, rules, now_s)
    changes.passed_over = chosen.passed
    sent = escalations_sent(conn, campaign_id, [decision.task])
    records, quiet = [], []
    for unit, row in sorted(rows.items()):
        deadlines = {"extension": decision.deadline, "unextended": files.get(unit)}  # else: as it is
        now_rules = Rules(
            deadlines.get(decision.kind, row.deadline),
            decision.kind == "exemption" or (row.state == "exempt" and decision.kind != "lifted"),
            rules[decision.task],
            row.opens_on,
            row.open_at,
        )
        key = (decision.task, unit)
        outcome = rederive(
            current(row), now_rules, now_s, campaign.timezone, calendar, sent.get(key), pending.get(key)
        )
        records.append(
            {
                "campaign_id": campaign_id,
                "task_id": decision.task,
                "unit_id": unit,
                "kind": decision.kind,
                "deadline": decision.deadline,
                "reason": decision.reason.strip(),
                "by": decision.by,
                "at": now_s,
                "request_id": decision.request_id,
            }
        )
        if outcome.effect == "unchanged" and outcome.instance.deadline != row.deadline:
            quiet.append((outcome.instance.deadline, row.id))  # finished: its deadline, told to nobody
        elif outcome.effect != "unchanged":
            changes.amended.append(
                Amended(
                    row.id,
                    decision.task,
                    unit,
                    row.path,
                    outcome,
                    decision.reason.strip(),
                    decision.by,
                    taken_back=decision.kind == "unextended",
                )
            )
    bulk.insert_many(conn, store.decisions, records)
    write_instances(conn, changes.amended)
    bulk.update_rows(conn, _I, ("deadline",), "id", quiet)  # (a redeploy would move it, out of the blue)
    if decision.kind in ("extension", "unextended"):  # kept beside a standing extension, for its lift
        kept = files if decision.kind == "extension" else dict.fromkeys(rows)
        moved = [(kept[unit], row.id) for unit, row in rows.items() if row.file_deadline != kept[unit]]
        bulk.update_rows(conn, _I, ("file_deadline",), "id", moved)
    signals_count_again(conn, campaign_id, changes.amended)  # (an exemption lifted: a signal sent meanwhile)
    record(conn, campaign_id, changes, now)
    return changes


def _exempt_by_decision(conn: Connection, campaign_id: str, decision: Decision, chosen: _Chosen) -> None:
    """Of the units chosen, those exempt from the task by a decision (`cascade exempt`, whose
    exemption a lift takes back); each named unit that is not, a problem: one exempt in the
    campaign file is lifted there."""
    _extensions, exempt = decisions_of(conn, campaign_id)
    names, rows, title, problems = chosen.names, chosen.rows, chosen.title, chosen.problems
    mine = {unit for unit in rows if (decision.task, unit) in exempt}
    if not decision.named:
        if rows and not mine:
            problems.append(_("none of the units chosen is exempt from «{title}» by a decision", title=title))
        chosen.keep(mine)
        return
    in_file = [names[u] for u, r in rows.items() if u not in mine and r.state == "exempt"]
    if in_file:
        problems.append(
            _(
                "{units} are exempt from «{title}» in the campaign file: take them out of the task's "
                "`exempt:` there and deploy it again",
                units=listed(in_file),
                title=title,
            )
        )
    not_exempt = [names[u] for u, r in rows.items() if u not in mine and r.state != "exempt"]
    if not_exempt:
        problems.append(_("{units} are not exempt from «{title}»", units=listed(not_exempt), title=title))


def _extended(conn: Connection, campaign_id: str, decision: Decision, chosen: _Chosen) -> None:
    """An extension's or its lift's units and each one's deadline as the campaign file gives it
    (None for a standing extension made before the store kept it, revision 0012). A later day
    extends; an earlier one corrects a standing extension (the operator's, not a unit's request)
    down to the file's deadline and no further; a lift takes a standing extension back to it.
    Of a subtree or level (not named one by one), the units already due that day or later, or
    not due yet (an `after:` deadline still to come), are passed over, and named."""
    extensions, _exempt = decisions_of(conn, campaign_id)
    names, rows, title, problems = chosen.names, chosen.rows, chosen.title, chosen.problems
    standing = {unit for unit in rows if (decision.task, unit) in extensions}
    files = {unit: row.file_deadline if unit in standing else row.deadline for unit, row in rows.items()}
    chosen.files = files
    if decision.kind == "unextended":
        if not decision.named:
            if rows and not standing:
                problems.append(_("none of the units chosen has an extension of «{title}»", title=title))
            names, rows = chosen.keep(standing)
        missing = [names[u] for u in rows if u not in standing]
        if missing:
            problems.append(
                _("{units} have no extension of «{title}» to take back", units=listed(missing), title=title)
            )
        unknown = [names[u] for u in standing if u in rows and files[u] is None]
        if unknown:
            problems.append(
                _(
                    "the campaign file's deadline for {units} was not kept when they were extended (an "
                    "earlier version of Cascade): deploy the campaign file again, then take the extension "
                    "back",
                    units=listed(unknown),
                )
            )
        return
    if decision.deadline is None:
        return
    if not decision.named:  # never shortened, nor extended before it is set, by a whole subtree or level
        later = {u for u, r in rows.items() if r.deadline is not None and r.deadline >= decision.deadline}
        unset = {u for u, r in rows.items() if r.deadline is None}
        if rows and len(later) + len(unset) < len(rows):
            chosen.passed = [name for u, name in names.items() if u in later or u in unset]
            names, rows = chosen.keep(set(rows) - later - unset)
        elif later:  # (and those with none yet: said below)
            problems.append(
                _(
                    "every unit chosen has «{title}» due that day or later already: nothing to extend",
                    title=title,
                )
            )
            rows = {u: r for u, r in rows.items() if u in unset}  # (for the problems only)
    no_deadline = [names[u] for u, r in rows.items() if r.deadline is None]
    if no_deadline:
        problems.append(
            _(
                "{units} have no deadline for «{title}» yet (it follows their signal)",
                units=listed(no_deadline),
                title=title,
            )
        )
    earlier, under_file, unknown = [], [], []
    for unit, row in rows.items():
        if row.deadline is None or decision.deadline > row.deadline:
            continue
        correcting = unit in standing and decision.request_id is None and decision.deadline < row.deadline
        file = files[unit]
        if not correcting:
            earlier.append(names[unit])
        elif file is None:
            unknown.append(names[unit])
        elif decision.deadline <= file:
            under_file.append(names[unit])
    if earlier:
        problems.append(
            _(
                "the new deadline is not later than the current one of {units}: "
                "an extension moves a deadline later",
                units=listed(earlier),
            )
        )
    if under_file:
        problems.append(
            _(
                "the new deadline is not later than the campaign file's for {units}: "
                "`cascade extend --lift` takes their extension back",
                units=listed(under_file),
            )
        )
    if unknown:
        problems.append(
            _(
                "the campaign file's deadline for {units} was not kept when they were extended (an earlier "
                "version of Cascade): deploy the campaign file again, then correct the extension",
                units=listed(unknown),
            )
        )


@dataclass(frozen=True)
class Withdrawn:
    """What `withdraw` did: the unit, the completion taken back (None: the signals had not been
    applied yet), the instance's state now, and how many signals it marked."""

    unit: str
    unit_name: str
    title: str
    done_at: int | None
    state: str
    signals: int


def withdraw(
    conn: Connection, campaign_id: str, task: str, unit: str, reason: str, by: str, now: pendulum.DateTime
) -> Withdrawn:
    """Take back the signals of one unit's task recorded by mistake, at `now`, in the caller's
    transaction: they stay in the store, marked withdrawn with the reason, and no tick applies
    them; the same signal may be recorded again. An instance they finished is as it would be
    without them (`lifecycle.withdrawn`): its figures and completion gone, `task.amended` with
    `withdrawn` (the completion's instant), `reason`, `by` and its state now, and its unit told.
    What it set off stays: units it opened were told to start, and keep their work and deadlines.
    Raises DecisionRefused naming every fault at once; nothing is written then."""
    campaign = _locked(conn, campaign_id)
    rules = campaign_rules(campaign)
    problems = _reason_and_task(reason, task, campaign)
    found, wrong = units_named(conn, campaign_id, [unit])
    problems.extend(wrong)
    if problems:
        raise DecisionRefused(problems)
    named = found[unit]
    title = rules[task].title
    i, s = _I.c, store.signals.c
    row = conn.execute(
        select(_I, store.units.c.path)
        .join(store.units, (store.units.c.campaign_id == i.campaign_id) & (store.units.c.id == i.unit_id))
        .where(i.campaign_id == campaign_id, i.task_id == task, i.unit_id == named.id, ~i.archived)
    ).first()
    mine = (s.campaign_id == campaign_id, s.task_id == task, s.unit_id == named.id, s.withdrawn_at.is_(None))
    signals = conn.execute(select(s.id, s.digest).where(*mine)).all()
    if row is None:
        raise DecisionRefused([_("«{title}» is not asked of {unit}", title=title, unit=named.name)])
    if row.state not in DONE and not signals:
        raise DecisionRefused(
            [_("{unit} has no signal for «{title}»: nothing to withdraw", unit=named.name, title=title)]
        )
    now_s = int(now.timestamp())
    for ident, digest in signals:  # a new digest: the same signal, recorded again, counts
        conn.execute(
            update(store.signals)
            .where(s.id == ident)
            .values(
                withdrawn_at=now_s,
                withdrawn_reason=reason.strip(),
                applied_tick=func.coalesce(s.applied_tick, 0),  # 0: no tick will apply it
                digest=hashlib.sha256(f"withdrawn:{ident}:{digest}".encode()).hexdigest(),
            )
        )
    if row.state not in DONE:  # not applied yet: the tick will not apply them
        return Withdrawn(named.id, named.name, title, None, row.state, len(signals))
    sent = escalations_sent(conn, campaign_id, [task]).get((task, named.id))
    outcome = withdrawn(
        current(row), rules[task], now_s, campaign.timezone, Calendar(campaign.calendar), sent
    )
    changes = _changes(campaign, {named.id: named.name}, rules, now_s)
    changes.amended.append(
        Amended(row.id, task, named.id, row.path, outcome, reason.strip(), by, withdrawn=row.done_at)
    )
    write_instances(conn, changes.amended)
    conn.execute(update(_I).where(i.id == row.id).values(done_at=None, fields=null(), computed=null()))
    if outcome.instance.state == "held":  # its prerequisite may be done: the next tick looks again
        c = store.campaigns.c
        conn.execute(update(store.campaigns).where(c.id == campaign_id).values(rescan=True))
    record(conn, campaign_id, changes, now)
    return Withdrawn(named.id, named.name, title, row.done_at, outcome.instance.state, len(signals))


def _changes(campaign: Any, units: dict[str, str], rules: dict[str, Any], now_s: int) -> Changes:
    """The record of a decision's changes to `units` (ids -> names), told as a redeploy's are."""
    changes = Changes(campaign.id, units=units, tasks={tid: r.title for tid, r in rules.items()})
    changes.title, changes.timezone, changes.at = campaign.title, campaign.timezone, now_s
    return changes


def _locked(conn: Connection, campaign_id: str) -> Any:
    """The campaign's row, locked until the decision commits (a tick under way ends first), or
    DecisionRefused."""
    c = store.campaigns.c
    locks.hold(conn, campaign_id)
    campaign = conn.execute(select(store.campaigns).where(c.id == campaign_id)).first()
    if campaign is None or campaign.archived_at is not None:
        message = _(
            "no deployed campaign `{campaign}`: deploy it first (cascade deploy FILE)", campaign=campaign_id
        )
        raise DecisionRefused([message])
    return campaign


def _reason_and_task(reason: str, task: str, campaign: Deployed) -> list[str]:
    """What is wrong with a decision's reason and task, both at once."""
    problems = []
    if not reason.strip():
        problems.append(
            _('a reason is required (--reason "..."): it goes into the audit log and to the unit')
        )
    if task not in campaign.tasks:
        begun, tasks = task_choices(campaign, task)
        said = dict(task=task, campaign=campaign.id)
        problems.append(
            _("no task or report `{task}` in {campaign}; did you mean {choice}?", **said, choice=begun)
            if begun
            else _("no task or report `{task}` in {campaign}; its tasks: {tasks}", **said, tasks=tasks)
        )
    return problems


def units_under(conn: Connection, campaign_id: str, under: str | None, level: str | None) -> list[str]:
    """The units below `under` (not itself) and/or at `level`, in the units file's order."""
    u = store.units.c
    query = select(u.id).where(u.campaign_id == campaign_id, ~u.archived)
    if under is not None:
        query = query.where(u.path.contains(f":{under}/"))
    if level is not None:
        query = query.where(u.level == level)
    return list(conn.execute(query.order_by(*store.IN_FILE_ORDER)).scalars())
