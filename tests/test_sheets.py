"""Signals from the files districts send back: CSV as Vietnamese-locale Excel saves it (`;`,
a byte-order mark, the Windows code page), workbooks written by openpyxl and by LibreOffice;
units named by id or by their exact name; a note kept with each signal."""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pendulum
import pytest
from sqlalchemy import Engine, select

from cascade import i18n
from cascade.compile.files import load_plan
from cascade.compile.sheets import header_key
from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.signal_files import ALIASES, import_table, is_table, load_signals
from cascade.engine.signals import SignalRefused

CAMPAIGN = Path(__file__).parent.parent / "campaigns" / "ha-tinh-xix-2020.yaml"
CID = "ha-tinh-xix-2020"
TZ = "Asia/Ho_Chi_Minh"
NOW = pendulum.datetime(2021, 1, 10, 8, tz=TZ)
CALC = Path("/usr/lib/libreoffice/program/libsclo.so")  # Calc's library: Writer alone cannot read CSV


@pytest.fixture
def campaign(store_engine: Engine) -> Engine:
    plan = load_plan(CAMPAIGN)
    deploy(store_engine, plan, "s", plan.campaign.issued_at)
    return store_engine


def signals(engine: Engine) -> list[tuple[Any, ...]]:
    s = store.signals.c
    with engine.connect() as conn:
        rows = conn.execute(select(s.unit_id, s.task_id, s.at, s.fields, s.note).order_by(s.unit_id))
        return [(r.unit_id, r.task_id, pendulum.from_timestamp(r.at, tz=TZ), r.fields, r.note) for r in rows]


def when(text: str) -> pendulum.DateTime:
    return pendulum.parse(text, tz=TZ)  # type: ignore[return-value]


def cp1258(text: str) -> bytes:
    """Text as Excel's plain "CSV" writes it on a Vietnamese Windows: letters with a circumflex,
    breve or horn precomposed, tone marks as combining characters (code page 1258)."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", char)
            body = unicodedata.normalize("NFC", base + "".join(m for m in marks if m in "\u0302\u0306\u031b"))
            out += (body + "".join(m for m in marks if m not in "\u0302\u0306\u031b")).encode("cp1258")
    return bytes(out)


SEMICOLON = (
    "\ufeffThời gian;Đơn vị;Việc;Số đảng viên dự (attendees);Tổng số đảng viên (members);Ghi chú\r\n"
    "05/12/2020 09:00;Đảng ủy phường Bắc Hà;hn-co-so;40;45;báo qua điện thoại\r\n"
    "06/12/2020 14:30;p-nam-ha;hn-co-so;1.234;1.300;Công văn 45-CV/HU\r\n"
)


def test_a_semicolon_csv_with_a_bom_from_vietnamese_excel(campaign: Engine, tmp_path: Path) -> None:
    path = tmp_path / "tra-loi.csv"
    path.write_bytes(SEMICOLON.encode("utf-8"))
    assert import_table(campaign, CID, path, "cli", NOW) == (2, 0)
    assert signals(campaign) == [
        (
            "p-bac-ha",
            "hn-co-so",
            when("2020-12-05 09:00"),
            {"attendees": 40, "members": 45},
            "báo qua điện thoại",
        ),
        # "1.234" is one thousand two hundred thirty-four where the figure is a whole number
        (
            "p-nam-ha",
            "hn-co-so",
            when("2020-12-06 14:30"),
            {"attendees": 1234, "members": 1300},
            "Công văn 45-CV/HU",
        ),
    ]


def test_times_as_offices_write_them(campaign: Engine, tmp_path: Path) -> None:
    """Times typed into the sheet as the districts write them were refused, and the whole file
    with them: 15h30, 9 giờ, "15 giờ 30 phút ngày 05/12/2020", 27-11-2020, 27.11.2020."""
    path = tmp_path / "tra-loi.csv"
    path.write_text(
        "Thời gian;Unit;TASK;attendees;members\n"  # a header in any case
        "05/12/2020 15h30;p-bac-ha;hn-co-so;40;45\n"
        "06-12-2020 9 giờ;p-nam-ha;hn-co-so;40;45\n"
        "15 giờ 30 phút ngày 07/12/2020;x-thien-loc;hn-co-so;40;45\n"
        "lúc 8g05 ngày 08.12.2020;x-vuong-loc;hn-co-so;40;45\n",
        encoding="utf-8",
    )
    assert import_table(campaign, CID, path, "cli", NOW) == (4, 0)
    assert [(unit, at) for unit, _, at, _, _ in signals(campaign)] == [
        ("p-bac-ha", when("2020-12-05 15:30")),
        ("p-nam-ha", when("2020-12-06 09:00")),
        ("x-thien-loc", when("2020-12-07 15:30")),
        ("x-vuong-loc", when("2020-12-08 08:05")),
    ]


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("ngày 07 tháng 12 năm 2020", "2020-12-07 00:00"),
        ("7 tháng 12 năm 2020", "2020-12-07 00:00"),
        ("Ngày 07 tháng 12 năm 2020 lúc 15h30", "2020-12-07 15:30"),
        ("8 giờ 30 phút, ngày 7 tháng 12 năm 2020", "2020-12-07 08:30"),
    ],
)
def test_a_day_in_words_as_documents_date_themselves(text: str, meant: str) -> None:
    """A day copied from a document's own dating line ("Hà Tĩnh, ngày 07 tháng 12 năm 2020")
    was "not a time", in a sheet, for `--at` and for a deadline (`extend --to`, a campaign's
    dates): the words are read as the day they name."""
    from cascade.timing.deadlines import parse_date
    from cascade.timing.instants import parse_instant

    assert parse_instant(text, TZ) == when(meant)
    assert parse_date("ngày 30 tháng 11 năm 2020") == parse_date("30/11/2020")
    with pytest.raises(ValueError, match="month 2/2021 has 28 days"):
        parse_date("ngày 29 tháng 2 năm 2021")


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("8h 20/12/2020", "2020-12-20 08:00"),
        ("8h30 20/12/2020", "2020-12-20 08:30"),
        ("8g 5/12/2020", "2020-12-05 08:00"),
        ("20/12/2020 8:30 SA", "2020-12-20 08:30"),
        ("20/12/2020 2:30 CH", "2020-12-20 14:30"),
        ("20/12/2020 12:15 SA", "2020-12-20 00:15"),
        ("20/12/2020 12:15 CH", "2020-12-20 12:15"),
        ("20/12/2020 3:05:00 PM", "2020-12-20 15:05"),
        ("8h sáng 20/12/2020", "2020-12-20 08:00"),
        ("20/12/2020 2 giờ chiều", "2020-12-20 14:00"),
        ("lúc 14 giờ chiều ngày 20/12/2020", "2020-12-20 14:00"),
        ("7h30 tối ngày 20/12/2020", "2020-12-20 19:30"),
        ("1 giờ trưa 20/12/2020", "2020-12-20 13:00"),
        ("11 giờ trưa 20/12/2020", "2020-12-20 11:00"),
    ],
)
def test_a_time_as_vietnamese_excel_and_offices_write_it(text: str, meant: str) -> None:
    """ "8h 20/12/2020" (the hour first, no minutes) was read as 8:02 on day "0/12/2020" and
    refused as such; a CSV saved by Excel in the Vietnamese locale writes times "8:30 SA" (sáng)
    and "2:30 CH" (chiều), which were "not a time"; and "2 giờ chiều", "8h sáng", as a reply or a
    phone call says the part of the day, were "not a time" too."""
    from cascade.timing.instants import parse_instant

    assert parse_instant(text, TZ) == when(meant)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("27/11/20 15:00", "is not a time"),  # a two-digit year is not guessed
        ("20/12/2020 13:30 CH", "has no such time of day"),
        ("15h sáng 20/12/2020", "has no such time of day"),
        ("27/11/2020 25h", "has no such time of day"),
        ("27/11/2020 15h60", "has no such time of day"),
        ("27/11/2020 15:", "is not a time"),
        ("27/11-2020", "is not a time"),
        ("31.02.2020 10h", "`31.02.2020` is not a date: month 2/2020 has 29 days"),
    ],
)
def test_a_time_that_is_not_one_is_refused_in_words(text: str, said: str) -> None:
    from cascade.timing.instants import parse_instant

    with pytest.raises(ValueError, match=said):
        parse_instant(text, TZ)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("sáng 06/12/2026", "8h sáng 06/12/2026, or the day alone, 06/12/2026"),
        ("06/12/2026 buổi chiều", "2h chiều 06/12/2026, or the day alone, 06/12/2026"),
        ("Tối hôm qua", "7h tối hôm qua, or the day alone, hôm qua"),
    ],
)
def test_the_part_of_the_day_said_without_its_hour_is_asked_for_it(text: str, said: str) -> None:
    """ "sáng 06/12/2026", as a phone call reports a conference, was "not a time; write
    2020-11-18 10:00" (the day alone was taken, at its midnight). The hour is asked for, with one
    of that part of the day, or the day alone: a signal's hour is not made up."""
    from datetime import date

    from cascade.timing.instants import parse_instant

    with pytest.raises(ValueError) as refused:
        parse_instant(text, TZ, today=date(2026, 12, 8))
    assert str(refused.value) == (
        f"`{text}` gives the part of the day but not its hour: write the hour, e.g. {said}"
    )
    example = parse_instant(said.split(",")[0], TZ, today=date(2026, 12, 8))  # taken as offered
    assert (example.day, example.hour) == {"s": (6, 8), "0": (6, 14), "T": (7, 19)}[text[0]]


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("hôm qua 15:30", "2020-11-24 15:30"),
        ("Hôm qua lúc 15 giờ 30", "2020-11-24 15:30"),
        ("15h hôm nay", "2020-11-25 15:00"),
        ("hôm kia 8h30", "2020-11-23 08:30"),
        ("hôm nay", "2020-11-25 00:00"),
        ("yesterday 9:00", "2020-11-24 09:00"),
        ("15:30", "2020-11-25 15:30"),
        ("lúc 8 giờ 05", "2020-11-25 08:05"),
        ("24/11/2020 15:30", "2020-11-24 15:30"),  # (a day written is that day)
        ("24/11 15:30", "2020-11-24 15:30"),  # (its year: the latest 24/11 not after tomorrow)
        ("26/11", "2020-11-26 00:00"),
    ],
)
def test_a_time_typed_after_a_phone_call_is_of_the_commands_day(text: str, meant: str) -> None:
    """`cascade signal ... --at "hôm qua 15:30"`, typed after a phone call, was "not a time", and
    `--at 15:30` was the machine's today at 15:30, whatever day the command acts on (a drill's
    clock: 07/12/2026 for a campaign of 2020). Typed at the command line a day may be said from
    the command's today, and a time alone is today's; in a file a time has its day."""
    from datetime import date

    from cascade.timing.instants import names_a_day, parse_instant

    assert parse_instant(text, TZ, today=date(2020, 11, 25)) == when(meant)
    assert names_a_day("hôm qua") and not names_a_day("hôm qua 15:30")
    if "/" not in text:
        with pytest.raises(ValueError):
            parse_instant(text, TZ)  # (a signals file's row: its day is written)


