"""The tick's statements, built once with bind parameters, so that each tick's executions
hit SQLAlchemy's compiled cache instead of rebuilding (and re-keying) dozens of queries."""

from __future__ import annotations

import operator
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from cascade.engine import bulk, store
from cascade.engine.machine import DONE, Event, Row

ROW_COLUMNS = (
    store.instances.c.id,
    store.instances.c.task_id,
    store.instances.c.unit_id,
    store.instances.c.kind,
    store.instances.c.state,
    store.instances.c.opens_on,
    store.instances.c.open_at,
    store.instances.c.prereq_task,
    store.instances.c.prereq_unit,
    store.instances.c.opened_at,
    store.instances.c.deadline,
    store.instances.c.done_at,
    bulk.as_text(store.instances.c.fields),  # decoded by the tick (bulk.loads)
    store.instances.c.next_reminder_at,
    store.instances.c.stage,
    store.instances.c.next_escalation_at,
    store.instances.c.next_action_at,
    store.units.c.path,
)

_I, _U, _S = store.instances, store.units, store.signals
ROWS = (
    select(*ROW_COLUMNS)
    .join(_U, and_(_U.c.campaign_id == _I.c.campaign_id, _U.c.id == _I.c.unit_id))
    .where(_I.c.campaign_id == bindparam("campaign"), _I.c.archived.is_(False))
)
# an instance waits on a completion while it opens on one, has not opened, and is held or overdue
OPENS_ON_COMPLETION = ("prerequisite", "source-signal")
WAITING_STATES = ("held", "overdue")
WAITING = (
    _I.c.opens_on.in_(OPENS_ON_COMPLETION),
    _I.c.opened_at.is_(None),
    _I.c.state.in_(WAITING_STATES),
)
DUE_ROWS = ROWS.where(_I.c.next_action_at <= bindparam("now"))
BY_TASK = ROWS.where(_I.c.task_id == bindparam("task"), _I.c.unit_id.in_(bindparam("units", expanding=True)))
DONE_BY_TASK = BY_TASK.where(_I.c.state.in_(DONE))
WAITING_ROWS = ROWS.where(*WAITING)
# a signal is pending from its instant until a tick applies it
PENDING = (
    _S.c.campaign_id == bindparam("campaign"),
    _S.c.applied_tick.is_(None),
    _S.c.at <= bindparam("now"),
)
WAITING_ON = WAITING_ROWS.where(
    _I.c.prereq_task == bindparam("task"), _I.c.prereq_unit.in_(bindparam("units", expanding=True))
)
APPLY_SIGNALS = update(_S).where(*PENDING).values(applied_tick=bindparam("tick"))
# the same signals by id, on PostgreSQL for a simulation's copy, which knows them: there the range
# above walks every signal applied earlier in the transaction (their old versions stay in the index
# of those waiting until the commit), a batch of a national simulation's ticks: 18.7 s of its run
# (SQLite's range is the faster there, by ~3%)
APPLY_SIGNALS_BY_ID = (
    update(_S).where(_S.c.id.in_(bindparam("ids", expanding=True))).values(applied_tick=bindparam("tick"))
)
AT_LEVEL = _U.c.level == bindparam("level")
WAITING_ON_AT, WAITING_ROWS_AT, DUE_ROWS_AT = (
    WAITING_ON.where(AT_LEVEL),
    WAITING_ROWS.where(AT_LEVEL),
    DUE_ROWS.where(AT_LEVEL),
)
CONTACTS = select(store.contacts.c.unit_id, store.contacts.c.role, store.contacts.c.channels).where(
    store.contacts.c.campaign_id == bindparam("campaign"),
    store.contacts.c.unit_id.in_(bindparam("units", expanding=True)),
)
_CHECKED = store.campaigns.c.checked_at
CHECKED = (  # a tick's instant, idle or not: what the states are as of (never back: a tick --now earlier)
    update(store.campaigns)
    .where(store.campaigns.c.id == bindparam("campaign"))
    .where(or_(_CHECKED.is_(None), bindparam("now") > _CHECKED))
    .values(checked_at=bindparam("now"))
)
INSERT_TICK = insert(store.ticks).values(campaign_id=bindparam("campaign"), now=bindparam("now"), counts={})
TICK_COUNTS = (
    update(store.ticks).where(store.ticks.c.id == bindparam("tick")).values(counts=bindparam("counts"))
)
ROOT_PATH = select(_U.c.path).where(  # the campaign's one unit without a parent
    _U.c.campaign_id == bindparam("campaign"), _U.c.path.not_like("%/%"), _U.c.archived.is_(False)
)
ANY_SIGNAL = select(_S.c.id).where(*PENDING).limit(1)
ANY_DUE = (
    select(_I.c.id)
    .where(_I.c.campaign_id == bindparam("campaign"), _I.c.next_action_at <= bindparam("now"))
    .limit(1)
)
PENDING_SIGNALS = (
    select(_S.c.id, _S.c.task_id, _S.c.unit_id, _S.c.at, _S.c.fields)
    .where(*PENDING)
    .order_by(_S.c.at, _S.c.id)
)
NEXT_DUE = select(  # the earliest next action and pending signal, in one round trip; each the
    # first entry of its index (PostgreSQL planned min() over the signals as a scan of them all)
    select(_I.c.next_action_at)
    .where(_I.c.campaign_id == bindparam("campaign"), _I.c.next_action_at.is_not(None))
    .order_by(_I.c.next_action_at)
    .limit(1)
    .scalar_subquery(),
    select(_S.c.at)
    .where(_S.c.campaign_id == bindparam("campaign"), _S.c.applied_tick.is_(None))
    .order_by(_S.c.at)
    .limit(1)
    .scalar_subquery(),
)

