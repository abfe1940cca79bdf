"""A change to a running campaign in the operator's words: the summary `cascade deploy` (and
`--dry-run` alone), `extend` and `exempt` print from `cascade.engine.amend.Changes`: per task
each deadline moved and what it did to the units, exemptions, units added, removed, moved or
given a new id, tasks added, removed or given a new id, the instances added and archived, and
the notices the change sends (spec §7).
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping

import pendulum

from cascade.engine.amend import Changes
from cascade.engine.words import deadline_short
from cascade.errors import listed
from cascade.i18n import N_, _, _n, num
from cascade.plan.hierarchy import parent_of
from cascade.views.campaign_changes import campaign_lines, field_lines

NOTICE_KINDS = {  # the notices a change sends, as the operator reads them (the counts of a tick's)
    "task.amended": N_("deadline changes"),
    "task.exempted": N_("exemptions"),
    "unit.moved": N_("units moved"),
}

EFFECTS = {  # what a change does to an instance, in the summary's words
    "reopened": N_("reopened (open again until the new deadline)"),
    "still_open": N_("still open, until the new deadline"),
    "held": N_("held (their prerequisite is still missing; they open with it)"),
    "overdue": N_("turned overdue (the new deadline has passed; escalations start at the next tick)"),
    "still_overdue": N_(
        "still overdue (the new deadline has passed too; escalations start again from it at the next tick)"
    ),
    "rejudged": N_("re-judged on time (finished before the new deadline)"),
    "retimed": N_("reminders and escalations re-planned after now"),
    "kept_on_time": N_("already done on time: judged as before"),
    "kept_late": N_("done late: late under the new deadline too"),
    "exempted": N_("exempted"),
    "unexempted": N_("no longer exempt (held, then opened as the rules say)"),
}


def _day(epoch: int | None, tz: str) -> str:
    """A deadline's last day that counts ("06/12/2020" for an instant at 07/12/2020 00:00)."""
    return _("no deadline yet") if epoch is None else deadline_short(epoch, tz)


def _contact_lines(changes: Changes) -> list[str]:
    """Units whose contacts the units file changed, and the notices not gone out yet that go to
    their new addresses (a corrected address: those it refused go again)."""
    if not changes.recontacted:
        return []
    lines = [
        _(
            "Contacts changed ({count}): {units}",
            count=num(len(changes.recontacted)),
            units=_names(changes.recontacted, changes.units),
        )
    ]
    if waiting := changes.readdressed.get("pending", 0):
        lines.append(_("  {count} notice(s) not sent yet go to the new addresses", count=num(waiting)))
    if refused := changes.readdressed.get("failed", 0):
        lines.append(
            _(
                "  {count} notice(s) the old addresses refused go again, to the new ones, at the next "
                "dispatch (those whose work is done or moved meanwhile are passed over)",
                count=num(refused),
            )
        )
    return lines


def _task_lines(changes: Changes) -> list[str]:
    """Tasks new to the file and tasks gone from it; one whose title stays under a new id is said
    to start over, since a task is known by its id (its progress stays with the old one)."""
    if not changes.added_tasks and not changes.removed_tasks:
        return []
    lines = [_("Tasks:")]
    titles = {changes.tasks.get(task, task): task for task in changes.added_tasks}
    back: dict[str, list[bool]] = {}  # a task put back: whether each of its units had finished it
    for task, _unit, done in changes.restored:
        back.setdefault(task, []).append(done)
    renamed = set()
    for old, (title, units, finished) in sorted(changes.removed_tasks.items()):
        new = titles.get(title)
        if new is None or new in back:  # (an id corrected back: its progress comes back, said below)
            lines.append(
                _(
                    "  «{title}» ({task}) removed from the file: {units}, {finished} finished; their "
                    "progress is archived, and comes back if the id is put back",
                    title=title,
                    task=old,
                    units=_n("{count} unit", "{count} units", units),
                    finished=num(finished),
                )
            )
            continue
        renamed.add(new)
        lines.append(
            _(
                "  «{title}»: its id changed from {old} to {new}. A task is known by its id: {new} is a new "
                "task that starts over at {units} ({finished} finished under {old}), its notices sent "
                "again; put {old} back in the file to keep its progress",
                title=title,
                old=old,
                new=new,
                units=_n("{count} unit", "{count} units", units),
                finished=num(finished),
            )
        )
    for task in changes.added_tasks:
        title = changes.tasks.get(task, task)
        if task in back:
            lines.append(
                _(
                    "  «{title}» ({task}) put back: its progress comes back, {units}, {finished} finished",
                    title=title,
                    task=task,
                    units=_n("{count} unit", "{count} units", len(back[task])),
                    finished=num(sum(back[task])),
                )
            )
        elif task not in renamed:
            lines.append(_("  «{title}» ({task}) added", title=title, task=task))
    return lines