def test_a_day_written_without_its_year_is_the_campaigns(campaign: Engine, tmp_path: Path) -> None:
    """A reply typed in a hurry dates its row "15/12" or "7/12 8h30" (a cell Excel kept as text,
    a CSV): it was "not a time; write 2020-11-18 10:00", and the whole reply with it. The day is
    the campaign's: the latest such day from its issue (10/11/2020) to tomorrow; one no such day
    is (a 15/01 before 15/01/2021 has come) is refused, the year asked for, and so is one in a
    file read without a campaign (simulate's)."""
    from datetime import date

    from cascade.timing.instants import parse_instant

    path = tmp_path / "tra-loi.csv"
    path.write_text(
        "Thời gian;Unit;TASK;attendees;members\n"
        "05/12 15h30;p-bac-ha;hn-co-so;40;45\n"
        "ngày 6/12 lúc 9 giờ;p-nam-ha;hn-co-so;40;45\n"
        "7-12;x-thien-loc;hn-co-so;40;45\n",
        encoding="utf-8",
    )
    assert import_table(campaign, CID, path, "cli", NOW) == (3, 0)  # (NOW: 10/01/2021)
    assert [(unit, at) for unit, _, at, _, _ in signals(campaign)] == [
        ("p-bac-ha", when("2020-12-05 15:30")),
        ("p-nam-ha", when("2020-12-06 09:00")),
        ("x-thien-loc", when("2020-12-07 00:00")),
    ]
    ahead = tmp_path / "sau.csv"
    ahead.write_text(
        "Thời gian;Unit;TASK;attendees;members\n15/01;x-vuong-loc;hn-co-so;40;45\n", encoding="utf-8"
    )
    with pytest.raises(SignalRefused) as refused:
        import_table(campaign, CID, ahead, "cli", NOW)
    assert "`15/01` has no year, and no 15/01 has come since the campaign was issued (10/11/2020): " in str(
        refused.value
    )
    assert "write its year, e.g. 15/01/2021" in str(refused.value)
    assert import_table(campaign, CID, ahead, "cli", NOW, allow_future=True) == (1, 0)  # (as the flag says)
    assert parse_instant("15/12 8h", TZ, span=(date(2020, 11, 10), date(2021, 12, 20))) == when(
        "2021-12-15 08:00"
    )
    with pytest.raises(ValueError, match="`15/12` has no year: write it"):
        parse_instant("15/12", TZ)  # (a file read without its campaign)


def test_a_csv_in_the_windows_vietnamese_code_page(campaign: Engine, tmp_path: Path) -> None:
    path = tmp_path / "tra-loi.csv"
    path.write_bytes(cp1258(SEMICOLON.removeprefix("\ufeff")))
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")  # what the file is: not UTF-8
    [first, second] = load_signals(path, TZ)
    assert (first.unit, first.note) == ("Đảng ủy phường Bắc Hà", "báo qua điện thoại")
    assert second.note == "Công văn 45-CV/HU"
    assert import_table(campaign, CID, path, "cli", NOW) == (2, 0)
    assert [row[0] for row in signals(campaign)] == ["p-bac-ha", "p-nam-ha"]


def workbook(path: Path) -> None:
    """A workbook as `cascade template` sends it out and a district fills it in: a sheet per
    district, titled headers, a row per unit, the units not done left blank."""
    book = openpyxl.Workbook()
    header = [
        "Mã đơn vị (unit)",
        "Tên đơn vị (name)",
        "Việc (task)",
        "Thời gian hoàn thành (at)",
        "Số đảng viên dự (attendees)",
        "Tổng số đảng viên (members)",
        "Ghi chú (note)",
    ]
    first = book.active
    first.title = "Thành ủy Hà Tĩnh"
    first.append(header)
    first.append(["p-bac-ha", "Đảng ủy phường Bắc Hà", "hn-co-so", datetime(2020, 12, 5, 9), 40, 45, None])
    first.append(["p-nam-ha", "Đảng ủy phường Nam Hà", "hn-co-so", None, None, None, None])  # not done yet
    first.append(
        [None, "Đảng ủy phường Tân Giang", "hn-co-so", datetime(2020, 12, 7, 8), 38.0, 40.0, "qua Zalo"]
    )
    second = book.create_sheet("Huyện ủy Can Lộc")
    second.append(header)
    second.append(["x-thien-loc", "Đảng ủy xã Thiên Lộc", "hn-co-so", "08/12/2020 10:00", "50", "60", None])
    book.create_sheet("Ghi chú")  # an empty sheet
    book.save(path)


