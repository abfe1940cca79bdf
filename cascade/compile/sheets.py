"""Tables from the files operators keep in spreadsheets: CSV however Excel saved it, and .xlsx.

CSV is read as UTF-8 with or without a byte-order mark, or else in the Vietnamese Windows code
page (cp1258: what Excel's plain "CSV" writes on a Vietnamese-locale machine), always as
composed Unicode; its cells are separated by commas, semicolons (Excel where the decimal mark
is a comma) or tabs, told from the header line. Leading `#` lines are comments (a units file's
`# levels:` line). An .xlsx workbook is read in openpyxl's read-only mode, a row at a time,
every visible sheet in turn, each with its own header row.

A header cell written "Title (key)" is read as `key`, so a sheet sent to people can carry
their words and still be read back; callers map other Vietnamese headers with `aliases`. Rows
above the header with one cell filled are a title ("DANH SÁCH ĐƠN VỊ") and passed over.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cascade.compile.reading import text_encoding
from cascade.errors import CampaignInvalid, Problem, os_reason
from cascade.i18n import _
from cascade.plan.values import loose

# .xls and .ods are taken as spreadsheets to be refused with the fix (read as YAML or text, an
# .xls was "not UTF-8 text", and an import of a folder passed it over in silence)
WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".ods")
SPREADSHEETS = (".csv", *WORKBOOKS)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Microsoft's compound file: an .xls, or an .xlsx with a password
_ZIP = b"PK\x03\x04"  # an .xlsx (or an .ods)


def save_hint() -> str:
    return _("save it again from Excel as CSV UTF-8 (Lưu thành: CSV UTF-8) or as an Excel workbook (.xlsx)")


_TITLED = re.compile(r"\(([^()]+)\)\s*$")


@dataclass
class Table:
    """One table of a file: its header keys and its rows as (line, cells). The rows are read as
    they are iterated (the file stays open meanwhile): take a table's rows before the next table."""

    file: str  # as a problem names it: "units.csv", or "tra-loi.xlsx, sheet Huyện Cai Lậy"
    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    comments: list[str]
    composed: bool = False  # its cells are text already composed (a CSV's): `text` needs only strip them
    sheet: bool = False  # one sheet of a workbook (which may hold others)
    header_line: int = 1  # (below a title, a blank row: the line a problem of the header names)


def is_spreadsheet(path: str | Path) -> bool:
    return Path(path).suffix.lower() in SPREADSHEETS


def is_workbook(path: str | Path) -> bool:
    return Path(path).suffix.lower() in WORKBOOKS


def text(value: Any) -> str:
    """A cell as composed, trimmed text ("" for an empty one)."""
    if value is None:
        return ""
    written = str(value)
    if written.isascii():  # most cells (ids, levels, addresses): nothing to compose or replace
        return written.strip()
    return unicodedata.normalize("NFC", written).replace("\xa0", " ").strip()


# the column that numbers a Vietnamese table's rows (số thứ tự): read as no column at all
ROW_NUMBERS = frozenset({"stt", "tt", "số tt", "số thứ tự"})
# the row a clerk adds under a table to sum it ("Tổng cộng", its figures summed): no unit's
_TOTALS = frozenset({"tổng cộng", "tổng", "cộng", "tổng số", "toàn xã", "toàn huyện", "toàn tỉnh", "total"})


def is_total(cell: Any) -> bool:
    """Whether a unit's cell names a row of totals, not a unit ("Tổng cộng:", "TỔNG CỘNG"). Asked
    of every row of a national units sheet: a name longer than the words is none of them."""
    written = cell if isinstance(cell, str) else text(cell)
    return len(written) <= 14 and loose(written.strip().rstrip(" :")) in _TOTALS


def header_key(cell: Any, aliases: Mapping[str, str] | None = None) -> str:
    """The key a header cell names: `attendees` for "Số đảng viên dự (attendees)", an alias's key
    for a Vietnamese header ("Đơn vị" -> unit), "" (a column passed over) for the rows' numbers
    ("STT"), else the cell as written."""
    written = text(cell)
    if m := _TITLED.search(written):
        written = m.group(1).strip()
    folded = loose(written)
    return "" if folded in ROW_NUMBERS else (aliases or {}).get(folded, written)


def tables(path: Path, shown: str) -> Iterator[Table]:
    """The tables of a CSV file (one) or an .xlsx workbook (one per visible sheet, non-empty)."""
    if is_workbook(path):
        _readable(path, shown)
        yield from _workbook(path, shown)
    else:
        yield from _csv_file(path, shown)


