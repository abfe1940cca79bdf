"""A signal recorded by mistake, taken back (`cascade withdraw`), on both stores: the task is
as it would be without it, the signal is kept and marked, the unit is told, and the right
signal may be recorded after it. Before this, the first signal stood for good: a commune
marked done by mistake was never reminded or escalated, and the summary counted it done."""

from __future__ import annotations

from typing import Any

import pendulum
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cascade import i18n
from cascade.engine import store
from cascade.engine.decisions import DecisionRefused, withdraw
from cascade.engine.deploy import deploy
from cascade.engine.signals import Signal, record
from cascade.engine.tick import tick
from cascade.views.board import board
from cascade.views.eventlog import event_lines
from notifiers.render import Renderer
from tests.conftest import compile_text

TZ = "Asia/Ho_Chi_Minh"
CID = "test-campaign"

TASKS = """\
defaults:
  remind: [7d, 1d]
  escalate:
    - {after: 1d, to: [self, parent]}
    - {after: 3d, to: [root]}
tasks:
  - id: hn-tinh
    title: Hội nghị tỉnh
    level: province
    due: {before: 20/11/2020}
  - id: hn-huyen
    title: Hội nghị huyện
    tags: [district-committee]
    opens_after: {task: hn-tinh, at: parent}
    due: {before: 30/11/2020}
  - id: hn-co-so
    title: Hội nghị cơ sở
    level: grassroots
    due: {before: 15/12/2020}
    fields:
      attendees: {type: int, title: Số dự}
"""


def at(text: str) -> pendulum.DateTime:
    return pendulum.parse(text, tz=TZ)  # type: ignore[return-value]


def instance(engine: Engine, task: str, unit: str) -> Any:
    i = store.instances.c
    with engine.connect() as conn:
        return conn.execute(
            select(store.instances).where(i.campaign_id == CID, i.task_id == task, i.unit_id == unit)
        ).one()


def events(engine: Engine, kind: str, unit: str) -> list[dict[str, Any]]:
    return [e for e in event_lines(engine, CID, TZ) if e["kind"] == kind and e["unit"] == unit]


def take_back(engine: Engine, task: str, unit: str, now: str, reason: str = "nhầm đơn vị") -> Any:
    with engine.begin() as conn:
        return withdraw(conn, CID, task, unit, reason, "operator", at(now))