def test_a_workbook_written_by_openpyxl(campaign: Engine, tmp_path: Path) -> None:
    path = tmp_path / "tra-loi.xlsx"
    workbook(path)
    assert import_table(campaign, CID, path, "cli", NOW) == (3, 0)
    assert signals(campaign) == [
        ("p-bac-ha", "hn-co-so", when("2020-12-05 09:00"), {"attendees": 40, "members": 45}, None),
        ("p-tan-giang", "hn-co-so", when("2020-12-07 08:00"), {"attendees": 38, "members": 40}, "qua Zalo"),
        ("x-thien-loc", "hn-co-so", when("2020-12-08 10:00"), {"attendees": 50, "members": 60}, None),
    ]
    assert len(load_signals(path, TZ)) == 3  # the same rows, read whole (simulate --signals)


def test_a_workbook_written_by_libreoffice_from_a_csv(campaign: Engine, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None or not CALC.exists():
        if os.environ.get("CASCADE_REQUIRE_DOCTOOLS"):
            pytest.fail("CASCADE_REQUIRE_DOCTOOLS is set but LibreOffice Calc is missing")
        pytest.skip("LibreOffice Calc missing (./test.sh installs libreoffice-calc-nogui as root)")
    source = tmp_path / "gui-len.csv"
    source.write_text(
        "at,unit,task,attendees,members,note\n"
        "2020-12-05 09:00,p-bac-ha,hn-co-so,40,45,Công văn 45-CV/HU\n"
        "2020-12-06 14:30,Đảng ủy phường Nam Hà,hn-co-so,41,44,\n",
        encoding="utf-8",
    )
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--infilter=CSV:44,34,76,1",
         "--convert-to", "xlsx", "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    converted = tmp_path / "gui-len.xlsx"
    cells = next(
        openpyxl.load_workbook(converted, read_only=True).active.iter_rows(min_row=2, values_only=True)
    )
    assert isinstance(cells[0], datetime) and isinstance(cells[3], int | float)  # typed cells, not text
    assert import_table(campaign, CID, converted, "cli", NOW) == (2, 0)
    assert signals(campaign) == [
        (
            "p-bac-ha",
            "hn-co-so",
            when("2020-12-05 09:00"),
            {"attendees": 40, "members": 45},
            "Công văn 45-CV/HU",
        ),
        ("p-nam-ha", "hn-co-so", when("2020-12-06 14:30"), {"attendees": 41, "members": 44}, None),
    ]


def test_a_unit_named_wrongly_gets_the_nearest_name_and_nothing_is_stored(
    campaign: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "tra-loi.csv"
    path.write_text(
        "at;unit;task;attendees;members\n"
        "05/12/2020 09:00;Đảng ủy phường Bắc Hà;hn-co-so;40;45\n"
        "05/12/2020 09:00;Đảng ủy phường Bắc Hải;hn-co-so;40;45\n"
        "05/12/2020 09:00;p-nam-haa;hn-co-so;40;45\n",
        encoding="utf-8",
    )
    with pytest.raises(SignalRefused) as refused:
        import_table(campaign, CID, path, "cli", NOW)
    [by_name, by_id] = refused.value.problems
    assert by_name.line == 3 and "no unit `Đảng ủy phường Bắc Hải`" in by_name.message
    assert "Đảng ủy phường Bắc Hà" in by_name.message  # the did-you-mean, on names
    assert by_id.line == 4 and "p-nam-ha`?" in by_id.message  # and on ids
    assert signals(campaign) == []


@pytest.mark.parametrize(
    ("second", "written"),
    [
        ("Đảng ủy xã C", "Đảng ủy xã C"),  # the same name
        ("Đảng Ủy Xã C", "đảng ủy xã c"),  # the same but for capitals: loosely, two units again
    ],
)
def test_two_units_of_one_name_must_be_named_by_id(
    store_engine: Engine, tmp_path: Path, second: str, written: str
) -> None:
    from tests.conftest import compile_text
    from tests.test_summary import TASKS

    units = _small_with_twin().replace("x-c2, name: Đảng ủy xã C,", f"x-c2, name: {second},")
    twin = compile_text(TASKS, units_yaml=units)
    deploy(store_engine, twin, "s", twin.campaign.issued_at)
    path = tmp_path / "s.csv"
    path.write_text(f"at,unit,task,attendees,members\n05/12/2020 09:00,{written},hn-co-so,30,40\n", "utf-8")
    with pytest.raises(SignalRefused) as refused:
        import_table(store_engine, twin.campaign.id, path, "cli", NOW)
    [problem] = refused.value.problems
    assert problem.message == f"2 units are named `{written}` (`x-c`, `x-c2`); name it by its id"


def _small_with_twin() -> str:
    from tests.conftest import SMALL_UNITS

    contacts = "[{role: head, email: c2@example.vn}]"
    twin = f"          - {{id: x-c2, name: Đảng ủy xã C, level: grassroots, contacts: {contacts}}}\n"
    lines = SMALL_UNITS.splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if "id: x-d" in line)
    return "".join([*lines[: at + 1], twin, *lines[at + 1 :]])


def test_the_files_excel_used_to_be_refused_for(tmp_path: Path) -> None:
    """Before: an .xlsx was "not UTF-8 text" and a `;` CSV "missing at, unit, task"."""
    book = tmp_path / "a.xlsx"
    workbook(book)
    semicolon = tmp_path / "b.csv"
    semicolon.write_bytes(SEMICOLON.encode("utf-8"))
    assert [s.unit for s in load_signals(book, TZ)] == ["p-bac-ha", "Đảng ủy phường Tân Giang", "x-thien-loc"]
    assert [s.unit for s in load_signals(semicolon, TZ)] == ["Đảng ủy phường Bắc Hà", "p-nam-ha"]


def test_a_file_that_is_not_what_its_name_says_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "tra-loi.xlsx"
    fake.write_text("at,unit,task\n", "utf-8")
    with pytest.raises(SignalRefused) as refused:
        load_signals(fake, TZ)
    [problem] = refused.value.problems
    assert problem.file == str(fake) and "not an Excel workbook" in problem.message and problem.hint
    headless = tmp_path / "x.csv"
    headless.write_text("thoi gian;don vi\n05/12/2020;p-bac-ha\n", "utf-8")
    with pytest.raises(SignalRefused) as refused:
        load_signals(headless, TZ)
    [problem] = refused.value.problems
    assert problem.key == "header" and "missing column(s) `at`, `unit`, `task`" in problem.message


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # Microsoft's compound file: .xls, or a locked .xlsx


def refusal(path: Path) -> tuple[str, str]:
    with pytest.raises(SignalRefused) as refused:
        load_signals(path, TZ)
    [problem] = refused.value.problems
    assert problem.file == str(path) and problem.hint
    return problem.message, problem.hint


def test_workbooks_it_cannot_read_are_refused_with_the_fix(tmp_path: Path) -> None:
    """A district's reply saved as an Excel 97-2003 .xls was read as YAML ("expected `signals:`
    with a list of signals") or "not UTF-8 text: save the file as UTF-8"; one with a password,
    "not an Excel workbook"; and an import of a folder passed the .xls over without a word. Each
    is refused, saying what the file is and how to save it; a macro-enabled .xlsm is read."""
    old = tmp_path / "tra-loi.xls"
    old.write_bytes(OLE2)
    message, hint = refusal(old)
    assert "an Excel 97-2003 workbook (.xls), which Cascade does not read" in message
    assert "open it in Excel and save it as an Excel Workbook (.xlsx)" in hint
    renamed = tmp_path / "doi-ten.xls"
    workbook(renamed)
    message, hint = refusal(renamed)
    assert "an Excel workbook (.xlsx) named .xls" in message
    assert f"rename it {tmp_path / 'doi-ten.xlsx'}" in hint
    locked = tmp_path / "co-mat-khau.xlsx"
    locked.write_bytes(OLE2)
    message, hint = refusal(locked)
    assert "the workbook is protected by a password" in message and "remove the password" in hint
    calc = tmp_path / "libreoffice.ods"
    calc.write_bytes(b"PK\x03\x04" + bytes(100))
    message, hint = refusal(calc)
    assert "an OpenDocument spreadsheet (.ods), which Cascade does not read" in message
    assert "save it from LibreOffice Calc as an Excel workbook (.xlsx)" in hint
    macros = tmp_path / "macro.xlsm"
    workbook(macros)
    read = [s.unit for s in load_signals(macros, TZ)]
    assert read == ["p-bac-ha", "Đảng ủy phường Tân Giang", "x-thien-loc"]


def test_excel_text_exports_are_read_as_tables(campaign: Engine, tmp_path: Path) -> None:
    """Excel's "Unicode Text (*.txt)" (UTF-16, tab-separated) and "Text (Tab delimited)" saved
    as .tsv were read as YAML: "expected `signals:` with a list of signals"."""
    sheet = SEMICOLON.replace(";", "\t").lstrip("\ufeff")
    unicode_text = tmp_path / "tra-loi.txt"
    unicode_text.write_bytes(sheet.encode("utf-16"))  # with its byte-order mark, as Excel writes it
    tabbed = tmp_path / "tra-loi.tsv"
    tabbed.write_bytes(sheet.encode("utf-8"))
    for path in (unicode_text, tabbed):
        read = load_signals(path, TZ)
        assert [(s.unit, s.fields) for s in read] == [
            ("Đảng ủy phường Bắc Hà", {"attendees": "40", "members": "45"}),
            ("p-nam-ha", {"attendees": "1.234", "members": "1.300"}),
        ], read
    assert import_table(campaign, CID, unicode_text, "cli", NOW) == (2, 0)  # as `signal --import` reads it
    assert import_table(campaign, CID, tabbed, "cli", NOW) == (0, 2)


def test_a_file_that_writes_its_dates_month_first_is_refused_whole(campaign: Engine, tmp_path: Path) -> None:
    """A CSV saved by Excel in a US region writes 7 December as 12/7/2020: the rows whose day is
    past 12 were refused ("no month 15; 15/12/2020?"), and those that read both ways were taken
    day first, 12 July, without a word; fixing the refused rows as told imported the others
    wrong. Once a file shows it writes the month first, every date that reads both ways is
    refused with it, named, so that the file is saved again rather than patched."""
    us = tmp_path / "tra-loi.csv"
    us.write_text(
        "at,unit,task,attendees,members\n"
        "12/7/2020 9:00,p-bac-ha,hn-co-so,40,45\n"
        "12/15/2020 14:30,p-nam-ha,hn-co-so,50,60\n"
        "12/12/2020 8:00,x-thien-loc,hn-co-so,30,31\n",  # (the same day either way)
        encoding="utf-8",
    )
    for read in (lambda: load_signals(us, TZ), lambda: import_table(campaign, CID, us, "cli", NOW)):
        with pytest.raises(SignalRefused) as refused:
            read()
        said = {(p.line, p.message) for p in refused.value.problems}
        assert said == {
            (3, "`12/15/2020` has no month 15; did you mean 15/12/2020?"),
            (
                2,
                "`12/7/2020` would be read day first, 12/07/2020, but this file writes the month first "
                "(line 3: `12/15/2020`): did you mean 07/12/2020?",
            ),
        }, said
        [hint] = {p.hint for p in refused.value.problems if p.line == 2}
        assert hint == (
            "write every date of the file day first, dd/mm/yyyy (in Excel: select the column, Format Cells, "
            "Date, locale Vietnamese), or send the workbook (.xlsx) itself"
        )
    day_first = tmp_path / "dung.csv"  # a file that writes the day first, one date past 12: as it was
    day_first.write_text(
        "at,unit,task,attendees,members\n07/12/2020 9:00,p-bac-ha,hn-co-so,40,45\n"
        "15/12/2020 14:30,p-nam-ha,hn-co-so,50,60\n",
        encoding="utf-8",
    )
    assert [s.at.day for s in load_signals(day_first, TZ)] == [7, 15]


def test_a_text_file_of_yaml_signals_is_still_read_as_yaml(tmp_path: Path) -> None:
    """Since Excel's text exports are read as tables, a .txt that an operator typed in YAML
    (`signals:` and its list, as §5 writes them) was read as a table: "missing column(s)". Its
    text tells which it is."""
    typed = tmp_path / "tin-hieu.txt"
    typed.write_text(
        "# gửi từ huyện\nsignals:\n"
        "  - {at: 2020-11-18 10:00, unit: p-bac-ha, task: conference, fields: {attendees: 40}}\n",
        encoding="utf-8",
    )
    assert not is_table(typed)
    [signal] = load_signals(typed, TZ)
    assert (signal.unit, signal.task, signal.fields) == ("p-bac-ha", "conference", {"attendees": 40})
    tabbed = tmp_path / "tra-loi.txt"
    tabbed.write_bytes(SEMICOLON.replace(";", "\t").lstrip("\ufeff").encode("utf-16"))
    assert is_table(tabbed)


def test_a_sheet_of_no_signals_in_a_reply_says_how_to_leave_it_out(tmp_path: Path) -> None:
    """A district's reply with a summary sheet of its own ("Tổng hợp") was refused with "missing
    column(s) `at`, `unit`, `task`" and the hint to name them, which fits a sheet of signals.
    A sheet with none of the three is told how to leave it out: hidden, it is not read."""
    path = tmp_path / "tra-loi.xlsx"
    workbook(path)
    book = openpyxl.load_workbook(path)
    summary = book.create_sheet("Tổng hợp")
    summary.append(["BÁO CÁO TỔNG HỢP"])
    summary.append(["Tổng số cơ sở", "Đã tổ chức", "Tỷ lệ"])
    summary.append([25, 1, "4%"])
    book.save(path)
    with pytest.raises(SignalRefused) as refused:
        load_signals(path, TZ)
    [problem] = refused.value.problems
    assert problem.file == f"{path}, sheet Tổng hợp"
    assert "missing column(s)" in problem.message
    assert problem.hint == (
        "a sheet of signals names its columns Thời gian (at), Đơn vị (unit) or Tên đơn vị, Việc (task); a "
        "sheet that holds none (a summary added to the reply) is left out when hidden (right-click its "
        "tab: Hide) or deleted"
    )
    summary.sheet_state = "hidden"
    book.save(path)
    assert [s.unit for s in load_signals(path, TZ)] == ["p-bac-ha", "Đảng ủy phường Tân Giang", "x-thien-loc"]


def test_headers_are_read_by_their_key_or_their_vietnamese_name() -> None:
    assert header_key("Số đảng viên dự (attendees)", ALIASES) == "attendees"
    assert header_key("  Đơn  vị ", ALIASES) == "unit"
    assert header_key("GHI CHÚ", ALIASES) == "note"
    assert header_key("members", ALIASES) == "members"


# ---- the answer workbook: sent out, filled in, imported back ---------------------------------


def test_a_template_under_a_unit_has_a_sheet_for_each_unit_just_below_it(store_engine: Engine) -> None:
    """`cascade template … --under "Tỉnh ủy 6"` of a five-level campaign put the province's 900
    cells on one sheet: the sheets were the units at the second level, the province itself. The
    sheets are the units just below the one chosen (a province's districts), so that each is sent
    its own; units right below it share its sheet, as a district's communes do. Here, four levels:
    under a district, a sheet per commune."""
    from cascade.views.answer_sheet import answer_sheet
    from tests.conftest import compile_text

    def unit(uid: str, level: str, children: str = "", pad: str = "") -> str:
        head = f"{pad}- id: {uid}\n{pad}  name: Đảng ủy {uid}\n{pad}  level: {level}\n"
        head += f"{pad}  contacts: [{{role: head, email: {uid}@example.vn}}]\n"
        return head + (f"{pad}  children:\n{children}" if children else "")

    def cells(commune: str, pad: str) -> str:
        return "".join(unit(f"{commune}-c{n}", "cell", pad=pad) for n in (1, 2))

    def communes(district: str, pad: str) -> str:
        return "".join(
            unit(f"{district}-x{n}", "commune", cells(f"{district}-x{n}", pad + "    "), pad) for n in (1, 2)
        )

    districts = "".join(unit(f"h{n}", "district", communes(f"h{n}", "        "), "      ") for n in (1, 2, 3))
    units = "levels: [province, district, commune, cell]\nunits:\n" + unit("t", "province", districts, "  ")
    tasks = "tasks:\n  - {id: hn, title: Hội nghị chi bộ, level: cell, due: {before: 15/12/2020}}"
    deploy(store_engine, compile_text(tasks, units), "source", pendulum.datetime(2020, 11, 10, 8, tz=TZ))
    with store_engine.connect() as conn:
        whole = answer_sheet(conn, "test-campaign", "hn")
        district = answer_sheet(conn, "test-campaign", "hn", "h2")
        commune = answer_sheet(conn, "test-campaign", "hn", "h2-x1")
    assert [(g.id, len(g.units)) for g in whole.groups] == [("h1", 4), ("h2", 4), ("h3", 4)]
    assert [(g.id, [u.id for u in g.units]) for g in district.groups] == [
        ("h2-x1", ["h2-x1-c1", "h2-x1-c2"]),
        ("h2-x2", ["h2-x2-c1", "h2-x2-c2"]),
    ]
    assert [(g.id, g.name, len(g.units)) for g in commune.groups] == [("h2-x1", "Đảng ủy h2-x1", 2)]


def _deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A command runner over a data folder of its own, Hà Tĩnh's campaign deployed in it."""
    from typer.testing import CliRunner

    from cascade.cli import app

    monkeypatch.setenv("CASCADE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CASCADE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["deploy", str(CAMPAIGN)]).exit_code == 0
    return runner


def test_a_reports_template_has_a_column_for_each_figure_it_rolls_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's workbook had no column for its figures (the conference's attendees and
    members, the counts of units done): a district could send back when it reported, not what it
    counted. Each roll-up figure but the rates has its column, headed with its key; a figure
    filled in is the report's, one left blank leaves the rolled-up figure to stand."""
    from cascade.cli import app

    runner = _deployed(tmp_path, monkeypatch)
    out = tmp_path / "bao-cao.xlsx"
    made = runner.invoke(
        app, ["template", CID, "--task", "bc-tien-do", "--under", "hu-can-loc", "--out", str(out)]
    )
    assert made.exit_code == 0, made.output
    sheet = openpyxl.load_workbook(out)["Huyện ủy Can Lộc"]
    header = [c.value for c in sheet[3]]
    assert header[5:] == [
        "Thời gian gửi báo cáo (at)",
        "Số đảng viên dự («Hội nghị toàn thể đảng viên cấp cơ sở») (hn-co-so.attendees)",
        "Tổng số đảng viên («Hội nghị toàn thể đảng viên cấp cơ sở») (hn-co-so.members)",
        "Số đơn vị đã hoàn thành «Hội nghị toàn thể đảng viên cấp cơ sở» (hn-co-so.done)",
        "Số đơn vị hoàn thành muộn «Hội nghị toàn thể đảng viên cấp cơ sở» (hn-co-so.late)",
        "Số đơn vị chưa hoàn thành «Hội nghị toàn thể đảng viên cấp cơ sở» (hn-co-so.missing)",
        "Ghi chú (note)",
    ], header
    assert "để trống thì dùng số liệu tổng hợp" in sheet["A2"].value
    first = next(r for r in sheet.iter_rows(min_row=4) if r[0].value)
    first[5].value, first[6].value = "15/01/2021 09:00", "1.234"
    sheet.parent.save(out)
    filled = runner.invoke(app, ["signal", CID, "--import", str(out)])
    assert filled.exit_code == 0, filled.output
    engine = store.open_store(f"sqlite:///{tmp_path / 'data' / 'cascade.db'}")
    [(unit, task, *_rest)] = signals(engine)
    with engine.connect() as conn:
        [figures] = conn.execute(select(store.signals.c.fields)).scalars()
    assert (unit, task, figures) == (first[0].value, "bc-tien-do", {"hn-co-so.attendees": 1234})
    # a figure named by its title, as the official reads it, as a field is
    by_title = ["signal", CID, "hu-can-loc", "bc-tien-do", "--at", "16/01/2021 09:00"]
    by_title += [
        "-f",
        "Số đảng viên dự=2.345",
        "-f",
        "số đơn vị đã hoàn thành «hội nghị toàn thể đảng viên cấp cơ sở»=12",
    ]
    told = runner.invoke(app, by_title)
    assert told.exit_code == 0, told.output
    with engine.connect() as conn:
        fields = conn.execute(
            select(store.signals.c.fields).where(store.signals.c.unit_id == "hu-can-loc")
        ).scalar_one()
    assert fields == {"hn-co-so.attendees": 2345, "hn-co-so.done": 12}
    # ("Số ĐV dự", the abbreviation, names it as it names a task's own field)
    abbreviated = [
        "signal",
        CID,
        "hu-nghi-xuan",
        "bc-tien-do",
        "--at",
        "16/01/2021 09:00",
        "-f",
        "Số ĐV dự=7",
    ]
    assert runner.invoke(app, abbreviated).exit_code == 0
    with engine.connect() as conn:
        fields = conn.execute(
            select(store.signals.c.fields).where(store.signals.c.unit_id == "hu-nghi-xuan")
        ).scalar_one()
    assert fields == {"hn-co-so.attendees": 7}


def test_the_template_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cascade.cli import app

    runner = _deployed(tmp_path, monkeypatch)
    out = tmp_path / "hn-co-so.xlsx"
    made = runner.invoke(app, ["template", CID, "--task", "hn-co-so", "--out", str(out)])
    assert made.exit_code == 0, made.output
    book = openpyxl.load_workbook(out)
    plan = load_plan(CAMPAIGN)
    districts = [u for u in plan.hierarchy.children[plan.hierarchy.root.id] if u != "mttq-ha-tinh"]
    owed = {i.unit for i in plan.instances if i.task == "hn-co-so"}
    # a sheet per district that has units owing the task, named as the district is
    named = {
        plan.hierarchy.units[d].name[:31] for d in districts if set(plan.hierarchy.children.get(d, [])) & owed
    }
    assert set(book.sheetnames) == named
    sheet = book["Huyện ủy Can Lộc"]
    assert sheet["A1"].value == "# «Hội nghị toàn thể đảng viên cấp cơ sở» — Huyện ủy Can Lộc"
    header = [c.value for c in sheet[3]]
    assert header == [
        "Mã đơn vị (unit)", "Tên đơn vị (name)", "Việc (task)", "Tình trạng (state)", "Hạn chót (deadline)",
        "Thời gian hoàn thành (at)", "Số đảng viên dự (attendees)", "Tổng số đảng viên (members)",
        "Ghi chú (note)",
    ]  # fmt: skip
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    can_loc = sorted(u for u in plan.hierarchy.children["hu-can-loc"] if u in owed)
    assert sorted(r[0] for r in rows) == can_loc
    assert all(r[2] == "hn-co-so" and r[4] == "14/01/2021" for r in rows)  # due before 15/01: its last day
    # sent back unchanged: nothing to record, nothing refused
    unchanged = runner.invoke(app, ["signal", CID, "--import", str(out)])
    assert unchanged.exit_code == 0 and "holds no signals" in unchanged.stderr
    # filled in by the district: two units done, one with a note; saved by openpyxl as Excel would
    sheet["F4"], sheet["G4"], sheet["H4"] = datetime(2020, 12, 20, 9), 40, 45
    sheet["F5"], sheet["G5"], sheet["H5"], sheet["I5"] = "21/12/2020 14:00", "38", "40", "Công văn 45-CV/HU"
    book.save(out)
    filled = runner.invoke(app, ["signal", CID, "--import", str(out)])
    assert filled.exit_code == 0, filled.output
    assert "2 signal(s) recorded" in filled.stderr
    engine = store.open_store(f"sqlite:///{tmp_path / 'data' / 'cascade.db'}")
    got = {(unit, note) for unit, *_, note in signals(engine)}
    assert got == {(rows[0][0], None), (rows[1][0], "Công văn 45-CV/HU")}
    # one district's sheet only, under it
    one = tmp_path / "can-loc.xlsx"
    assert (
        runner.invoke(
            app, ["template", CID, "--task", "hn-co-so", "--under", "hu-can-loc", "--out", str(one)]
        ).exit_code
        == 0
    )
    assert openpyxl.load_workbook(one).sheetnames == ["Huyện ủy Can Lộc"]
    # the district named as the operator reads it, and the refusals in the operator's language
    by_name = tmp_path / "by-name.xlsx"
    under = ["template", CID, "--task", "hn-co-so", "--under", "Huyện ủy Can Lộc", "--out", str(by_name)]
    assert runner.invoke(app, under).exit_code == 0
    assert openpyxl.load_workbook(by_name).sheetnames == ["Huyện ủy Can Lộc"]
    status = runner.invoke(app, ["status", CID, "--under", "Huyện ủy Can Lộc", "--format", "json"])
    assert status.exit_code == 0, status.output
    wrong = runner.invoke(app, ["template", CID, "--task", "hn-co-sp", "--out", str(one)])
    assert wrong.exit_code == 1 and "no task or report `hn-co-sp`" in wrong.stderr
    told = runner.invoke(app, ["--lang", "vi", "template", CID, "--task", "hn-co-sp", "--out", str(one)])
    i18n.use("en")
    said = " ".join(told.stderr.split())
    assert "không có việc hay báo cáo `hn-co-sp`; có phải là `hn-co-so` («Hội nghị toàn thể" in said, said
    # the task named after the campaign, as `signal` and `extend` name it, and `-o` as `summary`
    # takes it: "Missing option '--task'", then "No such option: -o"
    positional = tmp_path / "positional.xlsx"
    made = runner.invoke(app, ["template", CID, "hn-co-so", "--under", "hu-can-loc", "-o", str(positional)])
    assert made.exit_code == 0, made.output
    assert openpyxl.load_workbook(positional).sheetnames == ["Huyện ủy Can Lộc"]
    for twice_or_none in (["hn-co-so", "--task", "hn-co-so"], []):
        refused = runner.invoke(app, ["template", CID, *twice_or_none, "-o", str(positional)])
        assert refused.exit_code == 1
        assert "name the task once: cascade template CAMPAIGN TASK --out FILE.xlsx" in refused.stderr


def test_sheet_names_keep_to_excel_rules() -> None:
    from cascade.reports.answer_book import sheet_names

    long = "Đảng ủy Khối các cơ quan và doanh nghiệp tỉnh"
    assert sheet_names(["Huyện ủy A", "huyện ủy a", long, "A/B: [C]"]) == [
        "Huyện ủy A",
        "huyện ủy a (2)",
        long[:31],
        "A-B- -C-",
    ]


def test_a_signal_breaking_a_check_between_figures_is_refused(campaign: Engine) -> None:
    from cascade.engine.signals import Signal, record

    too_many = Signal("p-bac-ha", "hn-co-so", when("2020-12-05 09:00"), {"attendees": "50", "members": "45"})
    with pytest.raises(SignalRefused) as refused:
        record(campaign, CID, [too_many], "cli", NOW)
    [problem] = refused.value.problems
    # (it read "the check `attendees <= members` fails: ...": the campaign file's expression, in its
    # ids, on the form an official fills in)
    assert problem.message == (
        "Số đảng viên dự (attendees) cannot be more than Tổng số đảng viên (members): 50 against 45"
    )
    assert signals(campaign) == []
    equal = Signal("p-bac-ha", "hn-co-so", when("2020-12-05 09:00"), {"attendees": "45", "members": "45"})
    assert record(campaign, CID, [equal], "cli", NOW) == (1, 0)


def test_a_name_in_other_capitals_or_spacing_names_its_unit(campaign: Engine, tmp_path: Path) -> None:
    """Offices write "Huyện Ủy Can Lộc" as often as "Huyện ủy Can Lộc", and a sheet typed by
    hand doubles a space: each was "no unit", and the whole import refused. A name that is the
    unit's but for capitals and spacing names it, when it names one unit only."""
    written = (
        "at;unit;task;attendees;members\n"
        "05/12/2020 09:00;ĐẢNG ỦY PHƯỜNG BẮC HÀ;hn-co-so;40;45\n"
        "05/12/2020 10:00;đảng ủy  phường Nam Hà ;hn-co-so;30;35\n"
    )
    assert [(unit, task) for unit, task, *_rest in imported(campaign, tmp_path, written)] == [
        ("p-bac-ha", "hn-co-so"),
        ("p-nam-ha", "hn-co-so"),
    ]


def test_a_name_or_title_typed_without_its_marks_names_its_unit_or_task(
    campaign: Engine, tmp_path: Path
) -> None:
    """A reply typed with the Vietnamese keyboard off ("dang uy phuong bac ha", "Hoi nghi toan the
    dang vien cap co so") was "no unit" and "no task": the import refused, the suggestion an id.
    A name or title with no marks at all names the one unit or task that is it but for its marks;
    one written with marks is matched only as written, and two units alike but for their marks
    (Tân Thành, Tân Thạnh) are told as two."""
    from cascade.engine.deployed import loosely_named

    written = "at;unit;task;attendees;members\n"
    written += "05/12/2020 09:00;dang uy phuong  Bac Ha;Hoi nghi toan the dang vien cap co so;40;45\n"
    assert [(unit, task) for unit, task, *_rest in imported(campaign, tmp_path, written)] == [
        ("p-bac-ha", "hn-co-so")
    ]
    with pytest.raises(SignalRefused, match="no unit `Đảng ủy phường Bắc Hả`"):  # (marks, not its)
        imported(campaign, tmp_path, written.replace("dang uy phuong  Bac Ha", "Đảng ủy phường Bắc Hả"))
    alike = [("x-tan-thanh", "Xã Tân Thành"), ("x-tan-thanh-2", "Xã Tân Thạnh"), ("x-my", "Xã Mỹ Phước")]
    assert loosely_named(["xa tan thanh", "xa my phuoc", "Xã Tân Thanh"], alike) == {
        "xa tan thanh": [("x-tan-thanh", "Xã Tân Thành"), ("x-tan-thanh-2", "Xã Tân Thạnh")],
        "xa my phuoc": [("x-my", "Xã Mỹ Phước")],
    }


def imported(campaign: Engine, tmp_path: Path, written: str) -> list[tuple[Any, ...]]:
    """The signals stored once a CSV of `written` is imported."""
    path = tmp_path / "tra-loi.csv"
    path.write_text(written, encoding="utf-8")
    import_table(campaign, CID, path, "cli", NOW)
    return signals(campaign)


def test_a_title_above_the_header_is_passed_over(campaign: Engine, tmp_path: Path) -> None:
    """An office's sheet opens with its title ("DANH SÁCH ...", merged over the columns) and a
    blank row: the title was taken for the header, "missing columns unit, task, at"."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["BÁO CÁO KẾT QUẢ HỘI NGHỊ CƠ SỞ"])
    sheet.append([])
    header = ["Thời gian", "Đơn vị", "Việc", "Số đảng viên dự (attendees)", "Tổng số đảng viên (members)"]
    sheet.append(header)
    sheet.append(["05/12/2020 09:00", "Đảng ủy phường Bắc Hà", "hn-co-so", 40, 45])
    sheet.merge_cells("A1:E1")
    xlsx = tmp_path / "tra-loi.xlsx"
    book.save(xlsx)
    import_table(campaign, CID, xlsx, "cli", NOW)
    as_csv = (  # as Excel saves that sheet: the title padded with separators
        '"BÁO CÁO KẾT QUẢ HỘI NGHỊ CƠ SỞ, PHƯỜNG NAM HÀ";;;;\n;;;;\n'
        "Thời gian;Đơn vị;Việc;Số đảng viên dự (attendees);Tổng số đảng viên (members)\n"
        "06/12/2020 14:30;p-nam-ha;hn-co-so;30;35\n"
    )
    stored = imported(campaign, tmp_path, as_csv)
    assert [(unit, fields) for unit, _task, _at, fields, _note in stored] == [
        ("p-bac-ha", {"attendees": 40, "members": 45}),
        ("p-nam-ha", {"attendees": 30, "members": 35}),
    ]
    bad = tmp_path / "sai.csv"
    bad.write_text("DANH SÁCH\nat,unit,task\n05/12/2020 09:00,p-nam-ha,hn-khong-co\n", encoding="utf-8")
    with pytest.raises(SignalRefused) as refused:
        import_table(campaign, CID, bad, "cli", NOW)
    assert refused.value.problems[0].line == 3  # the file's own line, the title counted


def test_a_districts_own_sheet_is_read_by_the_headers_it_writes(campaign: Engine, tmp_path: Path) -> None:
    """A commune's own reply, headed as its office heads a table ("Tên chi bộ", "Nội dung", "Ngày
    tổ chức", "Số ĐV dự"), was "missing column(s) `at`, `unit`, `task`", and the hint named the
    columns only by their English keys."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["STT", "Tên chi bộ", "Nội dung", "Ngày tổ chức", "Số ĐV dự", "Tổng số ĐV", "Ghi chú"])
    sheet.append(
        [
            1,
            "Đảng ủy phường Bắc Hà",
            "Hội nghị toàn thể đảng viên cấp cơ sở",
            datetime(2020, 12, 5, 9),
            40,
            45,
            "",
        ]
    )
    reply = tmp_path / "tra-loi.xlsx"
    book.save(reply)
    assert import_table(campaign, CID, reply, "cli", NOW) == (1, 0)
    [(unit, task, at, fields, _note)] = signals(campaign)
    assert (unit, task, at, fields) == (
        "p-bac-ha",
        "hn-co-so",
        when("2020-12-05 09:00"),
        {"attendees": 40, "members": 45},
    )
    sheet["B1"] = "Chi bộ"  # (no such header: told the columns it may have, in words)
    book.save(reply)
    with pytest.raises(SignalRefused) as refused:
        import_table(campaign, CID, reply, "cli", NOW)
    [problem] = refused.value.problems
    assert problem.message == "missing column(s) `unit`"
    assert problem.hint == (
        "the first row names the columns: Thời gian (at), Đơn vị (unit) or Tên đơn vị, Việc (task), then "
        "the figures (e.g. Số đảng viên dự)"
    )


def test_a_row_number_column_is_passed_over(campaign: Engine, tmp_path: Path) -> None:
    """Vietnamese tables open with "STT" (số thứ tự, the row's number): a units sheet was refused
    ("unknown column STT") and a signals sheet stored it as a figure the task does not have."""
    from cascade.compile.units import read_units_file

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["STT", "Mã", "Tên đơn vị", "Cấp", "Đơn vị cấp trên", "Email"])
    sheet.append([1, "tu-a", "Tỉnh ủy A", "Tỉnh", None, "a@example.vn"])
    sheet.append([2, "hu-b", "Huyện ủy B", "Huyện", "tu-a", "b@example.vn"])
    units = tmp_path / "don-vi.xlsx"
    book.save(units)
    assert sorted(read_units_file(units, "don-vi.xlsx").units) == ["hu-b", "tu-a"]
    signals_csv = tmp_path / "tra-loi.csv"
    signals_csv.write_text(
        "Số TT;Thời gian;Đơn vị;Việc;Số đảng viên dự (attendees);Tổng số đảng viên (members)\n"
        "1;05/12/2020 09:00;Đảng ủy phường Bắc Hà;hn-co-so;40;45\n",
        encoding="utf-8",
    )
    import_table(campaign, CID, signals_csv, "cli", NOW)
    stored = [fields for _unit, _task, _at, fields, _note in signals(campaign)]
    assert stored == [{"attendees": 40, "members": 45}]