WRITTEN = (  # the instance columns a tick changes, in the order `written` gives them
    "tick",
    "state",
    "opened_at",
    "deadline",
    "done_at",
    "fields",
    "next_reminder_at",
    "stage",
    "next_escalation_at",
    "next_action_at",
)


WRITTEN_AND_ID = (*WRITTEN[1:], "id")  # what an instance gives of itself to `written_values`
_FIGURES_AT = WRITTEN_AND_ID.index("fields")
_WRITTEN_OF_ROW = operator.itemgetter(*WRITTEN_AND_ID)


def written(tick: int, row: Row) -> tuple[Any, ...]:
    """What `write_instances` writes of an instance `tick` changed: the WRITTEN columns, then its id."""
    return written_values(tick, _WRITTEN_OF_ROW(row))


def written_values(tick: int, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """`written` of an instance's WRITTEN_AND_ID values (a simulation's copy keeps tuples):
    the tick first, the figures as JSON."""
    at = _FIGURES_AT
    return (tick, *values[:at], bulk.dumps(values[at]), *values[at + 1 :])


def write_instances(conn: Connection, values: list[tuple[Any, ...]]) -> None:
    bulk.update_rows(conn, store.instances, WRITTEN, "id", values)


# the columns of the rows a tick inserts (`write_events`)
EVENT_COLUMNS = Event._fields
OUTBOX_COLUMNS = (
    "campaign_id",
    "tick",
    "send_at",
    "kind",
    "recipient_unit",
    "role",
    "channels",
    "digest_key",
    "payload",
    "status",
)


def insert_events(conn: Connection, events: list[tuple[Any, ...]], outbox: list[tuple[Any, ...]]) -> None:
    """A tick's event and outbox rows (EVENT_COLUMNS and OUTBOX_COLUMNS tuples, JSON encoded)."""
    bulk.insert_rows(conn, store.events, EVENT_COLUMNS, events)
    bulk.insert_rows(conn, store.outbox, OUTBOX_COLUMNS, outbox)
