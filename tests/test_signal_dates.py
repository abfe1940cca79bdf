"""A signal dated before its work opened: recorded as dated (the first signal counts), and the
operator told, while a wrong date can still be taken back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cascade.cli import app

ROOT = Path(__file__).resolve().parents[1]
HA_TINH = str(ROOT / "campaigns" / "ha-tinh-xix-2020.yaml")
runner = CliRunner()


def said(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return " ".join(result.stderr.split())


def signal(unit: str, task: str, when: str, *figures: str) -> list[str]:
    """`cascade signal` of Hà Tĩnh's campaign, as an operator types it."""
    return ["signal", "ha-tinh-xix-2020", unit, task, "--at", when, *[a for f in figures for a in ("-f", f)]]


def test_a_signal_dated_before_its_work_opened_is_kept_and_said(any_store: Path, tmp_path: Path) -> None:
    """A district's conference dated two days before the province's, which opens it (a month or a
    day typed wrong), was recorded with "the next tick applies them", and the summary later
    had the district studying the resolution before the province had: nothing said why."""
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    said(signal("tu-ha-tinh", "hn-tinh", "18/11/2020 10:00", "attendees=450"))
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-11-20 08:00"]).exit_code == 0

    # opened on 18/11 10:00, when the province's conference was done
    district = said(signal("hu-can-loc", "hn-huyen", "16/11/2020 09:00", "attendees=90"))
    assert (
        "warning: Huyện ủy Can Lộc: «Hội nghị cốt cán cấp huyện và tương đương» is dated 16/11/2020 09:00, "
        "before Tỉnh ủy Hà Tĩnh's «Hội nghị cán bộ chủ chốt toàn tỉnh» (18/11/2020 10:00), which opens it; "
        "it is kept as dated: check the two dates (`cascade withdraw` takes a wrong signal back)" in district
    ), district
    assert "1 signal(s) recorded for ha-tinh-xix-2020; the next tick applies them" in district

    # an import: the communes wait on their districts' conferences, none of them done yet
    sheet = tmp_path / "tra-loi.csv"
    sheet.write_text(
        "at,unit,task,attendees,members\n"
        "20/11/2020 08:00,x-thien-loc,hn-co-so,40,45\n"  # after Can Lộc's (waiting for a tick): fine
        "10/11/2020 08:00,tt-nghen,hn-co-so,40,45\n"  # before it
        "21/11/2020 08:00,tt-xuan-an,hn-co-so,40,45\n"  # Nghi Xuân's: nothing recorded
        "21/11/2020 08:00,hu-duc-tho,hn-huyen,70,\n"  # Đức Thọ's own conference, after the province's
        "22/11/2020 08:00,hu-duc-tho,ctr-hanh-dong,,\n"  # its programme, after that conference: fine
        "15/11/2020 08:00,hu-can-loc,ctr-hanh-dong,,\n"  # Can Lộc's, before its conference (16/11)
        "18/11/2020,hu-huong-son,hn-huyen,70,\n"  # the province's day, no hour: which came first is unknown
        "17/11/2020,hu-vu-quang,hn-huyen,60,\n",  # the day before: early, hour or not
        encoding="utf-8",
    )
    imported = said(["signal", "ha-tinh-xix-2020", "--import", str(sheet)])
    assert imported.count("warning:") == 4, imported
    assert (
        "warning: Đảng ủy thị trấn Nghèn: «Hội nghị toàn thể đảng viên cấp cơ sở» is dated 10/11/2020 08:00, "
        "before Huyện ủy Can Lộc's «Hội nghị cốt cán cấp huyện và tương đương» (16/11/2020 09:00)" in imported
    )
    assert (
        "warning: Đảng ủy thị trấn Xuân An: «Hội nghị toàn thể đảng viên cấp cơ sở» is dated 21/11/2020 "
        "08:00, but Huyện ủy Nghi Xuân's «Hội nghị cốt cán cấp huyện và tương đương», which opens it, is not "
        "recorded yet; it is kept as dated: record Huyện ủy Nghi Xuân's when it is known" in imported
    )
    assert (
        "warning: Huyện ủy Can Lộc: «Chương trình hành động thực hiện Nghị quyết của cấp ủy» is dated "
        "15/11/2020 08:00, before Huyện ủy Can Lộc's «Hội nghị cốt cán cấp huyện và tương đương» "
        "(16/11/2020 09:00)" in imported
    )
    assert (
        "warning: Huyện ủy Vũ Quang: «Hội nghị cốt cán cấp huyện và tương đương» is dated 17/11/2020 00:00"
        in imported
    )
    assert "Thiên Lộc" not in imported and "Đức Thọ" not in imported and "Hương Sơn" not in imported
    assert "8 signal(s) recorded for ha-tinh-xix-2020; the next tick applies them" in imported

    # kept as dated: the tick applies every one of them
    tick = runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-11-25 08:00"])
    assert "completed 9" in tick.stderr, tick.stderr


def test_a_signal_dated_after_its_work_opened_says_nothing_more(data_dir: Path) -> None:
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    said(signal("tu-ha-tinh", "hn-tinh", "18/11/2020 10:00", "attendees=450"))
    district = said(signal("hu-can-loc", "hn-huyen", "19/11/2020 09:00", "attendees=90"))
    assert "warning" not in district, district