def test_a_row_of_totals_under_the_table_is_passed_over(campaign: Engine, tmp_path: Path) -> None:
    """A commune's clerk sums the reply's figures on a last row, "Tổng cộng", as every Vietnamese
    table ends: the import was refused ("this row names no task"), and a units sheet's "Tổng cộng:
    7 đơn vị" row was a unit with no level. Such a row is no unit's: passed over, as the title is."""
    from cascade.compile.units import read_units

    written = "Thời gian,Đơn vị,Việc,Số đảng viên dự (attendees),Tổng số đảng viên (members)\n"
    written += "05/12/2020 09:00,Đảng ủy phường Bắc Hà,hn-co-so,40,45\n,TỔNG CỘNG:,,40,45\n"
    stored = imported(campaign, tmp_path, written)
    assert [(unit, fields) for unit, _task, _at, fields, _note in stored] == [
        ("p-bac-ha", {"attendees": 40, "members": 45})
    ]
    units = "Tên đơn vị,Cấp,Cấp trên,Email\nTỉnh ủy A,Tỉnh,,a@x.vn\nHuyện ủy B,Huyện,Tỉnh ủy A,b@x.vn\n"
    units += "Tổng cộng,,,\n"
    assert list(read_units(units, "don-vi.csv").units) == ["tinh-uy-a", "huyen-uy-b"]


