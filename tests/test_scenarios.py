"""The seed campaigns run end to end on the virtual clock with a signals file each.

Each test reads like its seed: the signals that came in, and the event lines that
must follow from them (cascade openings, reminders at 07:00 after quiet hours, overdue
at the deadline instant, escalation stages with their recipients, late completions,
targets missed, report requests cascading upward, the summary by the summary date).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
import pytest
from sqlalchemy import Connection, Engine, select

from cascade.compile.files import load_plan
from cascade.engine.signal_files import load_signals
from cascade.engine.simulate import simulate
from cascade.views.eventlog import event_lines

ROOT = Path(__file__).parent.parent
TZ = "Asia/Ho_Chi_Minh"


def run(engine: Engine, campaign: str, signals: str) -> list[dict[str, Any]]:
    plan = load_plan(ROOT / "campaigns" / f"{campaign}.yaml")
    tz = plan.campaign.timezone
    path = ROOT / "tests" / "scenarios" / signals
    batch = load_signals(path, tz)
    simulate(plan, "source", batch, plan.campaign.summary_at.add(days=14), engine=engine)
    return event_lines(engine, plan.campaign.id, tz)


def has(lines: list[dict[str, Any]], **expected: Any) -> bool:
    return any(all(line.get(k) == v for k, v in expected.items()) for line in lines)


def index(lines: list[dict[str, Any]], **expected: Any) -> int:
    return next(n for n, line in enumerate(lines) if all(line.get(k) == v for k, v in expected.items()))


@pytest.fixture
def ha_tinh(store_engine: Engine) -> list[dict[str, Any]]:
    return run(store_engine, "ha-tinh-xix-2020", "ha-tinh-xix-2020.signals.yaml")


def test_ha_tinh_cascade_opens_districts_and_communes(ha_tinh: list[dict[str, Any]]) -> None:
    assert has(
        ha_tinh,
        at="2020-11-10T00:00:00+07:00",
        kind="task.opened",
        task="hn-tinh",
        unit="tu-ha-tinh",
        to=["tu-ha-tinh"],
    )
    assert has(
        ha_tinh,
        at="2020-11-18T10:00:00+07:00",
        kind="task.completed",
        task="hn-tinh",
        unit="tu-ha-tinh",
        late=False,
    )
    opened = [e["unit"] for e in ha_tinh if e["kind"] == "task.opened" and e["task"] == "hn-huyen"]
    assert len(opened) == 18 and "hu-can-loc" in opened and "du-quan-su" in opened
    assert all(
        e["at"] == "2020-11-18T10:00:00+07:00"
        for e in ha_tinh
        if e["kind"] == "task.opened" and e["task"] == "hn-huyen"
    )
    communes = {
        e["unit"]
        for e in ha_tinh
        if e["kind"] == "task.opened" and e["task"] == "hn-co-so" and e["at"] == "2020-11-27T15:00:00+07:00"
    }
    assert communes == {
        "tt-nghen",
        "x-thien-loc",
        "x-vuong-loc",
        "x-kim-song-truong",
        "x-tung-loc",
        "x-dong-loc",
    }


def test_ha_tinh_reminders_go_out_at_seven_after_quiet_hours(ha_tinh: list[dict[str, Any]]) -> None:
    reminders = [
        e["at"]
        for e in ha_tinh
        if e["kind"] == "reminder.sent" and e["unit"] == "hu-loc-ha" and e["task"] == "hn-huyen"
    ]
    assert reminders == [
        "2020-11-23T07:00:00+07:00",
        "2020-11-27T07:00:00+07:00",
        "2020-11-29T07:00:00+07:00",
    ]
    assert not [
        e
        for e in ha_tinh
        if e["kind"] == "reminder.sent"
        and e["unit"] == "hu-can-loc"
        and e["task"] == "hn-huyen"
        and e["at"] > "2020-11-27T15:00:00+07:00"
    ]


def test_ha_tinh_lagging_district_is_overdue_escalated_and_late(ha_tinh: list[dict[str, Any]]) -> None:
    lines = [e for e in ha_tinh if e["unit"] == "hu-loc-ha" and e["task"] == "hn-huyen"]
    assert [(e["at"], e["kind"], e["to"], e["stage"]) for e in lines if e["kind"] != "reminder.sent"] == [
        ("2020-11-18T10:00:00+07:00", "task.opened", ["hu-loc-ha"], None),
        ("2020-11-30T00:00:00+07:00", "task.overdue", [], None),
        ("2020-12-01T07:00:00+07:00", "escalation.sent", ["hu-loc-ha", "tu-ha-tinh"], 1),
        ("2020-12-03T07:00:00+07:00", "escalation.sent", ["tu-ha-tinh"], 2),
        ("2020-12-03T09:00:00+07:00", "task.completed", [], None),
    ]
    assert lines[-1]["late"] is True


def test_ha_tinh_attendance_below_85_percent(ha_tinh: list[dict[str, Any]]) -> None:
    assert has(
        ha_tinh,
        at="2020-12-20T09:00:00+07:00",
        kind="task.below_target",
        unit="x-thien-loc",
        to=["x-thien-loc", "hu-can-loc"],
        field="attendance_rate",
        value=0.8,
        target=">= 85%",  # as the campaign writes it
    )
    assert not has(ha_tinh, kind="task.below_target", unit="x-vuong-loc")


def test_ha_tinh_reports_cascade_upward_before_the_summary(ha_tinh: list[dict[str, Any]]) -> None:
    requested = {(e["unit"], e["at"]) for e in ha_tinh if e["kind"] == "report.requested"}
    assert ("x-vuong-loc", "2021-01-07T07:00:00+07:00") in requested
    assert ("hu-can-loc", "2021-01-10T07:00:00+07:00") in requested
    assert not any(unit == "x-thien-loc" for unit, _ in requested)  # it reported before the request
    assert has(ha_tinh, kind="report.overdue", unit="x-vuong-loc", at="2021-01-17T00:00:00+07:00")
    assert has(ha_tinh, kind="report.overdue", unit="hu-loc-ha", at="2021-01-20T00:00:00+07:00")
    assert has(
        ha_tinh, kind="report.submitted", unit="hu-can-loc", at="2021-01-18T16:00:00+07:00", late=False
    )
    assert has(ha_tinh, kind="report.submitted", unit="x-thien-loc", late=False)
    summary = index(ha_tinh, kind="summary.generated")
    assert ha_tinh[summary]["at"] == "2021-01-20T07:00:00+07:00"
    assert ha_tinh[summary]["to"] == ["tu-ha-tinh"]
    assert ha_tinh[summary]["counts"]["hn-huyen"]["district"] == {"done": 1, "done_late": 1, "overdue": 16}


def test_ha_tinh_no_reminder_or_escalation_after_completion(ha_tinh: list[dict[str, Any]]) -> None:
    done = {
        (e["task"], e["unit"]): e["at"]
        for e in ha_tinh
        if e["kind"] in ("task.completed", "report.submitted")
    }
    for e in ha_tinh:
        if e["kind"] in ("reminder.sent", "escalation.sent") and (e["task"], e["unit"]) in done:
            assert e["at"] <= done[(e["task"], e["unit"])], e


def test_tra_vinh_hd42_essays_and_bridge_point(store_engine: Engine) -> None:
    lines = run(store_engine, "tra-vinh-hd42-2017", "tra-vinh-hd42-2017.signals.csv")
    assert has(
        lines, at="2017-11-30T17:00:00+07:00", kind="task.opened", task="thu-hoach-tinh", unit="tu-tra-vinh"
    )
    assert has(lines, kind="task.completed", task="thu-hoach-tinh", unit="tu-tra-vinh", late=False)
    # Mỹ Cẩm's conference on 22/12: essays due 7 days later, end of 29/12
    assert has(
        lines, at="2017-12-30T00:00:00+07:00", kind="task.overdue", task="thu-hoach-co-so", unit="x-my-cam"
    )
    assert has(
        lines,
        at="2017-12-31T07:00:00+07:00",
        kind="escalation.sent",
        task="thu-hoach-co-so",
        unit="x-my-cam",
        to=["x-my-cam", "hu-cang-long"],
        stage=1,
    )
    assert has(
        lines,
        at="2018-01-02T09:00:00+07:00",
        kind="task.completed",
        task="thu-hoach-co-so",
        unit="x-my-cam",
        late=True,
    )
    # 80 essays of 88 attendees, 2 exempt under 709-CV/TU: below the 100% target
    assert has(lines, kind="task.below_target", unit="x-my-cam", field="essay_rate", target=">= 100%")
    # Long Đức reported its conference before its district held one: done, on time
    assert has(lines, kind="task.completed", task="hn-co-so", unit="x-long-duc", late=False)
    assert has(lines, at="2018-03-01T07:00:00+07:00", kind="report.requested", unit="x-my-cam")
    assert has(lines, at="2018-03-06T07:00:00+07:00", kind="report.requested", unit="hu-cang-long")
    assert has(lines, at="2018-03-31T07:00:00+07:00", kind="summary.generated", unit="tu-tra-vinh")


def test_tra_vinh_ct01_action_programme_follows_the_study(store_engine: Engine) -> None:
    lines = run(store_engine, "tra-vinh-ct01-2020", "tra-vinh-ct01-2020.signals.yaml")
    assert has(
        lines,
        at="2020-12-09T14:00:00+07:00",
        kind="task.opened",
        task="ctr-hanh-dong-huyen",
        unit="hu-cang-long",
    )
    assert has(
        lines,
        at="2020-12-09T18:00:00+07:00",
        kind="task.completed",
        task="ctr-hanh-dong-huyen",
        unit="hu-cang-long",
        late=False,
    )
    assert has(
        lines, at="2021-01-01T00:00:00+07:00", kind="task.overdue", task="hoc-tap-huyen", unit="hu-cau-ke"
    )
    assert has(lines, kind="task.completed", task="kh-kiem-tra", unit="tu-tra-vinh", late=False)
    # due out on New Year's Day, a public holiday: it waits for the next working morning
    assert has(
        lines, at="2021-01-02T07:00:00+07:00", kind="report.requested", task="bc-thu-hoach", unit="hu-cau-ke"
    )
    assert has(lines, at="2021-04-15T07:00:00+07:00", kind="summary.generated", unit="tu-tra-vinh")


SEEDS = [
    ("ha-tinh-xix-2020", "ha-tinh-xix-2020.signals.yaml"),
    ("tra-vinh-hd42-2017", "tra-vinh-hd42-2017.signals.csv"),
    ("tra-vinh-ct01-2020", "tra-vinh-ct01-2020.signals.yaml"),
]


@pytest.mark.parametrize(("campaign", "signals"), SEEDS)
def test_a_tick_phased_level_by_level_equals_one_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, campaign: str, signals: str
) -> None:
    """The Prefect flow runs a tick's openings and due instances one level at a time; in any
    level order (here bottom-up) the seed gives the same events and instance states."""
    import cascade.engine.simulate
    from cascade.engine import tick as core
    from cascade.engine.store import instances, open_store

    levels = load_plan(ROOT / "campaigns" / f"{campaign}.yaml").hierarchy.levels

    def by_level(conn: Connection, campaign_id: str, now: Any, resident: Any = None) -> core.TickResult:
        t = core.begin_tick(conn, campaign_id, now, resident)  # (a level's phases read the store)
        if t is None:
            return core.TickResult(campaign_id, now, idle=True)
        core.apply_signals(t)
        for level in reversed(levels):
            core.open_and_advance(t, level)
        return core.finish_tick(t)

    def states(engine: Engine) -> list[tuple[Any, ...]]:
        c = instances.c
        query = select(c.task_id, c.unit_id, c.state, c.opened_at, c.deadline, c.done_at, c.stage)
        with engine.connect() as conn:
            return sorted(tuple(row) for row in conn.execute(query))

    whole_engine = open_store(f"sqlite:///{tmp_path / 'whole.db'}")
    whole = run(whole_engine, campaign, signals)
    monkeypatch.setattr(cascade.engine.simulate, "tick_in", by_level)
    split_engine = open_store(f"sqlite:///{tmp_path / 'split.db'}")
    split = run(split_engine, campaign, signals)
    assert len(whole) > 50
    assert sorted(map(repr, split)) == sorted(map(repr, whole))
    assert states(split_engine) == states(whole_engine)


def test_ha_tinh_reports_cascade_up_with_their_figures_to_the_summary(
    store_engine: Engine, ha_tinh: list[dict[str, Any]]
) -> None:
    from cascade.engine import store
    from cascade.engine.summary import build

    # requests 10 days before each report deadline, after quiet hours: communes 07/01, districts 10/01
    assert has(ha_tinh, at="2021-01-07T07:00:00+07:00", kind="report.requested", unit="x-vuong-loc")
    assert has(ha_tinh, at="2021-01-10T07:00:00+07:00", kind="report.requested", unit="hu-can-loc")
    # Thiên Lộc reported early (05/01) and is not asked again
    assert not has(ha_tinh, kind="report.requested", unit="x-thien-loc")
    i = store.instances.c
    with store_engine.connect() as conn:
        deadlines = dict(conn.execute(select(i.unit_id, i.deadline).where(i.task_id == "bc-tien-do")).all())
        computed = conn.execute(
            select(i.computed).where(i.task_id == "bc-tien-do", i.unit_id == "hu-can-loc")
        ).scalar_one()
    # the district reaches the province before 20/01/2021; its communes report 3 days earlier
    assert deadlines["hu-can-loc"] == int(pendulum.datetime(2021, 1, 20, tz=TZ).timestamp())
    assert deadlines["x-vuong-loc"] == int(pendulum.datetime(2021, 1, 17, tz=TZ).timestamp())
    # Can Lộc's report on 18/01: Thiên Lộc's report (40 of 50) + Vương Lộc's signal (48 of 50)
    assert computed["hn-co-so.attendees"] == 88 and computed["hn-co-so.members"] == 100
    assert computed["hn-co-so.done"] == 2 and computed["hn-co-so.attendance_rate"] == 0.88
    summary = build(store_engine, "ha-tinh-xix-2020", pendulum.datetime(2021, 1, 20, 7, tz=TZ))
    assert summary is not None
    [report] = summary.reports
    assert report.totals["hn-co-so.attendees"] == 88
    assert [(m.unit, m.value) for m in summary.misses] == [("x-thien-loc", 0.8)]  # 40 of 50 < 85%
    assert summary.narrative.startswith("Tính đến ngày 20/01/2021, 1/1 đơn vị cấp tỉnh đã hoàn thành")
