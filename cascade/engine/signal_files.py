"""Signals from files (§5): a YAML, CSV or Excel signals file read whole, every bad row listed,
and a large CSV or Excel import streamed into the store a chunk at a time, all or nothing.

The spreadsheet rows come from `cascade.compile.sheets` (any separator or encoding Excel saves,
every sheet of a workbook); a row names its unit by id or by its exact name, and may carry a
note (`note` / "Ghi chú") kept with the signal."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pendulum
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from cascade.compile.reading import decoded, read_text, read_yaml
from cascade.compile.sheets import Table, header_key, is_spreadsheet, is_total, rows_of, tables, text
from cascade.engine import bulk, deployed, store
from cascade.engine.lookups import read_lookups
from cascade.engine.repeats import Finished, done_before, last_signal_id
from cascade.engine.signals import (
    Recorded,
    Signal,
    SignalRefused,
    by_task_id,
    checked_rows,
    no_campaign,
    told,
)
from cascade.errors import CampaignInvalid, Problem, one_of
from cascade.i18n import _
from cascade.timing.instants import Span, parse_instant

# the columns; the rest are the task's figures. `name`, `state` and `deadline` are the template's,
# for people
COLUMNS = ("at", "unit", "name", "task", "note", "state", "deadline")
# Vietnamese headers a district's sheet may use, by the key each means (headers are also read
# as "Title (key)": the template's own).
ALIASES = {
    **{column: column for column in COLUMNS},  # a header in any case: "Unit", "AT"
    "thời gian": "at",
    "thời điểm": "at",
    "thời gian hoàn thành": "at",
    "ngày hoàn thành": "at",
    # as a district's own sheet heads them: when it held the conference, which cell, what it did
    "ngày": "at",
    "ngày tổ chức": "at",
    "thời gian tổ chức": "at",
    "ngày thực hiện": "at",
    "thời gian thực hiện": "at",
    "ngày gửi": "at",
    "ngày gửi báo cáo": "at",
    "thời gian gửi báo cáo": "at",
    "đơn vị": "unit",
    "mã đơn vị": "unit",
    "tên đơn vị": "name",
    "đơn vị thực hiện": "name",
    "tên chi bộ": "name",
    "tên đảng bộ": "name",
    "tên tổ chức đảng": "name",
    "việc": "task",
    "mã việc": "task",
    "tên việc": "task",
    "nội dung": "task",
    "nội dung công việc": "task",
    "công việc": "task",
    "ghi chú": "note",
    "nguồn": "note",
    "source": "note",
}


def read_signals(text: str, file: str, tz: str) -> list[Signal]:
    """A signals file's text (§5): YAML `signals: [...]` or CSV `at,unit,task,field...` (any
    separator Excel writes); every bad row listed. An .xlsx file: `load_signals`."""
    if file.lower().endswith(".csv"):
        return _whole(iter([rows_of(io.StringIO(text, newline=""), file)]), tz)
    problems: list[Problem] = []
    doc = read_yaml(text, file)
    entries = doc.data.get("signals") if isinstance(doc.data, dict) else None
    if not isinstance(entries, list):
        raise SignalRefused(
            [
                Problem(
                    file,
                    1,
                    "signals",
                    _("expected `signals:` with a list of signals"),
                    'signals: [{at: "2020-11-18 10:00", unit: ID, task: ID}]',
                )
            ]
        )
    out = []
    for i, entry in enumerate(entries):
        line = doc.line_of(("signals", i)) or 0
        signal = _signal_of(line, entry if isinstance(entry, dict) else {}, file, tz)
        if isinstance(signal, Problem):
            problems.append(signal)
        else:
            out.append(signal)
    if problems:
        raise SignalRefused(problems)
    return out


# Excel's text exports: "Unicode Text (*.txt)" (UTF-16, tabs) and "Text (Tab delimited)", read
# as the CSV they are (as YAML they were "expected `signals:`"); not among a folder's replies,
# where a .txt is a note sent with them
TEXT_TABLES = (".txt", ".tsv")
_YAML_START = re.compile(r"^signals\s*:", re.MULTILINE)  # §5's YAML, typed into a .txt


def is_table(path: Path) -> bool:
    """A signals file read as a table: CSV, Excel's text exports, a workbook (else YAML). A .txt
    is told by its text: YAML when a line starts `signals:`."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        try:
            return not _YAML_START.search(decoded(path.read_bytes()[:65_536]))
        except (OSError, UnicodeDecodeError):  # told, naming the file, as the table is read
            return True
    return is_spreadsheet(path) or suffix in TEXT_TABLES


