"""The `cascade` command line: exit codes, messages, formats; never a traceback for bad input."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from datetime import date
from pathlib import Path

import jsonschema
import pendulum
import pytest
from typer.testing import CliRunner

from cascade import i18n
from cascade.cli import SchemaKind, app, schema_of
from cascade.compile.reading import read_yaml
from tests.conftest import HEADER, SMALL_UNITS

ROOT = Path(__file__).parent.parent
HA_TINH = str(ROOT / "campaigns" / "ha-tinh-xix-2020.yaml")
runner = CliRunner()

TASKS = """\
tasks:
  - id: hn-tinh
    title: Hội nghị tỉnh
    level: province
    due: {before: 20/11/2020}
"""


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a campaign (and the small units file beside it); returns its path."""

    def _write(text: str, name: str = "campaign.yaml") -> str:
        (tmp_path / "units.yaml").write_text(SMALL_UNITS, encoding="utf-8")
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return _write


def test_validate_good_campaign_exits_0() -> None:
    result = runner.invoke(app, ["validate", HA_TINH])
    assert result.exit_code == 0, result.output
    assert "ha-tinh-xix-2020.yaml: 3 levels, 112 units, 5 tasks, 1 report, 241 instances" in result.stderr


def test_validate_reports_every_error_with_file_line_and_hint(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        HEADER + TASKS.replace("level: province", "levle: province").replace("20/11/2020", "11/20/2020")
    )
    result = runner.invoke(app, ["validate", path])
    assert result.exit_code == 1
    assert f"{path}:10: error: tasks[0].levle: unknown key `levle`" in result.stderr
    assert "hint: did you mean `level`?" in result.stderr
    assert f"{path}:11: error: tasks[0].due.before: `11/20/2020` has no month 20" in result.stderr
    assert "2 errors" in result.stderr
    assert "Traceback" not in result.output


def test_a_hint_several_errors_in_a_row_share_is_printed_once_under_them(tmp_path: Path) -> None:
    """A units file whose communes moved under the province printed the same two-line hint under
    each of its 87 errors. Every error is still listed, each with its line; a hint shared by
    errors in a row is printed once, under the last, saying for how many."""
    sheet = tmp_path / "don-vi.csv"
    rows = "".join(f"x-{n},Đảng ủy xã {n},grassroots,tu-a,,head,x{n}@example.vn,,\n" for n in range(1, 4))
    sheet.write_text(
        "# levels: province, district, grassroots\nid,name,level,parent,tags,role,email,zalo,phone\n"
        "tu-a,Tỉnh ủy A,province,,,head,vp@example.vn,,\n"
        + rows
        + "x-9,Đảng ủy xã 9,grassroots,tu-a,,head,,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(sheet)], env={"COLUMNS": "400"})
    assert result.exit_code == 1
    said = result.stderr.splitlines()
    assert [line.split(": ")[0] for line in said[:4]] == [f"{sheet}:{n}" for n in (4, 5, 6)] + [
        "    hint for the 3 above"
    ], said
    assert said[3].endswith("or take it out of the levels")
    assert (
        said[4].startswith(f"{sheet}:7: error: x-9.contacts[0]")
        and said[5] == "    hint: add email, zalo or phone"
    )
    assert said[6].startswith(f"{sheet}:7: error: x-9.level") and said[7].startswith("    hint: a unit sits")
    assert said[8].endswith("5 errors")


def test_validate_warnings_exit_0(write) -> None:  # type: ignore[no-untyped-def]
    path = write(HEADER + TASKS.replace("20/11/2020", "20/02/2021"))
    result = runner.invoke(app, ["validate", path])
    assert result.exit_code == 0
    assert (
        "warning: tasks[0].due: last day 19/02/2021: "
        "the summary, on 20/01/2021, goes out before it has passed" in result.stderr
    )
    assert "1 warning" in result.stderr


def test_validate_many_files_reports_each(write) -> None:  # type: ignore[no-untyped-def]
    bad = write("campaign: {}\n", "bad.yaml")
    result = runner.invoke(app, ["validate", HA_TINH, bad])
    assert result.exit_code == 1
    assert "✓" in result.stderr and f"✗ {bad}" in result.stderr


BAD_INPUTS = [
    "",
    "just a string\n",
    "- a\n- b\n",
    "campaign: [1, 2]\ntasks: 7\n",
    "campaign:\n  id: 7\n  issued_on: {}\n  summary_date: [x]\n  units: 3\ntasks: [{}]\nreports: [1]\n",
    HEADER + "tasks:\n  - id: a\n    title: [x]\n    level: {a: b}\n    due: 5\n",
    HEADER + "tasks:\n  - id: a\n    title: A\n    level: province\n    due: {before: 20/11/2020}\n"
    "    fields: [a, b]\n    escalate: {after: 1d}\n    remind: 7d\n",
    HEADER + "defaults: [1]\ntasks:\n  - {id: a, title: A, level: province, due: {within: 99/99}}\n",
    HEADER + "tasks:\n  - {id: a, title: A, level: province, opens_after: a, due: {after: a, days: x}}\n",
    HEADER + "tasks:\n  - {id: a, title: A, level: province, due: {before: 20/11/2020}}\nreports:\n"
    "  - {id: r, title: R, from: [province], due: {after: a, days: 1}, step: x, rollup: [nope.x, a.y]}\n",
    HEADER + "\t tasks: [\n",
    "campaign: &a\n  <<: *a\n",
    "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
    + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    ),
    "a: " + "[" * 3000 + "]" * 3000 + "\n",
    "a: &a [*a]\n",
    HEADER + "tasks:\n  - !!python/object:os.system {id: a}\n",
    HEADER + "defaults: {escalate: [{after: 1d, to: [!!ancestor:2]}]}\n" + TASKS,
    HEADER.replace("units.yaml", "../../../../etc/passwd") + TASKS,
    HEADER.replace("units.yaml", "campaign.yaml") + TASKS,
]


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_bad_input_never_gives_a_traceback(write, text: str) -> None:  # type: ignore[no-untyped-def]
    path = write(text)
    result = runner.invoke(app, ["validate", path])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "error" in result.stderr
    assert path in result.stderr


def test_binary_file_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"\xff\xfe\x00\x01garbage")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "not UTF-8 text" in result.stderr


def test_missing_file() -> None:
    result = runner.invoke(app, ["validate", "nope.yaml"])
    assert result.exit_code == 1
    assert "nope.yaml: error: no such file" in result.stderr


def test_a_folder_or_an_unreadable_file_is_told_in_words(tmp_path: Path) -> None:
    folder = tmp_path / "c.yaml"
    folder.mkdir()
    result = runner.invoke(app, ["--lang", "vi", "validate", str(folder)])
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())
    assert "không đọc được: đây là một thư mục: hãy ghi tên một tệp trong đó" in said, said
    signals = runner.invoke(app, ["--lang", "vi", "simulate", HA_TINH, "--signals", str(folder / "s.csv")])
    assert signals.exit_code == 1
    assert "s.csv: lỗi: không có tệp này" in " ".join(signals.stderr.split()), signals.stderr


