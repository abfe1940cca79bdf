"""The operator's language: Vietnamese by default, English on request. Every message of the
catalogue is translated with its placeholders kept, the catalogue holds every message the code
marks, and `cascade validate` on the bad inputs the other tests already try reads in Vietnamese
as `tests/snapshots/validate.vi.txt` records (CASCADE_UPDATE_SNAPSHOTS=1 rewrites it)."""

from __future__ import annotations

import os
import string
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from cascade import i18n
from cascade.cli import app
from tests.test_hardening import run_main

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "cascade" / "locale" / "vi" / "LC_MESSAGES" / "cascade.po"
SNAPSHOT = ROOT / "tests" / "snapshots" / "validate.vi.txt"


def entries() -> list[tuple[str, str]]:
    with PO.open("rb") as handle:
        catalogue = read_po(handle)
    out = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        out += [(ids[0], s) for s in strings]
        assert "fuzzy" not in message.flags, message.id
    return out


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_message_is_translated_with_its_placeholders() -> None:
    found = entries()
    assert len(found) > 200
    untranslated = [source for source, said in found if not said.strip()]
    assert untranslated == []
    changed = {source: said for source, said in found if fields(source) != fields(said)}
    assert changed == {}


def test_a_translation_cites_the_spec_in_vietnamese() -> None:
    """`cascade --help` read "Gia hạn một việc … (spec §7)" beside "Miễn … (đặc tả §7)"."""
    cited = [said for source, said in entries() if "spec §" in source]
    assert len(cited) >= 4
    assert [said for said in cited if "đặc tả §" not in said or "spec §" in said] == []


def test_a_signal_has_one_name_in_vietnamese() -> None:
    """A tick's counts read "tín hiệu đã ghi nhận 15.074" (signals recorded) beside "đã ghi nhận
    219.327 tin báo" from the import that recorded them: two words for one thing, and the tick
    had applied them, not recorded them."""
    assert [said for _source, said in entries() if "tín hiệu" in said] == []
    assert dict(entries())["signals applied"] == "tin báo đã áp dụng"


def test_the_catalogue_holds_every_message_the_code_marks(tmp_path: Path) -> None:
    pot = tmp_path / "cascade.pot"
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pybabel"), "extract", "--no-location", "-k", "_", "-k", "_n:1,2",
         "-k", "N_", "-o", str(pot), "cascade", "flows", "notifiers"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as handle:
        marked = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    translated = {source for source, _ in entries()}
    assert marked - translated == set(), "run scripts/catalogue.sh and translate the new entries"


@pytest.fixture
def vietnamese() -> Iterator[None]:
    i18n.use("vi")
    yield
    i18n.use("en")


def test_messages_read_in_vietnamese_and_english_on_request(vietnamese: None) -> None:
    assert i18n._("no such file") == "không có tệp này"
    assert i18n._n("{count} unit", "{count} units", 60000) == "60.000 đơn vị"
    # a message's own `{n:,}` groups as the language does
    logged = i18n._("event log: {out_file} ({lines:,} lines)", out_file="e.jsonl", lines=1020000)
    assert logged == "nhật ký sự kiện: e.jsonl (1.020.000 dòng)"
    i18n.use("en")
    assert i18n._("event log: {out_file} ({lines:,} lines)", out_file="e.jsonl", lines=1020000) == (
        "event log: e.jsonl (1,020,000 lines)"
    )
    assert i18n._("no such file") == "no such file"
    assert i18n._n("{count} unit", "{count} units", 60000) == "60,000 units"
    assert i18n._n("{count} unit", "{count} units", 1) == "1 unit"


