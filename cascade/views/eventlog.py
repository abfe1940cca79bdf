"""Reading a campaign's audit log (spec §6) back out of the store: `cascade events` streams
all of it, the web API pages through it.

The log is the events table in (at, id) order, restricted to the campaign's own kinds
(`LOG_KINDS`: the dispatcher's operational events stay out). Rows are read in pages keyed
on (at, id), never with OFFSET, so the millionth event costs what the first does, and an
export of a national campaign's log streams in constant memory.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import orjson
import pendulum
from sqlalchemy import Connection, Engine, Select, Text, literal, select, tuple_, type_coerce

from cascade.engine import store
from cascade.timing.deadlines import zone

# The kinds of the campaign's event log (§6 of the format). The store's events table also
# keeps the dispatcher's operational events (`channel.failed`, `channel.recovered`), which
# the log leaves out: they are about the notifiers, not the campaign's state.
LOG_KINDS = (
    "task.opened",
    "reminder.sent",
    "task.completed",
    "task.overdue",
    "task.at_risk",
    "task.below_target",
    "escalation.sent",
    "report.requested",
    "report.submitted",
    "report.overdue",
    "summary.generated",
    "task.amended",
    "task.exempted",
    "unit.moved",
    "extension.requested",
    "extension.denied",
)


def event_lines(engine: Engine, campaign: str, tz: str) -> list[dict[str, Any]]:
    """The event log (§6), in time order, as a list (small logs: tests, scenarios)."""
    with engine.connect() as conn:
        return list(stream(conn, campaign, tz, Filter()))


@functools.lru_cache(maxsize=1 << 16)
def _iso(epoch: int, tz: str) -> str:
    """An instant as the log writes it; a campaign's events share a few thousand instants (its
    ticks and deadlines), so each is made once, not once per event."""
    return pendulum.from_timestamp(epoch, tz=zone(tz)).isoformat()


def format_event(row: Any, campaign: str, tz: str) -> dict[str, Any]:
    """An events row as a line of the log (§6); `row.data` is its JSON, as text or decoded."""
    return _line(row.at, row.kind, row.task_id, row.unit_id, row.data, campaign, tz)


def _line(
    at: int, kind: str, task: str | None, unit: str | None, data: Any, campaign: str, tz: str
) -> dict[str, Any]:
    data = orjson.loads(data) if isinstance(data, str) else dict(data)
    out = {
        "at": _iso(at, tz),
        "kind": kind,
        "campaign": campaign,
        "task": task,
        "unit": unit,
        "to": data.pop("to", []),
        "stage": data.pop("stage", None),
    }
    late = data.pop("late", False)
    if kind in _LATE_KINDS:
        out["late"] = late
    if data:
        for key in INSTANT_KEYS.intersection(data):  # stored as epoch seconds, written as `at` is
            if isinstance(data[key], int):
                data[key] = _iso(data[key], tz)
        out.update(data)
    return out


# data keys that hold an instant: the deadline a reminder or stage was for, an amendment's
# old and new deadline, a request's proposed one, a reminder's planned time
INSTANT_KEYS = frozenset(("deadline", "old_deadline", "new_deadline", "proposed", "due", "withdrawn"))
_LATE_KINDS = frozenset(("task.completed", "report.submitted"))


def line_of(event: dict[str, Any]) -> bytes:
    """One line of the log file: the event as UTF-8 JSON (orjson), then a newline."""
    return orjson.dumps(event) + b"\n"


def write_log(conn: Connection, campaign: str, tz: str, out: IO[bytes] | None) -> Counter[str]:
    """The whole log written to `out` (None: only counted), a page at a time in constant
    memory; how many events of each kind it holds."""
    kinds: Counter[str] = Counter()
    for rows in _pages(conn, campaign, Filter()):
        kinds.update(row[2] for row in rows)
        if out is not None:  # a page's lines made from the rows' values and written at once
            lines = (
                _line(at, kind, task, unit, data, campaign, tz) for _id, at, kind, task, unit, data in rows
            )
            out.write(b"".join([orjson.dumps(line) + b"\n" for line in lines]))
    return kinds


PAGE = 1000
STREAM_PAGE = 5000  # an export's page: fewer round trips, still constant memory
_E = store.events
# what a line is made of; `data` as its JSON text, decoded by format_event (SQLAlchemy's JSON
# result processing costs more than the query itself over a national log)
_LINE = (_E.c.id, _E.c.at, _E.c.kind, _E.c.task_id, _E.c.unit_id, type_coerce(_E.c.data, Text).label("data"))


@dataclass(frozen=True)
class Filter:
    since: int | None = None  # epoch seconds: events at or after it
    kinds: Sequence[str] = ()  # empty: every kind of the log
    unit: str | None = None


def unknown_kinds(kinds: Sequence[str]) -> list[str]:
    return [k for k in kinds if k not in LOG_KINDS]


def page(
    conn: Connection,
    campaign: str,
    tz: str,
    where: Filter,
    limit: int = PAGE,
    after: tuple[int, int] | None = None,
    newest_first: bool = False,
) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """Up to `limit` events past the cursor `after` ((at, id) of the last one seen), formatted
    as §6 lines, and the cursor of the next page (None: this was the last)."""
    query = page_query(campaign, where, limit, after, newest_first)
    rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = (rows[-1].at, rows[-1].id) if more and rows else None
    return [format_event(row, campaign, tz) for row in rows], cursor


def page_query(
    campaign: str, where: Filter, limit: int, after: tuple[int, int] | None, newest_first: bool = False
) -> Select[Any]:
    """The select of one page: `limit` + 1 rows (the one more says whether a next page exists)."""
    query = select(*_LINE).where(_E.c.campaign_id == campaign, _E.c.kind.in_(where.kinds or LOG_KINDS))
    if where.since is not None:
        query = query.where(_E.c.at >= where.since)
    if where.unit is not None:
        query = query.where(_E.c.unit_id == where.unit)
    if after is not None:
        # a row-value comparison: both stores seek the (campaign_id, at, id) index to the cursor;
        # written with OR, SQLite took only campaign_id from it and read every page from the first
        # row again (a national log's export was quadratic in its length)
        seen, last = tuple_(_E.c.at, _E.c.id), tuple_(literal(after[0]), literal(after[1]))
        query = query.where(seen < last if newest_first else seen > last)
    order = (_E.c.at.desc(), _E.c.id.desc()) if newest_first else (_E.c.at, _E.c.id)
    return query.order_by(*order).limit(limit + 1)


def stream(conn: Connection, campaign: str, tz: str, where: Filter) -> Iterator[dict[str, Any]]:
    """Every event of the log that `where` lets through, in time order, a page at a time."""
    for rows in _pages(conn, campaign, where):
        yield from (format_event(row, campaign, tz) for row in rows)


def _pages(conn: Connection, campaign: str, where: Filter) -> Iterator[Sequence[Any]]:
    """The log's rows that `where` lets through (`_LINE`'s columns), in time order, a page at a time."""
    after: tuple[int, int] | None = None
    while True:
        rows = conn.execute(page_query(campaign, where, STREAM_PAGE, after)).all()
        yield rows[:STREAM_PAGE]
        if len(rows) <= STREAM_PAGE:
            return
        after = (rows[STREAM_PAGE - 1].at, rows[STREAM_PAGE - 1].id)