def test_plan_json_lists_every_instance() -> None:
    result = runner.invoke(app, ["plan", HA_TINH, "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["campaign"]["id"] == "ha-tinh-xix-2020"
    assert len(data["instances"]) == 241
    [row] = [r for r in data["instances"] if r["task"] == "hn-huyen" and r["unit"] == "hu-can-loc"]
    assert row["deadline"] == "2020-11-30T00:00:00+07:00"
    assert row["opens"] == "when hn-tinh is done at tu-ha-tinh"
    assert row["escalations"][0] == {
        "stage": 1,
        "at": "2020-12-01T07:00:00+07:00",
        "to": ["hu-can-loc", "tu-ha-tinh"],
        "repeat": None,
    }
    assert row["escalations"][2]["repeat"] == "7d"


def sheet(text: str) -> list[dict[str, str]]:
    """A CSV as Cascade heads one for Excel ("Đơn vị (unit)"), each row keyed by its columns' keys."""
    from cascade.compile.sheets import header_key

    reader = csv.reader(io.StringIO(text))
    keys = [header_key(cell) for cell in next(reader)]
    return [dict(zip(keys, row, strict=True)) for row in reader]


def test_plan_csv_for_one_unit_is_a_sheet_in_the_operators_words() -> None:
    """`plan --format csv` "opens in Excel", but read as a script's file: English keys for headers,
    "2021-01-15T00:00:00+07:00" for a deadline whose last day is 14/01/2021, "when hn-huyen is
    done at hu-can-loc" in English under a Vietnamese operator, escalations as
    "1@2021-01-16T07:00:00+07:00>x-thien-loc+hu-can-loc". It reads as the table does now, each
    column headed in words with its key; the JSON keeps instants and ids for scripts."""
    result = runner.invoke(app, ["--lang", "vi", "plan", HA_TINH, "--unit", "x-thien-loc", "--format", "csv"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Mã việc (task),Việc (task_title),Loại (kind),Mã đơn vị (unit),")
    rows = sheet(result.stdout)
    assert [(r["task"], r["task_title"], r["last_day"], r["rule"]) for r in rows] == [
        ("hn-co-so", "Hội nghị toàn thể đảng viên cấp cơ sở", "14/01/2021", "trước ngày 15/01/2021"),
        (
            "bc-tien-do",
            "Báo cáo tiến độ học tập, quán triệt Nghị quyết",
            "16/01/2021",
            "trước ngày 20/01/2021, cấp dưới sớm hơn 3 ngày",
        ),
    ]
    conference, report = rows
    assert (conference["unit_name"], conference["level"]) == ("Đảng ủy xã Thiên Lộc", "cơ sở")
    assert (
        conference["opens"] == "khi «Hội nghị cốt cán cấp huyện và tương đương» hoàn thành ở Huyện ủy Can Lộc"
    )
    assert conference["escalations"].startswith(
        "1. 16/01/2021 07:00 → Đảng ủy xã Thiên Lộc, Huyện ủy Can Lộc; 2. "
    )
    # the weekly stage says it repeats, as the table does (the sheet said its first time only)
    assert conference["escalations"].endswith("3. 22/01/2021 07:00 → Tỉnh ủy Hà Tĩnh (mỗi 7 ngày)")
    assert (report["kind"], report["report_to"]) == ("báo cáo", "Huyện ủy Can Lộc")
    scripts = runner.invoke(app, ["plan", HA_TINH, "--unit", "x-thien-loc", "--format", "json"])
    assert json.loads(scripts.stdout)["instances"][0]["deadline"] == "2021-01-15T00:00:00+07:00"


def test_plan_table_is_readable() -> None:
    result = runner.invoke(app, ["plan", HA_TINH, "--unit", "hu-can-loc"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Huyện ủy Can Lộc" in result.stdout
    # the district conference is due {before: 30/11/2020}: its last day is the 29th
    assert "29/11/2020" in result.stdout and "30/11/2020 00:00" not in result.stdout
    assert "23/11/2020 07:00" in result.stdout  # a reminder is an instant, not a last day


def test_a_plan_too_long_for_a_table_is_shown_a_row_a_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cascade plan` of a national campaign drew a table of its 247,087 instances: 334 s and
    4.3 GB of memory for a table nobody reads. Past TABLE_ROWS it shows one row a task and says
    how to see every instance; one unit's or one task's instances stay a table."""
    import cascade.cli.files

    monkeypatch.setattr(cascade.cli.files, "TABLE_ROWS", 100)
    whole = runner.invoke(app, ["plan", HA_TINH], env={"COLUMNS": "200"})
    assert whole.exit_code == 0, whole.output
    assert whole.stdout == runner.invoke(app, ["plan", HA_TINH, "--summary"], env={"COLUMNS": "200"}).stdout
    assert "241 instances, too many to read in a table: one row a task above." in whole.stderr
    assert "--format csv > ke-hoach.csv" in whole.stderr
    one = runner.invoke(app, ["plan", HA_TINH, "--unit", "hu-can-loc"], env={"COLUMNS": "200"})
    assert "Huyện ủy Can Lộc" in one.stdout and "too many" not in one.stderr


def test_plan_takes_a_unit_by_its_name_and_a_task_by_its_title() -> None:
    by_id = runner.invoke(app, ["plan", HA_TINH, "--unit", "hu-can-loc", "--task", "hn-huyen", "-f", "json"])
    by_words = runner.invoke(
        app,
        ["plan", HA_TINH, "--unit", "Huyện Ủy Can Lộc", "--task", "hội nghị cốt cán cấp huyện và tương đương",
         "-f", "json"],
    )  # fmt: skip
    assert by_words.exit_code == 0, by_words.output
    assert len(json.loads(by_words.stdout)["instances"]) == 1
    assert by_words.stdout == by_id.stdout
    bare = ["--unit", "huyen uy can loc", "--task", "hoi nghi cot can cap huyen va tuong duong"]
    unmarked = runner.invoke(app, ["plan", HA_TINH, *bare, "-f", "json"])  # the Vietnamese keyboard off
    assert unmarked.exit_code == 0 and unmarked.stdout == by_id.stdout, unmarked.output
    near = runner.invoke(app, ["plan", HA_TINH, "--unit", "Huyện ủy Can Lộ"])
    assert near.exit_code == 1 and "did you mean `Huyện ủy Can Lộc`?" in near.stderr


def test_plan_unknown_unit_is_an_error() -> None:
    result = runner.invoke(app, ["plan", HA_TINH, "--unit", "hu-nope"])
    assert result.exit_code == 1
    assert "no unit `hu-nope`" in result.stderr


@pytest.mark.parametrize("kind", list(SchemaKind))
def test_committed_schemas_match_the_models(kind: SchemaKind) -> None:
    result = runner.invoke(app, ["schema", kind.value])
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed == schema_of(kind)
    committed = json.loads((ROOT / "campaigns" / "schema" / f"{kind.value}.schema.json").read_text("utf-8"))
    assert committed == printed, "run: .venv/bin/cascade schema KIND > campaigns/schema/KIND.schema.json"


@pytest.mark.parametrize(
    ("kind", "pattern"), [(SchemaKind.campaign, "*.yaml"), (SchemaKind.units, "units/*.yaml")]
)
def test_schema_accepts_the_example_files(kind: SchemaKind, pattern: str) -> None:
    files = sorted((ROOT / "campaigns").glob(pattern))
    assert files
    for file in files:
        data = read_yaml(file.read_text("utf-8"), str(file)).data
        jsonschema.validate(_jsonable(data), schema_of(kind))


@pytest.mark.parametrize(
    "day",
    [
        "10/11/2020",
        "10-11-2020",
        "10.11.2020",
        "2020-11-10",
        "ngày 10 tháng 11 năm 2020",
        "Ngày 7 tháng 1 năm 2021",
        "ngày 10/11/2020",  # copied from "trước ngày 10/11/2020": refused, where the words were taken
        "Ngày 07.01.2021",
    ],
)
def test_the_schema_takes_every_date_the_validator_takes(day: str) -> None:
    """An editor checking a campaign with the schema flagged `10-11-2020` and `10.11.2020`, which
    `cascade validate` takes: the schema and the validator must never disagree."""
    from cascade.timing.deadlines import parse_date

    assert parse_date(day) in (date(2020, 11, 10), date(2021, 1, 7))  # the validator's reading
    data = {
        "campaign": {"id": "x", "title": "t", "issued_on": day, "units": "u.yaml", "summary_date": day},
        "tasks": [{"id": "a", "title": "A", "due": {"by": day}}],
    }
    jsonschema.validate(data, schema_of(SchemaKind.campaign))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {**data, "campaign": {**data["campaign"], "issued_on": "10/11"}}, schema_of(SchemaKind.campaign)
        )
    # a deadline's key takes its own words before the date, as the validator does
    for due in (
        {"by": f"chậm nhất {day}"},
        {"before": f"Trước {day}"},
        {"after": "a", "days": 1, "latest": f"trước {day}"},
    ):
        jsonschema.validate(
            {**data, "tasks": [{"id": "a", "title": "A", "due": due}]}, schema_of(SchemaKind.campaign)
        )
    with pytest.raises(jsonschema.ValidationError):  # (not another key's)
        due = {"by": f"trước {day}"}
        jsonschema.validate(
            {**data, "tasks": [{"id": "a", "title": "A", "due": due}]}, schema_of(SchemaKind.campaign)
        )


SCHEMA_HEADER = {
    "id": "x",
    "title": "t",
    "issued_on": "10/11/2020",
    "units": "u.yaml",
    "summary_date": "20/01/2021",
}


@pytest.mark.parametrize(
    "duration", ["7d", "1d12h", "5wd", "P7D", "7 ngày", "Ngày", "5 ngày làm việc", "2 tuần", "12 giờ"]
)
def test_the_schema_takes_every_duration_the_validator_takes(duration: str) -> None:
    """As for dates: a duration in words (`remind: [7 ngày]`) is taken by both or by neither."""
    from cascade.timing.durations import DurationError, parse_duration

    data = {
        "campaign": SCHEMA_HEADER,
        "defaults": {"remind": [duration]},
        "tasks": [{"id": "a", "title": "A", "due": {"by": "20/11/2020"}}],
    }
    try:
        parse_duration(duration)
    except DurationError:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, schema_of(SchemaKind.campaign))
    else:
        jsonschema.validate(data, schema_of(SchemaKind.campaign))


def test_schema_rejects_an_unknown_key() -> None:
    data = {
        "campaign": SCHEMA_HEADER,
        "tasks": [{"id": "a", "title": "A", "due": {"bef": 1}}],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema_of(SchemaKind.campaign))


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[attr-defined]
    return value


def test_validate_a_units_file_on_its_own() -> None:
    result = runner.invoke(app, ["validate", str(ROOT / "campaigns" / "units" / "tra-vinh.yaml")])
    assert result.exit_code == 0, result.output
    # each level by the word a sheet writes for it, and the id a campaign's `level:` writes
    assert "units file, 85 units (Tỉnh `province`: 1, Huyện `district`: 20, Cơ sở `grassroots`: 64)" in (
        result.stderr
    )


def test_validate_a_bad_units_csv(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("id,name,level,parent\ntu-a,A,province,\nhu-b,B,district,tu-x\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3: error: hu-b.parent: parent `tu-x` is not a unit of this file" in result.stderr


# ---- engine commands ------------------------------------------------------------------------


def test_a_second_serve_of_one_data_folder_is_refused(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second `cascade serve` on the same data folder (`./run.sh` started twice, a manual run
    beside the service) started a second Prefect server on the same database, and on its way out
    deleted the first one's API address: `cascade signal` no longer reached it, and signals
    waited for the next scheduled tick. It is refused, naming the serve that holds the folder."""
    import os

    import flows.serve

    served: list[bool] = []
    monkeypatch.setattr(flows.serve, "serve", lambda *args, **kwargs: served.append(True))
    with flows.serve.only_serve(data_dir):  # the first serve
        second = runner.invoke(app, ["serve", "--for", "1", "--web-port", "0"])
    assert second.exit_code == 1 and served == []
    assert f"another `cascade serve` serves this data folder ({data_dir.resolve()}): pid {os.getpid()}" in (
        second.stderr
    )
    assert "stop it first" in second.stderr
    after = runner.invoke(app, ["serve", "--for", "1", "--web-port", "0"])  # once it has stopped
    assert after.exit_code == 0 and served == [True], after.output


def test_serve_stops_its_web_server_before_it_returns(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cascade serve --for N` told its web server to stop and returned at once: the interpreter
    then shut down under the server's event loop (uvloop, on its thread), whose next timer
    crashed the process (SIGSEGV, exit 139) in about one run in fifteen, after the work was done."""
    import gc
    import socket
    import threading
    import time

    import flows.serve
    from tests.servers import free_port

    port = free_port()
    answered: list[bool] = []

    def scheduler(*args: object, **kwargs: object) -> None:  # the scheduler's run: until the web is up
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not answered:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    answered.append(True)
            except OSError:
                time.sleep(0.05)

    class Unwatched:  # the watchdog's thread would outlive the test and its store
        def __init__(self, *args: object) -> None:
            pass

        def start(self) -> None:
            pass

    monkeypatch.setattr(flows.serve, "serve", scheduler)
    monkeypatch.setattr("cascade.web.server.Watchdog", Unwatched)
    try:
        result = runner.invoke(app, ["serve", "--for", "1", "--web-port", str(port)])
    finally:
        gc.unfreeze()  # the server froze what it loaded, as it does for good in `cascade serve`
    assert result.exit_code == 0, result.output
    assert answered == [True]  # the web application was serving
    assert [t for t in threading.enumerate() if t.name == "cascade-web"] == []  # and has stopped
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_deploy_without_a_prefect_server_says_serve_will_register_it(data_dir: Path) -> None:
    result = runner.invoke(app, ["deploy", HA_TINH])
    assert result.exit_code == 0, result.output
    assert "`cascade serve` creates its deployment" in result.stderr


def test_undeploy_stops_ticks_and_keeps_the_history(data_dir: Path) -> None:
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    first = runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-11-20 08:00"])
    assert re.search(r"ha-tinh-xix-2020: opened \d+", first.stderr), first.stderr  # counts in words
    done = runner.invoke(app, ["undeploy", "ha-tinh-xix-2020"])
    assert done.exit_code == 0, done.output
    assert "ha-tinh-xix-2020 undeployed; its signals, events and outbox are kept" in done.stderr
    later = runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-12-20 08:00"])
    assert later.exit_code == 1 and "is stopped since" in later.stderr, later.stderr  # (not "nothing due")
    status = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env={"COLUMNS": "200"})
    assert status.exit_code == 0 and "Hội nghị cán bộ chủ chốt toàn tỉnh" in status.stdout  # history kept
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0  # deploying again resumes it
    resumed = runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-12-20 08:00"])
    assert re.search(r"overdue \d+", resumed.stderr), resumed.stderr
    unknown = runner.invoke(app, ["undeploy", "no-such-campaign"])
    assert unknown.exit_code == 1 and "no deployed campaign `no-such-campaign`" in unknown.stderr


def test_deploy_signal_tick_status(data_dir: Path) -> None:
    result = runner.invoke(app, ["deploy", HA_TINH])
    assert result.exit_code == 0, result.output
    assert "deployed ha-tinh-xix-2020: 241 instances added" in result.stderr
    assert (data_dir / "cascade.db").exists()
    again = runner.invoke(app, ["deploy", HA_TINH])  # the same file: it said "241 updated", changing none
    assert "updated ha-tinh-xix-2020: 0 instances added, 0 updated, 0 archived" in again.stderr
    ok = runner.invoke(
        app,
        [
            "signal",
            "ha-tinh-xix-2020",
            "tu-ha-tinh",
            "hn-tinh",
            "--at",
            "18/11/2020 10:00",
            "-f",
            "attendees=450",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "1 signal(s) recorded" in ok.stderr
    tick = runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-12-01 08:00"])
    assert tick.exit_code == 0, tick.output
    assert "completed 1, overdue 18" in tick.stderr
    status = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env={"COLUMNS": "200"})
    assert status.exit_code == 0
    assert "overdue: 18 instance(s)" in status.stdout
    # the overdue list first, then the progress by level and task, tasks by their titles
    assert status.stdout.index("overdue:") < status.stdout.index("Hội nghị cán bộ chủ chốt toàn tỉnh")
    # in an 80-column terminal (or a file) the titles were cut to a word a line between nine
    # columns: the states are said in one column instead
    narrow = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--limit", "1"], env={"COLUMNS": "80"})
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines if "│" in line) <= 80
    [top] = [line for line in lines if "Hội nghị cán bộ chủ chốt toàn tỉnh" in line]
    assert "1/1" in top and "on time 1" in top, narrow.stdout
    [district] = [line for line in lines if "Hội nghị cốt cán cấp huyện" in line]
    assert "0/18" in district and "overdue 18" in district, narrow.stdout


def test_figures_written_after_the_task_are_the_signals_figures(data_dir: Path) -> None:
    """`cascade signal … hn-tinh attendees=450`, the figures written after the task as the command
    line reads, was "unexpected extra arguments"; only `-f attendees=450` was taken."""
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    signal = ["signal", "ha-tinh-xix-2020", "Tỉnh ủy Hà Tĩnh", "hn-tinh", "--at", "18/11/2020 10:00"]
    ok = runner.invoke(app, [*signal, "attendees=450"])
    assert ok.exit_code == 0, ok.output
    assert "Số đại biểu dự 450" in " ".join(ok.stderr.split())  # (by its title)
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{data_dir / 'cascade.db'}")
    with engine.connect() as conn:
        [fields] = conn.execute(text("SELECT fields FROM signals")).scalars().all()
    engine.dispose()
    assert json.loads(fields) == {"attendees": 450}
    bare = runner.invoke(app, [*signal, "450"])  # a figure without its name
    assert bare.exit_code == 1
    assert "`450` is not key=value" in bare.stderr and "attendees=450" in bare.stderr


def test_a_dispatch_that_finds_nothing_due_says_when_the_notices_go(data_dir: Path) -> None:
    """At 02:43 `cascade dispatch` printed an empty table: the tick's notices were waiting out the
    quiet hours until 07:00, and nothing said so. It says how many wait, and until when."""
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-11-10 23:00"]).exit_code == 0
    env = {"CASCADE_NOTIFY": "log", "COLUMNS": "250"}
    night = runner.invoke(app, ["dispatch", "ha-tinh-xix-2020", "--now", "2020-11-11 02:43"], env=env)
    assert night.exit_code == 0, night.output
    said = " ".join(night.stdout.split())
    assert re.search(
        r"nothing is due to send now; \d+ notices wait for their time, the first at 07:00 11/11/2020", said
    )
    morning = runner.invoke(app, ["dispatch", "ha-tinh-xix-2020", "--now", "2020-11-11 07:00"], env=env)
    assert "nothing is due" not in morning.stdout and "sent" in morning.stdout, morning.output
    after = runner.invoke(app, ["dispatch", "ha-tinh-xix-2020", "--now", "2020-11-11 07:05"], env=env)
    assert "nothing is due to send now, and no notice is waiting" in " ".join(after.stdout.split())


def test_a_second_signal_for_a_done_task_says_it_changes_nothing(data_dir: Path, tmp_path: Path) -> None:
    """An operator correcting a time or a figure by signalling again was told "the next tick
    applies them"; the tick did not (the first signal counts), and nothing said so."""
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    first = [
        "signal",
        "ha-tinh-xix-2020",
        "tu-ha-tinh",
        "hn-tinh",
        "--at",
        "18/11/2020 10:00",
        "-f",
        "attendees=450",
    ]
    assert runner.invoke(app, first).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-12-01 08:00"]).exit_code == 0
    again = runner.invoke(
        app,
        [
            "signal",
            "ha-tinh-xix-2020",
            "Tỉnh ủy Hà Tĩnh",
            "hn-tinh",
            "--at",
            "17/11/2020 10:00",
            "-f",
            "attendees=400",
        ],
    )
    assert again.exit_code == 0, again.output
    said = " ".join(again.stderr.split())
    assert (
        "warning: Tỉnh ủy Hà Tĩnh: «Hội nghị cán bộ chủ chốt toàn tỉnh» was already done on 18/11/2020 "
        "10:00; this signal is kept but changes nothing" in said
    ), said
    assert "but none changes anything" in said and "the next tick applies" not in said
    sheet = tmp_path / "tra-loi.csv"
    sheet.write_text(
        "at,unit,task,attendees\n"
        "17/11/2020 11:00,tu-ha-tinh,hn-tinh,401\n"
        "05/12/2020 10:00,hu-can-loc,hn-huyen,100\n",
        encoding="utf-8",
    )
    mixed = runner.invoke(app, ["signal", "ha-tinh-xix-2020", "--import", str(sheet)])
    assert mixed.exit_code == 0, mixed.output
    said = " ".join(mixed.stderr.split())
    assert said.count("was already done") == 1
    assert "2 signal(s) recorded for ha-tinh-xix-2020 (1 of them change nothing: already done)" in said, said
    same = runner.invoke(app, ["signal", "ha-tinh-xix-2020", "--import", str(sheet)])
    assert "nothing new for ha-tinh-xix-2020: all 2 signal(s) were already recorded" in " ".join(
        same.stderr.split()
    )
    tick = runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-12-06 08:00"])
    assert "completed 1" in tick.stderr, tick.stderr  # Can Lộc's; the province's stays as it was
    events = runner.invoke(
        app, ["events", "ha-tinh-xix-2020", "--unit", "tu-ha-tinh", "--kind", "task.completed"]
    )
    assert events.stdout.count("task.completed") == 1 and '"at":"2020-11-18T10:00:00+07:00"' in events.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["signal", "ha-tinh-xix-2020", "hu-can-loc", "hn-huyen", "-f", "atendees=3"],
            "`hn-huyen` has no field `atendees`; did you mean `attendees`?",
        ),
        (["signal", "ha-tinh-xix-2020", "hu-can-loc", "hn-huyen", "-f", "attendees"], "is not key=value"),
        (
            [
                "signal",
                "ha-tinh-xix-2020",
                "hu-can-loc",
                "hn-huyen",
                "--at",
                "31/11/2020 10:00",
                "-f",
                "attendees=1",
            ],
            "month 11/2020 has 30 days",
        ),
        (["signal", "nope", "hu-can-loc", "hn-huyen"], "no deployed campaign `nope`"),
        (["signal", "ha-tinh-xix-2020", "hu-can-loc"], "name the UNIT and the TASK"),
        (["tick", "ha-tinh-xix-2020", "--now", "last week"], "is not a time"),
    ],
)
def test_engine_commands_refuse_bad_input_clearly(data_dir: Path, args: list[str], message: str) -> None:
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_signal_import_is_all_or_nothing(data_dir: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    bad = tmp_path / "signals.csv"
    bad.write_text(
        "at,unit,task,attendees,members\n2020-11-18 10:00,tu-ha-tinh,hn-tinh,450,\n"
        "2020-11-27 15:00,hu-can-loc,hn-huyen,x,\n2020-12-20 09:00,x-nope,hn-co-so,40,50\n",
        "utf-8",
    )
    result = runner.invoke(app, ["signal", "ha-tinh-xix-2020", "--import", str(bad)])
    assert result.exit_code == 1
    assert (
        f"{bad}:3: error: hu-can-loc/hn-huyen: Số đại biểu dự (attendees): `x` is not a whole number"
        in result.stderr
    )
    assert f"{bad}:4: error: x-nope/hn-co-so: no unit `x-nope`" in result.stderr
    status = runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-11-19 08:00"])
    assert "task.completed" not in status.stderr  # the good first row was not stored either


def test_simulate_writes_the_event_log(tmp_path: Path) -> None:
    out_file = tmp_path / "events.jsonl"
    signals = ROOT / "tests" / "scenarios" / "ha-tinh-xix-2020.signals.yaml"
    result = runner.invoke(
        app,
        ["simulate", HA_TINH, "--signals", str(signals), "--until", "30/11/2020", "--out", str(out_file)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out_file.read_text("utf-8").splitlines()]
    assert lines[0] == {
        "at": "2020-11-10T00:00:00+07:00",
        "kind": "task.opened",
        "campaign": "ha-tinh-xix-2020",
        "task": "hn-tinh",
        "unit": "tu-ha-tinh",
        "to": ["tu-ha-tinh"],
        "stage": None,
    }
    assert [line["at"] for line in lines] == sorted(line["at"] for line in lines)
    assert max(line["at"] for line in lines) < "2020-12-01"
    assert "task.completed" in result.stdout and "simulated to 30/11/2020" in result.stdout


def test_an_event_log_that_cannot_be_written_whole_is_not_written_at_all(tmp_path: Path) -> None:
    """A log file is written into `.NAME.part` and renamed over NAME at the end: when that fails
    (here NAME is a folder, which no rename replaces, even as root) nothing is left half-written,
    and a log written whole leaves no part file behind."""
    taken = tmp_path / "events.jsonl"
    (taken / "kept").mkdir(parents=True)
    args = ["simulate", HA_TINH, "--until", "20/11/2020", "--out"]
    failed = runner.invoke(app, [*args, str(taken)], env={"COLUMNS": "200"})
    assert failed.exit_code == 1 and "cannot write" in failed.stderr, failed.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl"]  # no .events.jsonl.part
    assert (taken / "kept").is_dir()
    written = runner.invoke(app, [*args, str(tmp_path / "log.jsonl")], env={"COLUMNS": "200"})
    assert written.exit_code == 0, written.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "log.jsonl"]
    assert (tmp_path / "log.jsonl").read_text("utf-8").startswith('{"at":')


def test_an_event_log_named_for_a_spreadsheet_or_document_is_refused(data_dir: Path, tmp_path: Path) -> None:
    """`cascade events --out nhat-ky.xlsx` (or `simulate --out` a .csv) wrote JSON lines under a
    name Excel then failed to open, or opened as a column of braces. The log is JSON lines: such
    a name is refused before anything runs, naming the file to write instead."""
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-11-20 08:00"]).exit_code == 0
    for command, name in (
        (["events", "ha-tinh-xix-2020"], "nhat-ky.xlsx"),
        (["events", "ha-tinh-xix-2020"], "nhat-ky.CSV"),
        (["simulate", HA_TINH, "--until", "20/11/2020"], "log.csv"),
        (["simulate", HA_TINH, "--until", "20/11/2020"], "log.docx"),
    ):
        refused = runner.invoke(app, [*command, "--out", str(tmp_path / name)], env={"COLUMNS": "300"})
        assert refused.exit_code == 1, refused.output
        said = " ".join(refused.stderr.split())
        suffix = name.rsplit(".", 1)[1].lower()
        assert f"the event log is written as JSON lines (one event a line), not .{suffix}" in said, said
        assert f"name it {tmp_path / name.rsplit('.', 1)[0]}.jsonl" in said, said
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # (the store's folder) and nothing written
    kept = runner.invoke(app, ["events", "ha-tinh-xix-2020", "--out", str(tmp_path / "nhat-ky.log")])
    assert kept.exit_code == 0, kept.output
    assert (tmp_path / "nhat-ky.log").read_text("utf-8").startswith('{"at":')


def test_status_lists_every_overdue_unit_with_its_parent_days_and_stage(any_store: Path) -> None:
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2021-01-18 08:00"]).exit_code == 0
    wide = {"COLUMNS": "250"}
    as_csv = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    rows = sheet(as_csv.stdout)
    assert len(rows) > 30  # the trial's status showed 30 of them and said nothing of the rest
    overdue = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env=wide)
    assert f"overdue: {len(rows)} instance(s)" in overdue.stdout
    assert "as of the last tick: 18/01/2021 08:00" in overdue.stdout
    assert all(r["unit"] in overdue.stdout for r in rows)  # every one listed, by name
    assert "more overdue" not in overdue.stdout
    first = rows[0]
    assert first["last_day"] == "19/11/2020" and int(first["days_overdue"]) >= 30
    grassroots = [r for r in rows if r["level"] == "grassroots"]
    assert grassroots and all(r["parent"] and r["parent"] != r["unit"] for r in grassroots)
    assert all(0 <= int(r["stage"]) <= int(r["stages"]) for r in rows)
    limited = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--limit", "5"], env=wide)
    assert f"… and {len(rows) - 5} more overdue (--limit 5" in limited.stdout
    only = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--level", "grassroots", "--format", "json"])
    body = json.loads(only.stdout)
    assert body["overdue_total"] == len(grassroots) == len(body["overdue"])
    assert {p["level"] for p in body["progress"]} == {"grassroots"}
    assert body["as_of"] == "2021-01-18T08:00:00+07:00"
    parent = grassroots[0]["parent"]
    under = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--under", "tu-ha-tinh", "--format", "csv"])
    assert len(sheet(under.stdout)) == len(rows) - 1  # all but the province
    assert parent
    bad = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--level", "commune"])
    assert bad.exit_code == 1 and "no level `commune`" in bad.stderr and "grassroots" in bad.stderr


def test_a_campaign_named_in_capitals_or_by_the_start_of_its_title_is_found_or_named(any_store: Path) -> None:
    """`cascade status HA-TINH-XIX-2020` (the id in capitals, as a document cites it) was "no
    deployed campaign", and so was the beginning of its title, whose hint listed ids only: the
    operator knows a campaign by its title. Capitals aside, the id is found; a title's beginning
    is answered with the campaign it begins, by id and title."""
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    shouted = runner.invoke(app, ["status", "HA-TINH-XIX-2020"], env={"COLUMNS": "250"})
    assert shouted.exit_code == 0, shouted.output
    assert "not ticked yet" in shouted.stdout
    begun = runner.invoke(app, ["status", "học tập, quán triệt"])
    assert begun.exit_code == 1
    assert "no deployed campaign `học tập, quán triệt`" in begun.stderr
    assert (
        "did you mean `ha-tinh-xix-2020` («Học tập, quán triệt, tuyên truyền và triển khai thực hiện Nghị "
        "quyết Đại hội đại biểu Đảng bộ tỉnh lần thứ XIX, nhiệm kỳ 2020 - 2025»)?"
    ) in " ".join(begun.stderr.split()), begun.stderr


def test_a_task_named_in_capitals_or_by_the_start_of_its_title_is_found_or_named(any_store: Path) -> None:
    """`cascade extend ... HN-CO-SO` and `... "Hội nghị toàn thể"` were "no task or report" with
    the campaign's task ids listed, which the operator, who knows each task by its title, cannot
    match. Capitals aside, the id is the task; a title's beginning that fits one task is
    answered with it, and otherwise every task is listed with its title."""
    env = _shift_to("2021-01-18 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    extend = ["extend", "ha-tinh-xix-2020", "x-tung-loc"]
    shouted = runner.invoke(
        app, [*extend, "HN-CO-SO", "--to", "25/01/2021", "--reason", "Bão", "--dry-run"], env=env
    )
    assert shouted.exit_code == 0, shouted.output
    assert "«Hội nghị toàn thể đảng viên cấp cơ sở»: 14/01/2021 → 25/01/2021" in shouted.stdout
    for command in (
        [*extend, "Hội nghị toàn thể", "--to", "25/01/2021", "--reason", "Bão", "--dry-run"],
        ["status", "ha-tinh-xix-2020", "--task", "Hội nghị toàn thể"],
        ["template", "ha-tinh-xix-2020", "--task", "Hội nghị toàn thể", "--out", str(any_store / "t.xlsx")],
        # a signal typed after a phone call said "no task or report «Hội nghị toàn thể»", nothing more
        ["signal", "ha-tinh-xix-2020", "x-tung-loc", "Hội nghị toàn thể", "--at", "17/01/2021 08:00"],
    ):
        begun = runner.invoke(app, command, env=env)
        assert begun.exit_code == 1, begun.output
        said = " ".join(begun.stderr.split())
        assert "did you mean `hn-co-so` («Hội nghị toàn thể đảng viên cấp cơ sở»)?" in said, (command, said)
    nothing = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--task", "Báo cáo quý"], env=env)
    said = " ".join(nothing.stderr.split())
    assert nothing.exit_code == 1 and "`hn-tinh` («Hội nghị cán bộ chủ chốt toàn tỉnh»)" in said, said
    assert "`bc-tien-do` («Báo cáo tiến độ học tập, quán triệt Nghị quyết»)" in said


def test_events_take_a_kind_in_the_words_a_tick_prints_it(any_store: Path) -> None:
    """`cascade tick` says "đôn đốc 54, quá hạn 18"; `cascade events --kind "đôn đốc"` was "no event
    kind", with a list of `escalation.sent`-style ids to choose from. A kind is taken in those
    words too (either language), and the list names each kind with its words."""
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-12-20 09:00"]).exit_code == 0
    by_id = runner.invoke(app, ["events", "ha-tinh-xix-2020", "--kind", "escalation.sent"])
    assert by_id.exit_code == 0 and by_id.stdout.count("\n") > 0
    for words in (["--lang", "vi"], []):
        said = "đôn đốc" if words else "escalations"
        by_word = runner.invoke(app, [*words, "events", "ha-tinh-xix-2020", "--kind", said.upper()])
        i18n.use("en")
        assert by_word.exit_code == 0, by_word.output
        assert by_word.stdout == by_id.stdout
    unknown = runner.invoke(app, ["--lang", "vi", "events", "ha-tinh-xix-2020", "--kind", "gia hạn"])
    i18n.use("en")
    said = " ".join(unknown.stderr.split())
    assert unknown.exit_code == 1 and "`task.amended` («điều chỉnh hạn chót»)" in said, said
    assert "`escalation.sent` («đôn đốc»)" in said


def test_status_says_when_the_summary_goes_out_and_that_the_campaign_runs_on_after_it(
    any_store: Path,
) -> None:
    """A campaign ticked a year past its summary escalated its 223 overdue units at every repeat,
    and `cascade status` said nothing of the summary: an operator could not see that the campaign
    was over but still sending, nor how to end it."""
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    wide = {"COLUMNS": "250"}
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2021-01-18 08:00"]).exit_code == 0
    before = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env=wide)
    assert "summary due 20/01/2021 07:00" in before.stdout, before.stdout
    assert "runs on" not in before.stdout
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2021-01-25 09:00"]).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2022-01-03 09:00"]).exit_code == 0
    after = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env=wide)
    overdue = len(sheet(runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "csv"]).stdout))
    assert "summary sent 25/01/2021 09:00" in after.stdout, after.stdout
    assert (
        f"the campaign runs on: its {overdue} overdue are escalated as the file says until their signals "
        "come; once it is over, `cascade undeploy ha-tinh-xix-2020` ends it (its history is kept)"
    ) in after.stdout
    assert runner.invoke(app, ["undeploy", "ha-tinh-xix-2020"]).exit_code == 0
    stopped = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env=wide)
    assert "summary sent 25/01/2021 09:00" in stopped.stdout and "runs on" not in stopped.stdout