def test_a_cell_merged_down_rows_holds_its_value_in_each(campaign: Engine, tmp_path: Path) -> None:
    """Excel keeps a merged cell's value in its first row only: a parent merged over its
    children's rows, or the task merged down a district's reply, left the rows below with none
    ("more than one top unit", "missing task"). A cell merged down fills its rows; one merged
    across (a title over the columns) stays one cell."""
    from cascade.compile.units import read_units_file

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["DANH SÁCH ĐƠN VỊ"])
    sheet.append(["Mã", "Tên đơn vị", "Cấp", "Đơn vị cấp trên", "Email"])
    sheet.append(["tu-a", "Tỉnh ủy A", "Tỉnh", None, "a@example.vn"])
    sheet.append(["hu-b", "Huyện ủy B", "Huyện", "tu-a", "b@example.vn"])
    sheet.append(["hu-c", "Huyện ủy C", "Huyện", None, "c@example.vn"])
    sheet.merge_cells("A1:E1")
    sheet.merge_cells("D4:D5")
    units = tmp_path / "don-vi.xlsx"
    book.save(units)
    hierarchy = read_units_file(units, "don-vi.xlsx")
    assert {uid: unit.parent for uid, unit in hierarchy.units.items()} == {
        "tu-a": None,
        "hu-b": "tu-a",
        "hu-c": "tu-a",
    }
    reply = openpyxl.Workbook()
    sheet = reply.active
    sheet.append(
        ["Thời gian", "Đơn vị", "Việc", "Số đảng viên dự (attendees)", "Tổng số đảng viên (members)"][:5]
    )
    sheet.append(["05/12/2020 09:00", "Đảng ủy phường Bắc Hà", "hn-co-so", 40, 45])
    sheet.append(["06/12/2020 14:30", "p-nam-ha", None, 30, 35])
    sheet.merge_cells("C2:C3")
    path = tmp_path / "tra-loi.xlsx"
    reply.save(path)
    import_table(campaign, CID, path, "cli", NOW)
    assert [(unit, task) for unit, task, *_rest in signals(campaign)] == [
        ("p-bac-ha", "hn-co-so"),
        ("p-nam-ha", "hn-co-so"),
    ]