GOOD = """\
campaign:
  id: thu
  title: Chiến dịch thử
  issued_on: 10/11/2020
  units: units.yaml
  summary_date: 20/01/2021
tasks:
  - id: hn-tinh
    title: Hội nghị tỉnh
    level: province
    due: {before: 20/11/2020}
  - id: hn-huyen
    title: Hội nghị huyện
    level: district
    opens_after: {task: hn-tinh, at: parent}
    due: {before: 30/11/2020}
"""
UNITS = """\
levels: [province, district]
units:
  - id: tu-a
    name: Tỉnh ủy A
    level: province
    contacts: [{role: head, email: a@example.vn}]
    children:
      - {id: hu-b, name: Huyện ủy B, level: district, contacts: [{role: head, email: b@example.vn}]}
"""
# the bad inputs tests/test_validate.py, test_units.py and test_cli.py already try, one a file
BAD = {
    "khoa-sai.yaml": GOOD.replace(
        "    due: {before: 30/11/2020}", "    due: {before: 30/11/2020}\n    min_windw: 3d"
    ),
    "ngay-thang-dao.yaml": GOOD.replace("before: 20/11/2020", "before: 11/20/2020"),
    "ngay-khong-co.yaml": GOOD.replace("before: 20/11/2020", "before: 31/11/2020"),
    "viec-khong-co.yaml": GOOD.replace("task: hn-tinh", "task: hn-tnh"),
    "cap-sai.yaml": GOOD.replace("level: district", "level: distrct"),
    "khoang-thoi-gian.yaml": GOOD.replace("level: district", "level: district\n    min_window: 3"),
    "gio-yen-lang.yaml": GOOD.replace("level: province", "level: province\n    quiet_hours: từ 21h đến 7h"),
    "kieu-so-lieu.yaml": GOOD.replace("level: province", "level: province\n    fields: {n: {type: integer}}"),
    "chi-tieu.yaml": GOOD.replace(
        "level: province", "level: province\n    fields: {r: {type: int, target: 85%}}"
    ),
    "dieu-kien.yaml": GOOD.replace(
        "level: province", "level: province\n    fields: {a: {type: int}}\n    check: a <= b"
    ),
    "vong-tron.yaml": GOOD.replace(
        "level: province", "level: province\n    opens_after: {task: hn-huyen, at: self}"
    ),
    "yaml-sai.yaml": GOOD.replace("    title: Hội nghị huyện", "    title: [Hội nghị huyện"),
    "mo-don-vi.yaml": GOOD.replace("units.yaml", "khong-co.yaml"),
    "don-vi.csv": "id,name,level,parent\ntu-a,A,province,\nhu-b,B,district,tu-x\nhu-c,C,distrct,tu-a\n",
    "trung-ten.csv": "# levels: province, district\nname,level,parent\nTỉnh ủy A,province,\n"
    "Tân Thành,district,Tỉnh ủy A\nTân Thạnh,district,Tỉnh ủy A\n",
    "khong-utf8.yaml": "campaign:\n  title: Chi\xe9n d\xe9ch\n",
}


def test_validate_speaks_vietnamese_on_every_bad_input(tmp_path: Path) -> None:
    (tmp_path / "units.yaml").write_text(UNITS, encoding="utf-8")
    shown = []
    for name, text in BAD.items():
        path = tmp_path / name
        if name == "khong-utf8.yaml":
            path.write_bytes(text.encode("latin-1"))
        else:
            path.write_text(text, encoding="utf-8")
        shown.append(_validate(tmp_path, name))
    i18n.use("en")
    text = "\n".join(shown)
    if os.environ.get("CASCADE_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8")
    english = _validate(tmp_path, "cap-sai.yaml", "en")
    assert "error: tasks[1].level: no level `distrct` in the units file" in english


def _validate(folder: Path, name: str, lang: str = "vi") -> str:
    cwd = Path.cwd()
    os.chdir(folder)  # the files by their names, as the snapshot shows them
    try:
        result = CliRunner().invoke(app, ["--lang", lang, "validate", name], env={"COLUMNS": "200"})
    finally:
        os.chdir(cwd)
        i18n.use("en")
    assert result.exit_code == 1, result.output
    return f"$ cascade validate {name}\n{result.stderr}"


