"""Signals from files (§5): a YAML or CSV signals file read whole, every bad row listed, and a
large CSV import streamed into the store a chunk at a time, all or nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pendulum
from sqlalchemy import Engine

from cascade.compile.reading import read_yaml
from cascade.engine import deployed
from cascade.engine.signals import (
    Signal,
    SignalRefused,
    checked_rows,
    insert_new,
    no_campaign,
    parse_instant,
    read_lookups,
)
from cascade.errors import Problem, one_of


def read_signals(text: str, file: str, tz: str) -> list[Signal]:
    """A signals file (§5): YAML `signals: [...]` or CSV `at,unit,task,field...`; every bad row listed."""
    problems: list[Problem] = []
    if file.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            raw = [(i + 2, row) for i, row in enumerate(reader)]
        except csv.Error as error:  # a stray carriage return, a NUL: not a CSV a spreadsheet wrote
            line = reader.line_num or 1
            hint = "save it again from the spreadsheet as CSV UTF-8"
            raise SignalRefused([Problem(file, line, "", f"not readable as CSV ({error})", hint)]) from None
        items = [
            (
                line,
                {
                    "at": r.pop("at", None),
                    "unit": r.pop("unit", None),
                    "task": r.pop("task", None),
                    "fields": {k: v for k, v in r.items() if k and v not in (None, "")},
                },
            )
            for line, r in raw
        ]
    else:
        doc = read_yaml(text, file)
        entries = doc.data.get("signals") if isinstance(doc.data, dict) else None
        if not isinstance(entries, list):
            raise SignalRefused(
                [
                    Problem(
                        file,
                        1,
                        "signals",
                        "expected `signals:` with a list of signals",
                        'signals: [{at: "2020-11-18 10:00", unit: ID, task: ID}]',
                    )
                ]
            )
        items = [
            (doc.line_of(("signals", i)) or 0, e if isinstance(e, dict) else {})
            for i, e in enumerate(entries)
        ]
    out = []
    for line, item in items:
        missing = [k for k in ("at", "unit", "task") if not item.get(k)]
        if missing:
            problems.append(Problem(file, line, "", f"missing {one_of(missing)}"))
            continue
        try:
            at = parse_instant(item["at"], tz)
        except ValueError as exc:
            problems.append(Problem(file, line, "at", str(exc)))
            continue
        fields = item.get("fields") or {}
        if not isinstance(fields, dict):
            problems.append(Problem(file, line, "fields", "fields is a mapping, e.g. {attendees: 450}"))
            continue
        out.append(Signal(str(item["unit"]), str(item["task"]), at, dict(fields), line))
    if problems:
        raise SignalRefused(problems)
    return out


# ---- a large CSV import, streamed ---------------------------------------------------------------

IMPORT_CHUNK = 5_000  # signals checked and stored at a time
SHOWN_PROBLEMS = 200  # of a refused import, the problems listed (then how many more)


def csv_items(lines: Iterable[str], file: str) -> Iterator[tuple[int, dict[str, Any]] | Problem]:
    """A CSV signals file's rows as (line, item), or the Problem of a row that cannot be read."""
    reader = csv.DictReader(lines)
    n = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            hint = "save it again from the spreadsheet as CSV UTF-8"
            yield Problem(file, reader.line_num or n, "", f"not readable as CSV ({error})", hint)
            return
        n = reader.line_num
        yield (
            n,
            {
                "at": row.pop("at", None),
                "unit": row.pop("unit", None),
                "task": row.pop("task", None),
                "fields": {k: v for k, v in row.items() if k and v not in (None, "")},
            },
        )


def _signal_of(line: int, item: dict[str, Any], file: str, tz: str) -> Signal | Problem:
    missing = [k for k in ("at", "unit", "task") if not item.get(k)]
    if missing:
        return Problem(file, line, "", f"missing {one_of(missing)}")
    try:
        at = parse_instant(item["at"], tz)
    except ValueError as exc:
        return Problem(file, line, "at", str(exc))
    fields = item.get("fields") or {}
    if not isinstance(fields, dict):
        return Problem(file, line, "fields", "fields is a mapping, e.g. {attendees: 450}")
    return Signal(str(item["unit"]), str(item["task"]), at, dict(fields), line)


def import_csv(
    engine: Engine,
    campaign_id: str,
    path: Path,
    source: str,
    now: pendulum.DateTime,
    allow_future: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """A CSV signals file, read and stored `IMPORT_CHUNK` rows at a time in one transaction:
    all of it or, if any row is refused, none (every problem listed, up to SHOWN_PROBLEMS).
    Memory stays flat in the file's size: no row is kept once stored, and a signal already
    known is left to the store's unique key. Returns (stored, already known)."""
    file = str(path)
    problems: list[Problem] = []
    more = stored = total = 0
    with engine.begin() as conn, path.open(encoding="utf-8-sig", newline="") as lines:
        campaign = deployed.read(conn, campaign_id)
        if campaign is None:
            raise SignalRefused([no_campaign(file, campaign_id)])
        chunk: list[Signal] = []

        def flush() -> None:
            nonlocal stored, total, more
            lookups = read_lookups(conn, campaign.id, {s.unit for s in chunk})
            rows, found = checked_rows(
                conn, campaign, chunk, file, lookups, int(now.timestamp()), allow_future
            )
            room = SHOWN_PROBLEMS - len(problems)
            problems.extend(found[:room])
            more += max(0, len(found) - room)
            if not problems and rows:
                received = int(now.timestamp())
                stored += insert_new(conn, [{**r, "received_at": received, "source": source} for r in rows])
            total += len(chunk)
            if progress:
                progress(len(chunk))
            chunk.clear()

        for entry in csv_items(lines, file):
            if isinstance(entry, Problem):
                problems.append(entry)
                break
            signal = _signal_of(*entry, file, campaign.timezone)
            if isinstance(signal, Problem):
                if len(problems) < SHOWN_PROBLEMS:
                    problems.append(signal)
                else:
                    more += 1
                continue
            chunk.append(signal)
            if len(chunk) >= IMPORT_CHUNK:
                flush()
        if chunk:
            flush()
        if problems:
            if more:
                problems.append(Problem(file, None, "", f"and {more:,} more problems (fix these first)"))
            raise SignalRefused(problems)  # (the transaction rolls back: nothing stored)
    return stored, total - stored