def _renamed_units(changes: Changes) -> dict[str, str]:
    """Units gone and units added under one name, one each: an id corrected in the units file
    (old id -> new id), which starts the unit over, as a task's does."""
    added: dict[str, list[str]] = {}
    for unit in changes.added_units:
        added.setdefault(changes.units.get(unit, unit), []).append(unit)
    gone: dict[str, list[str]] = {}
    for unit in changes.removed_units:
        gone.setdefault(changes.units.get(unit, unit), []).append(unit)
    return {
        olds[0]: added[name][0] for name, olds in gone.items() if len(olds) == 1 == len(added.get(name, ()))
    }


def _renamed_line(was: str, now: str, finished: int, names: Mapping[str, str]) -> str:
    return _n(
        "  «{old_name}» removed and «{new_name}» added at its place: if it is one unit renamed, its id "
        "changed with its name ({old} → {new}) and it starts over, its {count} task finished kept under "
        "{old}; to keep its progress, write {old} in an id (Mã) column on its row",
        "  «{old_name}» removed and «{new_name}» added at its place: if it is one unit renamed, its id "
        "changed with its name ({old} → {new}) and it starts over, its {count} tasks finished kept under "
        "{old}; to keep its progress, write {old} in an id (Mã) column on its row",
        finished,
        old_name=names.get(was, was),
        new_name=names.get(now, now),
        old=was,
        new=now,
    )


def _renamed_by_name(changes: Changes, added: list[str], removed: list[str]) -> list[str]:
    """Under one parent, a unit gone that had finished work and one added at its level (the one
    added, or of several the one named most like it): most likely one unit renamed in a sheet
    without ids, whose id is made from its name. It starts over under its new id, its progress
    archived with the old one, which nothing said; the fix, an id column, is said."""

    def parent_and_depth(unit: str) -> tuple[str | None, int]:
        path = changes.changed_paths.get(unit, "")
        return parent_of(path), path.count("/")

    added_under: dict[tuple[str | None, int], list[str]] = {}
    for unit in added:
        added_under.setdefault(parent_and_depth(unit), []).append(unit)
    gone_under: dict[tuple[str | None, int], list[str]] = {}
    for unit in removed:
        gone_under.setdefault(parent_and_depth(unit), []).append(unit)
    u = changes.units
    lines = []
    for place, gone_here in gone_under.items():
        new_here = added_under.get(place, [])
        for was in gone_here:
            if not (finished := changes.finished_by.get(was, 0)) or not new_here:
                continue
            if len(gone_here) == 1 == len(new_here):
                now = new_here[0]  # (one out, one in: whatever the names)
            else:  # several: the added unit named most like it, if one is
                names = {u.get(unit, unit): unit for unit in new_here}
                close = difflib.get_close_matches(u.get(was, was), list(names), n=1, cutoff=0.6)
                if not close:
                    continue
                now = names[close[0]]
            new_here.remove(now)
            lines.append(_renamed_line(was, now, finished, u))
    return lines


def _target_lines(changes: Changes) -> list[str]:
    """The units a task that stays is now asked of, or no longer (its targets changed)."""
    lines = []
    for task, (asked, dropped) in changes.retargeted.items():
        title = changes.tasks.get(task, task)
        if asked:
            units = _names(asked, changes.units)
            lines.append(
                _(
                    "  «{title}»: now asked of ({count}): {units}",
                    title=title,
                    count=num(len(asked)),
                    units=units,
                )
            )
        if dropped:
            units = _names(dropped, changes.units)
            lines.append(
                _(
                    "  «{title}»: no longer asked of ({count}): {units}; what they had done is kept "
                    "(archived)",
                    title=title,
                    count=num(len(dropped)),
                    units=units,
                )
            )
    return [_("Who a task is asked of:"), *lines] if lines else []