def test_the_plan_speaks_in_words_the_rule_the_file_wrote(vietnamese: None) -> None:
    from cascade.views.tables import rule_words

    assert rule_words("before 20/11/2020") == "trước ngày 20/11/2020"
    assert rule_words("within Q1/2021") == "trong quý I năm 2021"
    assert rule_words("within I/2018") == "trong quý I năm 2018"
    assert rule_words("within first-half 12/2017") == "trong nửa đầu tháng 12/2017"
    assert rule_words("within second-half 12/2017") == "trong nửa cuối tháng 12/2017"
    assert rule_words("within end 12/2017") == "trong cuối tháng 12/2017"
    assert rule_words("within 12/2020") == "trong tháng 12/2020"
    assert rule_words("7 days after hn-co-so, latest before 08/12/2017") == (
        "7 ngày sau hn-co-so, chậm nhất trước ngày 08/12/2017"
    )
    assert rule_words("something the format may add later") == "something the format may add later"
    i18n.use("en")
    assert rule_words("by 30/11/2020") == "by 30/11/2020"
    assert rule_words("within Q2/2023") == "within quarter II of 2023"


def _plan(*args: str) -> str:
    result = CliRunner().invoke(app, ["--lang", "vi", "plan", *args], env={"COLUMNS": "400"})
    i18n.use("en")
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())  # a cell's words, however the table wraps them


def test_the_plan_names_the_tasks_and_units_its_rules_point_at_by_title() -> None:
    """The operator's table names another task by its title and a unit by its name, durations
    in words; the ids stay only under each row's own title, where the operator copies them."""
    unit = _plan(str(ROOT / "campaigns" / "ha-tinh-xix-2020.yaml"), "--unit", "hu-can-loc")
    assert "khi «Hội nghị cán bộ chủ chốt toàn tỉnh» hoàn thành ở Tỉnh ủy Hà Tĩnh" in unit
    assert "1. 01/12/2020 07:00 → Huyện ủy Can Lộc, Tỉnh ủy Hà Tĩnh" in unit
    assert "→ Tỉnh ủy Hà Tĩnh (mỗi 7 ngày)" in unit
    # a deadline counted from a signal: its reminders and escalations are offsets, in words
    assert "khi có tin báo «Hội nghị cốt cán cấp huyện và tương đương»" in unit
    assert "7 ngày trước hạn" in unit and "1. 1 ngày sau hạn → Huyện ủy Can Lộc" in unit
    assert "trước ngày 20/01/2021, cấp dưới sớm hơn 3 ngày" in unit
    tasks = _plan(str(ROOT / "campaigns" / "tra-vinh-hd42-2017.yaml"), "--summary")
    assert "sau «Hội nghị trực tuyến toàn quốc tại điểm cầu Trà Vinh» ở đơn vị cấp trên" in tasks
    assert "7 ngày sau «Hội nghị học tập, quán triệt cấp cơ sở»" in tasks
    assert "cùng «Hội nghị học tập, quán triệt cấp cơ sở»" in tasks
    assert "từ ngày 29/11/2017 đến ngày 30/11/2017" in tasks
    assert "mỗi cấp 5 ngày" in tasks and "đề nghị trước 14 ngày" in tasks
    for said in (unit, tasks):
        assert not any(f"{word} hn-" in said for word in ("sau", "cùng", "báo", "khi"))
        assert "→ tu-" not in said and "→ hu-" not in said


def test_a_duration_reads_in_words_in_the_unit_the_file_wrote(vietnamese: None) -> None:
    from cascade.timing.durations import parse_duration

    said = {text: parse_duration(text).words() for text in ("7d", "14d", "2w", "48h", "30m", "5wd", "P7D")}
    assert said == {
        "7d": "7 ngày",
        "14d": "14 ngày",
        "2w": "2 tuần",
        "48h": "48 giờ",
        "30m": "30 phút",
        "5wd": "5 ngày làm việc",
        "P7D": "1 tuần",
    }
    i18n.use("en")
    assert parse_duration("1d").words() == "1 day" and parse_duration("3d").words() == "3 days"


def test_a_ticks_counts_read_in_words_in_the_order_a_tick_works(vietnamese: None) -> None:
    from cascade.engine.machine import counts_text

    counts = {"notices": 10080, "reminder.sent": 9450, "task.opened": 630, "escalation.sent": 0}
    assert counts_text(counts) == "mở việc 630, nhắc hạn 9.450, thông báo chờ gửi 10.080"
    assert counts_text({}) == "không có gì"
    i18n.use("en")
    assert counts_text(counts) == "opened 630, reminders 9,450, notices queued 10,080"