def load_signals(path: Path, tz: str) -> list[Signal]:
    """A signals file read whole: YAML, CSV (or Excel's text export) or an Excel workbook
    (every sheet)."""
    if is_table(path):
        return _whole(tables(path, str(path)), tz)
    return read_signals(read_text(path, str(path)), str(path), tz)


def _whole(found: Iterator[Table], tz: str) -> list[Signal]:
    out: list[Signal] = []
    problems: list[Problem] = []
    order = DateOrder()
    for file, entry in sheet_items(found):
        if not isinstance(entry, Problem):
            order.see(file, entry[0], entry[1]["at"])
        signal = entry if isinstance(entry, Problem) else _signal_of(*entry, file, tz)
        if isinstance(signal, Problem):
            problems.append(signal)
        elif signal is not None:
            out.append(signal)
    problems = order.with_problems(problems)
    if problems:
        raise SignalRefused(problems)
    return out


def _dates_in(message: str) -> list[str]:
    return re.findall(r"\d{2}/\d{2}/\d{4}", message)


_SLASHED = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4})\b")  # "12/7/2020 9:00"


class DateOrder:
    """Whether each file writes its dates month first (12/15/2020: Excel saving a CSV in a US
    region). Such a row is refused as it is read ("no month 15"); once a file shows it, its dates
    that read both ways (12/7/2020: 12 July day first) are refused too, since day first each would
    be another day (a file patched row by row would import them wrong)."""

    def __init__(self) -> None:
        self.month_first: dict[str, tuple[int, str]] = {}  # file -> its first proof (line, date)
        self.day_first: set[str] = set()  # files with a date day first past 12 (25/12/2020): as read
        self.both_ways: dict[str, list[tuple[int, re.Match[str]]]] = {}  # the first SHOWN_PROBLEMS

    def see(self, file: str, line: int, value: Any) -> None:
        if not isinstance(value, str) or not (m := _SLASHED.match(value)):
            return  # (a workbook's date cell, an ISO date: one way only)
        first, second = int(m.group(1)), int(m.group(3))
        if first <= 12 < second:
            self.month_first.setdefault(file, (line, m.group(0).strip()))
        elif second <= 12 < first:
            self.day_first.add(file)
        elif first != second and len(kept := self.both_ways.setdefault(file, [])) < SHOWN_PROBLEMS:
            kept.append((line, m))

    def with_problems(self, problems: list[Problem]) -> list[Problem]:
        """`problems` and the dates that read both ways in a file written month first, each in
        place of what its row was refused for by that date read day first (before the issue)."""
        mine = self._problems()
        read_wrong = {(p.file, p.line, day_first) for p, day_first in mine}
        kept = [
            p for p in problems if not any((p.file, p.line, d) in read_wrong for d in _dates_in(p.message))
        ]
        return kept + [p for p, _day_first in mine]

    def _problems(self) -> list[tuple[Problem, str]]:
        out = []
        hint = _(
            "write every date of the file day first, dd/mm/yyyy (in Excel: select the column, Format Cells, "
            "Date, locale Vietnamese), or send the workbook (.xlsx) itself"
        )
        for file, (proof_line, proof) in self.month_first.items():
            if file in self.day_first:  # both orders in one file: each row as it reads
                continue
            for line, m in self.both_ways.get(file, []):
                first, second, year = m.group(1), m.group(3), m.group(4)
                day_first = f"{int(first):02d}/{int(second):02d}/{year}"
                message = _(
                    "`{written}` would be read day first, {day_first}, but this file writes the month first "
                    "(line {line}: `{proof}`): did you mean {month_first}?",
                    written=m.group(0).strip(),
                    day_first=day_first,
                    line=proof_line,
                    proof=proof,
                    month_first=f"{int(second):02d}/{int(first):02d}/{year}",
                )
                out.append((Problem(file, line, "at", message, hint), day_first))
        return out


