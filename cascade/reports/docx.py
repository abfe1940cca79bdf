"""The summary as a Word document laid out like an office report: the issuing body and the
Party's name over the date line, the title, numbered sections with tables, the chart.

Unit-by-unit tables stop at `ROWS` rows (a national campaign has 60,000 units: the xlsx
has them all); the document says how many were left out."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from cascade.engine.summary import Summary, thousands
from cascade.engine.words import level_name
from cascade.reports import tables
from cascade.reports.charts import completion_png
from cascade.reports.tables import Table
from cascade.reports.words import W, said

ROWS = 300
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")


def write_docx(summary: Summary, out: Path) -> Path:
    document = Document()
    _page(document)
    _letterhead(document, summary)
    title, asof = tables.heading(summary)
    _paragraph(document, W["report"], bold=True, size=15, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _paragraph(
        document,
        title.removeprefix(W["report"] + " ").capitalize(),
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    _paragraph(document, asof, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)

    sections = iter(ROMAN)
    _section(document, f"{next(sections)}. {W['overview'].upper()}")
    _paragraph(document, summary.narrative, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    document.add_picture(io.BytesIO(completion_png(summary, dpi=150)), width=Cm(16))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(document, W["figure_1"], italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for table in tables.totals(summary):
        _table(document, table)

    _section(document, f"{next(sections)}. {W['by_level'].upper()}")
    levels = [level for level in summary.levels if summary.units_at(level)]
    for n, level in enumerate(levels, 1):
        _paragraph(document, f"{n}. {level_name(level).capitalize()}", bold=True)
        _table(document, tables.level_counts(summary, level))
        for table in tables.level_figures(summary, level):
            _table(document, table)
        _table(document, tables.unit_table(summary, level, ROWS), len(summary.units_at(level)))

    _section(document, f"{next(sections)}. {W['missed'].upper()}")
    if summary.misses:
        _table(document, tables.misses(summary), len(summary.misses), limit=ROWS)
    else:
        _paragraph(document, W["all_met"])
    _section(document, f"{next(sections)}. {W['owed'].upper()}")
    if summary.owed:
        _table(document, tables.owed(summary, ROWS), len(summary.owed))
    else:
        _paragraph(document, W["nothing_owed"])
    if summary.corrections:
        _section(document, f"{next(sections)}. {W['corrected'].upper()}")
        _table(document, tables.corrections(summary), len(summary.corrections), limit=ROWS)
    _paragraph(document, "")
    _paragraph(document, W["recipients"], bold=True, italic=True, after=0, size=12)
    _paragraph(document, said("to_report", summary.root_name), after=0, size=11)
    _paragraph(document, W["filed"], size=11)
    core = document.core_properties
    core.title, core.author = title, summary.issued_by or summary.root_name
    document.save(str(out))
    return out


def _page(document: DocumentObject) -> None:
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21)  # A4
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    normal = document.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(13)


def _letterhead(document: DocumentObject, s: Summary) -> None:
    """Issuing body left, the Party's name and the date right, as office documents are headed."""
    head = document.add_table(rows=2, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = head.rows[0].cells
    _in(left, (s.issued_by or s.root_name).upper(), bold=True)
    _in(right, W["party"], bold=True, underline=True)
    _in(head.rows[1].cells[0], "*")
    date = s.at
    _in(
        head.rows[1].cells[1],
        said("dated", date),
        italic=True,
    )
    _paragraph(document, "")


def _in(cell: Any, text: str, **style: Any) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(text)
    run.bold, run.italic = style.get("bold"), style.get("italic")
    run.underline = style.get("underline")
    run.font.size = Pt(12)


def _section(document: DocumentObject, text: str) -> None:
    _paragraph(document, text, bold=True, before=8)


def _paragraph(
    document: DocumentObject,
    text: str,
    bold: bool = False,
    italic: bool = False,
    size: float | None = None,
    align: Any = None,
    before: float = 0,
    after: float = 6,
) -> None:
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    if bold:
        run.bold = True
    if italic:
        run.italic = True
    if size:
        run.font.size = Pt(size)
    if align is not None:
        paragraph.alignment = align
    paragraph.paragraph_format.space_before = Pt(before)
    paragraph.paragraph_format.space_after = Pt(after)


def _table(
    document: DocumentObject, table: Table, total: int | None = None, limit: int | None = None
) -> None:
    rows = table.rows[:limit] if limit is not None else table.rows
    _paragraph(document, table.title, italic=True, size=12, after=2)
    grid = document.add_table(rows=1 + len(rows), cols=len(table.headers))
    grid.style = "Table Grid"
    grid.autofit = False
    widths = _widths(table.headers)
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width  # the grid, which LibreOffice reads; Word reads each cell's (below)
    for n, (row, values) in enumerate(zip(grid.rows, [table.headers, *rows], strict=True)):
        for cell, value, width in zip(row.cells, values, widths, strict=True):
            cell.width = width
            _cell(cell, value, bold=n == 0)
    shown = len(rows)
    if total is not None and total > shown:
        _paragraph(
            document,
            said("rows_shown", thousands(shown), thousands(total)),
            italic=True,
            size=11,
        )
    _paragraph(document, "", after=2)


def _widths(headers: list[str], page: float = 16.0) -> list[Cm]:
    """Text columns wide (the unit's id and name, or the row's label), figures narrow."""
    text = [4.5] if headers[0] != W["id"] else [2.6, 4.0]
    text = text[: len(headers)]
    rest = len(headers) - len(text)
    each = (page - sum(text)) / rest if rest else 0
    if rest == 1:
        text, each = [11.0], page - 11.0
    return [Cm(w) for w in text] + [Cm(each)] * rest


def _cell(cell: Any, value: Any, bold: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(tables.text(value))
    if bold:  # (set only when on: an explicit "off" is one more element per cell)
        run.bold = True
    run.font.size = Pt(9 if bold else 10)
    if isinstance(value, int | float) and not bold:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
