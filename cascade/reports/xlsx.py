"""The summary as a workbook: an overview sheet, one sheet per level (its tasks, figures and
units, headers frozen), and the misses, the owed work and the corrections. Written with
XlsxWriter in constant-memory mode: a national campaign's 60,000 unit rows stream to the
file row by row (as fast as openpyxl's write-only mode, measured: 15-20 µs a cell)."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from cascade.engine.summary import Summary
from cascade.reports import tables, whole
from cascade.reports.tables import Day, Rate, Table
from cascade.reports.words import W


class _Book:
    def __init__(self, out: Path) -> None:
        # text is written as text: a unit named `=HYPERLINK(...)` must not become a live formula
        options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        self.book = xlsxwriter.Workbook(str(out), options)
        self.bold = self.book.add_format({"bold": True})
        self.title = self.book.add_format({"bold": True, "font_size": 13})
        self.header = self.book.add_format(
            {"bold": True, "bg_color": "#DDE6F0", "text_wrap": True, "valign": "top"}
        )
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.percent = self.book.add_format({"num_format": "0.0%"})
        self.day = self.book.add_format({"num_format": "dd/mm/yyyy"})

    def sheet(self, name: str, widths: list[int], freeze: tuple[int, int] | None = None) -> Worksheet:
        sheet = self.book.add_worksheet(name)
        for n, width in enumerate(widths):
            sheet.set_column(n, n, width)
        if freeze:
            sheet.freeze_panes(*freeze)
        return sheet

    def row(self, sheet: Worksheet, r: int, values: list[Any], fmt: Format | None = None) -> None:
        for c, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, Rate):
                sheet.write_number(r, c, float(value), self.percent)
            elif isinstance(value, Day):
                sheet.write_datetime(r, c, datetime.combine(value.day, time()), self.day)
            elif fmt is not None:
                sheet.write(r, c, value, fmt)
            else:
                sheet.write(r, c, value)

    def listing(self, sheet: Worksheet, headers: list[Any], rows: list[list[Any]]) -> None:
        """A sheet that is one list: its header, then its rows, with Excel's filter buttons."""
        self.row(sheet, 0, headers, self.header)
        for n, values in enumerate(rows, 1):
            self.row(sheet, n, values)
        sheet.autofilter(0, 0, len(rows), len(headers) - 1)

    def table(self, sheet: Worksheet, r: int, table: Table) -> int:
        """The table from row `r` (its title, headers, rows, a blank row); the next free row."""
        sheet.write(r, 0, table.title, self.bold)
        self.row(sheet, r + 1, table.headers, self.header)
        for n, values in enumerate(table.rows, r + 2):
            self.row(sheet, n, values)
        return r + 2 + len(table.rows) + 1


def write_xlsx(summary: Summary, out: Path) -> Path:
    with whole(out) as part:
        _write(summary, part)
    return out


def _write(summary: Summary, out: Path) -> None:
    book = _Book(out)
    overview = book.sheet(W["sheet_overview"], [48, 16, 12, 12, 12, 16, 12, 10])
    title, asof = tables.heading(summary)
    overview.write(0, 0, title, book.title)
    overview.write(1, 0, summary.issued_by or summary.root_name)
    overview.write(2, 0, asof)
    overview.write(4, 0, W["overview"], book.bold)
    overview.write(5, 0, summary.narrative, book.wrap)
    r = 7
    for table in tables.totals(summary):
        r = book.table(overview, r, table)
    for level in summary.levels:
        if summary.units_at(level):
            r = book.table(overview, r, tables.level_counts(summary, level))

    for level in summary.levels:
        if not summary.units_at(level):
            continue
        units = tables.unit_table(summary, level)
        # the header row and the unit's id and name stay in view
        widths = [16, 36] + [18] * (len(units.headers) - 2)
        sheet = book.sheet(_sheet_name(summary.level_name(level)), widths, (1, 2))
        book.listing(sheet, units.headers, units.rows)

    for table, name in (
        (tables.misses(summary), W["sheet_missed"]),
        (tables.owed(summary), W["sheet_owed"]),
        (tables.corrections(summary), W["sheet_corrected"]),
    ):
        sheet = book.sheet(name, [16, 36] + [18] * (len(table.headers) - 2), (1, 0))
        book.listing(sheet, table.headers, table.rows)
    book.book.close()


def _sheet_name(name: str) -> str:
    """Sheet names: at most 31 characters, none of []:*?/\\."""
    return "".join(ch for ch in name.capitalize() if ch not in "[]:*?/\\")[:31]