# ---- a large CSV import, streamed ---------------------------------------------------------------

IMPORT_CHUNK = 5_000  # signals checked and stored at a time
SHOWN_PROBLEMS = 200  # of a refused import, the problems listed (then how many more)


def sheet_items(found: Iterable[Table]) -> Iterator[tuple[str, tuple[int, dict[str, Any]] | Problem]]:
    """Each table's rows as (file, (line, item)), or (file, the Problem of a row or header that
    cannot be read); streamed. A row with no time and no figure is a unit not done yet (a
    template's row left blank): passed over."""
    try:
        for table in found:
            yield from _table_items(table)
    except CampaignInvalid as exc:  # a file or sheet that cannot be read (from there on)
        for problem in exc.problems:
            yield problem.file, problem


def _table_items(table: Table) -> Iterator[tuple[str, tuple[int, dict[str, Any]] | Problem]]:
    keys = [header_key(cell, ALIASES) for cell in table.header]
    missing = [k for k in ("at", "task") if k not in keys]
    if "unit" not in keys and "name" not in keys:
        missing.insert(1, "unit")
    if missing:
        hint = _(
            "the first row names the columns: Thời gian (at), Đơn vị (unit) or Tên đơn vị, Việc (task), "
            "then the figures (e.g. Số đảng viên dự)"
        )
        if table.sheet and len(missing) == 3:  # none of them: a district's own summary, likely
            hint = _(
                "a sheet of signals names its columns Thời gian (at), Đơn vị (unit) or Tên đơn vị, Việc "
                "(task); a sheet that holds none (a summary added to the reply) is left out when hidden "
                "(right-click its tab: Hide) or deleted"
            )
        yield (
            table.file,
            Problem(
                table.file, None, "header", _("missing column(s) {missing}", missing=one_of(missing)), hint
            ),
        )
        return
    above: dict[str, None] = {}  # the tasks this table's rows name, in order
    for line, cells in table.rows:
        if len(cells) > len(keys) and any(text(c) for c in cells[len(keys) :]):
            hint = _("quote cells that hold the separator, or add the column's name to the header")
            message = _(
                "this row has {cells} cells but the header names {names}", cells=len(cells), names=len(keys)
            )
            yield table.file, Problem(table.file, line, "", message, hint)
            continue
        row = dict(zip(keys, cells, strict=False))
        fields = {k: v for k, v in row.items() if k and k not in COLUMNS and text(v)}
        if not text(row.get("at")) and not fields:
            continue
        if is_total(row.get("unit") or row.get("name")):  # "Tổng cộng", the clerk's sums: no unit's
            continue
        task = text(row.get("task"))
        item = {
            "at": row.get("at"),
            "unit": text(row.get("unit")) or text(row.get("name")),
            "task": task,
            "note": text(row.get("note")) or None,
            "fields": {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()},
        }
        if task:
            above.setdefault(task, None)
        elif above:  # a row the district added under the template's, its task left blank
            hint = _("write its task in the task column, as the rows above do: {tasks}", tasks=one_of(above))
            yield table.file, Problem(table.file, line, "task", _("this row names no task"), hint)
            continue
        yield table.file, (line, item)


_MISSING: dict[str, Callable[[], str]] = {  # the hint for a signal without its first missing key
    "at": lambda: _(
        "write when the unit did it, e.g. 18/11/2020 10:00; a unit that has not done it yet: leave its row "
        "blank"
    ),
    "unit": lambda: _("write the unit: its id or its exact name"),
    "task": lambda: _("write the task: its id or its title"),
}


def _signal_of(
    line: int, item: dict[str, Any], file: str, tz: str, span: Span | None = None
) -> Signal | Problem:
    missing = [k for k in ("at", "unit", "task") if item.get(k) in (None, "")]
    if missing:
        hint = _MISSING[missing[0]]()
        return Problem(file, line, "", _("missing {missing}", missing=one_of(missing)), hint)
    try:
        at = parse_instant(item["at"], tz, span=span)
    except ValueError as exc:
        return Problem(file, line, "at", str(exc))
    fields = item.get("fields") or {}
    if not isinstance(fields, dict):
        return Problem(file, line, "fields", _("fields is a mapping, e.g. {attendees: 450}"))
    note = item.get("note")
    return Signal(str(item["unit"]), str(item["task"]), at, dict(fields), line, str(note) if note else None)