def _name_lines(changes: Changes) -> list[str]:
    """Units' names and tasks' titles corrected in the files: nothing else changes with them."""
    if not changes.renamed:
        return []
    lines = [_("Names corrected ({count}):", count=num(len(changes.renamed)))]
    for kind, old, new in changes.renamed:
        if kind == "unit":
            lines.append(_("  unit: «{old}» → «{new}»", old=old, new=new))
        else:
            lines.append(_("  task: «{old}» → «{new}»", old=old, new=new))
    return lines


def describe(changes: Changes) -> list[str]:
    """The summary a deploy prints (and `deploy --dry-run` prints alone), one line each."""
    tz, u, t = changes.timezone, changes.units, changes.tasks
    when = pendulum.from_timestamp(changes.at, tz=tz).format("DD/MM/YYYY HH:mm")
    lines = [
        _(
            "Changes to «{title}» ({campaign}) at {when}:",
            title=changes.title,
            campaign=changes.campaign,
            when=when,
        )
    ]
    lines += campaign_lines(changes)
    moved_deadlines: dict[tuple[str, int | None, int | None], Counter[str]] = {}
    exemptions: dict[str, list[str]] = {}
    for a in changes.amended:
        o = a.outcome
        if o.effect in ("exempted", "unexempted"):
            effect = _("exempted") if o.effect == "exempted" else _("no longer exempt")
            exemptions.setdefault(a.task, []).append(f"{u.get(a.unit, a.unit)} {effect}")
            continue
        key = (a.task, o.old_deadline, o.instance.deadline)
        moved_deadlines.setdefault(key, Counter())[o.effect] += 1
    for (task, old, new, effect), count in changes.kept.items():
        moved_deadlines.setdefault((task, old, new), Counter())[effect] += count
    if moved_deadlines:
        lines.append(_("Deadlines (the last day that counts):"))
        for (task, old, new), effects in sorted(
            moved_deadlines.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2] or 0)
        ):
            n = sum(effects.values())
            change = _("timing rules changed") if old == new else f"{_day(old, tz)} → {_day(new, tz)}"
            counted = _n("{count} unit", "{count} units", n)
            lines.append(f"  «{t.get(task, task)}»: {change}, {counted}:")
            lines += [f"      {num(count)} {_(EFFECTS[effect])}" for effect, count in effects.most_common()]
    if exemptions:
        lines.append(_("Exemptions:"))
        for task, items in sorted(exemptions.items()):
            shown = sorted(items)
            more = _(" and {more} more", more=num(len(shown) - 10)) if len(shown) > 10 else ""
            lines.append(f"  «{t.get(task, task)}» ({num(len(shown))}): {', '.join(shown[:10])}{more}")
    if changes.added_units or changes.removed_units or changes.moved:
        lines.append(_("Units:"))
        back = {unit for _task, unit, _finished in changes.restored}
        # (an id corrected back is no rename: its progress comes back with it)
        renamed = {was: now for was, now in _renamed_units(changes).items() if now not in back}
        for was, now in renamed.items():
            lines.append(
                _n(
                    "  «{name}»: its id changed from {old} to {new}. A unit is known by its id: {new} is a "
                    "new unit that starts over ({count} task finished under {old}), its notices sent again; "
                    "put {old} back in the units file to keep its progress",
                    "  «{name}»: its id changed from {old} to {new}. A unit is known by its id: {new} is a "
                    "new unit that starts over ({count} tasks finished under {old}), its notices sent again; "
                    "put {old} back in the units file to keep its progress",
                    changes.finished_by.get(was, 0),
                    name=u.get(now, now),
                    old=was,
                    new=now,
                )
            )
        added_units = [unit for unit in changes.added_units if unit not in renamed.values()]
        if put_back := [unit for unit in added_units if unit in back]:
            lines.append(
                _(
                    "  put back, their progress with them ({count}): {units}",
                    count=num(len(put_back)),
                    units=_names(put_back, u),
                )
            )
        if added_units := [unit for unit in added_units if unit not in back]:
            lines.append(
                _("  added ({count}): {units}", count=num(len(added_units)), units=_names(added_units, u))
            )
        if removed := [unit for unit in changes.removed_units if unit not in renamed]:
            lines.append(_("  removed ({count}): {units}", count=num(len(removed)), units=_names(removed, u)))
        lines += _renamed_by_name(changes, added_units, removed)
        lines += _moved_lines(changes)
    lines += _name_lines(changes) + _contact_lines(changes)
    lines += _task_lines(changes) + _target_lines(changes) + field_lines(changes)
    if changes.restored:
        lines.append(
            _(
                "Instances: {added} added, {restored} put back (as they stood), {archived} archived (their "
                "history kept)",
                added=num(changes.added_instances),
                restored=num(len(changes.restored)),
                archived=num(changes.archived_instances),
            )
        )
    elif changes.added_instances or changes.archived_instances:
        lines.append(
            _(
                "Instances: {added} added, {archived} archived (their history kept)",
                added=num(changes.added_instances),
                archived=num(changes.archived_instances),
            )
        )
    notices = changes.notices()
    if notices:
        told = _(", ").join(
            _("{what} {number}", what=_(NOTICE_KINDS[kind]), number=num(n))
            for kind, n in sorted(notices.items())
        )
        lines.append(_("Notices this change sends: {told}", told=told))
    else:
        lines.append(
            _("Notices this change sends: none (nothing that changed touches a running instance's timing)")
        )
    overdue = sum(1 for a in changes.amended if a.outcome.effect in ("overdue", "still_overdue"))
    if overdue:
        lines.append(
            _(
                "  then, at the next tick, the escalations of the {overdue} instance(s) now overdue",
                overdue=num(overdue),
            )
        )
    if changes.opening:
        lines.append(
            _n(
                "  then, at the next tick, {count} unit is told of the work this change opens",
                "  then, at the next tick, {count} units are told of the work this change opens",
                changes.opening,
            )
        )
    moved = changes.summary
    if moved is not None and (moved.sent_at is None or moved.again) and moved.new <= changes.at:
        lines.append(_("  then, at the next tick, the summary to {root}", root=changes.root))
    return lines