def test_a_changes_counts_are_grouped_as_the_language_groups_them(vietnamese: None) -> None:
    """A national extension's summary read "47.666 đơn vị:" then "38652 chưa mở" and "9014 mở lại"
    under it: the counts of what the change does to the units were written bare."""
    from cascade.engine.amend import Amended, Changes
    from cascade.engine.lifecycle import Instance, Outcome
    from cascade.views.changes import describe

    old, new = 1_779_642_000, 1_780_160_400  # 24/05/2026 and 30/05/2026 (last days)
    held = Instance("held", "prerequisite", None, None, new, None)
    opened = Instance("open", "prerequisite", None, 1_776_646_800, new, None)
    waiting, going = Outcome(held, "held", old), Outcome(opened, "still_open", old)
    amended = [Amended(i, "hn-chi-bo", f"c{i}", "", waiting) for i in range(38_652)]
    amended += [Amended(i, "hn-chi-bo", f"c{i}", "", going) for i in range(9_014)]
    changes = Changes("c", amended=amended, tasks={"hn-chi-bo": "Hội nghị chi bộ"}, at=1_776_646_800)
    lines = describe(changes)
    assert "  «Hội nghị chi bộ»: 24/05/2026 → 30/05/2026, 47.666 đơn vị:" in lines, lines
    assert "      38.652 chưa mở (việc phải làm trước vẫn chưa xong; sẽ mở cùng việc đó)" in lines, lines
    assert "      9.014 vẫn đang thực hiện, đến hạn mới" in lines, lines


def test_a_long_lists_count_of_the_rest_is_grouped_too(vietnamese: None) -> None:
    """A national extension said "6.895 đơn vị giữ hạn ...: Chi bộ 5 xã 1.1.2, ... và 6885 đơn vị
    khác": the list's count grouped, the rest's written bare (and so the units a redeploy adds)."""
    from types import SimpleNamespace

    from cascade.compile.plan_checks import sample
    from cascade.engine.amend import Changes
    from cascade.errors import listed
    from cascade.views.changes import describe

    cells = [f"Chi bộ {n}" for n in range(6_895)]
    assert listed(cells).endswith("Chi bộ 9 và 6.885 đơn vị khác"), listed(cells)
    no_names = SimpleNamespace(units={})  # (units it does not hold: named by their ids)
    assert sample(cells, no_names).endswith(" và 6.890 đơn vị khác"), sample(cells, no_names)  # type: ignore[arg-type]
    added = Changes("c", added_units=[f"c{n}" for n in range(1_500)], at=1_776_646_800)
    assert any(
        line.startswith("  thêm (1.500): c0, ") and line.endswith(" và 1.490 đơn vị khác")
        for line in describe(added)
    ), describe(added)
    i18n.use("en")
    assert listed(cells).endswith("Chi bộ 9 and 6,885 more"), listed(cells)


def test_a_files_warnings_count_many_units_as_the_language_groups_them(vietnamese: None) -> None:
    """A task added to a running nation warned "56700 đơn vị chờ `sh-quy` ...: cb-00-0-00-0, ... và
    56.695 đơn vị khác": the count of the units it names written bare, the rest's grouped."""
    from types import SimpleNamespace

    from cascade.compile.plan_checks import orphan_warning
    from cascade.errors import several_named

    plan = SimpleNamespace(campaign=SimpleNamespace(file="c.yaml"), hierarchy=SimpleNamespace(units={}))
    task = SimpleNamespace(id="bao-cao-nhanh", line=49)
    cells = [f"cb-{n}" for n in range(56_700)]
    warned = orphan_warning(plan, task, "sh-quy", "parent", cells)  # type: ignore[arg-type]
    assert warned.message.startswith("56.700 đơn vị chờ `sh-quy`"), warned.message
    assert warned.message.endswith(" và 56.695 đơn vị khác; việc sẽ mở ngay khi ban hành chiến dịch")
    assert several_named("Chi bộ 1", cells[:1_200]).startswith("1.200 đơn vị cùng tên `Chi bộ 1`")


