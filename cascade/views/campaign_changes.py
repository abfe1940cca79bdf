"""A redeploy's changes to the campaign's own lines, in the operator's words (the head of the
summary `cascade.views.changes.describe` prints): a stopped campaign deployed again, its summary
date, its title, issue date, issuer, time zone and calendar."""

from __future__ import annotations

import pendulum

from cascade.engine.amend import Changes
from cascade.errors import listed
from cascade.i18n import N_, _, num


def campaign_lines(changes: Changes) -> list[str]:
    return _stopped_lines(changes) + _summary_lines(changes) + _header_lines(changes)


def _stopped_lines(changes: Changes) -> list[str]:
    """A campaign undeployed, deployed again: it starts again, and catches up."""
    if changes.stopped_at is None:
        return []
    since = pendulum.from_timestamp(changes.stopped_at, tz=changes.timezone).format("DD/MM/YYYY HH:mm")
    lines = [_("Stopped since {since} (cascade undeploy): deploying starts it again.", since=since)]
    if changes.fallen_due:
        lines.append(
            _(
                "  While it was stopped, {count} instances had a deadline, reminder or escalation fall due: "
                "the next tick does it (one reminder however many fell due, each escalation stage once)",
                count=num(changes.fallen_due),
            )
        )
    return lines


def _summary_lines(changes: Changes) -> list[str]:
    """The summary date's change, and what it does to the summary."""
    moved = changes.summary
    if moved is None:
        return []
    tz = changes.timezone
    line = _("Summary date: {old} → {new}", old=_date(moved.old, tz), new=_date(moved.new, tz))
    if moved.again:
        sent = _date(moved.sent_at, tz)
        if moved.new <= changes.at:
            return [_("{line}: the summary that went out on {sent} goes out again now", line=line, sent=sent)]
        return [
            _(
                "{line}: the summary that went out on {sent} goes out again at the new date",
                line=line,
                sent=sent,
            )
        ]
    if moved.sent_at is not None:
        sent = _date(moved.sent_at, tz)
        return [_("{line}: the summary went out on {sent}; nothing more is sent", line=line, sent=sent)]
    if moved.new <= changes.at:
        return [_("{line}: it has passed, the next tick sends the summary", line=line)]
    return [line]


HEADER = {
    "title": N_("title"),
    "issued_at": N_("issued on"),
    "issued_by": N_("issued by"),
    "timezone": N_("time zone"),
    "calendar": N_("calendar"),
}


def _header_lines(changes: Changes) -> list[str]:
    """The campaign's own lines the file changed (its title, issue, issuer, time zone,
    calendar), each old → new; they send nothing by themselves."""
    if not changes.header:
        return []
    lines = [_("Campaign:")]
    for key, label in HEADER.items():
        if key in changes.header:
            old, new = changes.header[key]
            if key == "issued_at":
                old, new = _date(old, changes.timezone), _date(new, changes.timezone)
            lines.append(f"  {_(label)}: {old or '—'} → {new or '—'}")
            if key == "issued_at" and changes.before_issue:
                lines.append(_before_issue_line(changes))
    return lines


def _before_issue_line(changes: Changes) -> str:
    """The signals recorded before a later issue date: such a signal is refused from now on, and
    these read as work done before the resolution was issued. Kept; the operator checks them."""
    tz = changes.timezone
    signals = [
        f"{changes.units.get(unit, unit)} «{changes.tasks.get(task, task)}» "
        + pendulum.from_timestamp(at, tz=tz).format("DD/MM/YYYY HH:mm")
        for unit, task, at in changes.before_issue
    ]
    return _(
        "  {count} signal(s) recorded are dated before the new issue date: {signals}; they are kept as "
        "recorded: check the new date, and take a wrong signal back with `cascade withdraw`",
        count=num(len(signals)),
        signals=listed(signals),
    )


def field_lines(changes: Changes) -> list[str]:
    """The figures a task no longer asks with some recorded, and those new to a task some units
    had finished: a field's id renamed in the file is both, its figures left uncounted."""
    if not changes.fields:
        return []
    lines = [_("Fields:")]
    for f in changes.fields:
        said = dict(task=changes.tasks.get(f.task, f.task), field=f.field, title=f.title, count=num(f.count))
        if f.gone:
            line = _(
                "  «{task}»: `{field}` ({title}) is no longer in the file: {count} signal(s) recorded it. "
                "Their figures are kept and no longer counted; a field renamed starts empty (to rename it "
                "for people, change its `title:` and keep its id)",
                **said,
            )
        else:
            line = _(
                "  «{task}»: `{field}` ({title}) is new: the {count} unit(s) that finished the task have no "
                "figure for it, and count as none in the roll-ups",
                **said,
            )
        lines.append(line)
    return lines


def _date(at: int | None, tz: str) -> str:
    return "" if at is None else pendulum.from_timestamp(at, tz=tz).format("DD/MM/YYYY")
