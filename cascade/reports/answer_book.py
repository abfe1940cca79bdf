"""The answer workbook `cascade template` writes: a sheet per district listing the units that
owe one task, with a column for when each did it and one per figure it reports. Districts fill
it in and send it back; `cascade signal --import` reads every sheet of it unchanged (the lines
above each table start with "#", the headers carry their keys as "Title (key)", and a unit's
row left blank is a unit not done yet)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter
import xlsxwriter.exceptions

from cascade.engine.figures import LARGEST
from cascade.reports.words import _MODULE, said
from cascade.views.answer_sheet import AnswerSheet, Figure

COLUMNS: dict[str, str] = dict(_MODULE.answer_columns)
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_names(names: list[str]) -> list[str]:
    """Excel's sheet names for `names`: at most 31 characters, none of []:*?/\\, unique however
    cased ("Huyện ủy Cai Lậy", "Huyện ủy Cai Lậy (2)")."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = _SHEET_FORBIDDEN.sub("-", name).strip("'").strip() or "Sheet"
        candidate, n = base[:31], 1
        while candidate.casefold() in seen:
            n += 1
            suffix = f" ({n})"
            candidate = base[: 31 - len(suffix)] + suffix
        seen.add(candidate.casefold())
        out.append(candidate)
    return out


def write_answer_book(sheet: AnswerSheet, out: Path | BinaryIO) -> int:
    """Write the workbook to a file or an open binary handle; returns how many unit rows it holds."""
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    book = xlsxwriter.Workbook(str(out) if isinstance(out, Path) else out, options)
    bold = book.add_format({"bold": True, "font_size": 12})
    header = book.add_format({"bold": True, "bg_color": "#DDE6F0", "text_wrap": True, "valign": "top"})
    fixed = book.add_format({"bg_color": "#F2F2F2"})  # the columns to keep as they are
    when = book.add_format({"num_format": "dd/mm/yyyy hh:mm", "bg_color": "#FFFBE6"})
    blank = book.add_format({"bg_color": "#FFFBE6"})  # the cells to fill in
    keys = ["unit", "name", "task", "state", "deadline", "at"]
    columns = {**COLUMNS, "at": COLUMNS["at_report"]} if sheet.kind == "report" else COLUMNS
    titles = [columns[k] for k in keys] + [f"{f.title} ({f.key})" for f in sheet.figures] + [COLUMNS["note"]]
    widths = [16, 34, 14, 16, 14, 20] + [max(12, min(30, len(f.title) + 6)) for f in sheet.figures] + [30]
    rows = 0
    for group, name in zip(sheet.groups, sheet_names([g.name for g in sheet.groups]), strict=True):
        ws = book.add_worksheet(name)
        for n, width in enumerate(widths):
            ws.set_column(n, n, width)
        ws.write(0, 0, said("answer_title", sheet.task_title, group.name), bold)
        ws.write(1, 0, said("answer_help", sheet.kind == "report"))
        ws.write_row(2, 0, titles, header)
        ws.freeze_panes(3, 2)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)  # printed: every column on the page's width
        first = 3
        for n, unit in enumerate(group.units, first):
            ws.write_row(n, 0, [unit.id, unit.name, sheet.task, unit.state, unit.deadline], fixed)
            ws.write_blank(n, 5, None, when)
            for c in range(len(sheet.figures) + 1):
                ws.write_blank(n, 6 + c, None, blank)
        last = first + len(group.units) - 1
        if group.units:
            for c, figure in enumerate(sheet.figures, 6):
                ws.data_validation(first, c, last, c, _validation(figure))
        rows += len(group.units)
    if not sheet.groups:
        ws = book.add_worksheet(sheet_names([sheet.task_title])[0])
        ws.write_row(0, 0, titles, header)
    try:
        book.close()
    except xlsxwriter.exceptions.FileCreateError as exc:  # (it wraps the OSError: no room, no right)
        raise OSError(*exc.args) from exc
    return rows


def _validation(figure: Figure) -> dict[str, Any]:
    """Excel's own check of a figure cell: a whole number, a number, yes/no, within its bounds."""
    if figure.type in ("int", "float"):
        whole = figure.type == "int"
        message = said("answer_invalid", figure.title, whole, _number(figure.min), _number(figure.max))
        return {
            "validate": "integer" if whole else "decimal",
            "criteria": "between",
            "minimum": figure.min if figure.min is not None else -LARGEST,
            "maximum": figure.max if figure.max is not None else LARGEST,
            "error_message": message,
        }
    if figure.type == "bool":
        return {"validate": "list", "source": ["có", "không"]}
    return {"validate": "any"}


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:g}".replace(".", ",")
