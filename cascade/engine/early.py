"""Signals dated before their work opened: a unit's conference dated before its parent's, which
opens it (a wrong month typed, or the parent's signal not recorded yet). The engine takes them
as dated (the first signal counts, and a lower level may truly have gone first), so they are
stored; the operator is told, while the date can still be put right with `cascade withdraw`,
instead of learning it from a summary whose order of conferences reads wrong."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pendulum
from sqlalchemy import BindParameter, Connection, Select, bindparam, func, select

from cascade.engine import deployed, store
from cascade.engine.lifecycle import DONE
from cascade.timing.deadlines import zone

OPENED_BY_WORK = ("prerequisite", "source-signal")  # (a report opens on its own dates: early is fine)


@dataclass(frozen=True)
class Early:
    """A signal just stored, dated `at`, before the work it completes opened.

    `opener_at`: when the work that opens it (`opener_title` of `opener_name`) was done or is
    dated by a signal waiting for a tick; None: nothing is recorded for it yet."""

    unit: str
    task: str
    unit_name: str
    title: str
    at: int
    opener_unit: str
    opener_task: str
    opener_name: str
    opener_title: str
    opener_at: int | None


def early(conn: Connection, campaign_id: str, after_id: int, received_at: int, source: str) -> list[Early]:
    """The signals `source` stored at `received_at` after signal `after_id` (one caller's, read in
    the transaction that stores them) dated before their instance opened, or before the work that
    opens it was done (or, not done yet, before the earliest signal for it waiting for a tick).
    One query that returns only those (a national import names 219,327 signals, most of them
    waiting on work not done yet); their units' names read after."""
    mine = {"campaign": campaign_id, "after": after_id, "received": received_at, "source": source}
    rows = conn.execute(_query(), mine).all()
    if not rows:  # (the campaign read only then: a web post's question, asked in the one writer)
        return []
    campaign = deployed.must_read(conn, campaign_id)
    rows = [row for row in rows if not _same_day_unknown_hour(row[2], row[5], campaign.timezone)]
    if not rows:
        return []
    names = deployed.unit_names(conn, campaign_id, {unit for row in rows for unit in (row[0], row[3])})
    titles = {task: rules.get("title", task) for task, rules in campaign.tasks.items()}
    found = [
        Early(
            unit,
            task,
            names.get(unit, unit),
            titles.get(task, task),
            int(at),
            opener_unit,
            opener_task,
            names.get(opener_unit, opener_unit),
            titles.get(opener_task, opener_task),
            None if opens_at is None else int(opens_at),
        )
        for unit, task, at, opener_unit, opener_task, opens_at in rows
    ]
    return sorted(found, key=lambda e: (e.title, e.unit_name))


def _same_day_unknown_hour(at: int, opens: int | None, tz: str) -> bool:
    """A signal dated by its day alone (`--at 18/11/2020`, a sheet's date cell: read as 00:00) on
    the day its work opened: which came first that day is unknown, so it is not said early (the
    district that held its conference the afternoon of the province's was)."""
    if opens is None:
        return False
    day = pendulum.from_timestamp(at, tz=zone(tz))
    return day == day.start_of("day") and day.date() == pendulum.from_timestamp(opens, tz=zone(tz)).date()


@functools.cache
def _query() -> Select[Any]:
    """`early`'s query, built once (a web post asks it in the one writer, where building it cost
    more than running it): the signals one caller stored (`:campaign`, after signal `:after`, at
    `:received`, by `:source`), joined to their live instances, dated before their work opened."""
    s, i = store.signals.c, store.instances.c
    opener, waiting = store.instances.alias("opener"), store.signals.alias("waiting")
    o, w = opener.c, waiting.c
    campaign: BindParameter[str] = bindparam("campaign")
    first = (  # the earliest signal waiting for a tick of the work that opens it (an index seek)
        select(func.min(w.at))
        .where(
            w.campaign_id == campaign,
            w.task_id == i.prereq_task,
            w.unit_id == i.prereq_unit,
            w.applied_tick.is_(None),
        )
        .scalar_subquery()
    )
    opens = func.coalesce(i.opened_at, o.done_at, first)  # when it opened, or would open (lazily)
    return (
        select(s.unit_id, s.task_id, s.at, i.prereq_unit, i.prereq_task, opens)
        .select_from(store.signals)
        .join(
            store.instances,
            (i.campaign_id == s.campaign_id) & (i.task_id == s.task_id) & (i.unit_id == s.unit_id),
        )
        .join(
            opener,
            (o.campaign_id == s.campaign_id) & (o.task_id == i.prereq_task) & (o.unit_id == i.prereq_unit),
        )
        .where(
            # (an expression, not the column: one caller's signals are read by their ids, not through
            # the campaign's indexes of every waiting signal, which a nation's import fills)
            s.campaign_id.concat("") == campaign,
            s.id > bindparam("after"),
            s.applied_tick.is_(None),
            s.received_at == bindparam("received"),
            s.source == bindparam("source"),
            i.archived.is_(False),
            i.opens_on.in_(OPENED_BY_WORK),
            i.state.not_in(DONE),  # (one already done is told as changing nothing)
            o.archived.is_(False),
            o.state != "exempt",  # (an exempt prerequisite holds nothing back)
            opens.is_(None) | (s.at < opens),
        )
    )