def signal_span(issued_at: int, tz: str, now: pendulum.DateTime, allow_future: bool) -> Span:
    """Where a signal's day written without its year falls: from the campaign's issue to
    tomorrow (as a signal may be dated: `signals.FUTURE_SLACK`), or on, `allow_future`."""
    issued, tomorrow = pendulum.from_timestamp(issued_at, tz=tz), now.in_timezone(tz).add(days=1)
    return (issued.date(), None if allow_future else tomorrow.date())


def import_table(
    engine: Engine,
    campaign_id: str,
    path: Path | Sequence[Path],
    source: str,
    now: pendulum.DateTime,
    allow_future: bool = False,
    progress: Callable[[int], None] | None = None,
    tell: bool = False,
) -> Recorded:
    """A CSV file or an Excel workbook of signals (or several: the workbooks the districts sent
    back), read and stored `IMPORT_CHUNK` rows at a time in one transaction: all of it or, if any
    row is refused, none (every problem listed, up to SHOWN_PROBLEMS). Memory stays flat in the
    files' size: no row is kept once stored, and a signal already known is left to the store's
    unique key. Returns (stored, already known), and what to tell of them when `tell`."""
    paths = [path] if isinstance(path, Path) else list(path)
    problems: list[Problem] = []
    more = stored = total = 0
    with engine.begin() as conn:
        campaign = deployed.read(conn, campaign_id)
        if campaign is None:
            raise SignalRefused([no_campaign(str(paths[0]), campaign_id)])
        before = last_signal_id(conn) if tell else 0
        finished: list[Finished] = []  # stored for an instance already done
        chunk: list[Signal] = []
        chunk_file = str(paths[0])

        def flush() -> None:
            nonlocal stored, total, more
            named = by_task_id(campaign, chunk)  # a task by its title, as a district's own sheet writes it
            lookups = read_lookups(conn, campaign.id, {s.unit for s in named}, {s.task for s in named})
            rows, found = checked_rows(
                conn, campaign, named, chunk_file, lookups, int(now.timestamp()), source, allow_future
            )
            room = SHOWN_PROBLEMS - len(problems)
            problems.extend(found[:room])
            more += max(0, len(found) - room)
            if not problems and rows:
                new = insert_new(conn, rows)
                stored += len(new)
                if tell:  # (a signal twice in a chunk: stored once, told once)
                    fresh = {r["digest"]: r for r in rows if r["digest"] in new}
                    finished.extend(done_before(fresh.values(), lookups))
            total += len(chunk)
            if progress:
                progress(len(chunk))
            chunk.clear()

        every = (item for each in paths for item in sheet_items(tables(each, str(each))))
        order = DateOrder()
        tz = campaign.timezone
        span = signal_span(campaign.issued_at, tz, now, allow_future)
        for file, entry in every:
            if file != chunk_file and chunk:
                flush()  # a chunk's problems name one sheet
            chunk_file = file
            if not isinstance(entry, Problem):
                order.see(file, entry[0], entry[1]["at"])
            signal = entry if isinstance(entry, Problem) else _signal_of(*entry, file, tz, span)
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
        problems = order.with_problems(problems)
        more += max(0, len(problems) - SHOWN_PROBLEMS)
        problems = problems[:SHOWN_PROBLEMS]
        if problems:
            if more:
                problems.append(
                    Problem(
                        str(paths[-1]), None, "", _("and {more:,} more problems (fix these first)", more=more)
                    )
                )
            raise SignalRefused(problems)  # (the transaction rolls back: nothing stored)
        counts = (stored, total - stored)
        return told(conn, campaign_id, before, now, source, counts, finished) if tell else Recorded(*counts)


def insert_new(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the signals not yet stored (the unique digest decides); the digests of the new."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    new: set[str] = set()
    for chunk in bulk.chunked(rows, 500):
        statement = (
            dialect.insert(store.signals)
            .on_conflict_do_nothing(index_elements=["campaign_id", "digest"])
            .returning(store.signals.c.digest)  # (an executemany's rowcount: -1 on psycopg)
        )
        new.update(conn.execute(statement, chunk).scalars())
    return new
