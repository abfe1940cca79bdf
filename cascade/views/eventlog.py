"""Reading a campaign's audit log (spec §6) back out of the store: `cascade events` streams
all of it, the web API pages through it.

The log is the events table in (at, id) order, restricted to the campaign's own kinds
(`LOG_KINDS`: the dispatcher's operational events stay out). Rows are read in pages keyed
on (at, id), never with OFFSET, so the millionth event costs what the first does, and an
export of a national campaign's log streams in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from cascade.engine import store
from cascade.engine.simulate import LOG_KINDS, format_event

PAGE = 1000
_E = store.events


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
    query = select(_E).where(_E.c.campaign_id == campaign, _E.c.kind.in_(where.kinds or LOG_KINDS))
    if where.since is not None:
        query = query.where(_E.c.at >= where.since)
    if where.unit is not None:
        query = query.where(_E.c.unit_id == where.unit)
    if after is not None:
        at, eid = after
        if newest_first:
            query = query.where(or_(_E.c.at < at, and_(_E.c.at == at, _E.c.id < eid)))
        else:
            query = query.where(or_(_E.c.at > at, and_(_E.c.at == at, _E.c.id > eid)))
    order = (_E.c.at.desc(), _E.c.id.desc()) if newest_first else (_E.c.at, _E.c.id)
    rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = (rows[-1].at, rows[-1].id) if more and rows else None
    return [format_event(row, campaign, tz) for row in rows], cursor


def stream(conn: Connection, campaign: str, tz: str, where: Filter) -> Iterator[dict[str, Any]]:
    """Every event of the log that `where` lets through, in time order, a page at a time."""
    after: tuple[int, int] | None = None
    while True:
        lines, after = page(conn, campaign, tz, where, PAGE, after)
        yield from lines
        if after is None:
            return