def test_a_task_may_be_named_by_its_title_as_a_district_writes_it(campaign: Engine, tmp_path: Path) -> None:
    """A district's own sheet writes the task as people know it, by its title ("Hội nghị toàn thể
    đảng viên cấp cơ sở"), not its id: the whole file was refused, "no task or report". A title
    names its task when it names one (capitals and spacing aside), as a unit's name does."""
    path = tmp_path / "tra-loi.csv"
    path.write_text(
        "Thời gian;Đơn vị;Việc;attendees;members\n"
        "05/12/2020 09:00;p-bac-ha;Hội nghị toàn thể đảng viên cấp cơ sở;40;45\n"
        "06/12/2020 09:00;p-nam-ha;hội nghị  toàn thể Đảng viên cấp cơ sở;41;45\n",
        encoding="utf-8",
    )
    assert import_table(campaign, CID, path, "cli", NOW) == (2, 0)
    assert [(unit, task) for unit, task, *_rest in signals(campaign)] == [
        ("p-bac-ha", "hn-co-so"),
        ("p-nam-ha", "hn-co-so"),
    ]
    wrong = tmp_path / "sai.csv"
    wrong.write_text("Thời gian;Đơn vị;Việc\n05/12/2020 09:00;p-bac-ha;Hội nghị cơ sở\n", encoding="utf-8")
    with pytest.raises(SignalRefused) as refused:
        import_table(campaign, CID, wrong, "cli", NOW)
    assert "no task or report `Hội nghị cơ sở`" in refused.value.problems[0].message


