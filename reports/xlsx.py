"""The summary as a workbook: an overview sheet, one sheet per level (its tasks, figures and
units, headers frozen), and the misses, the owed work and the corrections. Written with
openpyxl's write-only mode: a national campaign's 60,000 unit rows stream to the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cascade.summary import Summary, level_name
from reports import tables
from reports.tables import Rate, Table

BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
TITLE = Font(bold=True, size=13)


def write_xlsx(summary: Summary, out: Path) -> Path:
    book = Workbook(write_only=True)
    overview = book.create_sheet("Tổng hợp")
    title, asof = tables.heading(summary)
    _widths(overview, [48, 16, 12, 12, 12, 16, 12, 10])
    overview.append([_cell(overview, title, TITLE)])
    overview.append([summary.issued_by or summary.root_name])
    overview.append([asof])
    overview.append([])
    overview.append([_cell(overview, "Tình hình chung", BOLD)])
    overview.append([_cell(overview, summary.narrative, wrap=True)])
    overview.append([])
    for table in tables.totals(summary):
        _append(overview, table)
    for level in summary.levels:
        if summary.units_at(level):
            _append(overview, tables.level_counts(summary, level))

    for level in summary.levels:
        if not summary.units_at(level):
            continue
        units = tables.unit_table(summary, level)
        sheet = book.create_sheet(_sheet_name(level_name(level)))
        sheet.freeze_panes = "C2"  # the header row and the unit's id and name stay in view
        _widths(sheet, [16, 36] + [18] * (len(units.headers) - 2))
        sheet.append([_cell(sheet, h, BOLD, fill=HEADER_FILL, wrap=True) for h in units.headers])
        for row in units.rows:
            sheet.append(_values(sheet, row))

    for table, name in (
        (tables.misses(summary), "Chưa đạt chỉ tiêu"),
        (tables.owed(summary), "Chưa hoàn thành"),
        (tables.corrections(summary), "Điều chỉnh"),
    ):
        sheet = book.create_sheet(name)
        sheet.freeze_panes = "A2"
        _widths(sheet, [16, 36] + [18] * (len(table.headers) - 2))
        sheet.append([_cell(sheet, h, BOLD, fill=HEADER_FILL, wrap=True) for h in table.headers])
        for row in table.rows:
            sheet.append(_values(sheet, row))
    book.save(out)
    return out


def _append(sheet: WriteOnlyWorksheet, table: Table) -> None:
    sheet.append([_cell(sheet, table.title, BOLD)])
    sheet.append([_cell(sheet, h, BOLD, fill=HEADER_FILL, wrap=True) for h in table.headers])
    for row in table.rows:
        sheet.append(_values(sheet, row))
    sheet.append([])


def _values(sheet: WriteOnlyWorksheet, row: list[Any]) -> list[Any]:
    """Numbers stay numbers; shares get a percentage format."""
    out = []
    for value in row:
        if isinstance(value, Rate):
            cell = WriteOnlyCell(sheet, value=float(value))
            cell.number_format = "0.0%"
            out.append(cell)
        else:
            out.append(value)
    return out


def _cell(
    sheet: WriteOnlyWorksheet,
    value: Any,
    font: Font | None = None,
    fill: PatternFill | None = None,
    wrap: bool = False,
) -> Cell:
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def _widths(sheet: WriteOnlyWorksheet, widths: list[int]) -> None:
    dimensions = sheet.column_dimensions  # type: ignore[attr-defined]  # (there, though the stubs miss it)
    for n, width in enumerate(widths, 1):
        dimensions[get_column_letter(n)].width = width


def _sheet_name(name: str) -> str:
    """Sheet names: at most 31 characters, none of []:*?/\\."""
    return "".join(ch for ch in name.capitalize() if ch not in "[]:*?/\\")[:31]
