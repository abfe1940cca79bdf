"""The tick's state machine on its own: rows in, transitions, events and notices out, no store.

The same campaign as tests/test_engine.py, whose tests run the machine through the store;
here each transition is driven by hand, so a regression points at the decision, not at SQL.
"""

from __future__ import annotations

from typing import Any

import pendulum
import pytest

from cascade.engine.deployed import Deployed
from cascade.engine.machine import Event, Machine, next_action, summary_due, summary_instant
from cascade.plan.model import Plan
from cascade.plan.rules import rules_of
from tests.conftest import compile_text
from tests.test_engine import TASKS

TZ = "Asia/Ho_Chi_Minh"


def at(text: str) -> pendulum.DateTime:
    return pendulum.parse(text, tz=TZ)  # type: ignore[return-value]


def s(text: str) -> int:
    return int(at(text).timestamp())


@pytest.fixture(scope="module")
def plan() -> Plan:
    return compile_text(TASKS)


@pytest.fixture(scope="module")
def campaign(plan: Plan) -> Deployed:
    c = plan.campaign
    return Deployed(
        id=c.id,
        title=c.title,
        timezone=c.timezone,
        calendar="VN",
        issued_at=int(c.issued_at.timestamp()),
        summary_at=int(c.summary_at.timestamp()),
        summary_sent_at=None,
        levels=plan.hierarchy.levels,
        tasks=rules_of(plan),
        source_file="campaign.yaml",
        plan_hash="x",
        deployed_at=int(c.issued_at.timestamp()),
        archived_at=None,
        rescan=False,
        operator=None,
        issued_by=None,
        ticked_at=None,
        tick_interval=None,
        stalled_alert_at=None,
        document=None,
    )


def row(plan: Plan, task: str, unit: str, **values: Any) -> dict[str, Any]:
    """An instance as the tick reads it, from the plan (held, nothing sent yet)."""
    [instance] = plan.instances_of(unit, task)
    deadline = instance.schedule.deadline
    return {
        "id": hash((task, unit)),
        "task_id": task,
        "unit_id": unit,
        "kind": plan.tasks[task].kind.value,
        "state": "held",
        "opens_on": instance.opening.on.value,
        "open_at": int(instance.opening.at.timestamp()) if instance.opening.at else None,
        "prereq_task": instance.opening.task,
        "prereq_unit": instance.opening.unit,
        "opened_at": None,
        "deadline": int(deadline.timestamp()) if deadline else None,
        "done_at": None,
        "fields": None,
        "next_reminder_at": None,
        "stage": 0,
        "next_escalation_at": None,
        "next_action_at": None,
        "path": plan.hierarchy.path_of(unit),
        **values,
    }


def kinds(events: list[Event]) -> list[tuple[str, str | None]]:
    return [(e.kind, e.unit_id) for e in events]


def test_an_instance_opens_at_its_time_and_plans_its_first_reminder(plan: Plan, campaign: Deployed) -> None:
    m = Machine(campaign, at("2020-11-10 08:00"), tick_id=1)
    r = row(plan, "hn-tinh", "tu-a")
    m.advance(r)
    assert r["state"] == "open"
    assert kinds(m.events) == [("task.opened", "tu-a")]
    assert [(n.kind, n.recipients) for n in m.notices] == [("task.opened", ["tu-a"])]
    # reminders 7 days and 1 day before 20/11 (the deadline is the start of that day)
    assert r["next_reminder_at"] == s("2020-11-13 07:00")
    assert r["next_action_at"] == next_action(r) == r["next_reminder_at"]


def test_one_reminder_however_many_were_missed(plan: Plan, campaign: Deployed) -> None:
    r = row(plan, "hn-tinh", "tu-a")
    Machine(campaign, at("2020-11-10 08:00"), tick_id=1).advance(r)
    late = Machine(campaign, at("2020-11-19 12:00"), tick_id=2)  # both reminders are due by now
    late.advance(r)
    assert kinds(late.events) == [("reminder.sent", "tu-a")]
    assert r["next_reminder_at"] is None and r["state"] == "open"


def test_the_deadline_turns_it_overdue_and_fires_the_due_stages_in_order(
    plan: Plan, campaign: Deployed
) -> None:
    r = row(plan, "hn-huyen", "hu-b", state="open", opened_at=s("2020-11-12"))
    m = Machine(campaign, at("2020-12-05 12:00"), tick_id=3)
    m.advance(r)
    assert r["state"] == "overdue" and r["stage"] == 2
    assert kinds(m.events) == [
        ("task.overdue", "hu-b"),
        ("escalation.sent", "hu-b"),
        ("escalation.sent", "hu-b"),
    ]
    stage_one, stage_two = m.notices
    assert stage_one.recipients == ["hu-b", "tu-a"] and stage_two.recipients == ["tu-a"]
    assert r["next_escalation_at"] is not None and r["next_escalation_at"] > s("2020-12-05 12:00")  # repeats


def test_a_late_signal_after_the_deadline_is_done_late(plan: Plan, campaign: Deployed) -> None:
    r = row(plan, "hn-huyen", "hu-b", state="open", opened_at=s("2020-11-12"))
    m = Machine(campaign, at("2020-12-02"), tick_id=4)
    m.complete(r, s("2020-12-01 09:00"), {})
    assert r["state"] == "done_late" and r["done_at"] == s("2020-12-01 09:00")
    assert kinds(m.events) == [("task.overdue", "hu-b"), ("task.completed", "hu-b")]
    assert m.events[-1].data["late"] is True
    assert next_action(r) is None


def test_a_missed_target_tells_the_unit_and_its_parent(plan: Plan, campaign: Deployed) -> None:
    unit = next(i.unit for i in plan.instances_of(task="hn-co-so"))
    r = row(plan, "hn-co-so", unit, state="open", opened_at=s("2020-12-01"))
    m = Machine(campaign, at("2020-12-10"), tick_id=5)
    m.complete(r, s("2020-12-09"), {"attendees": 50, "members": 100})
    assert r["fields"]["rate"] == 0.5
    assert ("task.below_target", unit) in kinds(m.events)
    [below] = [n for n in m.notices if n.kind == "task.below_target"]
    parent = plan.hierarchy.parent_of(unit)
    assert below.recipients == [unit, parent]


def test_a_held_instance_opens_when_its_prerequisite_is_done(plan: Plan, campaign: Deployed) -> None:
    r = row(plan, "hn-huyen", "hu-b")
    assert r["opens_on"] == "prerequisite"
    m = Machine(campaign, at("2020-11-15"), tick_id=6)
    m.open_after_prerequisite(r, s("2020-11-14 10:00"))
    assert r["state"] == "open" and r["opened_at"] == s("2020-11-14 10:00")
    assert kinds(m.events) == [("task.opened", "hu-b")]  # 16 days left: more than min_window


def test_the_summary_falls_due_on_its_date_after_quiet_hours(campaign: Deployed) -> None:
    instant = summary_instant(campaign)
    assert instant == s("2021-01-20 07:00")  # the start of summary_date, once the night's quiet ends
    assert not summary_due(campaign, instant - 1) and summary_due(campaign, instant)