def test_an_overdue_list_too_long_for_a_table_is_cut_and_says_how_to_see_it_all(
    any_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cascade status` of a national campaign drew all its 20,888 overdue instances as a table:
    15 s (on PostgreSQL) of rows scrolling past the progress an operator ran it for. Past TABLE_ROWS
    the table lists the most overdue and says how many more there are and how to see them; the
    CSV and JSON list every one, and an explicit --limit is kept."""
    import cascade.cli.status

    monkeypatch.setattr(cascade.cli.status, "TABLE_ROWS", 10, raising=False)  # (not on older code)
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2021-01-18 08:00"]).exit_code == 0
    wide = {"COLUMNS": "400"}
    as_csv = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "csv"])
    rows = sheet(as_csv.stdout)
    assert len(rows) > 30
    table = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env=wide)
    assert table.exit_code == 0, table.output
    assert f"overdue: {len(rows)} instance(s)" in table.stdout
    overdue_table = table.stdout.split("… and")[0]
    body = [line for line in overdue_table.splitlines() if line.startswith("│")]
    assert len(body) == 10  # the ten most overdue (the header is ┃)
    assert all(r["unit"] in overdue_table for r in rows[:10])
    assert (
        f"… and {len(rows) - 10} more overdue, too many to read in a table. Every one: cascade status "
        "ha-tinh-xix-2020 --format csv > qua-han.csv (it opens in Excel); fewer: --level, --task, --under; "
        "more here: --limit N"
    ) in " ".join(table.stdout.split()), table.stdout
    assert "progress" in table.stdout.split("… and")[1]  # the progress per level and task follows
    asked = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--limit", "20"], env=wide)
    assert f"… and {len(rows) - 20} more overdue (--limit 20" in asked.stdout
    whole = json.loads(runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "json"]).stdout)
    assert len(whole["overdue"]) == whole["overdue_total"] == len(rows)


def test_an_extension_past_the_summary_date_is_warned_of(data_dir: Path) -> None:
    """`validate` warns of a file's deadline the summary goes out before; an extension to
    10/02/2021, past Hà Tĩnh's summary on 20/01/2021, went in without a word, and the summary
    then counted those communes as not done."""
    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    ext = ["extend", "ha-tinh-xix-2020", "--under", "Huyện ủy Can Lộc", "hn-co-so", "--reason", "lũ lụt"]
    late = runner.invoke(app, [*ext, "--to", "10/02/2021"], env={**env, "COLUMNS": "300"})
    assert late.exit_code == 0, late.output
    assert (
        "warning: the summary goes out on 20/01/2021, before the last day 10/02/2021 has passed: it counts "
        "these units as not done unless they finish before; move `summary_date` in the file to wait for them"
    ) in late.stderr
    sooner = runner.invoke(app, [*ext[:3], "Huyện ủy Nghi Xuân", *ext[4:], "--to", "19/01/2021"], env=env)
    assert sooner.exit_code == 0 and "warning" not in sooner.stderr, sooner.output  # before it: nothing


def test_a_level_option_takes_the_level_as_the_operator_reads_it(data_dir: Path) -> None:
    """`status` shows levels as "cơ sở", "cấp huyện"; `--level "cơ sở"` was "no level", and `extend
    --level "Cơ sở"` said only that no unit was chosen (and to use --level), a level it did not
    know passing in silence. Both take a level by its id, as people write it, or as shown."""
    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    by_id = runner.invoke(
        app, ["status", "ha-tinh-xix-2020", "--level", "grassroots", "--format", "json"], env=env
    )
    for written in ("cơ sở", "Cấp cơ sở", "CƠ SỞ"):
        said = runner.invoke(
            app, ["status", "ha-tinh-xix-2020", "--level", written, "--format", "json"], env=env
        )
        assert said.exit_code == 0 and said.stdout == by_id.stdout, (written, said.output)
    ext = ["extend", "ha-tinh-xix-2020", "hn-huyen", "--to", "25/12/2020", "--reason", "x"]
    done = runner.invoke(app, [*ext, "--level", "Cấp huyện"], env=env)
    assert done.exit_code == 0, done.output
    assert "units" in done.stdout and "→ 25/12/2020" in done.stdout
    unknown = runner.invoke(app, [*ext, "--level", "cấp xã"], env=env)
    assert unknown.exit_code == 1 and "no level `cấp xã`" in unknown.stderr, unknown.output
    assert "cấp tỉnh (province), cấp huyện (district), cơ sở (grassroots)" in unknown.stderr


def test_a_level_is_taken_by_its_short_word_where_the_campaign_makes_it_one(
    data_dir: Path, tmp_path: Path
) -> None:
    """A national campaign's status took `--level huyện` but not `--level xã` ("no level `xã`; one
    of: central, province, district, commune, cell"): the levels' ids, not as the tables show them.
    "xã" is not a level everywhere (a commune is a grassroots unit in some campaigns), but in one
    whose levels show "cấp xã" it names that level; the choices read as the tables show them."""
    (tmp_path / "units.yaml").write_text(
        SMALL_UNITS.replace("grassroots", "commune").replace("Đảng ủy xã", "Xã"), "utf-8"
    )
    tasks = "tasks:\n  - {id: hn, title: Hội nghị, level: commune, due: {before: 15/12/2020}}\n"
    (tmp_path / "c.yaml").write_text(HEADER + tasks, "utf-8")
    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", str(tmp_path / "c.yaml")], env=env).exit_code == 0
    status = ["status", "test-campaign", "--format", "json", "--level"]
    by_id = runner.invoke(app, [*status, "commune"], env=env)
    assert by_id.exit_code == 0 and {p["level"] for p in json.loads(by_id.stdout)["progress"]} == {"commune"}
    for written in ("xã", "Xã", "cấp xã"):
        said = runner.invoke(app, [*status, written], env=env)
        assert said.exit_code == 0 and said.stdout == by_id.stdout, (written, said.output)
    unknown = runner.invoke(app, [*status, "ấp"], env=env)
    assert unknown.exit_code == 1, unknown.output
    assert "one of: cấp tỉnh (province), cấp huyện (district), cấp xã (commune)" in unknown.stderr


def test_a_command_takes_a_task_by_its_title(data_dir: Path, tmp_path: Path) -> None:
    """`plan --task` and the signals take a task by its title; `extend`, `exempt`, `withdraw`,
    `status --task` and `template --task` said "no task" to the title the operator reads on
    every page and notice."""
    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    title = "Hội nghị cốt cán cấp huyện và tương đương"  # hn-huyen
    by_id = runner.invoke(
        app, ["status", "ha-tinh-xix-2020", "--task", "hn-huyen", "--format", "json"], env=env
    )
    by_title = runner.invoke(
        app, ["status", "ha-tinh-xix-2020", "--task", title, "--format", "json"], env=env
    )
    assert by_title.exit_code == 0 and by_title.stdout == by_id.stdout, by_title.output
    sheet = tmp_path / "mau.xlsx"
    made = runner.invoke(app, ["template", "ha-tinh-xix-2020", "--task", title, "--out", str(sheet)], env=env)
    assert made.exit_code == 0 and sheet.exists(), made.output
    ext = ["extend", "ha-tinh-xix-2020", "hu-can-loc", title.upper(), "--to", "25/12/2020", "--reason", "x"]
    assert runner.invoke(app, ext, env=env).exit_code == 0
    signalled = ["signal", "ha-tinh-xix-2020", "hu-can-loc", title, "--at", "20/12/2020 08:00"]
    assert runner.invoke(app, [*signalled, "--field", "attendees=30"], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    taken = runner.invoke(
        app, ["withdraw", "ha-tinh-xix-2020", "hu-can-loc", title, "--reason", "x"], env=env
    )
    assert taken.exit_code == 0, taken.output
    gone = runner.invoke(app, ["exempt", "ha-tinh-xix-2020", "hu-nghi-xuan", title, "--reason", "x"], env=env)
    assert gone.exit_code == 0, gone.output
    log = runner.invoke(app, ["events", "ha-tinh-xix-2020", "--kind", "task.exempted"], env=env)
    assert [json.loads(line)["task"] for line in log.stdout.splitlines()] == ["hn-huyen"]


def test_a_command_takes_the_campaign_by_its_title_and_status_lists_them_all(data_dir: Path) -> None:
    """Every notice, document and page names a campaign by its title; every command took only its
    id, and `cascade status` without one said "missing argument", not which campaigns there
    are. A campaign is named by its id or its title (capitals, spacing and marks aside), and
    `status` alone lists every campaign in the store, stopped ones too."""
    import unicodedata

    ha_tinh = (
        "Học tập, quán triệt, tuyên truyền và triển khai thực hiện Nghị quyết Đại hội đại biểu Đảng bộ "
        "tỉnh lần thứ XIX, nhiệm kỳ 2020 - 2025"
    )
    tra_vinh = str(ROOT / "campaigns" / "tra-vinh-ct01-2020.yaml")
    env = _shift_to("2020-12-20 09:00")
    empty = runner.invoke(app, ["status"], env=env)  # no store yet: said so (by main()), as for a campaign
    assert empty.exit_code == 1 and "deploy a campaign first" in str(empty.exception), empty.output
    for file in (HA_TINH, tra_vinh):
        assert runner.invoke(app, ["deploy", file], env=env).exit_code == 0
    typed = unicodedata.normalize("NFD", "  " + ha_tinh.upper().replace(", ", ",  ") + " ")
    ticked = runner.invoke(app, ["tick", typed, "--now", "2020-12-20 08:00"], env=env)
    assert ticked.exit_code == 0 and "ha-tinh-xix-2020: opened" in ticked.stderr, ticked.output
    signalled = ["signal", ha_tinh, "Huyện ủy Can Lộc", "hn-huyen", "--at", "19/12/2020 08:00"]
    assert runner.invoke(app, [*signalled, "--field", "attendees=30"], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", ha_tinh], env=env).exit_code == 0
    by_title = runner.invoke(app, ["status", ha_tinh, "--format", "json"], env=env)
    by_id = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "json"], env=env)
    assert by_title.exit_code == 0 and by_title.stdout == by_id.stdout, by_title.output
    log = runner.invoke(app, ["events", ha_tinh.lower(), "--kind", "task.completed"], env=env)
    assert [json.loads(line)["unit"] for line in log.stdout.splitlines()] == ["hu-can-loc"], log.output
    tra_vinh_title = (
        "Chỉ thị 01-CT/TU về học tập, quán triệt, tuyên truyền, triển khai thực hiện Nghị quyết Đại hội "
        "Đảng bộ tỉnh lần thứ XI, nhiệm kỳ 2020 - 2025"
    )
    assert runner.invoke(app, ["undeploy", tra_vinh_title], env=env).exit_code == 0
    listed = runner.invoke(app, ["status"], env={**env, "COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0] == "campaigns in the store: 2"
    first = lines[1]
    assert first.startswith("ha-tinh-xix-2020  running · as of the last tick: 20/12/2020 09:00 · overdue: ")
    assert first.endswith(" · summary due 20/01/2021") and lines[2] == "  " + ha_tinh
    assert lines[3].startswith("tra-vinh-ct01-2020  stopped since 20/12/2020 09:00 · not ticked yet")
    body = json.loads(runner.invoke(app, ["status", "--format", "json"], env=env).stdout)
    overdue = json.loads(by_id.stdout)["overdue_total"]
    assert overdue > 0 and f"overdue: {overdue} ·" in first  # as many as the campaign's own status counts
    assert [(c["campaign"], c["running"], c["overdue"]) for c in body] == [
        ("ha-tinh-xix-2020", True, overdue),
        ("tra-vinh-ct01-2020", False, 0),
    ]
    assert body[1]["stopped_at"] == "20/12/2020 09:00" and body[0]["summary_at"] == "20/01/2021"
    unknown = runner.invoke(app, ["status", "Học tập Nghị quyết XIX"], env=env)
    assert unknown.exit_code == 1 and "no deployed campaign `Học tập Nghị quyết XIX`" in unknown.stderr
    assert "`ha-tinh-xix-2020`" in unknown.stderr  # the ones there are
    of_one = runner.invoke(app, ["status", "--level", "grassroots"], env=env)
    assert of_one.exit_code == 1 and "name it: cascade status CAMPAIGN" in of_one.stderr, of_one.output


def test_vietnamese_typed_with_combining_marks_names_what_it_writes(data_dir: Path, tmp_path: Path) -> None:
    """Unikey's "Unicode tổ hợp" (and macOS, and some exports) write "ả" as "a" and a combining
    hook: the same letters, other code points. `signal "Đảng ủy xã Hà Linh"` typed so said "no
    unit `Đảng ủy xã Hà Linh`; did you mean `Đảng ủy xã Hà Linh`?", a task's title the same; a
    units file saved so kept names that no name typed the usual way matched. Text is taken
    composed (NFC) wherever it comes in."""
    import unicodedata

    def decomposed(text: str) -> str:
        return unicodedata.normalize("NFD", text)

    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    unit, task = decomposed("Huyện ủy Can Lộc"), decomposed("Hội nghị cốt cán cấp huyện và tương đương")
    assert unit != "Huyện ủy Can Lộc"
    said = runner.invoke(
        app,
        ["signal", "ha-tinh-xix-2020", unit, task, "--at", "18/12/2020 08:00", "-f", "attendees=30"],
        env=env,
    )
    assert said.exit_code == 0, said.output
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    log = runner.invoke(app, ["events", "ha-tinh-xix-2020", "--kind", "task.completed"], env=env)
    assert ("hn-huyen", "hu-can-loc") in [
        (e["task"], e["unit"]) for e in map(json.loads, log.stdout.splitlines())
    ]

    # a units file written with combining marks compiles to the names as they are usually typed
    from cascade.compile.files import load_plan

    folder = tmp_path / "nfd"
    shutil.copytree(ROOT / "campaigns", folder)
    units = folder / "units" / "ha-tinh.yaml"
    units.write_text(decomposed(units.read_text(encoding="utf-8")), encoding="utf-8")
    plan = load_plan(folder / "ha-tinh-xix-2020.yaml")
    assert plan.hierarchy.units["hu-can-loc"].name == "Huyện ủy Can Lộc"


def test_a_stopped_campaign_is_said_to_be_stopped(data_dir: Path) -> None:
    """After `cascade undeploy`, `status` dropped its last-tick line and said nothing of the stop,
    and `signal` answered "the next tick applies them", when no tick comes until it is deployed
    again. Both now say it is stopped, since when, and what brings it back."""
    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    assert runner.invoke(app, ["undeploy", "ha-tinh-xix-2020"], env=env).exit_code == 0
    stopped = "stopped since 20/12/2020 09:00 (cascade undeploy): no tick until it is deployed again"
    status = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env=env)
    assert status.exit_code == 0 and stopped in " ".join(status.stdout.split()), status.stdout
    said = runner.invoke(
        app, ["signal", "ha-tinh-xix-2020", "tu-ha-tinh", "hn-tinh", "-f", "attendees=300"], env=env
    )
    assert said.exit_code == 0, said.output
    assert "the next tick applies them" not in said.stderr
    assert (
        "ha-tinh-xix-2020 is stopped since 20/12/2020 09:00: they apply once it is deployed again"
        in " ".join(said.stderr.split())
    )


def _shift_to(instant: str) -> dict[str, str]:
    """The environment that makes commands act at `instant` (the drill clock shift)."""
    shift = pendulum.parse(instant, tz="Asia/Ho_Chi_Minh").timestamp() - pendulum.now().timestamp()  # type: ignore[union-attr]
    return {"CASCADE_CLOCK_SHIFT": str(int(shift)), "COLUMNS": "250"}


def test_a_campaign_deployed_before_its_issue_says_when_it_starts(data_dir: Path) -> None:
    """A campaign deployed a week ahead of its issue showed every task "held" and its tick said
    "nothing due", as though it were stuck; `status` and `tick` now say when it starts."""
    env = _shift_to("2020-11-05 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    ticked = runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env)
    assert ticked.exit_code == 0, ticked.output
    assert "it is issued on 10/11/2020: its work opens then" in ticked.stderr, ticked.stderr
    one = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env=env)
    assert "issued on 10/11/2020: its work opens then" in one.stdout, one.stdout
    every = runner.invoke(app, ["status"], env=env)
    assert "ha-tinh-xix-2020  issued on 10/11/2020 · as of the last tick: 05/11/2020 09:00" in every.stdout
    # once issued, it runs, and says nothing of it
    later = _shift_to("2020-11-10 09:00")
    assert "issued on" not in runner.invoke(app, ["status", "ha-tinh-xix-2020"], env=later).stdout
    assert "  running · " in runner.invoke(app, ["status"], env=later).stdout


def test_a_new_last_day_said_without_its_year_is_the_next_such_day(data_dir: Path) -> None:
    """`extend ... --to 15/1`, as a deadline is said on the phone in December, was "`15/1` is not
    a date". It is the next 15 January from the command's today: next year's, in December."""
    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    storm = ["ha-tinh-xix-2020", "hu-can-loc", "hn-huyen", "--reason", "Bão số 9", "--dry-run"]
    for said, meant in (("15/1", "15/01/2021"), ("ngày 25-1", "25/01/2021"), ("28/12", "28/12/2020")):
        told = runner.invoke(app, ["extend", *storm, "--to", said], env=env)
        assert told.exit_code == 0, told.output
        assert f"29/11/2020 → {meant}, 1 unit" in told.stdout, told.stdout
    wrong = runner.invoke(app, ["extend", *storm, "--to", "31/2"], env=env)
    assert wrong.exit_code == 1 and "`31/2` is not a date: month 2/2021 has 28 days" in wrong.stderr


def test_a_decision_without_by_is_the_campaigns_not_the_login_of_whoever_typed_it(
    any_store: Path, tmp_path: Path
) -> None:
    """`cascade extend` without --by recorded the shell's login as the decider: the commune's
    notice read "(root quyết định)" and the board's decisions "Người quyết định: root". It is the
    campaign's operator, else the body that issued the campaign."""
    import getpass
    import os

    from sqlalchemy import create_engine, select

    from cascade.engine import store

    env = _shift_to("2021-01-18 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    storm = ["ha-tinh-xix-2020", "x-tung-loc", "hn-co-so", "--reason", "Bão số 9"]
    extended = runner.invoke(app, ["extend", *storm, "--to", "25/01/2021"], env=env)
    assert extended.exit_code == 0, extended.output
    log = runner.invoke(app, ["events", "ha-tinh-xix-2020", "--kind", "task.amended"], env=env)
    [amended] = [json.loads(line) for line in log.stdout.splitlines()]
    assert amended["by"] == "Ban Thường vụ Tỉnh ủy Hà Tĩnh"  # the file's issued_by
    engine = create_engine(os.environ["CASCADE_DATABASE_URL"])
    with engine.connect() as conn:
        [notice] = conn.execute(
            select(store.outbox.c.payload).where(store.outbox.c.kind == "task.amended")
        ).all()
    assert getpass.getuser() not in json.dumps(notice.payload, ensure_ascii=False)
    listed = runner.invoke(app, ["decisions", "ha-tinh-xix-2020", "--format", "csv"], env=env)
    assert "Ban Thường vụ Tỉnh ủy Hà Tĩnh" in listed.stdout
    # a campaign with an operator: theirs
    text = Path(HA_TINH).read_text(encoding="utf-8")
    anchor = "  issued_by: Ban Thường vụ Tỉnh ủy Hà Tĩnh\n"
    assert anchor in text
    edited = tmp_path / "ha-tinh-xix-2020.yaml"
    edited.write_text(
        text.replace(anchor, anchor + "  operator: {name: Ban Tuyên giáo Tỉnh ủy, email: btg@hatinh.vn}\n"),
        encoding="utf-8",
    )
    (tmp_path / "units").mkdir()
    for units in (ROOT / "campaigns" / "units").iterdir():
        (tmp_path / "units" / units.name).write_text(units.read_text(encoding="utf-8"), encoding="utf-8")
    assert runner.invoke(app, ["deploy", str(edited)], env=env).exit_code == 0
    exempted = runner.invoke(
        app, ["exempt", "ha-tinh-xix-2020", "x-thien-loc", "hn-co-so", "--reason", "Sáp nhập"], env=env
    )
    assert exempted.exit_code == 0, exempted.output
    log = runner.invoke(app, ["events", "ha-tinh-xix-2020", "--kind", "task.exempted"], env=env)
    assert [json.loads(line)["by"] for line in log.stdout.splitlines()] == ["Ban Tuyên giáo Tỉnh ủy"]


def test_a_field_renamed_in_a_running_campaign_is_said_before_its_figures_go_uncounted(
    any_store: Path, tmp_path: Path
) -> None:
    """A field's id changed in the file (`attendees` to `dang_vien_du`, a Vietnamese id) deployed
    with "Notices this change sends: none", and the summary then read "Số đảng viên dự: 0" and a
    0% attendance for every commune that had reported: the figures were recorded under the old
    id. The summary says which field went with how many recorded figures, and which came empty."""
    env = _shift_to("2021-01-18 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    signals = str(ROOT / "tests" / "scenarios" / "ha-tinh-xix-2020.signals.yaml")
    assert runner.invoke(app, ["signal", "ha-tinh-xix-2020", "--import", signals], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    done = json.loads(runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "json"], env=env).stdout)
    [conferences] = [p for p in done["progress"] if p["task"] == "hn-co-so"]
    finished = conferences.get("done", 0) + conferences.get("done_late", 0)
    assert finished > 0
    text = Path(HA_TINH).read_text(encoding="utf-8")
    renamed = (
        text.replace(
            "      attendees: {type: int, title: Số đảng viên dự,",
            "      dang_vien_du: {type: int, title: Số đảng viên dự,",
        )
        .replace("formula: attendees / members", "formula: dang_vien_du / members")
        .replace("check: attendees <= members", "check: dang_vien_du <= members")
        .replace("hn-co-so.attendees,", "hn-co-so.dang_vien_du,")
    )
    assert renamed.count("dang_vien_du") == 4
    edited = tmp_path / "ha-tinh-xix-2020.yaml"
    edited.write_text(renamed, encoding="utf-8")
    (tmp_path / "units").mkdir()
    for units in (ROOT / "campaigns" / "units").iterdir():
        (tmp_path / "units" / units.name).write_text(units.read_text(encoding="utf-8"), encoding="utf-8")
    dry = runner.invoke(app, ["deploy", "--dry-run", str(edited)], env=env)
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    at = lines.index("Fields:")
    assert lines[at + 1] == (
        f"  «Hội nghị toàn thể đảng viên cấp cơ sở»: `attendees` (Số đảng viên dự) is no longer in the file: "
        f"{finished} signal(s) recorded it. Their figures are kept and no longer counted; a field renamed "
        "starts empty (to rename it for people, change its `title:` and keep its id)"
    ), lines
    assert lines[at + 2] == (
        f"  «Hội nghị toàn thể đảng viên cấp cơ sở»: `dang_vien_du` (Số đảng viên dự) is new: the {finished} "
        "unit(s) that finished the task have no figure for it, and count as none in the roll-ups"
    ), lines
    same = runner.invoke(app, ["deploy", "--dry-run", HA_TINH], env=env)  # (the file as deployed)
    assert "Fields:" not in same.stdout


def test_dry_run_then_deploy_an_extension_and_per_unit_decisions(any_store: Path, tmp_path: Path) -> None:
    """The README's worked example: the grassroots conference extended by two weeks."""
    env = _shift_to("2021-01-18 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    signals = str(ROOT / "tests" / "scenarios" / "ha-tinh-xix-2020.signals.yaml")
    assert runner.invoke(app, ["signal", "ha-tinh-xix-2020", "--import", signals], env=env).exit_code == 0
    late = ["signal", "ha-tinh-xix-2020", "x-tung-loc", "hn-co-so", "--at", "16/01/2021 09:00"]
    assert runner.invoke(app, [*late, "-f", "attendees=45", "-f", "members=50"], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    edited = tmp_path / "ha-tinh-xix-2020.yaml"  # the operator's file, edited (another name is refused)
    text = (
        Path(HA_TINH)
        .read_text(encoding="utf-8")
        .replace(
            "due: {before: 15/01/2021}\n    fields:\n      attendees: {type: int, title: Số đảng viên dự",
            "due: {before: 29/01/2021}\n    fields:\n      attendees: {type: int, title: Số đảng viên dự",
        )
    )
    assert "29/01/2021" in text
    edited.write_text(text, encoding="utf-8")
    (tmp_path / "units").mkdir()
    for units in (ROOT / "campaigns" / "units").iterdir():
        (tmp_path / "units" / units.name).write_text(units.read_text(encoding="utf-8"), encoding="utf-8")
    before = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "json"], env=env).stdout
    dry = runner.invoke(app, ["deploy", "--dry-run", str(edited)], env=env)
    assert dry.exit_code == 0, dry.output
    assert "«Hội nghị toàn thể đảng viên cấp cơ sở»: 14/01/2021 → 28/01/2021, 87 units:" in dry.stdout
    assert "1 re-judged on time" in dry.stdout and "reopened" in dry.stdout
    assert "2 already done on time: judged as before" in dry.stdout  # (not told: nothing changes for them)
    assert "Notices this change sends:" in dry.stdout
    assert "dry run: nothing was changed" in dry.stderr
    assert runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "json"], env=env).stdout == before
    real = runner.invoke(app, ["deploy", str(edited)], env=env)
    assert real.exit_code == 0 and dry.stdout.splitlines()[1:] == real.stdout.splitlines()[1:]
    ext = runner.invoke(
        app,
        ["extend", "ha-tinh-xix-2020", "hn-co-so", "--under", "hu-can-loc", "--to", "05/02/2021",
         "--reason", "Bão số 9", "--by", "Ban Tuyên giáo"],
        env=env,
    )  # fmt: skip
    assert ext.exit_code == 0, ext.output
    assert "28/01/2021 → 05/02/2021" in ext.stdout
    # they were open, so they are not "reopened": the summary said so of work never closed
    assert "3 still open, until the new deadline" in ext.stdout and "reopened" not in ext.stdout
    exempted = runner.invoke(
        app, ["exempt", "ha-tinh-xix-2020", "nope", "hn-co-so", "--reason", "x"], env=env
    )
    assert exempted.exit_code == 1 and "no unit `nope`" in exempted.stderr
    log = runner.invoke(app, ["events", "ha-tinh-xix-2020", "--kind", "task.amended"], env=env)
    reasons = {json.loads(line).get("reason") for line in log.stdout.splitlines()}
    assert reasons == {None, "Bão số 9"}


def test_extend_and_exempt_take_a_unit_by_its_exact_name_as_signal_does(
    data_dir: Path, tmp_path: Path
) -> None:
    """An operator copies names from a spreadsheet: UNIT, --under and a --units file may each
    name a unit by its id or its exact name, as `signal` and the signals file may."""
    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    ext = runner.invoke(
        app,
        ["extend", "ha-tinh-xix-2020", "hn-co-so", "--under", "Huyện ủy Can Lộc", "--to", "05/02/2021",
         "--reason", "Bão số 9"],
        env=env,
    )  # fmt: skip
    assert ext.exit_code == 0, ext.output
    assert "14/01/2021 → 05/02/2021, 6 units" in ext.stdout
    one = runner.invoke(
        app,
        ["--lang", "vi", "exempt", "ha-tinh-xix-2020", "Đảng ủy xã Tùng Lộc", "hn-co-so", "--reason", "Bão"],
        env=env,
    )
    i18n.use("en")
    assert one.exit_code == 0, one.output
    assert "Thông báo do thay đổi này gửi: miễn thực hiện 1" in one.stdout  # words, not `task.exempted`
    listed = tmp_path / "units.csv"
    listed.write_text("unit\nHuyện Ủy  Can Lộc\ntxu-hong-linh\n", encoding="utf-8")  # capitals, spacing
    many = runner.invoke(
        app,
        [
            "extend",
            "ha-tinh-xix-2020",
            "hn-huyen",
            "--units",
            str(listed),
            "--to",
            "25/12/2020",
            "--reason",
            "x",
        ],
        env=env,
    )
    assert many.exit_code == 0, many.output
    assert "29/11/2020 → 25/12/2020, 2 units" in many.stdout
    log = runner.invoke(app, ["events", "ha-tinh-xix-2020", "--kind", "task.amended"], env=env)
    amended = {(e["task"], e["unit"]) for e in map(json.loads, log.stdout.splitlines())}
    assert ("hn-co-so", "x-tung-loc") in amended
    wrong = runner.invoke(app, ["exempt", "ha-tinh-xix-2020", "Huyện ủy Can Lộ", "hn-huyen", "--reason", "x"])
    assert wrong.exit_code == 1 and "Huyện ủy Can Lộc" in wrong.stderr  # did you mean
    listed.write_text("Xã Không Có\nhu-can-loc\nxa-khong-co\n", encoding="utf-8")
    unknown = runner.invoke(
        app, ["exempt", "ha-tinh-xix-2020", "hn-huyen", "--units", str(listed), "--reason", "x"]
    )
    assert (
        unknown.exit_code == 1 and "no units Xã Không Có, xa-khong-co in ha-tinh-xix-2020" in unknown.stderr
    )


def test_a_list_of_units_may_be_a_sheet_as_offices_keep_it(data_dir: Path, tmp_path: Path) -> None:
    """`--units FILE` took one unit a line (or a CSV's first column, split at commas): the list as
    an office keeps it, a workbook with a numbered column of names, or a CSV saved by a
    Vietnamese Excel (separated by `;`), was "not UTF-8 text" or a list of unknown units."""
    import openpyxl

    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["DANH SÁCH ĐƠN VỊ ĐƯỢC GIA HẠN"])
    sheet.append(["STT", "Tên đơn vị", "Ghi chú"])
    sheet.append([1, "Huyện ủy Can Lộc", "Bão số 9"])
    sheet.append([2, "Thị ủy Hồng Lĩnh", None])
    book.save(tmp_path / "gia-han.xlsx")
    (tmp_path / "gia-han.csv").write_text(
        "STT;Mã đơn vị;Tên đơn vị\n1;hu-can-loc;Huyện ủy Can Lộc\n2;txu-hong-linh;Thị ủy Hồng Lĩnh\n", "utf-8"
    )
    for listed, before, to in (
        ("gia-han.xlsx", "29/11/2020", "25/12/2020"),
        ("gia-han.csv", "25/12/2020", "30/12/2020"),
    ):
        done = runner.invoke(
            app,
            ["extend", "ha-tinh-xix-2020", "hn-huyen", "--units", str(tmp_path / listed), "--to", to,
             "--reason", "Bão số 9"],
            env=env,
        )  # fmt: skip
        assert done.exit_code == 0, (listed, done.output)
        assert f"{before} → {to}, 2 units" in done.stdout, (listed, done.stdout)


def test_a_folder_of_returned_workbooks_is_imported_whole_or_not_at_all(
    data_dir: Path, tmp_path: Path
) -> None:
    """The districts send back the workbooks `cascade template` made, one each: an operator saved
    them in one folder and had to import them one by one (`--import tra-loi/*.xlsx` is refused: a
    second file is no option's value). `--import FOLDER` takes every workbook and CSV in it, in one
    transaction (one refused row stores none), passing over Excel's `~$` lock files."""
    import openpyxl

    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    folder = tmp_path / "tra-loi"
    folder.mkdir()
    for district in ("hu-can-loc", "hu-nghi-xuan"):
        made = runner.invoke(
            app,
            ["template", "ha-tinh-xix-2020", "--task", "hn-co-so", "--under", district, "--out",
             str(folder / f"{district}.xlsx")],
            env=env,
        )  # fmt: skip
        assert made.exit_code == 0, made.output
    (folder / "~$hu-can-loc.xlsx").write_bytes(b"\x0bExcel's owner file")  # the workbook is open in Excel
    (folder / "ghi-chu.txt").write_text("gửi kèm công văn", encoding="utf-8")

    def fill(district: str, attendees: object) -> None:
        book = openpyxl.load_workbook(folder / f"{district}.xlsx")
        sheet = book.worksheets[0]
        header = next(r for r in range(1, 10) if sheet.cell(r, 1).value == "Mã đơn vị (unit)")
        sheet.cell(header + 1, 6, "18/12/2020 08:00")
        sheet.cell(header + 1, 7, attendees)
        sheet.cell(header + 1, 8, 50)
        book.save(folder / f"{district}.xlsx")

    fill("hu-can-loc", 45)
    fill("hu-nghi-xuan", "bốn mươi")  # refused: neither file is stored
    refused = runner.invoke(app, ["signal", "ha-tinh-xix-2020", "--import", str(folder)], env=env)
    assert refused.exit_code == 1, refused.output
    assert f"{folder / 'hu-nghi-xuan.xlsx'}" in refused.stderr and "is not a whole number" in refused.stderr
    log = runner.invoke(app, ["events", "ha-tinh-xix-2020", "--kind", "task.completed"], env=env)
    fill("hu-nghi-xuan", 40)
    taken = runner.invoke(app, ["signal", "ha-tinh-xix-2020", "--import", str(folder)], env=env)
    assert taken.exit_code == 0, taken.output
    assert "2 signal(s) recorded for ha-tinh-xix-2020" in taken.stderr, taken.stderr
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    after = runner.invoke(app, ["events", "ha-tinh-xix-2020", "--kind", "task.completed"], env=env)
    done = [json.loads(line)["unit"] for line in after.stdout.splitlines()]
    assert len(done) == len(log.stdout.splitlines()) + 2

    # a third district's reply, saved as an Excel 97-2003 workbook: it was passed over in silence
    (folder / "hu-ky-anh.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    old = runner.invoke(app, ["signal", "ha-tinh-xix-2020", "--import", str(folder)], env=env)
    assert old.exit_code == 1, old.output
    said = " ".join(old.stderr.split())
    assert f"{folder / 'hu-ky-anh.xls'}: error: an Excel 97-2003 workbook (.xls), which Cascade" in said, said


def test_a_tick_before_the_last_one_is_told(data_dir: Path) -> None:
    """`cascade tick --now 01/12/2020` after the campaign ticked on 24/12 said "nothing" and left
    the operator to wonder: a tick before the last finds nothing that tick did not do."""
    env = _shift_to("2020-12-24 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    early = runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "01/12/2020 10:00"], env=env)
    assert early.exit_code == 0, early.output
    said = " ".join(early.stderr.split())
    assert (
        "warning: ha-tinh-xix-2020 last ticked at 24/12/2020 09:00, after 01/12/2020 10:00: what fell due "
        "before then was done by that tick" in said
    ), said
    later = runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "25/12/2020 10:00"], env=env)
    assert later.exit_code == 0 and "last ticked" not in later.stderr


def test_a_list_of_units_takes_names_that_hold_a_comma_or_a_hash(data_dir: Path, tmp_path: Path) -> None:
    """A plain list (`--units FILE`, one unit a line) was cut at the first `,` and `#`, for a
    second column and a comment: "Đảng ủy xã Đồng Lộc, Can Lộc" was read "Đảng ủy xã Đồng Lộc"
    and refused as no unit. A line names a unit whole where it does; else, as before, what comes
    before a comment or a second column."""
    folder = tmp_path / "c"
    shutil.copytree(ROOT / "campaigns", folder)
    units = folder / "units" / "ha-tinh.yaml"
    text = units.read_text(encoding="utf-8")
    for old, new in (
        ("name: Đảng ủy xã Đồng Lộc\n", "name: 'Đảng ủy xã Đồng Lộc, Can Lộc'\n"),
        ("name: Đảng ủy xã Tùng Lộc\n", "name: 'Đảng ủy xã Tùng Lộc #2'\n"),
    ):
        assert old in text
        text = text.replace(old, new)
    units.write_text(text, encoding="utf-8")
    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", str(folder / "ha-tinh-xix-2020.yaml")], env=env).exit_code == 0
    listed = tmp_path / "gia-han.txt"
    listed.write_text(
        "# các đơn vị được gia hạn\nĐảng ủy xã Đồng Lộc, Can Lộc\nĐảng ủy xã Tùng Lộc #2\n"
        "x-thien-loc  # báo qua điện thoại\nx-vuong-loc, Đảng ủy xã Vượng Lộc\n",
        encoding="utf-8",
    )
    done = runner.invoke(
        app,
        [
            "extend",
            "ha-tinh-xix-2020",
            "hn-co-so",
            "--units",
            str(listed),
            "--to",
            "30/01/2021",
            "--reason",
            "Bão",
        ],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert "14/01/2021 → 30/01/2021, 4 units" in done.stdout, done.stdout


def test_a_task_whose_id_changed_is_named_a_new_task_before_it_starts_over(
    data_dir: Path, tmp_path: Path
) -> None:
    """Cascade knows a task by its id: an operator who corrects an id in the file makes a new
    task (every unit starts it over, its notices go out again) and archives the old one's
    progress. The deploy's summary says so, by title, before and as it happens."""
    env = _shift_to("2020-12-05 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    done = ["signal", "ha-tinh-xix-2020", "hu-can-loc", "hn-huyen", "--at", "27/11/2020 09:00"]
    assert runner.invoke(app, [*done, "-f", "attendees=120"], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    renamed = tmp_path / "ha-tinh-xix-2020.yaml"
    text = Path(HA_TINH).read_text(encoding="utf-8")
    renamed.write_text(re.sub(r"\bhn-huyen\b", "hn-cap-huyen", text), encoding="utf-8")
    shutil.copytree(ROOT / "campaigns" / "units", tmp_path / "units")
    dry = runner.invoke(app, ["deploy", "--dry-run", str(renamed)], env=env)
    assert dry.exit_code == 0, dry.output
    said = " ".join(dry.stdout.split())
    title = "«Hội nghị cốt cán cấp huyện và tương đương»"
    assert f"{title}: its id changed from hn-huyen to hn-cap-huyen" in said, said
    assert "starts over at 18 units (1 finished under hn-huyen)" in said
    assert "put hn-huyen back in the file to keep its progress" in said
    vi = runner.invoke(app, ["--lang", "vi", "deploy", "--dry-run", str(renamed)], env=env)
    i18n.use("en")
    assert f"{title}: mã việc đổi từ hn-huyen thành hn-cap-huyen" in " ".join(vi.stdout.split()), vi.stdout
    mttq = "  - id: mttq\n    title: Học tập, phổ biến Nghị quyết đến đoàn viên, hội viên\n"
    assert mttq in text
    (tmp_path / "v3").mkdir()
    shutil.copytree(ROOT / "campaigns" / "units", tmp_path / "v3" / "units")
    removed = tmp_path / "v3" / "ha-tinh-xix-2020.yaml"
    removed.write_text(text.replace(mttq, "  - id: mttq-removed-x\n    title: Việc khác\n"), encoding="utf-8")
    gone = " ".join(runner.invoke(app, ["deploy", "--dry-run", str(removed)], env=env).stdout.split())
    assert "«Học tập, phổ biến Nghị quyết đến đoàn viên, hội viên» (mttq) removed from the file" in gone, gone
    assert "its id changed" not in gone and "«Việc khác» (mttq-removed-x) added" in gone


def test_a_copy_for_a_new_campaign_with_the_same_id_is_refused(data_dir: Path, tmp_path: Path) -> None:
    """An operator copies a running campaign's file to start the next one and forgets its `id:`:
    deploying it updated the running campaign (tasks archived, titles and deadlines rewritten)."""
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    shutil.copytree(ROOT / "campaigns" / "units", tmp_path / "units")
    copy = tmp_path / "nghi-quyet-05.yaml"
    copy.write_text(Path(HA_TINH).read_text(encoding="utf-8").replace("XIX", "XX"), encoding="utf-8")
    for args in (["deploy", str(copy)], ["deploy", "--dry-run", str(copy)]):
        refused = runner.invoke(app, args)
        assert refused.exit_code == 1, refused.output
        said = " ".join(refused.stderr.split())
        assert f"{copy}: error: campaign.id: `ha-tinh-xix-2020` is already deployed, from " in said, said
        assert "deploy again with --renamed" in said
    renamed = runner.invoke(app, ["deploy", "--renamed", str(copy)])  # the same campaign's file, renamed
    assert renamed.exit_code == 0, renamed.output
    assert runner.invoke(app, ["deploy", str(copy)]).exit_code == 0  # its name from now on


def test_a_campaign_whose_id_changed_in_its_file_is_not_started_a_second_time(
    data_dir: Path, tmp_path: Path
) -> None:
    """An operator "corrects" the `id:` of a running campaign's file and deploys it again: a second
    campaign of the same title started beside the first, every official got each notice twice, and
    the title named no campaign any more. The same for a new file keeping a running one's title."""
    shutil.copytree(ROOT / "campaigns", tmp_path / "campaigns")
    file = tmp_path / "campaigns" / "ha-tinh-xix-2020.yaml"
    assert runner.invoke(app, ["deploy", str(file)]).exit_code == 0
    text = file.read_text(encoding="utf-8")
    file.write_text(text.replace("id: ha-tinh-xix-2020", "id: ha-tinh-19-2020", 1), encoding="utf-8")
    for args in (["deploy", str(file)], ["deploy", "--dry-run", str(file)]):
        refused = runner.invoke(app, args)
        assert refused.exit_code == 1, refused.output
        said = " ".join(refused.stderr.split())
        head = f"{file}: error: campaign.id: `ha-tinh-xix-2020` runs from this file, under the same title"
        assert head in said, said
        assert "deploying it as `ha-tinh-19-2020` would start a second campaign beside it" in said, said
        assert "put its id back (`id: ha-tinh-xix-2020`)" in said and "--beside" in said, said
    listed = runner.invoke(app, ["status", "--format", "json"])
    assert [c["campaign"] for c in json.loads(listed.stdout)] == ["ha-tinh-xix-2020"], listed.output

    other = tmp_path / "campaigns" / "nghi-quyet-moi.yaml"  # a new campaign's file, its title kept
    other.write_text(text.replace("id: ha-tinh-xix-2020", "id: nq-moi", 1), encoding="utf-8")
    said = " ".join(runner.invoke(app, ["deploy", str(other)]).stderr.split())
    assert "`ha-tinh-xix-2020` runs under the same title" in said and "give this one its own `title:`" in said

    beside = runner.invoke(app, ["deploy", "--beside", str(file)])  # both, as the operator chose
    assert beside.exit_code == 0, beside.output
    assert runner.invoke(app, ["undeploy", "ha-tinh-xix-2020"]).exit_code == 0
    assert runner.invoke(app, ["deploy", str(other)]).exit_code == 1  # ha-tinh-19-2020 still runs
    assert runner.invoke(app, ["undeploy", "ha-tinh-19-2020"]).exit_code == 0
    assert runner.invoke(app, ["deploy", str(other)]).exit_code == 0  # only stopped ones share it now


def test_a_problem_on_line_100_is_not_printed_as_an_emoji(write) -> None:  # type: ignore[no-untyped-def]
    """The terminal printer read `campaign.yaml:100:` as the emoji code `:100:` and printed
    "campaign.yaml💯 error"; `:1234:` likewise."""
    padding = "".join(f"# {n}\n" for n in range(99 - HEADER.count("\n") - 1))
    for line, extra in ((100, ""), (1234, "".join(f"# {n}\n" for n in range(1134)))):
        text = (
            HEADER
            + padding
            + extra
            + "tasks:\n  - {id: hn-tinh, title: T, level: nowhere, due: {before: 20/11/2020}}\n"
        )
        path = write(text)
        assert text.splitlines()[line - 1].startswith("  - {id: hn-tinh"), line
        said = runner.invoke(app, ["validate", path]).stderr
        assert f"{path}:{line}: error: tasks[0].level" in said, said


def test_validating_loads_neither_the_store_nor_the_engine() -> None:
    """`cascade validate` and `plan` start in the time their own work takes: the store's and
    the engine's modules (SQLAlchemy: 0.4 s of imports), the settings (pydantic-settings) and
    Typer's help and error printer (38 ms) load only in the commands that use them."""
    import subprocess
    import sys

    seed = Path(__file__).parent.parent / "campaigns" / "ha-tinh-xix-2020.yaml"
    probe = (
        "import sys\n"
        "from cascade.cli import main\n"
        f"sys.argv = ['cascade', 'validate', {str(seed)!r}]\n"
        "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'cascade.engine.store', "
        "'cascade.engine.tick', 'cascade.views', 'cascade.settings', 'pydantic_settings', "
        "'typer.rich_utils')))\n"
        "print(loaded)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]", run.stdout


def test_status_and_signal_import_prefect_only_to_speak_to_a_server(tmp_path: Path) -> None:
    """`cascade status` took 1.9 s on any campaign, of which 1.8 s importing Prefect to read the
    tick interval from prefect.yaml; `cascade signal`, typed after each phone call, and
    `undeploy` paid the same with no Prefect server to speak to. Prefect loads now only when a
    server is there (the flows import it whatever they do)."""
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "CASCADE_LANG": "en", "HOME": str(tmp_path)}
    env["CASCADE_DATA_DIR"] = str(tmp_path / "data")
    cascade = str(Path(sys.executable).parent / "cascade")
    deployed = subprocess.run([cascade, "deploy", HA_TINH], env=env, capture_output=True, text=True)
    assert deployed.returncode == 0, deployed.stderr
    for args in (
        ["status", "ha-tinh-xix-2020"],
        [
            "signal",
            "ha-tinh-xix-2020",
            "tu-ha-tinh",
            "hn-tinh",
            "--at",
            "2020-11-12 09:00",
            "--field",
            "attendees=9",
        ],
        ["undeploy", "ha-tinh-xix-2020"],
    ):
        probe = (
            "import sys\n"
            "from cascade.cli import main\n"
            f"sys.argv = ['cascade', *{args!r}]\n"
            "try:\n    main()\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
            "tops = {m.split('.')[0] for m in sys.modules}\n"
            "print(sorted(tops & {'prefect', 'flows'}), file=sys.stderr)\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
        )
        assert run.returncode == 0, run.stderr
        assert run.stderr.strip().splitlines()[-1] == "['flows']", (args, run.stderr)


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """What `cascade ARGS` writes to a terminal (a pseudo-terminal: both its streams)."""
    import os
    import pty
    import subprocess
    import sys
    import threading

    main, side = pty.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # (the child is gone and its side closed)
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    cascade = str(Path(sys.executable).parent / "cascade")
    done = subprocess.run(
        [cascade, *args], stdin=subprocess.DEVNULL, stdout=side, stderr=side, env=env, timeout=120
    )
    os.close(side)
    reader.join(10)
    os.close(main)
    assert done.returncode == 0, b"".join(chunks).decode("utf-8", "replace")
    return b"".join(chunks).decode("utf-8", "replace")


def test_status_lists_each_levels_tasks_in_the_files_order(data_dir: Path) -> None:
    """A level's progress was sorted by task id: a district read "Báo cáo kết quả" above its
    conference, a cell its quarterly meeting before its essay. The file's order: its tasks as
    written, then its report."""
    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    body = json.loads(runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "json"], env=env).stdout)
    district = [p["task"] for p in body["progress"] if p["level"] == "district"]
    assert district == ["hn-huyen", "ctr-hanh-dong", "mttq", "bc-tien-do"], district


def test_a_signal_typed_as_yesterday_is_the_commands_yesterday(data_dir: Path) -> None:
    """`--at "hôm qua 15:30"` after a phone call was "not a time"; `--at 15:30` was 15:30 of the
    machine's day, not of the day the command acts on (the drill clock's 25/11/2020)."""
    from sqlalchemy import create_engine, text

    env = _shift_to("2020-11-25 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    province = ["signal", "ha-tinh-xix-2020", "tu-ha-tinh", "hn-tinh", "-f", "attendees=400"]
    said = runner.invoke(app, [*province, "--at", "hôm qua 15:30"], env=env)
    assert said.exit_code == 0, said.output
    district = ["signal", "ha-tinh-xix-2020", "Huyện ủy Can Lộc", "hn-huyen", "-f", "attendees=50"]
    assert runner.invoke(app, [*district, "--at", "8h30"], env=env).exit_code == 0
    store = create_engine(f"sqlite:///{data_dir / 'cascade.db'}")
    with store.connect() as conn:
        recorded = conn.execute(text("SELECT at FROM signals ORDER BY id")).scalars().all()
    store.dispose()
    assert [
        pendulum.from_timestamp(at, tz="Asia/Ho_Chi_Minh").format("DD/MM/YYYY HH:mm") for at in recorded
    ] == [
        "24/11/2020 15:30",
        "25/11/2020 08:30",
    ]


def test_one_signal_typed_is_said_back_as_it_was_read(data_dir: Path) -> None:
    """A signal typed by a unit's name, the work's title and "hôm qua 15:30" was answered "1
    signal(s) recorded": nothing said which unit, which work and which day it was read as. It
    is said back in full, as the notices and the board name them; and its figures by their titles
    as they were read ("1.245 đ/c" is 1245: said back as 1,245), which were not said back at all."""
    env = _shift_to("2020-11-25 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    typed = ["signal", "ha-tinh-xix-2020", "huyện ủy can lộc", "Hội nghị cốt cán cấp huyện và tương đương"]
    said = runner.invoke(app, [*typed, "-f", "Số đại biểu dự=1.245 đ/c", "--at", "hôm qua 15:30"], env=env)
    assert said.exit_code == 0, said.output
    assert said.stderr.splitlines()[-1] == (
        "  Huyện ủy Can Lộc: «Hội nghị cốt cán cấp huyện và tương đương», 15:30 24/11/2020; "
        "Số đại biểu dự 1,245"
    ), said.stderr
    again = runner.invoke(app, [*typed, "-f", "attendees=1245", "--at", "hôm qua 15:30"], env=env)
    assert "Huyện ủy Can Lộc:" not in again.stderr  # (nothing new stored: nothing to say back)
    report = ["signal", "ha-tinh-xix-2020", "x-thien-loc", "bc-tien-do", "-f", "hn-co-so.attendees=45"]
    reported = runner.invoke(app, report, env=env)
    assert reported.stderr.splitlines()[-1].endswith(
        "; Số đảng viên dự («Hội nghị toàn thể đảng viên cấp cơ sở») 45"  # (a roll-up figure: its label)
    ), reported.stderr


def test_deploy_and_tick_say_what_they_are_doing_on_a_terminal(tmp_path: Path) -> None:
    """A nation's redeploy compared 247,087 instances for 20 s, and its first tick ran 80 s, with
    nothing on the screen but the cursor (compiling had its spinner). Each says what it does while
    it works, on a terminal; a file or a pipe gets only the result."""
    env = {"PATH": "/usr/bin:/bin", "CASCADE_LANG": "en", "HOME": str(tmp_path), "TERM": "xterm"}
    env |= {"CASCADE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "100"}
    assert "reading what deploying ha-tinh-xix-2020 would change" in _on_a_terminal(
        ["deploy", HA_TINH, "--dry-run"], env
    )
    assert "deploying ha-tinh-xix-2020" in _on_a_terminal(["deploy", HA_TINH], env)
    ticked = _on_a_terminal(["tick", "ha-tinh-xix-2020", "--now", "2020-11-25 09:00"], env)
    assert "ticking ha-tinh-xix-2020" in ticked and "notices queued" in ticked, ticked
    extend = ["extend", "ha-tinh-xix-2020", "hn-huyen", "--level", "district", "--to", "10/12/2020"]
    extended = _on_a_terminal([*extend, "--reason", "Bão"], env | _shift_to("2020-11-25 09:00"))
    assert "working out the decision for ha-tinh-xix-2020" in extended and "extension recorded" in extended


def test_csv_redirected_to_a_file_opens_in_excel_and_a_pipe_gets_plain_csv(tmp_path: Path) -> None:
    """`cascade plan ... --format csv > ke-hoach.csv`, opened in Excel, showed "Huyá»‡n á»§y":
    Excel reads a CSV without a byte-order mark in the Windows code page. A file now starts with
    one (UTF-8 with BOM, Excel's "CSV UTF-8"); a pipe to another program gets the CSV alone."""
    import subprocess
    import sys

    command = [str(Path(sys.executable).parent / "cascade"), "plan", HA_TINH, "--format", "csv"]
    env = {"PATH": "/usr/bin:/bin", "CASCADE_LANG": "en", "HOME": str(tmp_path)}
    saved = tmp_path / "ke-hoach.csv"
    with saved.open("wb") as out:
        assert subprocess.run(command, stdout=out, env=env, check=False).returncode == 0
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    rows = sheet(raw.decode("utf-8-sig"))
    assert any(r["unit_name"] == "Huyện ủy Can Lộc" for r in rows)
    piped = subprocess.run(command, stdout=subprocess.PIPE, env=env, check=False)
    assert piped.returncode == 0 and piped.stdout == raw[3:]


def test_vietnamese_is_written_whatever_code_page_the_locale_names(tmp_path: Path) -> None:
    """A locale whose code page cannot hold Vietnamese (Latin-1 here; a redirect on a Vietnamese
    Windows uses cp1258, which has no "ệ") made `cascade plan` stop half-way with a traceback
    (UnicodeEncodeError), and `validate` lose its errors. Cascade writes UTF-8 whatever it names."""
    import subprocess
    import sys

    cascade = str(Path(sys.executable).parent / "cascade")
    env = {"PATH": "/usr/bin:/bin", "CASCADE_LANG": "vi", "HOME": str(tmp_path)}
    env["PYTHONIOENCODING"] = "latin-1"
    plan = subprocess.run([cascade, "plan", HA_TINH, "--format", "csv"], capture_output=True, env=env)
    assert plan.returncode == 0, plan.stderr.decode("utf-8", "replace")[-800:]
    assert "Huyện ủy Can Lộc" in plan.stdout.decode("utf-8")
    bad = tmp_path / "c.yaml"
    campaign = Path(HA_TINH).read_text(encoding="utf-8")
    bad.write_text(campaign.replace("summary_date:", "summary_day:"), encoding="utf-8")
    (tmp_path / "units").symlink_to(Path(HA_TINH).parent / "units")
    checked = subprocess.run([cascade, "validate", str(bad)], capture_output=True, env=env, check=False)
    assert checked.returncode == 1 and b"Traceback" not in checked.stderr
    assert "lỗi: campaign.summary_date: cần có `summary_date` ở đây" in checked.stderr.decode("utf-8")


def test_campaigns_from_workbooks_and_other_encodings_deploy_and_simulate(
    data_dir: Path, tmp_path: Path
) -> None:
    """`validate` takes a units workbook, a units CSV in the Windows code page and a campaign
    saved as Notepad's "Unicode", but `deploy` and `simulate` then failed with a traceback:
    they read both files once more as UTF-8 text, to fingerprint them (FileNotFoundError on
    "units.xlsx, sheet Sheet", UnicodeDecodeError on the others)."""
    import openpyxl

    from tests.test_sheets import cp1258

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "name", "level", "parent", "email"])
    for row in [
        ["tu-a", "Tỉnh ủy A", "province", "", "vp@example.vn"],
        ["hu-b", "Huyện ủy B", "district", "tu-a", "hu.b@example.vn"],
    ]:
        sheet.append(row)
    book.save(tmp_path / "units.xlsx")
    (tmp_path / "units.csv").write_bytes(
        cp1258(
            "id,name,level,parent,email\ntu-a,Tỉnh ủy A,province,,vp@example.vn\n"
            "hu-b,Huyện ủy B,district,tu-a,hu.b@example.vn\n"
        )
    )
    tasks = "tasks:\n  - {id: hn-tinh, title: Hội nghị tỉnh, level: province, due: {before: 20/11/2020}}\n"
    cases = {
        "workbook.yaml": (HEADER.replace("units.yaml", "units.xlsx"), "utf-8"),
        "code-page.yaml": (HEADER.replace("units.yaml", "units.csv"), "utf-8"),
        "unicode.yaml": (HEADER.replace("units.yaml", "units.csv"), "utf-16"),
    }
    for name, (header, encoding) in cases.items():
        campaign = tmp_path / name
        own = header.replace("test-campaign", name.removesuffix(".yaml")).replace("thử", f"thử {name}")
        campaign.write_text(own + tasks, encoding)
        for command in (["validate"], ["simulate"], ["deploy"], ["deploy"]):  # (the second: no change)
            done = runner.invoke(app, [*command, str(campaign)])
            assert done.exit_code == 0 and done.exception is None, (name, command, done.output)


def test_a_stopped_campaign_deployed_again_is_said_to_start_again_and_what_it_catches_up(
    data_dir: Path,
) -> None:
    """A campaign undeployed on 25/11 and deployed again on 10/12: the summary said "Notices this
    change sends: none" and "updated", then the next tick sent 51 escalations for the fortnight
    it had been stopped. `cascade tick` of the stopped campaign meanwhile said "nothing due"."""
    stopped = _shift_to("2020-11-25 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=stopped).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=stopped).exit_code == 0
    assert runner.invoke(app, ["undeploy", "ha-tinh-xix-2020"], env=stopped).exit_code == 0
    later = _shift_to("2020-12-10 09:00")
    ticked = runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=later)
    assert ticked.exit_code == 1, ticked.output
    said = " ".join(ticked.stderr.split())
    assert (
        "ha-tinh-xix-2020 is stopped since 25/11/2020 09:00 (cascade undeploy): nothing ticks it" in said
    ), said
    assert "`cascade deploy FILE` starts it again" in said, said
    for args in (["deploy", "--dry-run", HA_TINH], ["deploy", HA_TINH]):
        done = runner.invoke(app, args, env=later)
        assert done.exit_code == 0, done.output
        told = " ".join(done.stdout.split())
        assert "Stopped since 25/11/2020 09:00 (cascade undeploy): deploying starts it again." in told, told
        fell = re.search(
            r"While it was stopped, (\d+) instances had a deadline, reminder or escalation fall due", told
        )
        assert fell and int(fell.group(1)) > 0, told
        assert (
            "the next tick does it (one reminder however many fell due, each escalation stage once)" in told
        )
    assert "✓ started again ha-tinh-xix-2020" in " ".join(done.stderr.split()), done.stderr
    again = runner.invoke(app, ["deploy", "--dry-run", HA_TINH], env=later)
    assert "Stopped since" not in again.stdout  # running now
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=later).exit_code == 0


def test_a_decision_for_many_units_can_be_seen_before_it_is_made(data_dir: Path) -> None:
    """`cascade exempt ... --level "cấp huyện"` exempted every district at once, their notices
    queued, with no way to look first (as `deploy --dry-run` looks) and none back."""
    env = _shift_to("2020-11-25 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0

    from sqlalchemy import func, select

    from cascade.engine import store
    from cascade.engine.store import open_store

    def stored() -> tuple[int, int, int]:
        engine = open_store(f"sqlite:///{data_dir / 'cascade.db'}")
        with engine.connect() as conn:
            counts = tuple(
                conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (store.decisions, store.events, store.outbox)
            )
        engine.dispose()
        return counts  # type: ignore[return-value]

    before = stored()
    exempt = ["exempt", "ha-tinh-xix-2020", "hn-huyen", "--level", "cấp huyện", "--reason", "Thử"]
    extend = [
        "extend",
        "ha-tinh-xix-2020",
        "hn-huyen",
        "--level",
        "cấp huyện",
        "--to",
        "20/12/2020",
        "--reason",
        "Thử",
    ]
    for args, summary in (
        (exempt, "«Hội nghị cốt cán cấp huyện và tương đương» (18): "),
        (extend, "«Hội nghị cốt cán cấp huyện và tương đương»: 29/11/2020 → 20/12/2020, 18 units:"),
    ):
        looked = runner.invoke(app, [*args, "--dry-run"], env=env)
        assert looked.exit_code == 0, looked.output
        assert summary in " ".join(looked.stdout.split()), looked.stdout
        assert "dry run: nothing was changed" in looked.stderr and "recorded for" not in looked.stderr
        assert stored() == before  # no decision, event or notice
    made = runner.invoke(app, exempt, env=env)
    assert made.exit_code == 0 and stored()[0] == before[0] + 18, made.output


def test_an_exemption_is_lifted_from_the_command_line(data_dir: Path) -> None:
    env = _shift_to("2020-11-25 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    exempt = ["exempt", "ha-tinh-xix-2020", "Huyện ủy Kỳ Anh", "hn-huyen", "--reason", "nhầm"]
    assert runner.invoke(app, exempt, env=env).exit_code == 0
    lift = [*exempt[:4], "--lift", "--reason", "Miễn nhầm"]
    looked = runner.invoke(app, [*lift, "--dry-run"], env=env)
    assert looked.exit_code == 0 and "Huyện ủy Kỳ Anh no longer exempt" in looked.stdout, looked.output
    done = runner.invoke(app, lift, env=env)
    assert done.exit_code == 0, done.output
    assert "exemption lifted recorded for 1 unit(s) of ha-tinh-xix-2020" in " ".join(done.stderr.split())
    again = runner.invoke(app, lift, env=env)
    assert again.exit_code == 1 and "Huyện ủy Kỳ Anh are not exempt from «Hội nghị cốt cán" in again.stderr


def test_status_counts_an_exempt_unit_out_and_is_as_of_the_last_tick_idle_or_not(data_dir: Path) -> None:
    """Two things `cascade status` told a district's operator wrong. Its progress counted an exempt
    unit as finished: a task none had done read "1/5" beside "open 4, exempt 1" (the board reads
    0/4). And after days of ticks that found nothing due, it still said "as of the last tick" of
    the last tick that did something, beside "last tick: 3 seconds ago": an idle tick left no
    record of its instant (revision 0015 keeps it)."""
    env = _shift_to("2020-11-25 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    exempt = ["exempt", "ha-tinh-xix-2020", "Huyện ủy Kỳ Anh", "hn-huyen", "--reason", "Công văn 709"]
    assert runner.invoke(app, exempt, env=env).exit_code == 0
    later = _shift_to("2020-11-26 10:00")
    idle = runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=later)
    assert "nothing due at 26/11/2020 10:00" in idle.stderr, idle.output
    status = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env={**later, "COLUMNS": "80"})
    assert status.exit_code == 0, status.output
    assert "as of the last tick: 26/11/2020 10:00" in status.stdout, status.output
    [row] = [line for line in status.stdout.splitlines() if "Hội nghị cốt cán cấp huyện" in line]
    assert row.split("│")[3:5] == [" 0/17     ", " held 17, exempt 1 "], row
    listed = runner.invoke(app, ["status"], env=later)  # every campaign a line: the same instant
    assert "as of the last tick: 26/11/2020 10:00" in listed.stdout, listed.output
    back = runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "25/11/2020 10:00"], env=later)
    assert back.exit_code == 0, back.output  # a tick at an earlier instant moves it no earlier
    again = runner.invoke(app, ["status", "ha-tinh-xix-2020"], env={**later, "COLUMNS": "80"})
    assert "as of the last tick: 26/11/2020 10:00" in again.stdout, again.output


def test_an_extension_given_by_mistake_is_corrected_or_taken_back(data_dir: Path) -> None:
    """`cascade extend --to 20/12/2020` typed for 02/12 could not be undone: an earlier --to was
    refused ("an extension moves a deadline later") and there was no way back to the file's
    deadline. An earlier --to corrects it, down to the file's last day; --lift takes it back."""
    env = _shift_to("2020-11-25 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    ext = ["extend", "ha-tinh-xix-2020", "Huyện ủy Kỳ Anh", "hn-huyen", "--reason", "Công văn 12"]
    assert runner.invoke(app, [*ext, "--to", "20/12/2020"], env=env).exit_code == 0
    corrected = runner.invoke(app, [*ext, "--to", "02/12/2020"], env=env)
    assert corrected.exit_code == 0, corrected.output
    assert "20/12/2020 → 02/12/2020" in corrected.stdout, corrected.output
    under = runner.invoke(app, [*ext, "--to", "28/11/2020"], env=env)
    assert under.exit_code == 1, under.output
    assert (
        "the new deadline is not later than the campaign file's for Huyện ủy Kỳ Anh: "
        "`cascade extend --lift` takes their extension back"
    ) in " ".join(under.stderr.split())
    lift = [*ext, "--lift"]
    looked = runner.invoke(app, [*lift, "--dry-run"], env=env)
    assert looked.exit_code == 0 and "02/12/2020 → 29/11/2020" in looked.stdout, looked.output
    done = runner.invoke(app, lift, env=env)
    assert done.exit_code == 0, done.output
    said = " ".join(done.stderr.split())
    assert "extension taken back recorded for 1 unit(s) of ha-tinh-xix-2020" in said, said
    again = runner.invoke(app, lift, env=env)
    assert again.exit_code == 1
    assert "Huyện ủy Kỳ Anh have no extension of «Hội nghị cốt cán" in " ".join(again.stderr.split())
    neither = runner.invoke(app, ext, env=env)
    assert neither.exit_code == 1 and "the new deadline is missing" in neither.stderr, neither.output
    both = runner.invoke(app, [*lift, "--to", "02/12/2020"], env=env)
    assert both.exit_code == 1 and "give --to or --lift, not both" in both.stderr, both.output


def test_the_decisions_in_force_are_listed_without_those_taken_back(data_dir: Path) -> None:
    """Which units were given more time, to when and why, and which are exempt: the operator had
    only the audit log's JSON to grep (and needs the list before a lift, or to file it)."""
    env = _shift_to("2020-11-25 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    storm = ["hn-co-so", "--under", "Huyện ủy Can Lộc", "--to", "20/01/2021", "--reason", "Bão số 9"]
    assert (
        runner.invoke(
            app, ["extend", "ha-tinh-xix-2020", *storm, "--by", "Ban Tuyên giáo"], env=env
        ).exit_code
        == 0
    )
    merged = ["exempt", "ha-tinh-xix-2020", "Đảng ủy xã Đồng Lộc", "hn-co-so", "--reason", "Sáp nhập"]
    assert runner.invoke(app, merged, env=env).exit_code == 0
    ky_anh = ["extend", "ha-tinh-xix-2020", "Huyện ủy Kỳ Anh", "hn-huyen", "--reason", "x"]
    assert runner.invoke(app, [*ky_anh, "--to", "20/12/2020"], env=env).exit_code == 0
    assert runner.invoke(app, [*ky_anh, "--lift"], env=env).exit_code == 0  # taken back: not listed
    listed = runner.invoke(app, ["decisions", "ha-tinh-xix-2020", "--format", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    records = json.loads(listed.stdout)["decisions"]
    assert {r["unit"] for r in records if r["decision"] == "extension"} == {
        "Đảng ủy thị trấn Nghèn", "Đảng ủy xã Đồng Lộc", "Đảng ủy xã Kim Song Trường",
        "Đảng ủy xã Thiên Lộc", "Đảng ủy xã Tùng Lộc", "Đảng ủy xã Vượng Lộc",
    }  # fmt: skip
    [first, *_] = records
    assert {k: first[k] for k in ("last_day", "file_last_day", "reason", "by", "at")} == {
        "last_day": "20/01/2021",
        "file_last_day": "14/01/2021",
        "reason": "Bão số 9",
        "by": "Ban Tuyên giáo",
        "at": "25/11/2020 09:00",
    }
    [exempt] = [r for r in records if r["decision"] == "exemption"]
    assert (exempt["unit"], exempt["reason"], exempt["state"]) == (
        "Đảng ủy xã Đồng Lộc",
        "Sáp nhập",
        "exempt",
    )
    assert "6 extension(s) and 1 exemption(s) in force" in listed.stderr
    title = "Hội nghị toàn thể đảng viên cấp cơ sở"  # the task by its title
    only = runner.invoke(
        app,
        ["decisions", "ha-tinh-xix-2020", "--kind", "exemption", "--task", title],
        env={**env, "COLUMNS": "200"},
    )
    assert only.exit_code == 0, only.output
    assert "Đảng ủy xã Đồng Lộc" in only.stdout and "Nghèn" not in only.stdout
    table = runner.invoke(app, ["decisions", "ha-tinh-xix-2020"], env={**env, "COLUMNS": "200"})
    assert "extended to 20/01/2021" in table.stdout, table.output
    assert "Ban Tuyên giáo on 25/11/2020 09:00" in table.stdout, table.output
    wrong = runner.invoke(app, ["decisions", "ha-tinh-xix-2020", "--under", "Huyện ủy Không Có"], env=env)
    assert wrong.exit_code == 1 and "--under" in wrong.stderr, wrong.output


def test_decisions_read_the_same_by_units_or_by_whole_tasks(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past WHOLE_CAMPAIGN units decided on (a nation's cells extended), the decisions' tasks are
    read at once instead of in chunks of units: the same list, filters included."""
    import cascade.views.decisions

    env = _shift_to("2020-11-25 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    storm = ["hn-co-so", "--under", "Huyện ủy Can Lộc", "--to", "20/01/2021", "--reason", "Bão số 9"]
    assert runner.invoke(app, ["extend", "ha-tinh-xix-2020", *storm], env=env).exit_code == 0
    merged = ["exempt", "ha-tinh-xix-2020", "Đảng ủy xã Cẩm Bình", "hn-co-so", "--reason", "Sáp nhập"]
    assert runner.invoke(app, merged, env=env).exit_code == 0
    asks = (["--format", "json"], ["--format", "json", "--under", "Huyện ủy Can Lộc"])
    by_units = [runner.invoke(app, ["decisions", "ha-tinh-xix-2020", *a], env=env).stdout for a in asks]
    monkeypatch.setattr(cascade.views.decisions, "WHOLE_CAMPAIGN", 0, raising=False)
    by_tasks = [runner.invoke(app, ["decisions", "ha-tinh-xix-2020", *a], env=env).stdout for a in asks]
    assert by_tasks == by_units
    whole, under = (json.loads(text)["decisions"] for text in by_units)
    assert len(whole) == 7 and len(under) == 6


def test_decisions_too_many_for_a_table_are_cut_and_say_how_to_see_them_all(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cascade decisions` after a nation's cells were given a week more (56,700 extensions) drew
    them all as a table: 46 s (on PostgreSQL). Past TABLE_ROWS the table lists the first, in the
    tree's order, and says how many more and how to see them; the count, CSV and JSON hold all."""
    import cascade.cli.reading

    monkeypatch.setattr(cascade.cli.reading, "TABLE_ROWS", 4, raising=False)  # (not on older code)
    env = _shift_to("2020-11-25 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    storm = ["hn-co-so", "--under", "Huyện ủy Can Lộc", "--to", "20/01/2021", "--reason", "Bão số 9"]
    assert runner.invoke(app, ["extend", "ha-tinh-xix-2020", *storm], env=env).exit_code == 0
    table = runner.invoke(app, ["decisions", "ha-tinh-xix-2020"], env={**env, "COLUMNS": "300"})
    assert table.exit_code == 0, table.output
    body = [line for line in table.stdout.splitlines() if line.startswith("│")]
    assert len(body) == 4, table.stdout
    assert (
        "… and 2 more, too many to read in a table. Every one: cascade decisions ha-tinh-xix-2020 --format "
        "csv > quyet-dinh.csv (it opens in Excel); fewer: --task, --under, --kind"
    ) in " ".join(table.stdout.split()), table.stdout
    assert "6 extension(s) and 0 exemption(s) in force" in table.stderr
    listed = runner.invoke(app, ["decisions", "ha-tinh-xix-2020", "--format", "csv"], env=env)
    assert len(sheet(listed.stdout)) == 6


def test_the_overdue_and_decisions_sheets_read_in_words_and_are_read_back_by_key(
    data_dir: Path, tmp_path: Path
) -> None:
    """`status --format csv > qua-han.csv`, opened in Excel, was headed `unit_id,unit,level,...`,
    its rows reading "grassroots"; `decisions`' read "extension", "done", "False": the keys and ids
    scripts use (JSON keeps them), not the words of the operator's tables. Each column is headed
    in words with its key, as the templates are, its cells in words; kept and sent back to
    `extend --units`, the sheet still names its units."""
    env = {**_shift_to("2020-12-20 09:00"), "CASCADE_LANG": "vi"}
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    province = [
        "signal",
        "ha-tinh-xix-2020",
        "tu-ha-tinh",
        "hn-tinh",
        "--at",
        "18/11/2020 09:00",
        "-f",
        "attendees=400",
    ]
    assert runner.invoke(app, province, env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020"], env=env).exit_code == 0
    status = ["status", "ha-tinh-xix-2020", "--task", "hn-huyen", "--format", "csv"]
    overdue = runner.invoke(app, status, env=env)
    assert overdue.exit_code == 0, overdue.output
    header = overdue.stdout.splitlines()[0]
    assert header.startswith("Mã đơn vị (unit_id),Đơn vị (unit),Cấp (level),Cấp trên (parent),Mã việc"), (
        header
    )
    rows = sheet(overdue.stdout)
    assert len(rows) > 10 and {r["level"] for r in rows} == {"cấp huyện"}, rows
    saved = tmp_path / "qua-han.csv"
    saved.write_text(overdue.stdout, "utf-8")
    extend = ["extend", "ha-tinh-xix-2020", "hn-huyen", "--units", str(saved), "--to", "31/12/2020"]
    done = runner.invoke(app, [*extend, "--reason", "Bão số 9"], env=env)
    assert done.exit_code == 0, done.output
    assert f"{len(rows)} đơn vị" in done.stdout, done.stdout
    decided = runner.invoke(app, ["decisions", "ha-tinh-xix-2020", "--format", "csv"], env=env)
    assert decided.stdout.splitlines()[0].startswith("Mã đơn vị (unit_id),Đơn vị (unit),Mã việc (task_id)")
    listed = sheet(decided.stdout)
    assert {r["unit_id"] for r in listed} == {r["unit_id"] for r in rows}
    assert {(r["decision"], r["last_day"], r["requested"]) for r in listed} == {("gia hạn", "31/12/2020", "")}
    assert {r["state"] for r in listed} == {"đang thực hiện"}, listed
    as_json = json.loads(
        runner.invoke(app, ["decisions", "ha-tinh-xix-2020", "--format", "json"], env=env).stdout
    )
    assert {d["decision"] for d in as_json["decisions"]} == {"extension"}  # (scripts keep the ids)
    every = runner.invoke(app, ["status", "--format", "csv"], env=env).stdout
    assert every.splitlines()[0].startswith(
        "Mã chiến dịch (campaign),Tên (title),Đang chạy (running),Dừng lúc"
    )
    [campaign] = sheet(every)
    assert (campaign["campaign"], campaign["running"], campaign["summary_sent"]) == (
        "ha-tinh-xix-2020",
        "có",
        "không",
    )


def test_a_province_wide_extension_keeps_a_later_one_and_says_so(data_dir: Path) -> None:
    env = _shift_to("2020-12-20 09:00")
    assert runner.invoke(app, ["deploy", HA_TINH], env=env).exit_code == 0
    storm = ["extend", "ha-tinh-xix-2020", "hn-co-so", "--reason", "Bão số 9"]
    assert (
        runner.invoke(app, [*storm, "--under", "Huyện ủy Can Lộc", "--to", "05/02/2021"], env=env).exit_code
        == 0
    )
    everyone = [
        "extend",
        "ha-tinh-xix-2020",
        "hn-co-so",
        "--level",
        "cơ sở",
        "--to",
        "20/01/2021",
        "--reason",
        "CV 9",
    ]
    done = runner.invoke(app, everyone, env={**env, "COLUMNS": "300"})
    assert done.exit_code == 0, done.output
    assert "6 unit(s) keep their deadline, due that day or later already" in done.stdout, done.stdout
    assert "Đảng ủy thị trấn Nghèn" in done.stdout.split("keep their deadline")[1]
    listed = runner.invoke(app, ["decisions", "ha-tinh-xix-2020", "--format", "json"], env=env)
    nghen = [r for r in json.loads(listed.stdout)["decisions"] if r["unit"] == "Đảng ủy thị trấn Nghèn"]
    assert [r["last_day"] for r in nghen] == ["05/02/2021"]  # its storm extension stands


def test_status_json_says_the_states_in_one_order_whatever_the_store_planned(any_store: Path) -> None:
    """Seen in CI on PostgreSQL: two `status --format json` of an unchanged store differed, the
    states of a task's progress in another order, once the store had planned its grouping
    another way (its statistics refreshed between them). They come in the order the table
    reads them: done, done late, overdue, open, held, exempt."""
    from sqlalchemy import create_engine, text

    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    signals = str(ROOT / "tests" / "scenarios" / "ha-tinh-xix-2020.signals.yaml")
    assert runner.invoke(app, ["signal", "ha-tinh-xix-2020", "--import", signals]).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2021-01-18 08:00"]).exit_code == 0
    shown = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "json"])
    assert any({"held", "overdue"} <= set(p) for p in json.loads(shown.stdout)["progress"])  # (both, in one)
    reading = ["done", "done_late", "overdue", "open", "held", "exempt"]
    for progress in json.loads(shown.stdout)["progress"]:
        states = [k for k in progress if k not in ("level", "task", "title", "total")]
        assert states == sorted(states, key=reading.index), progress
    import os

    url = os.environ["CASCADE_DATABASE_URL"]
    if url.startswith("postgresql"):  # the grouping by hash, as its planner may choose it
        engine = create_engine(url)
        with engine.begin() as conn:
            name = conn.execute(text("SELECT current_database()")).scalar_one()
            conn.execute(text(f'ALTER DATABASE "{name}" SET enable_sort = off'))  # the command's sessions
        try:
            again = runner.invoke(app, ["status", "ha-tinh-xix-2020", "--format", "json"])
        finally:
            with engine.begin() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" RESET enable_sort'))
            engine.dispose()
        assert again.stdout == shown.stdout


def test_a_units_file_or_a_sheet_given_for_a_campaign_is_told_so(data_dir: Path, tmp_path: Path) -> None:
    """`cascade deploy campaigns/units/ha-tinh.yaml` (the units file, not the campaign) listed four
    errors: `campaign` and `tasks` required, `levels` an unknown key, `units` to go under `campaign:`.
    `cascade plan reply.xlsx` said "not UTF-8 text; save the file as UTF-8". Each is told what the
    file is, and the units file the campaign files that name it."""
    units = str(ROOT / "campaigns" / "units" / "ha-tinh.yaml")
    for command in (["deploy", units], ["plan", units], ["simulate", units]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, result.output
        said = " ".join(result.stderr.split())
        assert said.startswith(f"{units}: error: a units file, not a campaign file"), said
        assert (
            "give the campaign file that names it in `units:`: " in said and "ha-tinh-xix-2020.yaml" in said
        )
        assert "`tasks` is required" not in said
    import openpyxl

    sheet = tmp_path / "tra-loi.xlsx"
    openpyxl.Workbook().save(sheet)
    result = runner.invoke(app, ["plan", str(sheet)])
    said = " ".join(result.stderr.split())
    assert result.exit_code == 1 and f"{sheet}: error: a spreadsheet, not a campaign file" in said, said
    assert "UTF-8" not in said
    alone = tmp_path / "don-vi.yaml"
    alone.write_text(
        "levels: [province, district]\nunits: [{id: a, name: A, level: province}]\n", encoding="utf-8"
    )
    said = " ".join(runner.invoke(app, ["deploy", str(alone)]).stderr.split())
    assert "write a campaign file whose `units:` names it (as campaigns/*.yaml do)" in said, said