def test_a_progress_bars_count_is_grouped_as_the_language_groups_it(vietnamese: None) -> None:
    """A national dispatch's bar counted "bản tin ━━━━ 49208": Rich writes the count bare."""
    import io

    from rich.console import Console
    from rich.progress import Progress

    from cascade.cli.chrome import count_column

    for language, said in (("vi", "49.208 49.208 dòng"), ("en", "49,208 49,208 rows")):
        i18n.use(language)
        console = Console(file=io.StringIO(), force_terminal=True, width=80)
        with Progress(count_column(), count_column(i18n.N_("{rows} rows")), console=console) as bar:
            bar.advance(bar.add_task("x", total=None), 49_208)
        assert said in console.file.getvalue(), console.file.getvalue()


def test_doctor_and_the_settings_table_speak_vietnamese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASCADE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    try:
        doctor = CliRunner().invoke(app, ["--lang", "vi", "doctor"], env={"COLUMNS": "200"})
        table = CliRunner().invoke(app, ["--lang", "vi", "settings", "--explain"], env={"COLUMNS": "1000"})
    finally:
        i18n.use("en")
    checks = [line[2:].split(":")[0] for line in doctor.stdout.splitlines()]
    assert checks == [
        "thiết lập",
        "kho dữ liệu",
        "toàn vẹn kho dữ liệu",
        "chiến dịch",
        "khóa bí mật web",
        "kênh thông báo",
        "Prefect API",
    ], doctor.stdout
    assert "✓ toàn vẹn kho dữ liệu: nguyên vẹn" in doctor.stdout and "dùng được" in doctor.stdout
    assert "✗ kênh thông báo: chưa thiết lập kênh nào" in doctor.stdout  # and exit 1 for it
    assert doctor.exit_code == 1
    assert "nơi Cascade giữ kho dữ liệu SQLite, khóa bí mật web và thư mục Prefect cục bộ" in table.stdout
    assert "ngôn ngữ của người vận hành" in table.stdout and "where Cascade keeps" not in table.stdout