@pytest.fixture
def campaign(store_engine: Engine) -> Engine:
    deploy(store_engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    return store_engine


def test_a_completion_withdrawn_after_its_deadline_is_overdue_and_escalates(campaign: Engine) -> None:
    record(campaign, CID, [Signal("tu-a", "hn-tinh", at("2020-11-18 10:00"))], "cli", at("2020-11-18 10:00"))
    tick(campaign, CID, at("2020-11-18 10:05"))
    assert instance(campaign, "hn-tinh", "tu-a").state == "done"
    taken = take_back(campaign, "hn-tinh", "Tỉnh ủy A", "2020-11-25 08:00")  # by its name, as signal takes it
    assert (taken.unit, taken.done_at, taken.state, taken.signals) == (
        "tu-a",
        int(at("2020-11-18 10:00").timestamp()),
        "overdue",
        1,
    )
    row = instance(campaign, "hn-tinh", "tu-a")
    assert (row.state, row.done_at, row.fields) == ("overdue", None, None)
    [amended] = events(campaign, "task.amended", "tu-a")
    assert (
        amended["state"] == "overdue" and amended["reason"] == "nhầm đơn vị" and amended["by"] == "operator"
    )
    assert amended["withdrawn"] == "2020-11-18T10:00:00+07:00"  # an instant, written as §6 writes them
    assert amended["old_deadline"] == amended["new_deadline"] == "2020-11-20T00:00:00+07:00"
    with campaign.connect() as conn:  # the operator's board says what it was, not "deadline changed"
        shown = board(conn, CID, int(at("2020-11-25 08:01").timestamp()), events=5)
    assert shown is not None
    assert ("Rút lại hoàn thành", "Tỉnh ủy A", "Hội nghị tỉnh") in [
        (e.what, e.unit, e.task) for e in shown.events
    ]
    s = store.signals.c
    with campaign.connect() as conn:
        kept = conn.execute(select(s.withdrawn_at, s.withdrawn_reason, s.applied_tick)).one()
    assert (
        kept.withdrawn_at == int(at("2020-11-25 08:00").timestamp())
        and kept.withdrawn_reason == "nhầm đơn vị"
    )
    # the stages that fell due while it counted as done go out at the next tick, once each
    tick(campaign, CID, at("2020-11-25 08:05"))
    assert [e["stage"] for e in events(campaign, "escalation.sent", "tu-a")] == [1, 2]
    tick(campaign, CID, at("2020-11-26 08:05"))
    assert len(events(campaign, "escalation.sent", "tu-a")) == 2
    # the right signal, even the same one again, is recorded and counts
    assert record(
        campaign, CID, [Signal("tu-a", "hn-tinh", at("2020-11-18 10:00"))], "cli", at("2020-11-26 09:00")
    ) == (1, 0)
    tick(campaign, CID, at("2020-11-26 09:05"))
    assert instance(campaign, "hn-tinh", "tu-a").state == "done"
    assert len(events(campaign, "task.completed", "tu-a")) == 2


def test_a_completion_withdrawn_before_its_deadline_is_open_with_its_reminders(campaign: Engine) -> None:
    tick(campaign, CID, at("2020-11-10 08:05"))
    signal = Signal("x-c", "hn-co-so", at("2020-12-01 09:00"), {"attendees": "40"})
    record(campaign, CID, [signal], "cli", at("2020-12-01 09:00"))
    tick(campaign, CID, at("2020-12-01 09:05"))
    assert instance(campaign, "hn-co-so", "x-c").fields == {"attendees": 40}
    taken = take_back(campaign, "hn-co-so", "x-c", "2020-12-09 08:00")
    assert taken.state == "open"
    row = instance(campaign, "hn-co-so", "x-c")
    assert (row.state, row.fields, row.done_at) == ("open", None, None)  # its figure no longer counts
    # the reminder 7 days before passed while it counted as done: not sent late; the next is 1 day before
    assert row.next_reminder_at == int(at("2020-12-14 07:00").timestamp())
    tick(campaign, CID, at("2020-12-14 07:05"))
    assert [e["at"][:10] for e in events(campaign, "reminder.sent", "x-c")][-1] == "2020-12-14"


def test_one_signalled_before_it_opened_waits_again_and_opens_if_what_it_follows_is_done(
    campaign: Engine,
) -> None:
    record(campaign, CID, [Signal("hu-b", "hn-huyen", at("2020-11-11 09:00"))], "cli", at("2020-11-11 09:00"))
    tick(campaign, CID, at("2020-11-11 09:05"))  # done before the province's conference opened it
    record(campaign, CID, [Signal("tu-a", "hn-tinh", at("2020-11-12 09:00"))], "cli", at("2020-11-12 09:00"))
    tick(campaign, CID, at("2020-11-12 09:05"))
    assert instance(campaign, "hn-huyen", "hu-b").opened_at is None
    assert take_back(campaign, "hn-huyen", "hu-b", "2020-11-13 08:00").state == "held"
    tick(campaign, CID, at("2020-11-13 08:05"))  # the province's is done: it opens, as of then
    row = instance(campaign, "hn-huyen", "hu-b")
    assert row.state == "open" and row.opened_at == int(at("2020-11-12 09:00").timestamp())
    assert [e["at"] for e in events(campaign, "task.opened", "hu-b")] == ["2020-11-12T09:00:00+07:00"]


def test_signals_no_tick_applied_yet_are_withdrawn_before_they_count(campaign: Engine) -> None:
    tick(campaign, CID, at("2020-11-10 08:05"))
    record(campaign, CID, [Signal("x-d", "hn-co-so", at("2020-12-01 09:00"))], "cli", at("2020-12-01 09:00"))
    taken = take_back(campaign, "hn-co-so", "x-d", "2020-12-01 09:01")
    assert (taken.done_at, taken.state, taken.signals) == (None, "open", 1)
    assert events(campaign, "task.amended", "x-d") == []  # nothing had happened to the task
    tick(campaign, CID, at("2020-12-01 09:05"))
    assert instance(campaign, "hn-co-so", "x-d").state == "open"
    assert events(campaign, "task.completed", "x-d") == []


def test_a_withdrawal_is_refused_in_words_with_every_fault_at_once(campaign: Engine) -> None:
    with pytest.raises(DecisionRefused) as refused:
        take_back(campaign, "hn-nope", "x-c", "2020-12-01 09:00", reason=" ")
    assert len(refused.value.problems) == 2
    assert "a reason is required" in refused.value.problems[0]
    assert "no task or report `hn-nope`" in refused.value.problems[1]
    with pytest.raises(DecisionRefused) as refused:
        take_back(campaign, "hn-co-so", "x-cc", "2020-12-01 09:00")
    assert "did you mean" in refused.value.problems[0]
    with pytest.raises(DecisionRefused) as refused:
        take_back(campaign, "hn-co-so", "x-c", "2020-12-01 09:00")
    assert refused.value.problems == ["Đảng ủy xã C has no signal for «Hội nghị cơ sở»: nothing to withdraw"]
    with pytest.raises(DecisionRefused) as refused:
        take_back(campaign, "hn-tinh", "x-c", "2020-12-01 09:00")
    assert refused.value.problems == ["«Hội nghị tỉnh» is not asked of Đảng ủy xã C"]


def test_the_unit_is_told_in_vietnamese(campaign: Engine) -> None:
    record(campaign, CID, [Signal("tu-a", "hn-tinh", at("2020-11-18 10:00"))], "cli", at("2020-11-18 10:00"))
    tick(campaign, CID, at("2020-11-18 10:05"))
    take_back(campaign, "hn-tinh", "tu-a", "2020-11-19 08:00")
    o = store.outbox.c
    with campaign.connect() as conn:
        [payload] = conn.execute(
            select(o.payload).where(o.kind == "task.amended", o.recipient_unit == "tu-a")
        ).scalars()
    message = Renderer(TZ).render(
        [payload], "Tỉnh ủy A", {"tu-a": "Tỉnh ủy A"}, "Chiến dịch", payload["deadline"]
    )
    assert (
        "Hoàn thành «Hội nghị tỉnh» (Tỉnh ủy A) ghi nhận lúc 10:00 ngày 18/11/2020 đã được rút lại "
        "(operator); lý do: nhầm đơn vị. Việc chưa được tính là hoàn thành; hạn chót: hết ngày 19/11/2020"
        in message.text
    ), message.text


def test_cascade_withdraw(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from cascade.cli import app

    monkeypatch.setenv("CASCADE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CASCADE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    campaign = str(Path(__file__).parent.parent / "campaigns" / "ha-tinh-xix-2020.yaml")
    runner = CliRunner()
    assert runner.invoke(app, ["deploy", campaign]).exit_code == 0
    shift = int((at("2020-11-25 08:00") - pendulum.now("UTC")).total_seconds())  # the operator's clock
    env = {"CASCADE_CLOCK_SHIFT": str(shift), "COLUMNS": "200"}
    signal = ["signal", "ha-tinh-xix-2020", "x-thien-loc", "hn-co-so", "--at", "24/11/2020 09:00"]
    assert runner.invoke(app, [*signal, "-f", "attendees=40", "-f", "members=50"], env=env).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "2020-11-24 10:00"]).exit_code == 0
    taken = runner.invoke(
        app,
        ["withdraw", "ha-tinh-xix-2020", "Đảng ủy xã Thiên Lộc", "hn-co-so", "--reason", "nhầm xã"],
        env=env,
    )
    assert taken.exit_code == 0, taken.output
    said = " ".join(taken.stderr.split())
    # signalled before its district's conference opened it: back to waiting for it
    assert (
        "of Đảng ủy xã Thiên Lộc, done on 24/11/2020 09:00, withdrawn (1 signal(s)): now not open yet "
        "(waiting for what it follows)" in said
    ), said
    again = runner.invoke(app, ["withdraw", "ha-tinh-xix-2020", "x-thien-loc", "hn-co-so"], env=env)
    assert again.exit_code == 1
    assert "a reason is required" in again.stderr
    try:
        vi = runner.invoke(
            app,
            ["--lang", "vi", "withdraw", "ha-tinh-xix-2020", "x-thien-loc", "hn-co-so", "--reason", "x"],
            env=env,
        )
    finally:
        i18n.use("en")
    assert vi.exit_code == 1 and "không có tin báo nào cho «" in " ".join(vi.stderr.split()), vi.stderr