_MOVES_WHOLE, _MOVES_SHOWN = 20, 10  # pairs of parents listed whole (Hà Tĩnh's 18), else the first


def _moved_lines(changes: Changes) -> list[str]:
    """The units moved, a line per old and new parent, in the units file's order: a merger
    moves a district's communes together (dropping the district level moved 87 units of Hà
    Tĩnh, 87 lines alike)."""
    u = changes.units
    order = {unit: n for n, unit in enumerate(u)}  # the new units file's order, then the removed
    moves: dict[tuple[str, str], list[str]] = {}
    following: dict[str, list[str]] = {}  # a parent whose id changed -> the units that follow it
    for m in sorted(changes.moved, key=lambda m: order.get(m.unit, len(order))):
        before, after = u.get(m.old_parent or "", m.old_parent), u.get(m.new_parent or "", m.new_parent)
        if changes.follows_its_parent(m):
            following.setdefault(str(after), []).append(m.unit)
            continue
        moves.setdefault((str(before), str(after)), []).append(m.unit)
    lines = [
        _(
            "  the units under {parent} follow it to its new id ({count}), nobody told: {units}",
            parent=parent,
            count=num(len(units)),
            units=_names(units, u),
        )
        for parent, units in following.items()
    ]
    pairs = list(moves.items())
    cut = _MOVES_SHOWN if len(pairs) > _MOVES_WHOLE else len(pairs)  # a level dropped nationwide: 630
    shown, rest = pairs[:cut], pairs[cut:]
    for (before, after), units in shown:
        if len(units) == 1:
            lines.append(
                _(
                    "  moved: {unit}: {before} → {after}",
                    unit=u.get(units[0], units[0]),
                    before=before,
                    after=after,
                )
            )
            continue
        lines.append(
            _(
                "  moved from {before} to {after} ({count}): {units}",
                before=before,
                after=after,
                count=num(len(units)),
                units=_names(units, u),
            )
        )
    if rest:
        lines.append(
            _(
                "  and {more} more alike: {units} units moved from {before} units to {after} (`cascade "
                "events {campaign} --kind unit.moved` lists each one once it is deployed)",
                more=num(len(rest)),
                units=num(sum(len(units) for _pair, units in rest)),
                before=num(len({before for (before, _after), _units in rest})),
                after=num(len({after for (_before, after), _units in rest})),
                campaign=changes.campaign,
            )
        )
    return lines


def _names(ids: list[str], names: Mapping[str, str], most: int = 10) -> str:
    return listed([names.get(i, i) for i in ids], most)