def _conference(*fields: str) -> Any:
    """The rules of a grassroots conference with these figures (each `name: {spec}`)."""
    from cascade.plan.rules import TaskRules
    from tests.conftest import compile_text

    body = "tasks:\n  - {id: hn, title: Hội nghị, level: grassroots, due: {before: 15/12/2020}, fields: {"
    plan = compile_text(body + ", ".join(fields) + "}}\n")
    return TaskRules.of(plan.tasks["hn"])


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("45", 45),
        ("1.234", 1234),
        ("45,0", 45),  # Excel in the Vietnamese locale writes a number cell 45 so, formatted with a decimal
        ("45.0", 45),
        ("1 234", 1234),  # grouped with spaces, as some offices type them
        ("1\u00a0234", 1234),  # (Excel's no-break space)
        ("1.234,0", 1234),
        ("1.000", 1000),
        ("45.00", 45),
        ("45 đ/c", 45),  # a count and what it counts, as a district's reply types it
        ("45 Đồng chí", 45),
        ("1.234 đảng viên", 1234),
        ("45 người", 45),
    ],
)
def test_a_whole_number_as_vietnamese_offices_and_excel_write_it(written: str, meant: int) -> None:
    """ "45,0" (a number cell formatted with one decimal, saved by Vietnamese Excel) and "1 234"
    were "not a whole number", and so was "45 đ/c" (đồng chí: 45 comrades attended); what is not
    whole stays refused, and so does a count with more words than what it counts."""
    from cascade.engine.figures import check_fields

    rules = _conference("attendees: {type: int}")
    assert check_fields(rules, {"attendees": written}) == ({"attendees": meant}, [])
    for wrong in ("45,5", "1,234", "45 người vắng", "45/50", "đ/c", "4 5 6 7", "1 23", "bốn mươi,0"):
        values, errors = check_fields(rules, {"attendees": wrong})
        assert not values and errors, wrong
        assert f"`{wrong}` is not a whole number" in errors[0], errors  # as written