def rows_of(lines: Iterable[str], file: str) -> Table:
    """A CSV text's table (the text already decoded): comments, header, rows."""
    iterator = iter(lines)
    comments: list[str] = []
    line = 0
    for raw in iterator:
        line += 1
        stripped = raw.strip()
        if stripped.startswith("#"):
            comments.append(stripped[1:].strip())
        elif stripped and _cells(stripped) > 1:
            break
        # else a blank row, or a title above the header (one cell: "DANH SÁCH ĐƠN VỊ")
    else:
        raise CampaignInvalid(
            [Problem(file, None, "", _("the file has no header row"), _("the first row names the columns"))]
        )
    dialect = _dialect(raw)
    reader = csv.reader(map(_composed, _chain(raw, iterator)), dialect)
    try:
        header = [text(h) for h in next(reader)]
    except csv.Error as exc:
        raise CampaignInvalid(
            [Problem(file, line, "", _("not readable as CSV ({error})", error=exc), save_hint())]
        ) from None
    start = line - 1  # the reader counts its own lines from the header

    def rows() -> Iterator[tuple[int, list[Any]]]:
        n = start + 1
        try:
            for record in reader:
                n = start + reader.line_num
                if "".join(record).strip():  # not a blank row
                    yield n, record
        except csv.Error as exc:
            raise CampaignInvalid(
                [
                    Problem(
                        file,
                        start + reader.line_num or n,
                        "",
                        _("not readable as CSV ({error})", error=exc),
                        save_hint(),
                    )
                ]
            ) from None
        except UnicodeDecodeError as exc:
            raise CampaignInvalid(
                [
                    Problem(
                        file,
                        n + 1,
                        "",
                        _("not UTF-8 text from here on ({reason})", reason=exc.reason),
                        save_hint(),
                    )
                ]
            ) from None

    return Table(file, header, rows(), comments, composed=True, header_line=line)


def _cells(line: str) -> int:
    """How many cells of a CSV line hold something (a title row has one: "DANH SÁCH";;;)."""
    try:
        return sum(1 for cell in next(csv.reader([line], _dialect(line))) if cell.strip())
    except (csv.Error, StopIteration):
        return 2  # not for this to judge: read as the header, and told there


def _composed(line: str) -> str:
    """A CSV line as `text` makes its cells (composed, no-break spaces as spaces), a line at a
    time rather than a cell at a time (no composition crosses a separator or a quote)."""
    return line if line.isascii() else unicodedata.normalize("NFC", line).replace("\xa0", " ")


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _dialect(header: str) -> type[csv.Dialect]:
    """The separator the header line uses most: `,`, `;` or a tab (outside quotes)."""
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {sep: unquoted.count(sep) for sep in (",", ";", "\t")}
    separator = max(counts, key=lambda sep: counts[sep])

    class Dialect(csv.excel):
        delimiter = separator if counts[separator] else ","

    return Dialect


def encoding_of(path: Path) -> str:
    """utf-16 after its byte-order mark; utf-8-sig if the file's start reads as UTF-8 (with or
    without a BOM), else cp1258."""
    with path.open("rb") as raw:
        start = raw.read(1 << 20)
    if text_encoding(start) == "utf-16":
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
    except UnicodeDecodeError:
        return "cp1258"
    return "utf-8-sig"


def _csv_file(path: Path, shown: str) -> Iterator[Table]:
    encoding = _opened(path, shown, encoding_of)
    with path.open(encoding=encoding, newline="") as handle:
        lines: Iterable[str] = handle
        if encoding == "cp1258":  # letters with combining marks: composed, as UTF-8 files have them
            lines = (unicodedata.normalize("NFC", line) for line in handle)
        yield rows_of(lines, shown)


def _opened(path: Path, shown: str, read: Any) -> Any:
    try:
        return read(path)
    except FileNotFoundError:
        raise CampaignInvalid([Problem(shown, None, "", _("no such file"))]) from None
    except OSError as exc:
        raise CampaignInvalid(
            [Problem(shown, None, "", _("cannot read: {reason}", reason=os_reason(exc)))]
        ) from None


