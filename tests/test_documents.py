"""The summary's documents, opened back with their own libraries; the docx rendered by
LibreOffice to PDF and by pdftoppm to PNG (the pages kept under tests/artifacts/)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import docx
import openpyxl
import pytest
from typer.testing import CliRunner

from cascade.engine.summary import Summary, build
from cascade.reports import tables, write
from tests.test_summary import AS_OF, at, run

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture
def summary(tmp_path: Path) -> Summary:
    from cascade.engine.store import open_store

    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    run(engine)
    result = build(engine, "test-campaign", at(AS_OF))
    assert result is not None
    return result


def test_the_workbook_has_a_sheet_per_level_with_frozen_headers_and_the_totals(
    summary: Summary, tmp_path: Path
) -> None:
    [path] = write(summary, "xlsx", tmp_path / "summary.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "Tổng hợp",
        "Cấp tỉnh",
        "Cấp huyện",
        "Cơ sở",
        "Chưa đạt chỉ tiêu",
        "Chưa hoàn thành",
        "Điều chỉnh",
    ]
    grassroots = book["Cơ sở"]
    assert grassroots.freeze_panes == "C2"
    rows = list(grassroots.iter_rows(values_only=True))
    assert rows[0][:4] == ("Mã", "Đơn vị", "Hội nghị cơ sở", "Báo cáo kết quả")
    by_unit = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert list(by_unit) == ["x-c", "x-d", "x-f"]
    assert by_unit["x-d"]["Số đảng viên dự («Hội nghị cơ sở»)"] == 32  # a number, as corrected
    assert by_unit["x-d"]["Tỷ lệ tham dự («Hội nghị cơ sở»)"] == 0.8
    assert by_unit["x-f"]["Hội nghị cơ sở"] == "quá hạn"
    overview = [row for row in book["Tổng hợp"].iter_rows(values_only=True) if any(row)]
    assert overview[0][0].startswith("BÁO CÁO TỔNG HỢP KẾT QUẢ CHIẾN DỊCH THỬ")
    totals = {row[0]: row[1] for row in overview if row[0] and row[1] is not None}
    assert totals["Số đảng viên dự («Hội nghị cơ sở»)"] == 76
    assert totals["Tổng số đảng viên («Hội nghị cơ sở»)"] == 90
    assert totals["Hội nghị cơ sở"] == 3  # the grassroots count table: 3 units owe it
    corrections = list(book["Điều chỉnh"].iter_rows(values_only=True))
    assert corrections[1] == ("x-d", "Đảng ủy xã D", "Số đảng viên dự («Hội nghị cơ sở»)", 30, 32)
    assert book["Chưa hoàn thành"].freeze_panes == "A2"
    assert book["Chưa hoàn thành"].max_row == 1 + 3


def test_the_workbooks_lists_filter_and_sort_as_excel_does(summary: Summary, tmp_path: Path) -> None:
    """The owed work's last days were text ("27/11/2020"): Excel sorted them by their day of the
    month, across months, and could not filter them by date; and no sheet had its filter buttons,
    which an office adds first to find a district's rows. The last day is a date cell shown as
    the seeds write it, and every list sheet filters from its header."""
    import datetime

    [path] = write(summary, "xlsx", tmp_path / "summary.xlsx")
    book = openpyxl.load_workbook(path)
    owed = book["Chưa hoàn thành"]
    header = [c.value for c in owed[1]]
    column = header.index("Hạn chót") + 1
    days = [owed.cell(row, column) for row in range(2, owed.max_row + 1)]
    assert days and all(isinstance(c.value, datetime.datetime) for c in days), [c.value for c in days]
    assert {c.number_format for c in days} == {"dd/mm/yyyy"}
    assert [c.value.date() for c in days] == [
        datetime.datetime.strptime(o_day, "%d/%m/%Y").date()
        for o_day in (tables.text(row[5]) for row in tables.owed(summary).rows)
    ]
    for name in ("Cơ sở", "Chưa hoàn thành"):
        assert (
            book[name].auto_filter.ref
            == f"A1:{book[name].cell(1, book[name].max_column).column_letter}{book[name].max_row}"
        )


def test_the_document_reads_like_an_office_report(summary: Summary, tmp_path: Path) -> None:
    [path] = write(summary, "docx", tmp_path / "summary.docx")
    document = docx.Document(str(path))
    left, right = document.tables[0].rows[0].cells
    # no `document` block: the top unit issues it, in the place its name says, numbered by hand
    assert [p.text for p in left.paragraphs] == ["TỈNH ỦY A", "*", "Số        "]
    assert [p.text for p in right.paragraphs] == [
        "ĐẢNG CỘNG SẢN VIỆT NAM",
        "",
        "A, ngày 25 tháng 01 năm 2021",
    ]
    texts = [p.text for p in document.paragraphs]
    assert "Tổng hợp kết quả chiến dịch thử" in texts
    recipients = next(t for t in document.tables if t.rows[0].cells[0].text.startswith("Nơi nhận"))
    assert [p.text for p in recipients.rows[0].cells[0].paragraphs] == [
        "Nơi nhận:",
        "- Lưu.",
    ]  # not to itself
    assert "BÁO CÁO" in texts
    assert [t for t in texts if t[:3] in ("I. ", "II.", "III", "IV.", "V. ")] == [
        "I. TÌNH HÌNH CHUNG",
        "II. KẾT QUẢ THEO CẤP",
        "III. CHỈ TIÊU CHƯA ĐẠT",
        "IV. ĐƠN VỊ CHƯA HOÀN THÀNH",
        "V. SỐ LIỆU ĐƠN VỊ ĐIỀU CHỈNH",
    ]
    assert summary.narrative in texts
    assert len(document.inline_shapes) == 1  # the chart
    grids = {t.rows[0].cells[0].text: t for t in document.tables[1:]}
    counts = next(t for t in document.tables if t.rows[0].cells[1].text == "Phải thực hiện")
    assert [c.text for c in counts.rows[1].cells] == ["Hội nghị tỉnh", "1", "1", "0", "0", "0", "0", "0"]
    assert "Số liệu" in grids
    figures = {row.cells[0].text: row.cells[1].text for row in grids["Số liệu"].rows[1:]}
    assert figures["Tỷ lệ tham dự («Hội nghị cơ sở»)"] == "84,4%"


def test_the_markdown_embeds_its_chart(summary: Summary, tmp_path: Path) -> None:
    md, chart = write(summary, "md", tmp_path / "summary.md")
    text = md.read_text(encoding="utf-8")
    assert f"![Tỷ lệ hoàn thành theo cấp]({chart.name})" in text
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| x-d | Đảng ủy xã D | muộn | đúng hạn | 32 | 40 | 1 | 0 | 80% |" in text


def test_the_markdown_shows_the_first_rows_of_a_long_table_and_says_how_many(
    summary: Summary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A national campaign's Markdown listed its 66,844 units and the 232,013 tasks they owed:
    32 MB and 14 s, for a file nobody could read. Its tables stop where the docx's do (ROWS)
    and say how many rows they show; the xlsx has them all."""
    import cascade.reports.markdown

    monkeypatch.setattr(cascade.reports.markdown, "ROWS", 1)
    md, _chart = write(summary, "md", tmp_path / "summary.md")
    text = md.read_text(encoding="utf-8")
    grassroots = len(summary.units_at("grassroots"))
    assert grassroots > 1
    note = f"*(Bảng trên nêu 1/{grassroots} dòng; đầy đủ trong tệp xlsx: cascade report --format xlsx.)*"
    assert note in text
    owed = (
        f"*(Bảng trên nêu 1/{len(summary.owed)} dòng; đầy đủ trong tệp xlsx: cascade report --format xlsx.)*"
    )
    assert len(summary.owed) > 1 and owed in text
    table = text[text.index("Từng đơn vị cơ sở") :].split("\n\n")[1].splitlines()
    assert len(table) == 3, table  # the header, its rule, one row
    assert table[2].startswith("| x-c | Đảng ủy xã C |"), table  # the first; not x-d, x-f
    whole = write(summary, "xlsx", tmp_path / "summary.xlsx")[0]
    cells = [c.value for row in openpyxl.load_workbook(whole).worksheets[0].iter_rows() for c in row]
    assert "(Bảng trên nêu" not in " ".join(str(c) for c in cells)


