"""The summary as a Party document files it (Hướng dẫn 36-HD/VPTW on the format of the Party's
documents): the issuer under its superior, a star and the number at the top left, the Party's
name and the place and date at the top right; "BÁO CÁO" and the subject as written; numbered
sections; "Nơi nhận" and the signature block; then the appendices, on landscape pages, with the
unit-by-unit tables, the misses and the work still owed.

Tables fit their page whatever the number of tasks and figures: each column is at least as wide
as the longest word of its header (`layout`), and a table with more columns than fit is printed
in parts that repeat the unit's id and name. Unit-by-unit tables stop at `ROWS` rows (a national
campaign has 60,000 units: the xlsx has them all); the document says how many were left out.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from cascade.engine.summary import Summary
from cascade.engine.words import number_text as thousands
from cascade.reports import tables, whole
from cascade.reports.charts import completion_png
from cascade.reports.heading import Heading, heading
from cascade.reports.layout import CELL_PT, HEADER_PT, layout
from cascade.reports.tables import ROWS, Table
from cascade.reports.words import W, said

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
PORTRAIT_CM, LANDSCAPE_CM = 16.0, 24.7  # A4 less the margins (3 cm left, 2 cm right)


def write_docx(summary: Summary, out: Path) -> Path:
    document = Document()
    _page(document)
    head = heading(summary)
    _letterhead(document, head)
    _, asof = tables.heading(summary)
    _paragraph(document, W["report"], bold=True, size=15, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _paragraph(document, said("subject", summary.title), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _paragraph(document, "-----", align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _paragraph(document, asof, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER)

    sections = iter(ROMAN)
    _section(document, f"{next(sections)}. {W['overview'].upper()}")
    _paragraph(document, summary.narrative, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    document.add_picture(io.BytesIO(completion_png(summary, dpi=150)), width=Cm(15))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(document, W["figure_1"], italic=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER)
    for table in tables.totals(summary):
        _table(document, table, PORTRAIT_CM, lead=1)

    _section(document, f"{next(sections)}. {W['by_level'].upper()}")
    levels = [level for level in summary.levels if summary.units_at(level)]
    for n, level in enumerate(levels, 1):
        name = summary.level_name(level)
        _paragraph(document, f"{n}. {name[:1].upper()}{name[1:]}", bold=True)
        _table(document, tables.level_counts(summary, level), PORTRAIT_CM, lead=1)
        for table in tables.level_figures(summary, level):
            _table(document, table, PORTRAIT_CM, lead=1)

    appendices = _appendices(summary)
    _section(document, f"{next(sections)}. {W['missed'].upper()}")
    _paragraph(document, _where(appendices, "missed") if summary.misses else tables.all_met(summary))
    _section(document, f"{next(sections)}. {W['owed'].upper()}")
    _paragraph(document, _where(appendices, "owed") if summary.owed else W["nothing_owed"])
    if summary.corrections:
        _section(document, f"{next(sections)}. {W['corrected'].upper()}")
        _paragraph(document, _where(appendices, "corrected"))
    _signature(document, head)

    _landscape(document)
    _paragraph(document, W["appendix"], bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _paragraph(document, said("attached", head.number), italic=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER)
    for n, (_, title, items) in enumerate(appendices, 1):
        _paragraph(document, said("appendix_title", n, title), bold=True, before=8)
        for table, total, limit in items:
            _table(document, table, LANDSCAPE_CM, lead=1, total=total, limit=limit)
    core = document.core_properties
    core.title, core.author = tables.heading(summary)[0], head.issuer
    with whole(out) as part:
        document.save(str(part))
    return out


Appendix = tuple[str, str, list[tuple[Table, int | None, int | None]]]  # key, title, tables


def _appendices(s: Summary) -> list[Appendix]:
    """The unit lists, each its own appendix: results unit by unit, the misses, the work owed."""
    found: list[Appendix] = []
    units: list[tuple[Table, int | None, int | None]] = [
        (tables.unit_table(s, level, ROWS), len(s.units_at(level)), None)
        for level in s.levels
        if s.units_at(level)
    ]
    found.append(("units", W["unit_results"], units))
    if s.misses:
        found.append(("missed", W["missed"], [(tables.misses(s), len(s.misses), ROWS)]))
    if s.owed:
        owing = len(s.missing_units)
        found.append(("owed", W["owed"], [(tables.owed_by_unit(s, ROWS), owing, None)]))
    if s.corrections:
        found.append(("corrected", W["corrected"], [(tables.corrections(s), len(s.corrections), ROWS)]))
    return found


def _where(appendices: list[Appendix], key: str) -> str:
    for n, (found, _, items) in enumerate(appendices, 1):
        if found == key:
            return said("see_appendix", n, items[0][0].title)
    return ""


def _page(document: DocumentObject) -> None:
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21)  # A4
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    normal = document.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(14)


def _landscape(document: DocumentObject) -> None:
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21)
    section.top_margin, section.bottom_margin = Cm(3), Cm(2)  # the binding edge stays on the left
    section.left_margin, section.right_margin = Cm(2), Cm(2)


def _letterhead(document: DocumentObject, head: Heading) -> None:
    """The issuer under its superior, a star, the number (left); the Party's name, the place
    and date (right): borderless, as Party documents are headed."""
    grid = document.add_table(rows=1, cols=2)
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    left, right = grid.rows[0].cells
    _widths(grid, [6.5, 9.5])
    lines = [(head.superior.upper(), {"size": 13})] if head.superior else []
    lines += [(head.issuer.upper(), {"bold": True}), ("*", {}), (head.number, {"size": 13})]
    for n, (text, style) in enumerate(lines):
        _in(left, text, first=n == 0, **style)
    _in(right, W["party"], first=True, bold=True, underline=True, size=15)
    _in(right, "")
    _in(right, head.dated, italic=True, size=13)
    _paragraph(document, "")


def _signature(document: DocumentObject, head: Heading) -> None:
    """ "Nơi nhận" (left, small) beside the signature block (right)."""
    _paragraph(document, "", after=0)
    grid = document.add_table(rows=1, cols=2)
    grid.autofit = False
    left, right = grid.rows[0].cells
    _widths(grid, [8.0, 8.0])
    _in(left, W["recipients"], first=True, bold=True, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.LEFT)
    for n, line in enumerate(head.recipients):
        end = "." if n == len(head.recipients) - 1 else ","
        _in(left, f"- {line.rstrip('.,;')}{end}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    lines = [text.upper() for text in (head.on_behalf, head.title) if text]
    for n, text in enumerate(lines):
        _in(right, text, first=n == 0, bold=True)
    for _ in range(4):
        _in(right, "", first=not lines and _ == 0)  # room to sign and stamp
    if head.name:
        _in(right, head.name, bold=True)


def _widths(grid: Any, widths_cm: list[float]) -> None:
    """Column widths on the grid (which LibreOffice reads) and on each cell (which Word reads)."""
    for column, width in zip(grid.columns, widths_cm, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)


def _in(cell: Any, text: str, first: bool = False, **style: Any) -> None:
    paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
    paragraph.alignment = style.get("align", WD_ALIGN_PARAGRAPH.CENTER)
    paragraph.paragraph_format.space_after = Pt(0)
    run = paragraph.add_run(text)
    run.bold, run.italic = style.get("bold"), style.get("italic")
    run.underline = style.get("underline")
    run.font.size = Pt(style.get("size", 14))


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
    document: DocumentObject,
    table: Table,
    page_cm: float,
    lead: int,
    total: int | None = None,
    limit: int | None = None,
) -> None:
    """The table in as many parts as its columns need (each repeating the `lead` columns)."""
    rows = table.rows[:limit] if limit is not None else table.rows
    if table.headers[0] == W["id"]:  # people read names; the ids are for the workbook's joins
        table = Table(table.title, table.headers[1:], [row[1:] for row in rows], table.total)
        rows = table.rows
    texts = [[tables.text(v) for v in row] for row in rows]
    parts = layout(table.headers, texts, min(lead, len(table.headers)), page_cm)
    for k, part in enumerate(parts, 1):
        title = table.title if len(parts) == 1 else said("part_of", table.title, k, len(parts))
        _paragraph(document, title, italic=True, size=12, after=2)
        grid = document.add_table(rows=1 + len(rows), cols=len(part.columns))
        grid.style = "Table Grid"
        grid.autofit = False
        _widths(grid, part.widths)
        for n, (row, values) in enumerate(zip(grid.rows, [table.headers, *rows], strict=True)):
            for cell, c in zip(row.cells, part.columns, strict=True):
                _cell(cell, values[c], bold=n == 0)
        _repeat_header(grid)
        _paragraph(document, "", after=2)
    shown = len(rows)
    if total is not None and total > shown:
        _paragraph(document, said("rows_shown", thousands(shown), thousands(total)), italic=True, size=11)


def _repeat_header(grid: Any) -> None:
    """The header row printed again at the top of each page the table runs onto."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    properties = grid.rows[0]._tr.get_or_add_trPr()
    marker = OxmlElement("w:tblHeader")
    marker.set(qn("w:val"), "true")
    properties.append(marker)


def _cell(cell: Any, value: Any, bold: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(tables.text(value))
    if bold:  # (set only when on: an explicit "off" is one more element per cell)
        run.bold = True
    run.font.size = Pt(HEADER_PT if bold else CELL_PT)
    if isinstance(value, int | float) and not bold:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