def test_the_first_ten_early_signals_are_named_and_the_rest_counted(data_dir: Path, tmp_path: Path) -> None:
    """A district's whole reply dated before its conference is recorded: ten warnings, then a count."""
    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    units = "p-bac-ha p-nam-ha p-tan-giang p-thach-quy p-tran-phu x-thach-trung x-dong-mon p-bac-hong"
    units += " p-nam-hong p-trung-luong p-duc-thuan x-thuan-loc"
    sheet = tmp_path / "tra-loi.csv"
    lines = [f"20/11/2020 08:00,{unit},hn-co-so,40,45" for unit in units.split()]
    sheet.write_text("at,unit,task,attendees,members\n" + "\n".join(lines) + "\n", encoding="utf-8")
    imported = said(["signal", "ha-tinh-xix-2020", "--import", str(sheet)])
    assert imported.count("warning:") == 10, imported
    assert imported.count("is not recorded yet") == 10
    assert "… and 2 more like it" in imported
    assert "12 signal(s) recorded" in imported


def test_a_tick_between_storing_signals_and_telling_of_them_silences_nothing(
    any_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cascade signal` read what to tell of its signals (dated early, or changing nothing) after
    their commit, as those still waiting for a tick. A tick committing in between (the
    scheduler's, every few minutes; or the one the command sets off) applied them first, and the
    warnings read nothing: the operator heard "recorded" and no more."""
    from cascade.engine import signal_files, signals, tick

    assert runner.invoke(app, ["deploy", HA_TINH]).exit_code == 0
    said(signal("tu-ha-tinh", "hn-tinh", "18/11/2020 10:00", "attendees=450"))
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-11-20 08:00"]).exit_code == 0
    ticked: list[int] = []

    def then_a_tick(stores: Callable[..., Any]) -> Callable[..., Any]:
        def stored(engine: Engine, *args: Any, **kwargs: Any) -> Any:
            answer = stores(engine, *args, **kwargs)
            after = pendulum.datetime(2020, 11, 25, 8 + len(ticked), tz="Asia/Ho_Chi_Minh")
            ticked.append(tick.tick(engine, "ha-tinh-xix-2020", after).counts["signals"])
            return answer

        return stored

    monkeypatch.setattr(signals, "record", then_a_tick(signals.record))
    monkeypatch.setattr(signal_files, "import_table", then_a_tick(signal_files.import_table))

    district = said(signal("hu-can-loc", "hn-huyen", "16/11/2020 09:00", "attendees=90"))
    assert "«Hội nghị cốt cán cấp huyện và tương đương» is dated 16/11/2020 09:00, before" in district
    again = said(signal("tu-ha-tinh", "hn-tinh", "19/11/2020 10:00", "attendees=452"))
    assert "warning: Tỉnh ủy Hà Tĩnh: «Hội nghị cán bộ chủ chốt toàn tỉnh» was already done" in again
    assert "none changes anything" in again

    sheet = tmp_path / "tra-loi.csv"
    sheet.write_text(
        "at,unit,task,attendees,members\n"
        "10/11/2020 08:00,tt-nghen,hn-co-so,40,45\n"  # before Can Lộc's conference
        "17/11/2020 08:00,hu-can-loc,hn-huyen,91,\n",  # Can Lộc's again: changes nothing
        encoding="utf-8",
    )
    imported = said(["signal", "ha-tinh-xix-2020", "--import", str(sheet)])
    assert imported.count("warning:") == 2, imported
    assert "Đảng ủy thị trấn Nghèn: «Hội nghị toàn thể đảng viên cấp cơ sở» is dated 10/11/2020" in imported
    assert "Huyện ủy Can Lộc: «Hội nghị cốt cán cấp huyện và tương đương» was already done" in imported
    assert ticked == [1, 1, 2]  # each tick applied what the command had just stored


def test_a_simulation_names_the_signals_of_its_file_dated_before_their_work_opened(tmp_path: Path) -> None:
    """`cascade simulate --signals` is how an operator tries a replies file before importing it;
    the import then warned of rows dated before their work opened, but the simulation ran the
    same rows without a word. It names them as the import does, and says they are kept as dated."""
    sheet = tmp_path / "tra-loi.csv"
    sheet.write_text(
        "at,unit,task,attendees,members\n"
        "18/11/2020 10:00,tu-ha-tinh,hn-tinh,450,\n"
        "16/11/2020 09:00,hu-can-loc,hn-huyen,90,\n"  # before the province's, which opens it
        "19/11/2020 09:00,hu-duc-tho,hn-huyen,70,\n"  # after it: fine
        "21/11/2020 08:00,tt-xuan-an,hn-co-so,40,45\n",  # Nghi Xuân's conference is not in the file
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["simulate", HA_TINH, "--signals", str(sheet), "--until", "30/11/2020"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0, result.output
    told = " ".join(result.stderr.split())
    assert told.count("warning:") == 2, told
    assert (
        "warning: Huyện ủy Can Lộc: «Hội nghị cốt cán cấp huyện và tương đương» is dated 16/11/2020 09:00, "
        "before Tỉnh ủy Hà Tĩnh's «Hội nghị cán bộ chủ chốt toàn tỉnh» (18/11/2020 10:00), which opens it; "
        "the simulation kept it as dated, as an import would: check the two dates in the file"
    ) in told
    assert (
        "warning: Đảng ủy thị trấn Xuân An: «Hội nghị toàn thể đảng viên cấp cơ sở» is dated 21/11/2020 "
        "08:00, but the file has no signal of Huyện ủy Nghi Xuân's «Hội nghị cốt cán cấp huyện và tương "
        "đương», which opens it; the simulation kept it as dated, as an import would"
    ) in told
    assert "Đức Thọ" not in told
    assert "simulated to 30/11/2020" in result.stdout