def test_cascade_report_writes_each_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cascade.cli import app
    from cascade.engine.store import open_store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    run(open_store(url))
    monkeypatch.setenv("CASCADE_DATABASE_URL", url)
    for fmt in ("md", "xlsx", "docx"):
        out = tmp_path / f"s.{fmt}"
        result = CliRunner().invoke(
            app, ["report", "test-campaign", "--format", fmt, "--out", str(out), "--at", "25/01/2021 08:00"]
        )
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 1000
    refused = CliRunner().invoke(app, ["report", "no-such", "--format", "md"])
    assert refused.exit_code == 1
    assert "no deployed campaign `no-such`" in refused.output


@pytest.fixture
def reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A store with the test campaign, for `cascade report` to read."""
    from cascade.engine.store import open_store

    (tmp_path / "store").mkdir()
    url = f"sqlite:///{tmp_path / 'store' / 'cascade.db'}"
    run(open_store(url))
    monkeypatch.setenv("CASCADE_DATABASE_URL", url)
    return CliRunner()


@pytest.mark.parametrize("fmt", ["md", "xlsx", "docx"])
def test_a_report_to_a_folder_or_a_missing_folder_is_refused_in_words(
    reported: CliRunner, tmp_path: Path, fmt: str
) -> None:
    from cascade.cli import app

    missing = tmp_path / "no-such-folder" / f"s.{fmt}"
    for out, english, vietnamese in (
        (tmp_path, "it is a folder: name a file in it", "đây là một thư mục: hãy ghi tên một tệp trong đó"),
        (missing, "its folder does not exist", "thư mục chứa nó không tồn tại"),
    ):
        for lang, said in (("en", english), ("vi", vietnamese)):
            result = reported.invoke(
                app, ["--lang", lang, "report", "test-campaign", "-f", fmt, "--out", str(out)]
            )
            assert result.exit_code == 1, result.output
            assert isinstance(result.exception, SystemExit)  # refused in words, not a traceback
            assert f"{out}: " in result.stderr and said in " ".join(result.stderr.split()), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # nothing written anywhere


@pytest.mark.parametrize("fmt", ["md", "xlsx", "docx"])
def test_a_report_that_fills_the_disk_leaves_the_earlier_file_as_it_was(
    reported: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    import errno

    import docx.document
    import xlsxwriter

    import cascade.reports.markdown
    from cascade.cli import app

    out = tmp_path / f"s.{fmt}"
    out.write_bytes(b"last week's report")
    chart = tmp_path / "s-chart.png"
    chart.write_bytes(b"last week's chart")

    def full(path: object | None = None) -> None:  # the disk fills up half way through the file
        if path is not None:
            with open(str(path), "wb") as handle:
                handle.write(b"PK\x03\x04 half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    if fmt == "md":  # its chart is made first: the text fails after it
        monkeypatch.setattr(cascade.reports.markdown, "markdown", lambda *a, **k: full())
    elif fmt == "xlsx":
        monkeypatch.setattr(xlsxwriter.Workbook, "close", lambda book: full(book.filename))
    else:
        monkeypatch.setattr(docx.document.Document, "save", lambda document, path: full(path))
    result = reported.invoke(app, ["report", "test-campaign", "-f", fmt, "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert f"{out}: error: cannot write: the disk is full" in " ".join(result.stderr.split())
    assert out.read_bytes() == b"last week's report"
    assert chart.read_bytes() == b"last week's chart"  # the md's chart is replaced with it, or not at all
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s-chart.png", f"s.{fmt}", "store"]


def test_a_report_takes_its_format_from_the_file_name(reported: CliRunner, tmp_path: Path) -> None:
    """`--out bao-cao.xlsx` without --format was Markdown text in a file Excel could not open."""
    from cascade.cli import app

    for name, opens in (("bao-cao.xlsx", openpyxl.load_workbook), ("bao-cao.docx", docx.Document)):
        result = reported.invoke(app, ["report", "test-campaign", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        opens(str(tmp_path / name))  # a real workbook, a real document
    plain = reported.invoke(app, ["report", "test-campaign", "--out", str(tmp_path / "bao-cao.txt")])
    assert plain.exit_code == 0 and (tmp_path / "bao-cao.txt").read_text(encoding="utf-8").startswith("# ")
    clash = reported.invoke(app, ["report", "test-campaign", "-f", "docx", "--out", str(tmp_path / "x.xlsx")])
    assert clash.exit_code == 1
    said = " ".join(clash.stderr.split())
    assert "the file is named .xlsx, the format asked for is docx" in said
    assert "name the file .docx, or leave out --format" in said
    assert not (tmp_path / "x.xlsx").exists()


def test_a_report_named_for_a_format_it_is_not_in_is_refused(reported: CliRunner, tmp_path: Path) -> None:
    """`--out bao-cao.xls` (or .doc, .pdf, .html) wrote the summary's Markdown text under that name:
    a file Excel, Word or a browser shows as garbage or will not open. It is refused, naming the
    file to write instead; nothing is written. A name that says no format (a date in it) is md."""
    from cascade.cli import app

    for name, instead in (
        ("bao-cao.xls", "bao-cao.xlsx"),
        ("bao-cao.DOC", "bao-cao.docx"),
        ("bao-cao.pdf", "bao-cao.docx"),
        ("bao-cao.html", "bao-cao.md"),
    ):
        refused = reported.invoke(app, ["report", "test-campaign", "--out", str(tmp_path / name)])
        assert refused.exit_code == 1, refused.output
        said = " ".join(refused.stderr.split())
        suffix = name.rsplit(".", 1)[1].lower()
        assert f"a summary is written as md (text), xlsx (Excel) or docx (Word), not .{suffix}" in said, said
        assert f"name it {tmp_path / instead}" in said, said
    asked = reported.invoke(app, ["report", "test-campaign", "-f", "docx", "--out", str(tmp_path / "bc.doc")])
    assert asked.exit_code == 1 and f"name it {tmp_path / 'bc.docx'}" in " ".join(asked.stderr.split())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "store") == []
    dated = reported.invoke(app, ["report", "test-campaign", "--out", str(tmp_path / "bao-cao-20.01.2021")])
    assert dated.exit_code == 0, dated.output
    assert (tmp_path / "bao-cao-20.01.2021").read_text(encoding="utf-8").startswith("# ")


def test_libreoffice_renders_the_document_with_its_title_and_tables(summary: Summary, tmp_path: Path) -> None:
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    if not (soffice and pdftoppm):
        if os.environ.get("CASCADE_REQUIRE_DOCTOOLS"):
            pytest.fail("CASCADE_REQUIRE_DOCTOOLS is set but soffice or pdftoppm is missing")
        pytest.skip("LibreOffice or pdftoppm missing (./test.sh installs them as root)")
    [path] = write(summary, "docx", tmp_path / "summary.docx")
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(path)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pdf = tmp_path / "summary.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "BÁO CÁO" in text and "ĐẢNG CỘNG SẢN VIỆT NAM" in text
    assert "Tổng hợp kết quả chiến dịch thử" in text
    # a table laid out as one: its header, and a row's label with its figures on one line
    assert re.search(r"^Nội dung +Phải", text, re.MULTILINE)
    assert re.search(r"^Hội nghị tỉnh +1 +1 +0 +0 +0 +0 +0$", text, re.MULTILINE)
    assert re.search(r"^Tỷ lệ tham dự \(«Hội nghị cơ sở»\) +84,4%$", text, re.MULTILINE)
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(
        [pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(ARTIFACTS / "summary-page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pages = sorted(ARTIFACTS.glob("summary-page-*.png"))
    assert pages and all(p.read_bytes()[:4] == b"\x89PNG" for p in pages)


def test_a_report_is_dated_as_of_the_tick_its_figures_come_from(reported: CliRunner, tmp_path: Path) -> None:
    """Without --at, the report said "Số liệu tính đến" now, over figures the last tick had
    computed: with the scheduler stopped for days, a filed report gave stale figures today's
    date. It is now dated as of that tick, and says how old it is when the scheduler is behind."""
    import os
    import time

    from sqlalchemy import update

    from cascade import i18n
    from cascade.cli import app
    from cascade.engine import store
    from cascade.engine.store import open_store

    def scheduler_ticked(seconds_ago: int) -> None:  # (the scheduler's ticks stamp it)
        engine = open_store(os.environ["CASCADE_DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(update(store.campaigns).values(ticked_at=int(time.time()) - seconds_ago))
        engine.dispose()

    scheduler_ticked(60)
    out = tmp_path / "bao-cao.md"
    try:
        result = reported.invoke(app, ["--lang", "vi", "report", "test-campaign", "--out", str(out)])
    finally:
        i18n.use("en")
    assert result.exit_code == 0, result.output
    last = at(AS_OF)
    said = f"Số liệu tính đến {last.format('HH:mm')} ngày {last.format('DD/MM/YYYY')}"
    assert said in out.read_text("utf-8")
    assert f"lần xử lý gần nhất: {last.format('HH:mm DD/MM/YYYY')}" in result.stderr
    assert "cascade serve" not in result.stderr  # it ticks on schedule
    scheduler_ticked(2 * 86_400)  # the scheduler stopped two days ago
    behind = reported.invoke(app, ["report", "test-campaign", "--out", str(out)])
    assert behind.exit_code == 0, behind.output
    assert "no tick for 48 h 0 min: is `cascade serve` running?" in " ".join(behind.stderr.split())