def _readable(path: Path, shown: str) -> None:
    """Refuse, saying what it is and how to save it, a workbook openpyxl cannot read: Excel
    97-2003's .xls, a workbook with a password, LibreOffice's .ods, an .xlsx renamed .xls."""

    def head(p: Path) -> bytes:
        with p.open("rb") as f:
            return f.read(len(_OLE2))

    start, suffix = _opened(path, shown, head), path.suffix.lower()
    if start.startswith(_OLE2) and suffix in (".xlsx", ".xlsm"):
        said = (
            _("the workbook is protected by a password, which Cascade cannot open"),
            _("open it in Excel, remove the password (File > Info > Protect Workbook), and save it"),
        )
    elif suffix == ".ods":
        said = (
            _("an OpenDocument spreadsheet (.ods), which Cascade does not read"),
            _("save it from LibreOffice Calc as an Excel workbook (.xlsx) or as CSV UTF-8"),
        )
    elif suffix == ".xls" and start.startswith(_ZIP):
        said = (
            _("an Excel workbook (.xlsx) named .xls"),
            _("rename it {name}", name=path.with_suffix(".xlsx")),
        )
    elif suffix == ".xls":
        said = (
            _("an Excel 97-2003 workbook (.xls), which Cascade does not read"),
            _("open it in Excel and save it as an Excel Workbook (.xlsx) or as CSV UTF-8"),
        )
    else:
        return
    raise CampaignInvalid([Problem(shown, None, "", *said)])


def _workbook(path: Path, shown: str) -> Iterator[Table]:
    import zipfile

    import openpyxl

    def load(p: Path) -> Any:
        try:
            return openpyxl.load_workbook(p, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise CampaignInvalid(
                [
                    Problem(
                        shown,
                        None,
                        "",
                        _("not an Excel workbook ({error})", error=exc),
                        _("save it from Excel as .xlsx"),
                    )
                ]
            ) from None

    book = _opened(path, shown, load)
    merged = _merged_down(path)
    try:
        for sheet in book.worksheets:
            if sheet.sheet_state != "visible":
                continue
            rows = sheet.iter_rows(values_only=True)
            if sheet.title in merged:
                rows = _filled(rows, merged[sheet.title])
            table = _sheet_table(rows, f"{shown}, sheet {sheet.title}")
            if table is not None:
                yield table
    finally:
        book.close()


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)"')
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _merged_down(path: Path) -> dict[str, list[tuple[int, int, int]]]:
    """Per sheet title, its cells merged down rows, as (column, first row, last row), 1-based:
    openpyxl's read-only mode does not read them, so they are read from the workbook's XML
    (the workbook's sheet list and its relationships parsed; each sheet's merges found by
    pattern, since a sheet's XML can be large)."""
    import zipfile
    from xml.etree import ElementTree

    from openpyxl.utils.cell import column_index_from_string

    out: dict[str, list[tuple[int, int, int]]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target", "") for r in relations}
            book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            for sheet in book.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"):
                target = targets.get(sheet.get(_RELATIONSHIP_ID), "") or ""
                member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                found = [
                    (column_index_from_string(left.decode()), int(top), int(bottom))
                    for left, top, _right, bottom in _MERGE.findall(archive.read(member))
                    if int(bottom) > int(top)
                ]
                if found:
                    out[sheet.get("name", "")] = found
    except (KeyError, zipfile.BadZipFile, ValueError, ElementTree.ParseError):  # read as it is
        return {}
    return out


def _filled(rows: Iterable[tuple[Any, ...]], merged: list[tuple[int, int, int]]) -> Iterator[tuple[Any, ...]]:
    """`rows` with each cell merged down holding its value in every row it spans (Excel keeps
    it in the first), in that merge's first column."""
    starts: dict[int, list[tuple[int, int]]] = {}
    for column, top, bottom in merged:
        starts.setdefault(top, []).append((column, bottom))
    carried: dict[int, tuple[int, Any]] = {}  # column -> (last row, value)
    for number, row in enumerate(rows, 1):
        values = list(row)
        for column, bottom in starts.get(number, ()):
            carried[column] = (bottom, values[column - 1] if column <= len(values) else None)
        for column, (bottom, value) in list(carried.items()):
            if number > bottom:
                del carried[column]
                continue
            values += [None] * (column - len(values))
            if values[column - 1] in (None, ""):
                values[column - 1] = value
        yield tuple(values)


def _sheet_table(cells: Iterator[tuple[Any, ...]], file: str) -> Table | None:
    comments: list[str] = []
    header: list[str] | None = None
    line = 0
    for values in cells:
        line += 1
        first = text(values[0]) if values else ""
        if first.startswith("#"):
            comments.append(first[1:].strip())
        elif sum(1 for v in values if text(v)) > 1:  # (one cell: a title above the header)
            header = [text(v) for v in values]
            break
    if header is None:
        return None  # an empty sheet (a cover note, a blank tab)
    while header and not header[-1]:
        header.pop()
    width = len(header)
    start = line

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for n, values in enumerate(cells, start + 1):
            row = [v.strip() if isinstance(v, str) else v for v in values[:width]]
            if any(v not in (None, "") for v in row):
                yield n, row + [None] * (width - len(row))

    return Table(file, header, rows(), comments, sheet=True, header_line=start)