def test_a_figure_named_by_its_title_is_its_field() -> None:
    """`--field "Số đảng viên dự=45"`, the figure as the official reads it, was "no field `Số đảng
    viên dự` (fields: `attendees`, `members`)": it is the field so titled, capitals and spacing
    aside, and a name that is no field's is told the fields by title and key."""
    from cascade.engine.figures import check_fields

    rules = _conference(
        "attendees: {type: int, title: Số đảng viên dự, required: true}",
        "members: {type: int, title: Tổng số đảng viên}",
        "rate: {formula: attendees / members, title: Tỷ lệ tham dự}",
    )
    given = {"Số đảng viên dự": "45", " tổng số  Đảng viên ": 50}  # (a required figure, by its title)
    assert check_fields(rules, given) == ({"attendees": 45, "members": 50}, [])
    assert check_fields(rules, {"Số ĐV dự": 45}) == ({"attendees": 45}, [])  # ("ĐV": đảng viên)
    values, [error, required] = check_fields(rules, {"Tỷ lệ tham dự": "0,9"})  # (computed, not given)
    assert not values and error.startswith("`hn` has no field `rate`"), error
    assert required == "Số đảng viên dự (attendees) is required for «Hội nghị»"
    values, [error, _required] = check_fields(rules, {"số vắng": "3"})
    assert error == (
        "`hn` has no field `số vắng` (fields: Số đảng viên dự (attendees), Tổng số đảng viên (members))"
    )


def test_a_row_a_district_added_without_its_task_is_told_the_task_of_the_rows_above(
    campaign: Engine, tmp_path: Path
) -> None:
    """A district adds a row under the template's for a unit it left out, and fills in the time
    and figures but not the task: "missing `task`", with no hint. The rows above name it."""
    reply = openpyxl.Workbook()
    sheet = reply.active
    assert sheet is not None
    sheet.append(["Mã đơn vị (unit)", "Việc (task)", "Thời gian hoàn thành (at)", "attendees", "members"])
    sheet.append(["p-bac-ha", "hn-co-so", "05/12/2020 09:00", 40, 45])
    sheet.append(["p-nam-ha", None, "06/12/2020 14:30", 30, 35])  # added, its task left blank
    sheet.append(["p-tan-giang", "hn-co-so", None, 30, 35])  # figures, but no time
    path = tmp_path / "tra-loi.xlsx"
    reply.save(path)
    with pytest.raises(SignalRefused) as refused:
        import_table(campaign, CID, path, "cli", NOW)
    said = [(p.line, p.key, p.message, p.hint) for p in refused.value.problems]
    assert said == [
        (
            3,
            "task",
            "this row names no task",
            "write its task in the task column, as the rows above do: `hn-co-so`",
        ),
        (
            4,
            "",
            "missing `at`",
            "write when the unit did it, e.g. 18/11/2020 10:00; a unit that has not done it yet: leave its "
            "row blank",
        ),
    ], said
    assert signals(campaign) == []  # nothing stored