def test_a_refused_extension_or_exemption_reads_in_vietnamese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cascade extend` and `cascade exempt` refused: every fault told in the operator's language
    (they were told in English, after a Vietnamese "lỗi:")."""
    monkeypatch.setenv("CASCADE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CASCADE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    runner = CliRunner()
    campaign = str(ROOT / "campaigns" / "ha-tinh-xix-2020.yaml")
    try:
        assert runner.invoke(app, ["deploy", campaign]).exit_code == 0
        # a deadline long past, an unknown unit, a unit the task is not asked of, no reason
        extend = [
            "--lang",
            "vi",
            "extend",
            "ha-tinh-xix-2020",
            "hn-co-so",
            "--to",
            "20/12/2020",
            "--reason",
            " ",
        ]
        refused = runner.invoke(app, [*extend[:4], "x-khong-co", *extend[4:]], env={"COLUMNS": "200"})
        assert refused.exit_code == 1, refused.output
        said = refused.stderr
        assert "gia hạn: lỗi: cần ghi lý do" in said
        assert "hạn mới đã qua: hãy cho một ngày muộn hơn" in said
        assert "`ha-tinh-xix-2020` không có đơn vị `x-khong-co`; có phải là `x-huong-do`?" in said
        for english in ("reason is required", "already passed", "no unit", "extension:"):
            assert english not in said
        not_asked = runner.invoke(
            app, ["--lang", "vi", "exempt", "ha-tinh-xix-2020", "tu-ha-tinh", "hn-co-so", "--reason", "Lũ"]
        )
        assert not_asked.exit_code == 1, not_asked.output
        title = "«Hội nghị toàn thể đảng viên cấp cơ sở»"
        said = " ".join(not_asked.stderr.split())
        assert f"miễn thực hiện: lỗi: Tỉnh ủy Hà Tĩnh không phải thực hiện {title}" in said
        none = runner.invoke(  # nothing below a grassroots unit: said once, not twice over
            app,
            [
                "--lang",
                "vi",
                "exempt",
                "ha-tinh-xix-2020",
                "hn-co-so",
                "--under",
                "x-tung-loc",
                "--reason",
                "Lũ",
            ],
        )
        assert none.exit_code == 1, none.output
        assert none.stderr.count("lỗi:") == 1 and "chưa chọn đơn vị" in none.stderr, none.stderr
    finally:
        i18n.use("en")


def test_a_missing_store_or_campaign_is_told_in_vietnamese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an operator meets first on a fresh machine, and after a typo in a campaign's id."""
    monkeypatch.setenv("CASCADE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CASCADE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    runner = CliRunner()
    try:
        nothing = run_main(["--lang", "vi", "status", "khong-co"], {})
        assert nothing.returncode == 1
        assert "lỗi kho dữ liệu: " in nothing.stderr and "Traceback" not in nothing.stderr, nothing.stderr
        assert (
            "chưa có kho dữ liệu tại" in nothing.stderr and "hãy triển khai một chiến dịch" in nothing.stderr
        )
        deployed = runner.invoke(app, ["deploy", str(ROOT / "campaigns" / "ha-tinh-xix-2020.yaml")])
        assert deployed.exit_code == 0, deployed.output
        unknown = runner.invoke(app, ["--lang", "vi", "status", "khong-co"])
        assert unknown.exit_code == 1
        said = unknown.stderr
        assert said.startswith("kho dữ liệu: lỗi: không có chiến dịch"), said
        assert "store" not in said and "campaign:" not in said
        (tmp_path / "cascade.db").write_bytes(b"this is not a database" * 100)
        for wal in tmp_path.glob("cascade.db-*"):
            wal.unlink()
        damaged = run_main(["--lang", "vi", "tick", "ha-tinh-xix-2020"], {})
        assert damaged.returncode == 1 and "Traceback" not in damaged.stderr
        assert "tệp không phải kho dữ liệu của Cascade, hoặc đã hỏng" in damaged.stderr, damaged.stderr
    finally:
        i18n.use("en")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["plan"], "Thiếu tham số 'file'."),
        (["signal"], "Thiếu tham số 'campaign'. `cascade status` liệt kê các chiến dịch."),
        (["plan", "x.yaml", "--fromat", "json"], "Không có tùy chọn --fromat (có phải là --format?)"),
        (["plan", "x.yaml", "-f", "xlsx"], "'xlsx' không thuộc các giá trị 'table', 'json', 'csv'."),
        (["web", "--port", "abc"], "Giá trị không hợp lệ cho '--port': không phải là số nguyên"),
        (["status", "a", "b", "c"], "Thừa tham số: b c"),
        (["plan", "x.yaml", "--unit"], "Tùy chọn '--unit' cần một giá trị."),
        (["status", "x", "--limit", "0"], "Giá trị không hợp lệ cho '--limit': phải từ 1 trở lên"),
    ],
)
def test_a_mistyped_command_is_told_in_vietnamese(args: list[str], said: str) -> None:
    """The parser's own errors, the first thing an operator meets, which Typer writes in
    English only (cascade/cli/chrome.py)."""
    result = CliRunner().invoke(app, ["--lang", "vi", *args], env={"COLUMNS": "200"})
    i18n.use("en")
    assert result.exit_code == 2
    assert said in result.stderr and "Lỗi" in result.stderr, result.stderr
    english = CliRunner().invoke(app, ["--lang", "en", *args], env={"COLUMNS": "200"})
    assert english.exit_code == 2 and "Lỗi" not in english.stderr and "Error" in english.stderr


def test_a_command_run_without_its_campaign_says_where_the_campaigns_are_listed() -> None:
    """Told only "Missing argument 'campaign'.", an operator who had not kept the id had to guess it."""
    for args in (["signal"], ["report"], ["extend"]):
        result = CliRunner().invoke(app, ["--lang", "en", *args], env={"COLUMNS": "200"})
        assert result.exit_code == 2, result.output
        assert "Missing argument 'campaign'. `cascade status` lists the campaigns." in result.stderr


def test_a_mistyped_command_name_is_told_in_vietnamese() -> None:
    """Told before the --lang option is read (the command is looked up first): the language
    comes from the command line as the process starts, as an operator runs it."""
    result = run_main(["--lang", "vi", "sttus"], {"COLUMNS": "200"})
    assert result.returncode == 2
    assert "Không có lệnh 'sttus'. Có phải là 'status', 'settings'?" in result.stderr, result.stderr


def test_the_language_may_be_named_after_the_command() -> None:
    """`cascade validate FILE --lang vi` was "Không có tùy chọn --lang": the option is the
    program's, and was taken only before the command."""
    campaign = str(ROOT / "campaigns" / "ha-tinh-xix-2020.yaml")
    for args in (["validate", campaign, "--lang", "en"], ["validate", "--lang=en", campaign]):
        result = run_main(args, {"COLUMNS": "200", "CASCADE_LANG": "vi"})
        assert result.returncode == 0, result.stderr
        assert "ha-tinh-xix-2020.yaml: 3 levels," in result.stderr, result.stderr
    # a value typed after `--` is the command's own, left where it is
    result = run_main(["plan", "--lang", "en", "--", "--lang"], {"COLUMNS": "200", "CASCADE_LANG": "vi"})
    assert result.returncode != 0 and "--lang" in result.stderr, result.stderr


def test_the_help_panels_read_in_vietnamese() -> None:
    result = CliRunner().invoke(app, ["--lang", "vi", "plan", "--help"], env={"COLUMNS": "200"})
    i18n.use("en")
    assert result.exit_code == 0
    for words in ("Tham số", "Tùy chọn", "[bắt buộc]", "[mặc định: table]", "In hướng dẫn này rồi thoát."):
        assert words in result.stdout, result.stdout
    for english in ("Arguments", "Options", "[required]", "[default", "Show this message"):
        assert english not in result.stdout
    again = CliRunner().invoke(app, ["--lang", "en", "plan", "--help"], env={"COLUMNS": "200"})
    assert "Arguments" in again.stdout and "Show this message and exit." in again.stdout


def test_units_waiting_on_a_task_their_parent_lacks_are_told_in_one_sentence(tmp_path: Path) -> None:
    """The warning was spliced from two translations: "... nhưng đơn vị cấp trên của chúng có
    không có `hn-huyen`" (their parent "has has no")."""
    (tmp_path / "units.yaml").write_text(
        "levels: [province, {name: district, optional: true}, grassroots]\n"
        "units:\n"
        "  - {id: tu-a, name: Tỉnh ủy A, level: province, children: [\n"
        "      {id: hu-b, name: Huyện ủy B, level: district,\n"
        "       children: [{id: x-c, name: Xã C, level: grassroots}]},\n"
        "      {id: x-d, name: Xã D, level: grassroots}]}\n",
        encoding="utf-8",
    )
    (tmp_path / "c.yaml").write_text(
        "campaign: {id: c, title: Chiến dịch, issued_on: 10/11/2020, units: units.yaml,\n"
        "           summary_date: 20/01/2021}\n"
        "tasks:\n"
        "  - {id: hn-huyen, title: Hội nghị huyện, level: district, due: {before: 30/11/2020}}\n"
        "  - id: hn-co-so\n"
        "    title: Hội nghị cơ sở\n"
        "    level: grassroots\n"
        "    opens_after: {task: hn-huyen, at: parent}\n"
        "    due: {before: 15/12/2020}\n",
        encoding="utf-8",
    )
    said = {}
    for lang in ("vi", "en"):
        result = CliRunner().invoke(app, ["--lang", lang, "validate", str(tmp_path / "c.yaml")])
        i18n.use("en")
        assert result.exit_code == 0, result.output
        said[lang] = " ".join(result.stderr.split())
    vi = "1 đơn vị chờ `hn-huyen` nhưng đơn vị cấp trên của chúng không có `hn-huyen`: Xã D"
    assert vi in said["vi"], said
    assert "1 unit(s) wait for `hn-huyen` but their parent has no `hn-huyen`: Xã D" in said["en"], said
