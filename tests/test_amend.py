"""A campaign that changes while it runs (spec §7): redeploys of an edited file, on both stores."""

from __future__ import annotations

from typing import Any

import pendulum
import pytest
from sqlalchemy import Engine, select

from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.signals import Signal, record
from cascade.engine.tick import tick
from cascade.views.eventlog import event_lines
from tests.conftest import MOVED_UNITS, compile_text

TZ = "Asia/Ho_Chi_Minh"
CID = "test-campaign"

# A province conference, then every district's, opening when the province's is done.
CHAIN = """\
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
    due: {before: DISTRICT}
  - id: hn-co-so
    title: Hội nghị cơ sở
    level: grassroots
    due: {before: GRASSROOTS}
"""


def chain(
    district: str = "23/11/2020",
    grassroots: str = "15/12/2020",
    extra: str = "",
    units_yaml: str | None = None,
) -> Any:
    text = CHAIN.replace("DISTRICT", district).replace("GRASSROOTS", grassroots) + extra
    return compile_text(text) if units_yaml is None else compile_text(text, units_yaml=units_yaml)


def at(text: str) -> pendulum.DateTime:
    return pendulum.parse(text, tz=TZ)  # type: ignore[return-value]


def iso(text: str) -> str:
    return at(text).isoformat()


def events(engine: Engine, kind: str | None = None, unit: str | None = None) -> list[dict[str, Any]]:
    lines = event_lines(engine, CID, TZ)
    return [e for e in lines if (kind is None or e["kind"] == kind) and (unit is None or e["unit"] == unit)]


def states(engine: Engine) -> dict[tuple[str, str], str]:
    i = store.instances.c
    with engine.connect() as conn:
        return {(r.task_id, r.unit_id): r.state for r in conn.execute(select(i.task_id, i.unit_id, i.state))}


def signal(engine: Engine, unit: str, task: str, when: str) -> None:
    record(engine, CID, [Signal(unit, task, at(when), {})], "test", at(when))


def told(engine: Engine, plan: Any, when: str) -> list[str]:
    """The summary `deploy --dry-run` prints for `plan` at `when`, in English."""
    from cascade.i18n import speaking
    from cascade.views.changes import describe

    result = deploy(engine, plan, "dry run", at(when), dry_run=True)
    assert result.changes is not None
    with speaking("en"):
        return describe(result.changes)


def outbox_kinds(engine: Engine, unit: str) -> list[str]:
    o = store.outbox.c
    with engine.connect() as conn:
        return [k for (k,) in conn.execute(select(o.kind).where(o.recipient_unit == unit).order_by(o.id))]


def test_extending_a_held_overdue_instance_does_not_crash_the_next_tick(store_engine: Engine) -> None:
    """The trial's crash: the district's instance went overdue while still held (the province
    never held its conference); moving its deadline out made every later tick raise."""
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    tick(store_engine, CID, at("2020-11-24 09:00"))  # province due 4 days ago, districts yesterday
    assert states(store_engine)[("hn-huyen", "hu-b")] == "overdue"
    deploy(store_engine, chain(district="07/12/2020"), "v2", at("2020-11-24 10:00"))
    tick(store_engine, CID, at("2020-11-24 11:00"))  # raised TypeError in engine._next_reminder
    tick(store_engine, CID, at("2020-11-30 11:00"))
    assert states(store_engine)[("hn-huyen", "hu-b")] == "held"  # it never opened
    [amended] = events(store_engine, "task.amended", "hu-b")
    assert amended["old_deadline"] == "2020-11-23T00:00:00+07:00"
    assert amended["new_deadline"] == "2020-12-07T00:00:00+07:00"
    assert amended["state"] == "held"
    assert amended["to"] == ["hu-b"]  # told in its next digest
    signal(store_engine, "tu-a", "hn-tinh", "2020-12-01 08:00")
    tick(store_engine, CID, at("2020-12-01 09:00"))
    assert states(store_engine)[("hn-huyen", "hu-b")] == "open"  # opens on the province's signal


def test_a_title_only_redeploy_sends_nothing(store_engine: Engine) -> None:
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    signal(store_engine, "tu-a", "hn-tinh", "2020-11-12 08:00")
    tick(store_engine, CID, at("2020-11-22 07:30"))  # hn-huyen's 1d reminder went out at 07:00
    reminders = events(store_engine, "reminder.sent")
    assert [(e["task"], e["unit"]) for e in reminders].count(("hn-huyen", "hu-b")) == 1
    before = len(events(store_engine))
    retitled = chain().tasks
    edited = compile_text(
        CHAIN.replace("DISTRICT", "23/11/2020")
        .replace("GRASSROOTS", "15/12/2020")
        .replace("Hội nghị huyện", "Hội nghị cán bộ chủ chốt cấp huyện")
    )
    assert retitled["hn-huyen"].title != edited.tasks["hn-huyen"].title
    result = deploy(store_engine, edited, "v2", at("2020-11-22 08:00"))
    tick(store_engine, CID, at("2020-11-22 09:00"))
    assert len(events(store_engine)) == before  # no reminder again, no task.amended
    assert result.changes is not None and result.changes.amended == []
    # and no instance rewritten: a redeploy said "6 updated" of a title, changing none
    assert (result.added, result.updated, result.archived) == (0, 0, 0)
    moved = deploy(store_engine, chain(grassroots="22/12/2020"), "v3", at("2020-11-22 10:00"))
    assert moved.updated == 3  # the three communes' conferences, their deadline moved


def test_moving_a_deadline_later_rejudges_late_work_on_time(store_engine: Engine) -> None:
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1", at("2020-11-10"))
    signal(store_engine, "x-c", "hn-co-so", "2020-12-16 08:00")  # a day late
    tick(store_engine, CID, at("2020-12-20 09:00"))
    assert states(store_engine)[("hn-co-so", "x-c")] == "done_late"
    assert states(store_engine)[("hn-co-so", "x-d")] == "overdue"
    deploy(store_engine, chain(grassroots="31/12/2020"), "v2", at("2020-12-20 10:00"))
    after = states(store_engine)
    assert after[("hn-co-so", "x-c")] == "done"  # finished before the new deadline: on time
    assert after[("hn-co-so", "x-d")] == "open"  # never did it: open again, no clean record
    rejudged = events(store_engine, "task.amended", "x-c")
    assert [(e["state"], e["new_deadline"]) for e in rejudged] == [("done", "2020-12-31T00:00:00+07:00")]
    # moved earlier again: a finished instance is never made late retroactively
    deploy(store_engine, chain(grassroots="10/12/2020"), "v3", at("2020-12-20 11:00"))
    after = states(store_engine)
    assert after[("hn-co-so", "x-c")] == "done"
    assert after[("hn-co-so", "x-d")] == "overdue"


def test_a_reopened_instance_is_reminded_only_after_the_redeploy(store_engine: Engine) -> None:
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1", at("2020-11-10"))
    tick(store_engine, CID, at("2020-12-08 08:00"))  # the 7d reminder
    tick(store_engine, CID, at("2020-12-20 09:00"))  # (the 1d one missed while down), two stages
    sent = [e for e in events(store_engine, "reminder.sent") if e["unit"] == "x-c"]
    assert len(sent) == 1
    deploy(store_engine, chain(grassroots="30/12/2020"), "v2", at("2020-12-20 10:00"))
    for day in ("2020-12-21", "2020-12-23 07:00", "2020-12-29 07:00", "2020-12-31 08:00"):
        tick(store_engine, CID, at(day))
    after = [e for e in events(store_engine, "reminder.sent") if e["unit"] == "x-c"]
    assert [e["at"] for e in after[1:]] == ["2020-12-23T07:00:00+07:00", "2020-12-29T07:00:00+07:00"]
    stages = [(e["stage"], e["deadline"]) for e in events(store_engine, "escalation.sent", "x-c")]
    assert stages[-1][1] == iso("2020-12-30")  # the ladder restarted from the new deadline


def test_moving_the_deadline_away_and_back_never_repeats_a_stage(store_engine: Engine) -> None:
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1", at("2020-11-10"))
    tick(store_engine, CID, at("2020-12-17 09:00"))  # stage 1 for the 15/12 deadline
    deploy(store_engine, chain(grassroots="30/12/2020"), "v2", at("2020-12-17 10:00"))
    deploy(store_engine, chain(grassroots="15/12/2020"), "v3", at("2020-12-17 11:00"))
    tick(store_engine, CID, at("2020-12-17 12:00"))
    tick(store_engine, CID, at("2020-12-19 09:00"))  # stage 2 of the same deadline, first time
    stages = [(e["stage"], e["deadline"]) for e in events(store_engine, "escalation.sent", "x-c")]
    assert stages == [(1, iso("2020-12-15")), (2, iso("2020-12-15"))]


def test_exempting_a_unit_in_the_file_stops_its_notices(store_engine: Engine) -> None:
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    signal(store_engine, "x-c", "hn-co-so", "2020-11-20 08:00")
    edited = compile_text(
        CHAIN.replace("DISTRICT", "23/11/2020").replace(
            "due: {before: GRASSROOTS}", "due: {before: 15/12/2020}\n    exempt: [x-d, x-c]"
        )
    )
    result = deploy(store_engine, edited, "v2", at("2020-11-21 08:00"))
    assert result.changes is not None
    assert [(a.unit, a.outcome.effect) for a in result.changes.amended] == [("x-d", "exempted")]
    tick(store_engine, CID, at("2020-11-21 09:00"))
    tick(store_engine, CID, at("2020-12-20 09:00"))
    assert states(store_engine)[("hn-co-so", "x-d")] == "exempt"
    assert states(store_engine)[("hn-co-so", "x-c")] == "done"  # what happened stays
    [exempted] = events(store_engine, "task.exempted")
    assert (exempted["unit"], exempted["to"]) == ("x-d", ["x-d"])
    assert events(store_engine, "escalation.sent", "x-d") == []


def test_a_moved_unit_escalates_to_its_new_parent(store_engine: Engine) -> None:
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    body = CHAIN.replace("DISTRICT", "23/11/2020").replace("GRASSROOTS", "15/12/2020")
    result = deploy(store_engine, compile_text(body, MOVED_UNITS), "v2", at("2020-11-20"))
    assert result.changes is not None
    assert [(m.unit, m.old_parent, m.new_parent) for m in result.changes.moved] == [("x-d", "hu-b", "hu-e")]
    [moved] = events(store_engine, "unit.moved")
    assert (moved["unit"], moved["from"], moved["moved_to"], moved["to"]) == ("x-d", "hu-b", "hu-e", ["hu-e"])
    tick(store_engine, CID, at("2020-12-16 09:00"))  # stage 1: self and parent
    [stage1] = [e for e in events(store_engine, "escalation.sent", "x-d") if e["stage"] == 1]
    assert stage1["to"] == ["x-d", "hu-e"]


@pytest.mark.parametrize("kind", ["task.opened", "reminder.sent"])
def test_a_settled_notice_is_dropped_from_the_digest(store_engine: Engine, kind: str) -> None:
    from cascade.engine.outbox import dispatch

    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    tick(store_engine, CID, at("2020-11-10 01:00") if kind == "task.opened" else at("2020-12-08 07:30"))
    signal(store_engine, "x-c", "hn-co-so", "2020-12-08 07:40")
    tick(store_engine, CID, at("2020-12-08 07:45"))
    sent: list[list[str]] = []

    def send(digest: Any) -> Any:
        from cascade.engine.outbox import Delivery

        sent.append([n["kind"] for n in digest.notices if n.get("unit") == "x-c"])
        return Delivery("sent", "email", "x", 1)

    dispatch(store_engine, CID, int(at("2020-12-08 08:00").timestamp()), send)
    assert not any(kind in kinds for kinds in sent)
    o = store.outbox.c
    with store_engine.connect() as conn:
        settled = conn.execute(select(o.kind).where(o.recipient_unit == "x-c", o.status == "settled")).all()
    assert (kind,) in settled


# ---- one unit's decision ---------------------------------------------------------------------

from cascade.engine.decisions import Decision, DecisionRefused, decide  # noqa: E402


def extend(engine: Engine, units: tuple[str, ...], task: str, to: str, when: str, **kw: Any) -> Any:
    decision = Decision(
        "extension",
        task,
        units,
        kw.pop("reason", "Công văn gia hạn"),
        "Văn phòng",
        int(at(to).timestamp()),
        **kw,
    )
    with engine.begin() as conn:
        return decide(conn, CID, decision, at(when))


def test_an_extension_outlives_redeploys_and_keeps_the_later_deadline(store_engine: Engine) -> None:
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1", at("2020-11-10"))
    tick(store_engine, CID, at("2020-12-16 09:00"))
    assert states(store_engine)[("hn-co-so", "x-c")] == "overdue"
    extend(store_engine, ("x-c",), "hn-co-so", "2020-12-25", "2020-12-16 10:00", reason="Bão lũ")
    assert states(store_engine)[("hn-co-so", "x-c")] == "open"
    [amended] = events(store_engine, "task.amended", "x-c")
    assert (amended["reason"], amended["by"], amended["state"]) == ("Bão lũ", "Văn phòng", "open")
    assert amended["new_deadline"] == "2020-12-25T00:00:00+07:00"
    # a redeploy of the same file keeps the extension; one with a later deadline wins over it
    result = deploy(store_engine, chain(grassroots="15/12/2020"), "v1 again", at("2020-12-16 11:00"))
    assert result.changes is not None and result.changes.amended == []
    deploy(store_engine, chain(grassroots="31/12/2020"), "v2", at("2020-12-16 12:00"))
    i = store.instances.c
    with store_engine.connect() as conn:
        deadlines = dict(conn.execute(select(i.unit_id, i.deadline).where(i.task_id == "hn-co-so")).all())
    assert deadlines["x-c"] == int(at("2020-12-31").timestamp())
    deploy(store_engine, chain(grassroots="20/12/2020"), "v3", at("2020-12-16 13:00"))
    with store_engine.connect() as conn:
        deadlines = dict(conn.execute(select(i.unit_id, i.deadline).where(i.task_id == "hn-co-so")).all())
    assert deadlines["x-c"] == int(at("2020-12-25").timestamp())  # its extension is later than the file's
    assert deadlines["x-d"] == int(at("2020-12-20").timestamp())


def test_a_refused_decision_names_every_fault_and_applies_nothing(store_engine: Engine) -> None:
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    before = states(store_engine)
    with pytest.raises(DecisionRefused) as refused:
        extend(
            store_engine, ("x-c", "no-such-unit", "hu-b"), "hn-co-so", "2020-11-01", "2020-11-20", reason=" "
        )
    text = " | ".join(refused.value.problems)
    assert "a reason is required" in text
    assert "before the campaign was issued" in text
    assert "no unit `no-such-unit`" in text
    assert "«Hội nghị cơ sở» is not asked of Huyện ủy B" in text
    with pytest.raises(DecisionRefused, match="no task or report `nope`"):
        extend(store_engine, ("x-c",), "nope", "2020-12-20", "2020-11-20")
    with pytest.raises(DecisionRefused, match="already passed"):
        extend(store_engine, ("x-c",), "hn-co-so", "2020-11-15", "2020-11-20")
    assert states(store_engine) == before
    with store_engine.connect() as conn:
        assert conn.execute(select(store.decisions)).all() == []
        assert conn.execute(select(store.events).where(store.events.c.kind == "task.amended")).all() == []


def test_an_exemption_by_decision_survives_a_redeploy(store_engine: Engine) -> None:
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    decision = Decision("exemption", "hn-co-so", ("x-d",), "Sáp nhập vào xã C", "Ban Tổ chức")
    with store_engine.begin() as conn:
        decide(conn, CID, decision, at("2020-11-20"))
    [exempted] = events(store_engine, "task.exempted")
    assert (exempted["unit"], exempted["reason"], exempted["by"]) == (
        "x-d",
        "Sáp nhập vào xã C",
        "Ban Tổ chức",
    )
    deploy(store_engine, chain(grassroots="20/12/2020"), "v2", at("2020-11-21"))
    tick(store_engine, CID, at("2020-12-22"))
    assert states(store_engine)[("hn-co-so", "x-d")] == "exempt"
    assert states(store_engine)[("hn-co-so", "x-c")] == "overdue"
    assert events(store_engine, "escalation.sent", "x-d") == []


def test_a_signal_that_came_while_exempt_counts_once_the_exemption_is_lifted(store_engine: Engine) -> None:
    """Found by the property test: the unit's signal was passed over while it was exempt."""
    exempt = CHAIN.replace("DISTRICT", "23/11/2020").replace(
        "due: {before: GRASSROOTS}", "due: {before: 15/12/2020}\n    exempt: [x-c]"
    )
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    signal(store_engine, "x-c", "hn-co-so", "2020-11-20 08:00")  # recorded; its instant not yet come
    deploy(store_engine, compile_text(exempt), "v2", at("2020-11-15"))
    tick(store_engine, CID, at("2020-11-21"))
    assert states(store_engine)[("hn-co-so", "x-c")] == "exempt"
    deploy(store_engine, chain(), "v3", at("2020-11-25"))
    tick(store_engine, CID, at("2020-11-25 01:00"))
    assert states(store_engine)[("hn-co-so", "x-c")] == "done"
    [done] = events(store_engine, "task.completed", "x-c")
    assert (done["at"], done["late"]) == ("2020-11-20T08:00:00+07:00", False)


def test_lifting_an_exemption_does_not_repeat_a_stage_already_sent(store_engine: Engine) -> None:
    """Found by the property test: exempt after its first stage, then not exempt again."""
    exempt = CHAIN.replace("DISTRICT", "23/11/2020").replace(
        "due: {before: GRASSROOTS}", "due: {before: 15/12/2020}\n    exempt: [x-c]"
    )
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    tick(store_engine, CID, at("2020-12-16 09:00"))  # stage 1 for the 15/12 deadline
    deploy(store_engine, compile_text(exempt), "v2", at("2020-12-16 10:00"))
    deploy(store_engine, chain(), "v3", at("2020-12-16 11:00"))
    tick(store_engine, CID, at("2020-12-16 12:00"))
    tick(store_engine, CID, at("2020-12-19 09:00"))  # stage 2, the first time
    assert states(store_engine)[("hn-co-so", "x-c")] == "overdue"
    stages = [(e["stage"], e["deadline"]) for e in events(store_engine, "escalation.sent", "x-c")]
    assert stages == [(1, iso("2020-12-15")), (2, iso("2020-12-15"))]


def test_an_after_deadline_follows_the_new_rule_from_its_source_signal(store_engine: Engine) -> None:
    """`thu-hoach` is due 7 days after the unit's conference; a later document makes it 14."""
    from tests.test_engine import TASKS as AFTER

    deploy(store_engine, compile_text(AFTER), "v1", at("2020-11-10"))
    record(
        store_engine,
        CID,
        [
            Signal("tu-a", "hn-tinh", at("2020-11-18 10:00")),
            Signal("hu-b", "hn-huyen", at("2020-11-25 10:00")),
        ],
        "test",
        at("2020-11-25 11:00"),
    )
    record(
        store_engine,
        CID,
        [Signal("x-c", "hn-co-so", at("2020-12-01 10:00"), {"attendees": 40, "members": 45})],
        "t",
        at("2020-12-01 11:00"),
    )
    tick(store_engine, CID, at("2020-12-02 08:00"))
    i = store.instances.c
    with store_engine.connect() as conn:
        before = conn.execute(select(i.deadline).where(i.task_id == "thu-hoach", i.unit_id == "x-c")).scalar()
    assert before == int(at("2020-12-09").timestamp())  # 7 days after 01/12, to the end of that day
    deploy(store_engine, compile_text(AFTER.replace("days: 7", "days: 14")), "v2", at("2020-12-03 08:00"))
    [amended] = events(store_engine, "task.amended", "x-c")
    assert (amended["old_deadline"], amended["new_deadline"]) == (iso("2020-12-09"), iso("2020-12-16"))
    assert events(store_engine, "task.amended", "x-d") == []  # not signalled: no deadline yet


def test_the_summary_tells_who_a_new_task_is_opened_to(store_engine: Engine) -> None:
    """A task added to a running campaign opens at the next tick for every unit whose
    prerequisite is done, and each of them is told: the summary said "Notices this change sends:
    none", which is what an operator reads before deploying."""
    from cascade.i18n import speaking
    from cascade.views.changes import describe

    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    signal(store_engine, "tu-a", "hn-tinh", "2020-11-12 08:00")
    signal(store_engine, "x-c", "hn-co-so", "2020-11-12 08:00")
    tick(store_engine, CID, at("2020-11-12 09:00"))
    added = """\
  - id: bc-huyen
    title: Báo cáo nhanh cấp huyện
    tags: [district-committee]
    opens_after: {task: hn-tinh, at: parent}
    due: {before: 30/11/2020}
  - id: thu-hoach
    title: Bài thu hoạch
    level: grassroots
    due: {after: hn-co-so, days: 7}
"""
    result = deploy(store_engine, chain(extra=added), "v2", at("2020-11-13 08:00"), dry_run=True)
    assert result.changes is not None
    with speaking("en"):
        lines = describe(result.changes)
    # hu-b and hu-e's report (tu-a has held its conference); x-c's essay (it has held its own)
    assert "  then, at the next tick, 3 units are told of the work this change opens" in lines, lines
    deploy(store_engine, chain(extra=added), "v2", at("2020-11-13 08:00"))
    before = len(events(store_engine, "task.opened"))
    tick(store_engine, CID, at("2020-11-13 08:05"))
    opened = events(store_engine, "task.opened")[before:]
    assert sorted((e["task"], e["unit"]) for e in opened) == [
        ("bc-huyen", "hu-b"),
        ("bc-huyen", "hu-e"),
        ("thu-hoach", "x-c"),
    ]


def test_the_summary_counts_waiting_work_a_change_lets_open(store_engine: Engine) -> None:
    """Dropping the district level (2025: communes moved under the province, their conference
    now waiting on the province's) opened every commune's conference at the next tick, and the
    summary said "6 units are told of the work this change opens", counting only instances the
    change added. An instance that was waiting and whose wait the change settles (a unit moved
    under a parent that is done, an `opens_after` changed or dropped) is told too. One that went
    overdue while it waited and whose `opens_after` is dropped never opened at all: it opens
    now, told it may start (late), as one whose prerequisite is done late is."""
    from tests.conftest import MOVED_UNITS

    plain = CHAIN.replace("DISTRICT", "23/11/2020").replace("GRASSROOTS", "15/12/2020")
    waits = "    due: {before: 15/12/2020}\n    opens_after: {task: hn-huyen, at: parent}\n"
    v1 = plain.replace("    due: {before: 15/12/2020}\n", waits)
    deploy(store_engine, compile_text(v1), "v1", at("2020-11-10"))
    signal(store_engine, "tu-a", "hn-tinh", "2020-11-12 08:00")
    signal(store_engine, "hu-e", "hn-huyen", "2020-11-13 08:00")
    tick(store_engine, CID, at("2020-11-13 09:00"))  # x-f's conference opens; x-c's and x-d's wait on hu-b
    assert states(store_engine)[("hn-co-so", "x-d")] == "held"

    # x-d moves under hu-e (done); x-c stays under hu-b (not done): it still waits
    lines = told(store_engine, compile_text(v1, units_yaml=MOVED_UNITS), "2020-11-14 08:00")
    assert "  then, at the next tick, 1 unit is told of the work this change opens" in lines, lines

    # past their deadline still waiting (overdue, never opened), the wait dropped: x-c and x-d
    # open (x-f has long been open)
    tick(store_engine, CID, at("2020-12-20 09:00"))
    assert states(store_engine)[("hn-co-so", "x-c")] == "overdue"
    v3 = compile_text(plain, units_yaml=MOVED_UNITS)
    lines = told(store_engine, v3, "2020-12-20 10:00")
    assert "  then, at the next tick, 2 units are told of the work this change opens" in lines, lines
    deploy(store_engine, v3, "v3", at("2020-12-20 10:00"))
    before = {(e["task"], e["unit"]) for e in events(store_engine, "task.opened")}
    tick(store_engine, CID, at("2020-12-20 10:05"))
    opened = {(e["task"], e["unit"]) for e in events(store_engine, "task.opened")} - before
    assert sorted(opened) == [("hn-co-so", "x-c"), ("hn-co-so", "x-d")]


def test_a_unit_whose_id_changed_is_named_a_new_unit_before_it_starts_over(store_engine: Engine) -> None:
    """A unit's id corrected in the units file read "added: Đảng ủy xã C; removed: Đảng ủy xã C":
    the unit starts over under its new id (its finished work stays with the old one), which the
    summary did not say, as it says it of a task whose id changed."""
    from cascade.i18n import speaking
    from cascade.views.changes import describe
    from tests.conftest import SMALL_UNITS

    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    signal(store_engine, "x-c", "hn-co-so", "2020-11-12 08:00")
    tick(store_engine, CID, at("2020-11-12 09:00"))
    renamed = SMALL_UNITS.replace("{id: x-c,", "{id: xa-c,")
    edited = compile_text(
        CHAIN.replace("DISTRICT", "23/11/2020").replace("GRASSROOTS", "15/12/2020"), renamed
    )
    result = deploy(store_engine, edited, "v2", at("2020-11-13 08:00"), dry_run=True)
    assert result.changes is not None
    with speaking("en"):
        lines = describe(result.changes)
    assert (
        "  «Đảng ủy xã C»: its id changed from x-c to xa-c. A unit is known by its id: xa-c is a new unit "
        "that starts over (1 task finished under x-c), its notices sent again; put x-c back in the units "
        "file to keep its progress"
    ) in lines, lines
    assert not any(line.startswith(("  added", "  removed")) for line in lines), lines
    deploy(store_engine, edited, "v2", at("2020-11-13 08:00"))
    lines = told(store_engine, chain(), "2020-11-14 08:00")  # x-c put back: no rename, its progress back
    assert not any("its id changed" in line for line in lines), lines
    assert "  put back, their progress with them (1): Đảng ủy xã C" in lines
    assert "  removed (1): Đảng ủy xã C" in lines  # (xa-c)


def test_a_unit_renamed_in_a_sheet_without_ids_is_told_it_starts_over_and_how_to_keep_it(
    store_engine: Engine,
) -> None:
    """A commune's sheet has no id column: each unit's id is made from its name. "Chi bộ Công an xã"
    renamed "Chi bộ Công an xã Long Đức" (a new cell added beside it) read "added (2) … removed (1) …",
    nothing more: the cell started over under a new id, its finished work archived with the old one.
    The summary says it may be one unit renamed, and the id column that keeps its progress."""
    from cascade.compile.build import compile_plan
    from cascade.compile.reading import read_yaml
    from cascade.compile.units import read_units
    from tests.conftest import HEADER, dedent

    sheet = (
        "Tên đơn vị,Cấp,Cấp trên,Email\n"
        "Tỉnh ủy A,Tỉnh,,vp@a.vn\n"
        "Huyện ủy B,Huyện,Tỉnh ủy A,b@a.vn\n"
        "Chi bộ Công an xã,Cơ sở,Huyện ủy B,ca@a.vn\n"
        "Chi bộ ấp Long Bình,Cơ sở,Huyện ủy B,lb@a.vn\n"
    )
    tasks = (
        "tasks:\n  - {id: hn-co-so, title: Hội nghị cơ sở, level: grassroots, due: {before: 15/12/2020}}\n"
    )

    def plan(units: str) -> Any:
        return compile_plan(
            read_yaml(HEADER + dedent(tasks), "campaign.yaml"), read_units(units, "units.csv")
        )

    deploy(store_engine, plan(sheet), "v1", at("2020-11-10"))
    signal(store_engine, "chi-bo-cong-an-xa", "hn-co-so", "2020-11-12 08:00")
    tick(store_engine, CID, at("2020-11-12 09:00"))
    renamed = sheet.replace("Chi bộ Công an xã,", "Chi bộ Công an xã Long Đức,")
    lines = told(
        store_engine, plan(renamed + "Chi bộ ấp Long Khánh,Cơ sở,Huyện ủy B,lk@a.vn\n"), "2020-11-13"
    )
    assert "  added (2): Chi bộ Công an xã Long Đức, Chi bộ ấp Long Khánh" in lines, lines
    assert (
        "  «Chi bộ Công an xã» removed and «Chi bộ Công an xã Long Đức» added at its place: if it is one "
        "unit renamed, its id changed with its name (chi-bo-cong-an-xa → chi-bo-cong-an-xa-long-duc) and "
        "it starts over, its 1 task finished kept under chi-bo-cong-an-xa; to keep its progress, write "
        "chi-bo-cong-an-xa in an id (Mã) column on its row"
    ) in lines, lines
    # a unit with nothing finished loses nothing: not told; nor is one removed with none added
    assert not any(
        "at its place" in line
        for line in told(store_engine, plan(sheet.replace("Long Bình", "Long Hòa")), "2020-11-13")
    )
    dropped = sheet.replace("Chi bộ Công an xã,Cơ sở,Huyện ủy B,ca@a.vn\n", "")
    assert not any("at its place" in line for line in told(store_engine, plan(dropped), "2020-11-13"))
    # the fix said: its old id on its row keeps its progress
    kept = "Mã," + renamed.replace("\n", "\n,").removesuffix(",").replace(
        ",Chi bộ Công an xã Long Đức", "chi-bo-cong-an-xa,Chi bộ Công an xã Long Đức"
    )
    lines = told(store_engine, plan(kept), "2020-11-13")
    assert not any("at its place" in line or line.startswith(("  added", "  removed")) for line in lines), (
        lines
    )


def test_units_under_a_parent_whose_id_changed_follow_it_without_being_told_they_moved(
    store_engine: Engine,
) -> None:
    """A district's id corrected in the units file (hu-b to huyen-b, the name as it was) moved
    its communes "from Huyện ủy B to Huyện ủy B": so the summary said, and the district was sent
    "2 đơn vị chuyển sang trực thuộc Huyện ủy B (trước đây thuộc Huyện ủy B)". Nothing moved for
    the people: the summary says the units follow their parent to its new id, and nobody is told;
    the log keeps the move, with nobody in its `to`."""
    from tests.conftest import SMALL_UNITS

    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    tick(store_engine, CID, at("2020-11-10 09:00"))
    renamed = SMALL_UNITS.replace("- id: hu-b\n", "- id: huyen-b\n")
    assert renamed != SMALL_UNITS
    edited = compile_text(
        CHAIN.replace("DISTRICT", "23/11/2020").replace("GRASSROOTS", "15/12/2020"), renamed
    )
    lines = told(store_engine, edited, "2020-11-13 08:00")
    assert (
        "  the units under Huyện ủy B follow it to its new id (2), nobody told: Đảng ủy xã C, Đảng ủy xã D"
        in lines
    ), lines
    assert not any("moved from" in line for line in lines), lines
    assert not any(line.startswith("Notices this change sends:") and "moved" in line for line in lines), lines
    deploy(store_engine, edited, "v2", at("2020-11-13 08:00"))
    moves = events(store_engine, "unit.moved")
    assert sorted((e["unit"], e["from"], e["moved_to"], tuple(e["to"])) for e in moves) == [
        ("x-c", "hu-b", "huyen-b", ()),
        ("x-d", "hu-b", "huyen-b", ()),
    ]
    assert "unit.moved" not in outbox_kinds(store_engine, "huyen-b")


def test_units_moved_together_are_one_line_of_the_summary(store_engine: Engine) -> None:
    """A merger moves a district's communes together: dropping Hà Tĩnh's district level printed
    87 lines of "moved: Đảng ủy xã …: Huyện ủy … → Tỉnh ủy Hà Tĩnh". One line per old and new
    parent, the units named in the file's order; a unit moved alone keeps its line."""
    from tests.conftest import SMALL_UNITS

    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    x_c = next(line + "\n" for line in SMALL_UNITS.splitlines() if "id: x-c," in line)
    x_d = next(line + "\n" for line in SMALL_UNITS.splitlines() if "id: x-d," in line)
    x_f = next(line + "\n" for line in SMALL_UNITS.splitlines() if "id: x-f," in line)
    # B's two communes go to E; E's one goes to B
    swapped = SMALL_UNITS.replace(x_c + x_d, "{X_F}").replace(x_f, x_c + x_d).replace("{X_F}", x_f)
    lines = told(store_engine, chain(units_yaml=swapped), "2020-11-13 08:00")
    moved = [line for line in lines if line.startswith("  moved")]
    assert moved == [  # in the units file's order
        "  moved: Đảng ủy xã F: Huyện ủy E → Huyện ủy B",
        "  moved from Huyện ủy B to Huyện ủy E (2): Đảng ủy xã C, Đảng ủy xã D",
    ], lines


def test_a_level_dropped_nationwide_is_summed_up_after_the_first_moves() -> None:
    """Dropping the district level of a national campaign (9,450 communes from 630 districts to
    their 63 provinces) printed 630 lines of "moved from Huyện ủy … to Tỉnh ủy … (15): …", the
    rest of the summary out of sight. Past 20 pairs of parents, the first 10 are shown and the
    rest summed up, saying where each one is listed; Hà Tĩnh's 18 districts still show whole."""
    from cascade.engine.amend import Changes, Moved
    from cascade.views.changes import describe

    names = {"tw": "Ban Chấp hành Trung ương"}
    moved = []
    for p in range(1, 64):
        names[f"t{p}"] = f"Tỉnh ủy {p}"
        for d in range(1, 11):
            names[f"h{p}.{d}"] = f"Huyện ủy {p}.{d}"
            for c in range(1, 16):
                names[f"x{p}.{d}.{c}"] = f"Đảng ủy xã {p}.{d}.{c}"
                moved.append(Moved(f"x{p}.{d}.{c}", "", f"h{p}.{d}", f"t{p}"))
    lines = describe(Changes("five-levels", moved=moved, units=names, at=1_776_646_800))
    shown = [line for line in lines if line.startswith("  moved")]
    assert len(shown) == 10 and shown[0].startswith("  moved from Huyện ủy 1.1 to Tỉnh ủy 1 (15): ")
    assert shown[9].startswith("  moved from Huyện ủy 1.10 to Tỉnh ủy 1 (15): ")
    rest = lines[lines.index(shown[9]) + 1]
    assert rest == (
        "  and 620 more alike: 9,300 units moved from 620 units to 62 "
        "(`cascade events five-levels --kind unit.moved` lists each one once it is deployed)"
    ), lines
    lines = describe(Changes("ha-tinh", moved=moved[: 18 * 15], units=names, at=1_776_646_800))
    assert sum(line.startswith("  moved") for line in lines) == 18 and not any("alike" in x for x in lines)


def test_units_added_and_removed_are_named_in_the_order_the_operator_reads_them(store_engine: Engine) -> None:
    """The summary named the units added and removed sorted by their ids, a district's communes
    scattered among the others: the added are named in the units file's order, the removed by
    where they stood (each district's together, in the tree's order)."""
    from tests.conftest import SMALL_UNITS

    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    x_d = next(line + "\n" for line in SMALL_UNITS.splitlines() if "id: x-d," in line)
    x_f = next(line + "\n" for line in SMALL_UNITS.splitlines() if "id: x-f," in line)
    grown = SMALL_UNITS.replace(x_d, x_d + x_d.replace("x-d", "x-z").replace("xã D", "xã Z")).replace(
        x_f, x_f + x_f.replace("x-f", "x-a").replace("xã F", "xã A")
    )
    lines = told(store_engine, chain(units_yaml=grown), "2020-11-13 08:00")
    assert "  added (2): Đảng ủy xã Z, Đảng ủy xã A" in lines, lines  # (by id: A, Z)
    deploy(store_engine, chain(units_yaml=grown), "v2", at("2020-11-13 08:00"))
    lines = told(store_engine, chain(), "2020-11-14 08:00")
    assert "  removed (2): Đảng ủy xã Z, Đảng ủy xã A" in lines, lines  # Huyện ủy B's, then E's


def test_a_task_or_unit_put_back_is_said_so_and_what_it_opens_is_counted(store_engine: Engine) -> None:
    """A task taken out of the file and put back, its prerequisite done meanwhile: the summary
    said "«Hội nghị huyện» added" and "Notices this change sends: none", and the next tick told
    every district it may start. It is said to be put back with its progress, and the units the
    next tick tells are counted; a unit put back is said so too."""
    from tests.conftest import SMALL_UNITS

    gone = CHAIN.split("  - id: hn-huyen")[0] + "  - id: hn-co-so" + CHAIN.split("  - id: hn-co-so")[1]
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    deploy(store_engine, compile_text(gone.replace("GRASSROOTS", "15/12/2020")), "v2", at("2020-11-11"))
    signal(store_engine, "tu-a", "hn-tinh", "2020-11-12 08:00")
    tick(store_engine, CID, at("2020-11-12 09:00"))  # the province's done: nothing of the districts opens
    districts = [unit for (task, unit) in states(store_engine) if task == "hn-huyen"]
    assert districts and not events(store_engine, "task.opened", districts[0])
    lines = told(store_engine, chain(), "2020-11-13 08:00")
    count = len(districts)
    assert (
        f"  «Hội nghị huyện» (hn-huyen) put back: its progress comes back, {count} units, 0 finished" in lines
    )
    assert f"Instances: 0 added, {count} put back (as they stood), 0 archived (their history kept)" in lines
    assert f"  then, at the next tick, {count} units are told of the work this change opens" in lines, lines
    deploy(store_engine, chain(), "v3", at("2020-11-13 08:00"))
    tick(store_engine, CID, at("2020-11-13 09:00"))
    assert sorted(
        e["unit"] for e in events(store_engine, "task.opened") if e["task"] == "hn-huyen"
    ) == sorted(districts)
    x_d = next(line + "\n" for line in SMALL_UNITS.splitlines() if "id: x-d," in line)
    deploy(store_engine, chain(units_yaml=SMALL_UNITS.replace(x_d, "")), "v4", at("2020-11-14 08:00"))
    lines = told(store_engine, chain(), "2020-11-15 08:00")
    assert "  put back, their progress with them (1): Đảng ủy xã D" in lines, lines
    assert not any(line.startswith("  added") for line in lines), lines


def test_an_id_corrected_back_is_said_to_bring_its_progress_back(store_engine: Engine) -> None:
    """`hn-huyen` renamed `hn-cap-huyen` (told: a new task that starts over), then the operator
    put the old id back: the summary said again that `hn-huyen` was a new task starting over,
    when its progress comes back with it."""
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    signal(store_engine, "tu-a", "hn-tinh", "2020-11-12 08:00")
    signal(store_engine, "hu-b", "hn-huyen", "2020-11-13 08:00")
    tick(store_engine, CID, at("2020-11-13 09:00"))
    renamed = compile_text(CHAIN.replace("id: hn-huyen", "id: hn-cap-huyen").replace("DISTRICT", "23/11/2020")
                           .replace("GRASSROOTS", "15/12/2020"))  # fmt: skip
    assert any(
        "its id changed from hn-huyen to hn-cap-huyen" in line
        for line in told(store_engine, renamed, "2020-11-14")
    )
    deploy(store_engine, renamed, "v2", at("2020-11-14"))
    lines = told(store_engine, chain(), "2020-11-15")
    assert not any("its id changed" in line for line in lines), lines
    assert any(line.startswith("  «Hội nghị huyện» (hn-cap-huyen) removed from the file: ") for line in lines)
    assert any(
        line.startswith("  «Hội nghị huyện» (hn-huyen) put back: its progress comes back, ")
        and line.endswith(", 1 finished")
        for line in lines
    ), lines


def test_work_put_back_while_open_goes_on_from_where_it_stood(store_engine: Engine) -> None:
    """A commune taken out of the units file while its conference was open and put back after
    the deadline was never heard of again: archiving had cleared its next action, and nothing
    set it when it came back, so it was neither turned overdue nor escalated (its neighbour
    was). A task taken out and put back stalled the same. Work put back resumes from now, as
    after downtime: overdue since its deadline, the stages due since then sent once."""
    from tests.conftest import SMALL_UNITS

    x_d = next(line + "\n" for line in SMALL_UNITS.splitlines() if "id: x-d," in line)
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    tick(store_engine, CID, at("2020-11-22 09:00"))  # the communes' conferences open
    assert states(store_engine)[("hn-co-so", "x-d")] == states(store_engine)[("hn-co-so", "x-c")] == "open"
    deploy(store_engine, chain(units_yaml=SMALL_UNITS.replace(x_d, "")), "v2", at("2020-11-23"))
    gone = CHAIN.split("  - id: hn-co-so")[0].replace("DISTRICT", "23/11/2020")
    deploy(store_engine, compile_text(gone), "v3", at("2020-12-01"))  # x-c's conference out too
    tick(store_engine, CID, at("2020-12-16 09:00"))
    deploy(store_engine, chain(), "v4", at("2020-12-17 08:00"))  # both back, the deadline (15/12) past
    tick(store_engine, CID, at("2020-12-17 09:00"))
    tick(store_engine, CID, at("2020-12-22 09:00"))
    for unit in ("x-c", "x-d"):
        told = [
            (e["kind"], e["at"], e["stage"])
            for e in events(store_engine, unit=unit)
            if e["task"] == "hn-co-so"
        ]
        assert told == [
            ("task.opened", iso("2020-11-10 00:00"), None),
            ("task.overdue", iso("2020-12-15 00:00"), None),
            ("escalation.sent", iso("2020-12-17 09:00"), 1),
            ("escalation.sent", iso("2020-12-22 09:00"), 2),
        ], (unit, told)
    assert states(store_engine)[("hn-co-so", "x-d")] == "overdue"


def test_a_moved_summary_date_is_in_the_summary_and_the_summary_follows_it(store_engine: Engine) -> None:
    """Hà Tĩnh's summary date moved to a day already past: the next tick sent the summary to the
    province while deploy said "Notices this change sends: none" and named no change at all.
    The summary date's change is told with what it does; a summary that went out and whose date
    moves later goes out again at the new date (the campaign was extended)."""
    from tests.conftest import HEADER

    def dated(summary: str) -> Any:
        text = CHAIN.replace("DISTRICT", "23/11/2020").replace("GRASSROOTS", "15/12/2020")
        return compile_text(text, header=HEADER.replace("20/01/2021", summary))

    deploy(store_engine, dated("20/01/2021"), "v1", at("2020-11-10"))
    tick(store_engine, CID, at("2020-12-20 09:00"))
    lines = told(store_engine, dated("18/12/2020"), "2020-12-20 10:00")
    assert "Summary date: 20/01/2021 → 18/12/2020: it has passed, the next tick sends the summary" in lines
    assert "  then, at the next tick, the summary to Tỉnh ủy A" in lines, lines
    assert told(store_engine, dated("25/01/2021"), "2020-12-20 10:00")[1:] == [
        "Summary date: 20/01/2021 → 25/01/2021",
        "Notices this change sends: none (nothing that changed touches a running instance's timing)",
    ]
    deploy(store_engine, dated("18/12/2020"), "v2", at("2020-12-20 10:00"))
    tick(store_engine, CID, at("2020-12-20 10:05"))
    assert len(events(store_engine, "summary.generated")) == 1

    # extended: the summary went out on 18/12; at the new date it goes again, with the figures then
    lines = told(store_engine, dated("20/02/2021"), "2020-12-21 10:00")
    assert (
        "Summary date: 18/12/2020 → 20/02/2021: the summary that went out on 20/12/2020 goes out again "
        "at the new date"
    ) in lines, lines
    deploy(store_engine, dated("20/02/2021"), "v3", at("2020-12-21 10:00"))
    tick(store_engine, CID, at("2021-01-10 09:00"))
    assert len(events(store_engine, "summary.generated")) == 1
    tick(store_engine, CID, at("2021-02-20 09:00"))
    summaries = events(store_engine, "summary.generated")
    assert [e["at"] for e in summaries] == [iso("2020-12-20 10:05"), iso("2021-02-20 09:00")]
    # moved later to a day already past: it goes out again at the next tick
    lines = told(store_engine, dated("21/02/2021"), "2021-02-22 10:00")
    assert (
        "Summary date: 20/02/2021 → 21/02/2021: the summary that went out on 20/02/2021 goes out again now"
    ) in lines, lines
    assert "  then, at the next tick, the summary to Tỉnh ủy A" in lines
    # moved earlier once it went out: nothing more is sent
    lines = told(store_engine, dated("10/02/2021"), "2021-02-21 10:00")
    assert (
        "Summary date: 20/02/2021 → 10/02/2021: the summary went out on 20/02/2021; nothing more is sent"
    ) in lines, lines


def test_the_campaigns_own_lines_changed_are_in_the_summary(store_engine: Engine) -> None:
    """A file whose issue date, issuer or title changed deployed with "Notices this change
    sends: none" and nothing else: the operator could not see that the change was taken."""
    from tests.conftest import HEADER

    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    header = HEADER.replace("issued_on: 10/11/2020", "issued_on: 12/11/2020").replace(
        "title: Chiến dịch thử", "title: Chiến dịch thử (sửa đổi)\n  issued_by: Ban Thường vụ Tỉnh ủy"
    )
    text = CHAIN.replace("DISTRICT", "23/11/2020").replace("GRASSROOTS", "15/12/2020")
    lines = told(store_engine, compile_text(text, header=header), "2020-11-13 08:00")
    assert lines[1:5] == [
        "Campaign:",
        "  title: Chiến dịch thử → Chiến dịch thử (sửa đổi)",
        "  issued on: 10/11/2020 → 12/11/2020",
        "  issued by: — → Ban Thường vụ Tỉnh ủy",
    ], lines
    assert "Campaign:" not in told(store_engine, chain(), "2020-11-13 08:00")


def test_a_moved_deadline_counts_every_unit_it_moves_for_done_ones_too(store_engine: Engine) -> None:
    """A redeploy moving one deadline printed "87 updated" under a summary of "55 units": the units
    that had finished had their deadline moved too, and the summary left them out. It names them
    (judged as before), so its count and the deploy's agree."""
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    signal(store_engine, "x-c", "hn-co-so", "2020-11-20 09:00")
    tick(store_engine, CID, at("2020-11-21 08:00"))
    later = chain(grassroots="22/12/2020")
    lines = told(store_engine, later, "2020-11-22 08:00")
    at_task = lines.index("  «Hội nghị cơ sở»: 14/12/2020 → 21/12/2020, 3 units:")
    assert lines[at_task + 1 : at_task + 3] == [
        "      2 still open, until the new deadline",
        "      1 already done on time: judged as before",
    ], lines
    assert deploy(store_engine, later, "v2", at("2020-11-22 08:00")).updated == 3
    assert states(store_engine)[("hn-co-so", "x-c")] == "done"
    signal(store_engine, "x-d", "hn-co-so", "2020-12-22 10:00")
    tick(store_engine, CID, at("2020-12-23 08:00"))  # x-d done late, x-f overdue
    lines = told(store_engine, chain(grassroots="18/12/2020"), "2020-12-23 09:00")
    at_task = lines.index("  «Hội nghị cơ sở»: 21/12/2020 → 17/12/2020, 3 units:")
    assert sorted(lines[at_task + 1 : at_task + 4]) == [
        "      1 already done on time: judged as before",
        "      1 done late: late under the new deadline too",
        "      1 still overdue (the new deadline has passed too; escalations start again from it at the next "
        "tick)",
    ], lines


def test_a_redeploy_after_an_extension_of_finished_units_moves_nothing_more(store_engine: Engine) -> None:
    """`cascade extend` of a whole level left the units already done at the file's deadline (no
    notice: nothing changes for them), and the next redeploy, of an unrelated change, moved
    them: its summary listed 35,331 units of a task nobody had touched. The extension gives
    them its deadline at once, told to nobody."""
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    signal(store_engine, "x-c", "hn-co-so", "2020-11-20 09:00")
    tick(store_engine, CID, at("2020-11-21 08:00"))
    changes = extend(store_engine, ("x-c", "x-d", "x-f"), "hn-co-so", "2020-12-21 00:00", "2020-11-22 08:00")
    assert len(changes.told) == 2  # x-d and x-f; x-c had finished
    result = deploy(store_engine, chain(), "v2", at("2020-11-23 08:00"))
    assert result.changes is not None and result.changes.kept == {} and result.changes.amended == []
    assert (result.added, result.updated, result.archived) == (0, 0, 0)
    extend(
        store_engine, ("x-c", "x-d", "x-f"), "hn-co-so", "2020-12-20 00:00", "2020-11-24 08:00"
    )  # corrected
    assert deploy(store_engine, chain(), "v3", at("2020-11-25 08:00")).updated == 0


def test_moving_the_issue_date_rewrites_no_work_already_open(store_engine: Engine) -> None:
    """Moving the issue date a day printed "Notices this change sends: none" and then "6 updated":
    the work open since the issue had its opening time rewritten, which nothing reads once it
    has opened. Work not yet open opens at the new date."""
    from tests.conftest import HEADER

    text = CHAIN.replace("DISTRICT", "23/11/2020").replace("GRASSROOTS", "15/12/2020")

    def issued(day: str) -> Any:
        return compile_text(text, header=HEADER.replace("issued_on: 10/11/2020", f"issued_on: {day}"))

    deploy(store_engine, chain(), "v1", at("2020-11-09 08:00"))  # deployed the day before the issue
    result = deploy(store_engine, issued("12/11/2020"), "v2", at("2020-11-09 09:00"))
    assert result.updated == 4  # the province's conference and the three communes': not open yet
    tick(store_engine, CID, at("2020-11-11 09:00"))
    assert states(store_engine)[("hn-tinh", "tu-a")] == "held"
    tick(store_engine, CID, at("2020-11-12 09:00"))
    assert states(store_engine)[("hn-tinh", "tu-a")] == "open"
    result = deploy(store_engine, issued("11/11/2020"), "v3", at("2020-11-13 08:00"))
    assert (result.added, result.updated, result.archived) == (0, 0, 0)
    assert result.changes is not None and result.changes.header == {"issued_at": (1605114000, 1605027600)}


def test_moving_the_issue_date_past_recorded_signals_names_them(store_engine: Engine) -> None:
    """The issue date moved from 10/11 to 15/11 in a running campaign whose province had recorded
    its conference on 11/11: deployed with "issued on: 10/11/2020 → 15/11/2020" and nothing more,
    though such a signal is refused from then on and the record now has the province studying
    the resolution before it was issued."""
    from cascade.engine.decisions import withdraw
    from tests.conftest import HEADER

    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    signal(store_engine, "tu-a", "hn-tinh", "2020-11-11 09:00")
    tick(store_engine, CID, at("2020-11-12 08:00"))
    signal(store_engine, "hu-b", "hn-huyen", "2020-11-13 09:00")  # waiting for a tick
    signal(store_engine, "hu-e", "hn-huyen", "2020-11-14 09:00")
    with store_engine.begin() as conn:
        withdraw(conn, CID, "hn-huyen", "hu-e", "nhầm huyện", "cli", at("2020-11-14 10:00"))
    signal(store_engine, "x-d", "hn-co-so", "2020-11-16 09:00")  # after the new date: fine
    text = CHAIN.replace("DISTRICT", "23/11/2020").replace("GRASSROOTS", "15/12/2020")
    later = compile_text(text, header=HEADER.replace("issued_on: 10/11/2020", "issued_on: 15/11/2020"))
    lines = told(store_engine, later, "2020-11-17 08:00")
    assert lines[1:4] == [
        "Campaign:",
        "  issued on: 10/11/2020 → 15/11/2020",
        "  2 signal(s) recorded are dated before the new issue date: Tỉnh ủy A «Hội nghị tỉnh» 11/11/2020 "
        "09:00, Huyện ủy B «Hội nghị huyện» 13/11/2020 09:00; they are kept as recorded: check the new "
        "date, and take a wrong signal back with `cascade withdraw`",
    ], lines
    deploy(store_engine, later, "v2", at("2020-11-17 08:00"))
    earlier = compile_text(text, header=HEADER.replace("issued_on: 10/11/2020", "issued_on: 12/11/2020"))
    assert told(store_engine, earlier, "2020-11-17 09:00")[1:3] == [  # moved back: nothing to check
        "Campaign:",
        "  issued on: 15/11/2020 → 12/11/2020",
    ]


def test_a_title_or_a_units_name_corrected_is_said_in_the_summary(store_engine: Engine) -> None:
    """A unit renamed in the units file (a district made a town) or a task's title corrected:
    the summary said only "Notices this change sends: none", so the operator could not tell
    whether the correction had been read at all."""
    from tests.conftest import SMALL_UNITS

    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    renamed = SMALL_UNITS.replace("name: Huyện ủy B", "name: Thị ủy B")
    retitled = CHAIN.replace("title: Hội nghị huyện", "title: Hội nghị cán bộ chủ chốt cấp huyện")
    plan = compile_text(
        retitled.replace("DISTRICT", "23/11/2020").replace("GRASSROOTS", "15/12/2020"), renamed
    )
    lines = told(store_engine, plan, "2020-11-13 08:00")
    assert "Names corrected (2):" in lines, lines
    assert "  unit: «Huyện ủy B» → «Thị ủy B»" in lines, lines
    assert "  task: «Hội nghị huyện» → «Hội nghị cán bộ chủ chốt cấp huyện»" in lines, lines
    assert lines[-1].startswith("Notices this change sends: none")  # (a name changes no timing)
    assert not any("Names corrected" in line for line in told(store_engine, chain(), "2020-11-13 08:00"))


def test_units_a_task_is_asked_of_or_no_longer_are_named(store_engine: Engine) -> None:
    """`exclude:` added to a task, or its targets widened: the summary said "Instances: 0 added,
    1 archived" and no more, not which units of which task."""
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    tags = "    tags: [district-committee]\n"
    excluded = CHAIN.replace(tags, tags + "    exclude: [hu-e]\n")
    lines = told(store_engine, compile_text(_dated(excluded)), "2020-11-13 08:00")
    assert "Who a task is asked of:" in lines, lines
    dropped = "  «Hội nghị huyện»: no longer asked of (1): Huyện ủy E; what they had done is kept (archived)"
    assert dropped in lines, lines
    widened = CHAIN.replace(tags, "    level: district\n")
    lines = told(store_engine, compile_text(_dated(widened)), "2020-11-13 08:00")
    assert "  «Hội nghị huyện»: now asked of (1): Ủy ban MTTQ tỉnh" in lines, lines
    assert not any("Who a task" in line for line in told(store_engine, chain(), "2020-11-13 08:00"))


def _dated(text: str) -> str:
    return text.replace("DISTRICT", "23/11/2020").replace("GRASSROOTS", "15/12/2020")


def test_an_exemption_made_by_mistake_is_lifted_and_the_unit_asked_again(store_engine: Engine) -> None:
    """`cascade exempt` could not be taken back: a unit exempted by mistake (a mistyped --level
    exempts a whole level) stayed exempt through every redeploy. A lift asks the unit again,
    tells it, logs it with its reason, and a signal the unit sent meanwhile counts."""
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    done = Signal("x-c", "hn-co-so", at("2020-11-21 08:00"), {})  # told in advance: the unit did it
    record(store_engine, CID, [done], "test", at("2020-11-20 12:00"))
    with store_engine.begin() as conn:
        exempt = Decision("exemption", "hn-co-so", ("x-c", "x-d"), "nhầm", "op")
        decide(conn, CID, exempt, at("2020-11-20 13:00"))
    tick(store_engine, CID, at("2020-11-22"))  # (the signal passed over: x-c is exempt)
    assert states(store_engine)[("hn-co-so", "x-c")] == "exempt"
    lift = Decision("lifted", "hn-co-so", ("x-c", "x-d"), "Miễn nhầm", "Ban Tuyên giáo")
    with store_engine.begin() as conn:
        changes = decide(conn, CID, lift, at("2020-11-23 09:00"))
    assert [a.outcome.effect for a in changes.amended] == ["unexempted", "unexempted"]
    lifted = events(store_engine, "task.amended", "x-d")
    assert [(e["lifted"], e["state"], e["reason"], e["by"]) for e in lifted] == [
        (True, "held", "Miễn nhầm", "Ban Tuyên giáo")
    ]
    o = store.outbox.c
    with store_engine.connect() as conn:  # the unit is told, in words
        [told] = conn.execute(
            select(o.payload).where(o.kind == "task.amended", o.recipient_unit == "x-d")
        ).scalars()
    from notifiers.render import Renderer

    text = (
        Renderer(TZ)
        .render([told], "Đảng ủy xã D", {"x-d": "Đảng ủy xã D"}, "Chiến dịch", told["deadline"])
        .text
    )
    assert (
        "Đảng ủy xã D không còn được miễn «Hội nghị cơ sở» (Ban Tuyên giáo quyết định); lý do: Miễn nhầm. "
        "Việc được giao lại; hạn chót: hết ngày 14/12/2020"
    ) in text, text
    deploy(store_engine, chain(), "v2", at("2020-11-24"))  # a redeploy keeps the lift
    tick(store_engine, CID, at("2020-12-16 09:00"))
    assert states(store_engine)[("hn-co-so", "x-c")] == "done"  # its signal counted
    assert states(store_engine)[("hn-co-so", "x-d")] == "overdue"
    assert events(store_engine, "escalation.sent", "x-d")  # asked again, and chased


def test_only_an_exemption_a_decision_made_is_lifted(store_engine: Engine) -> None:
    from cascade.engine.decisions import DecisionRefused

    in_file = CHAIN.replace("DISTRICT", "23/11/2020").replace(
        "due: {before: GRASSROOTS}", "due: {before: 15/12/2020}\n    exempt: [x-c]"
    )
    deploy(store_engine, compile_text(in_file), "v1", at("2020-11-10"))
    with pytest.raises(DecisionRefused) as refused, store_engine.begin() as conn:
        decide(conn, CID, Decision("lifted", "hn-co-so", ("x-c", "x-d"), "r", "op"), at("2020-11-20"))
    assert refused.value.problems == [
        "Đảng ủy xã C are exempt from «Hội nghị cơ sở» in the campaign file: take them out of the task's "
        "`exempt:` there and deploy it again",
        "Đảng ủy xã D are not exempt from «Hội nghị cơ sở»",
    ]
    with pytest.raises(DecisionRefused) as refused, store_engine.begin() as conn:  # a whole subtree
        decide(
            conn,
            CID,
            Decision("lifted", "hn-co-so", ("x-c", "x-d"), "r", "op", named=False),
            at("2020-11-20"),
        )
    assert refused.value.problems == [
        "none of the units chosen is exempt from «Hội nghị cơ sở» by a decision"
    ]


def deadlines(engine: Engine, task: str = "hn-co-so") -> dict[str, int]:
    i = store.instances.c
    with engine.connect() as conn:
        return dict(conn.execute(select(i.unit_id, i.deadline).where(i.task_id == task)).all())  # type: ignore[arg-type]


def test_an_extension_made_by_mistake_is_corrected_to_an_earlier_day(store_engine: Engine) -> None:
    """A mistyped `--to` (31/01/2021 for 31/12/2020) could not be undone: a later correction was
    refused as "not later than the current one", so the unit kept a month it was never given.
    A correction moves the deadline earlier, down to the campaign file's and no further; the
    unit is told, and a redeploy keeps the corrected day."""
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1", at("2020-11-10"))
    extend(store_engine, ("x-c", "x-d"), "hn-co-so", "2021-02-01", "2020-11-20 09:00", reason="Bão lũ")
    changes = extend(
        store_engine, ("x-c", "x-d"), "hn-co-so", "2021-01-01", "2020-11-20 10:00", reason="Sửa ngày gõ nhầm"
    )
    assert [(a.unit, a.outcome.amended) for a in changes.amended] == [("x-c", True), ("x-d", True)]
    assert deadlines(store_engine)["x-c"] == int(at("2021-01-01").timestamp())
    corrected = events(store_engine, "task.amended", "x-c")[-1]
    assert (corrected["old_deadline"], corrected["new_deadline"], corrected["reason"]) == (
        iso("2021-02-01"),
        iso("2021-01-01"),
        "Sửa ngày gõ nhầm",
    )
    with pytest.raises(DecisionRefused) as refused:  # not before the file's deadline: that is a lift
        extend(store_engine, ("x-c",), "hn-co-so", "2020-12-10", "2020-11-20 11:00")
    assert refused.value.problems == [
        "the new deadline is not later than the campaign file's for Đảng ủy xã C: "
        "`cascade extend --lift` takes their extension back"
    ]
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1 again", at("2020-11-21"))
    assert deadlines(store_engine)["x-d"] == int(at("2021-01-01").timestamp())  # the corrected day holds


def test_a_units_request_cannot_shorten_its_extension(store_engine: Engine) -> None:
    """A correction is the operator's: a parent approving a unit's request for a day earlier than
    the unit has already been given would take time from it."""
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1", at("2020-11-10"))
    extend(store_engine, ("x-c",), "hn-co-so", "2021-01-01", "2020-11-20 09:00")
    with pytest.raises(DecisionRefused, match="not later than the current one"):
        extend(store_engine, ("x-c",), "hn-co-so", "2020-12-25", "2020-11-20 10:00", request_id=1)


def lift(engine: Engine, units: tuple[str, ...], when: str, named: bool = True) -> Any:
    decision = Decision("unextended", "hn-co-so", units, "Gia hạn nhầm", "Ban Tuyên giáo", named=named)
    with engine.begin() as conn:
        return decide(conn, CID, decision, at(when))


def test_an_extension_is_taken_back_to_the_files_deadline_as_it_reads_now(store_engine: Engine) -> None:
    """`cascade extend --lift`: the unit's deadline is the campaign file's again (as the file reads
    at the last deploy, not when it was extended), a redeploy no longer brings the extension
    back, and a unit past that deadline is overdue and chased."""
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1", at("2020-11-10"))
    extend(store_engine, ("x-c", "x-d"), "hn-co-so", "2021-01-01", "2020-11-20 09:00")
    deploy(store_engine, chain(grassroots="20/12/2020"), "v2", at("2020-11-21"))  # the file moves too
    assert deadlines(store_engine)["x-c"] == int(at("2021-01-01").timestamp())
    changes = lift(store_engine, ("x-c",), "2020-11-22 09:00")
    assert [(a.unit, a.outcome.amended) for a in changes.amended] == [("x-c", True)]
    assert deadlines(store_engine)["x-c"] == int(at("2020-12-20").timestamp())
    [*_, taken_back] = events(store_engine, "task.amended", "x-c")
    assert (taken_back["old_deadline"], taken_back["new_deadline"], taken_back["by"]) == (
        iso("2021-01-01"),
        iso("2020-12-20"),
        "Ban Tuyên giáo",
    )
    assert taken_back["unextended"] is True  # the log says what it was, as an exemption's lift does
    o = store.outbox.c
    with store_engine.connect() as conn:  # the unit is told, in words
        *_, told = conn.execute(
            select(o.payload).where(o.kind == "task.amended", o.recipient_unit == "x-c").order_by(o.id)
        ).scalars()
    from cascade.engine.words import event_text
    from notifiers.render import Renderer

    names = {"x-c": "Đảng ủy xã C"}
    text = Renderer(TZ).render([told], "Đảng ủy xã C", names, "Chiến dịch", told["deadline"]).text
    assert (
        "Thôi gia hạn «Hội nghị cơ sở» cho Đảng ủy xã C (Ban Tuyên giáo quyết định); lý do: Gia hạn nhầm. "
        "Hạn chót trở lại theo kế hoạch: hết ngày 19/12/2020"
    ) in text, text
    assert event_text("task.amended", unextended=True) == "Thôi gia hạn"
    deploy(store_engine, chain(grassroots="20/12/2020"), "v2 again", at("2020-11-23"))
    assert deadlines(store_engine)["x-c"] == int(at("2020-12-20").timestamp())  # the lift holds
    assert deadlines(store_engine)["x-d"] == int(at("2021-01-01").timestamp())  # the other's stands
    tick(store_engine, CID, at("2020-12-21 09:00"))
    assert states(store_engine)[("hn-co-so", "x-c")] == "overdue"
    assert events(store_engine, "escalation.sent", "x-c")
    assert states(store_engine)[("hn-co-so", "x-d")] == "open"


def test_only_an_extension_that_stands_is_taken_back(store_engine: Engine) -> None:
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    extend(store_engine, ("x-c",), "hn-co-so", "2021-01-01", "2020-11-20 09:00")
    with pytest.raises(DecisionRefused) as refused:
        lift(store_engine, ("x-c", "x-d"), "2020-11-20 10:00")
    assert refused.value.problems == ["Đảng ủy xã D have no extension of «Hội nghị cơ sở» to take back"]
    lift(store_engine, ("x-c",), "2020-11-20 11:00")
    with pytest.raises(DecisionRefused) as refused:  # taken back already; a whole level
        lift(store_engine, ("x-c", "x-d"), "2020-11-20 12:00", named=False)
    assert refused.value.problems == ["none of the units chosen has an extension of «Hội nghị cơ sở»"]


def test_an_extension_from_before_the_files_deadline_was_kept_is_taken_back_after_a_deploy(
    store_engine: Engine,
) -> None:
    """A store upgraded from a version that kept no file deadline beside an extension: the lift
    says how to let it be known (a deploy of the file), and works after it."""
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1", at("2020-11-10"))
    extend(store_engine, ("x-c",), "hn-co-so", "2021-01-01", "2020-11-20 09:00")
    i = store.instances.c
    with store_engine.begin() as conn:  # as revision 0012 leaves an extension made before it
        conn.execute(store.instances.update().where(i.unit_id == "x-c").values(file_deadline=None))
    with pytest.raises(DecisionRefused) as refused:
        lift(store_engine, ("x-c",), "2020-11-20 10:00")
    assert refused.value.problems == [
        "the campaign file's deadline for Đảng ủy xã C was not kept when they were extended (an earlier "
        "version of Cascade): deploy the campaign file again, then take the extension back"
    ]
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1 again", at("2020-11-20 11:00"))
    lift(store_engine, ("x-c",), "2020-11-20 12:00")
    assert deadlines(store_engine)["x-c"] == int(at("2020-12-15").timestamp())


def test_taking_an_extension_back_never_makes_finished_work_late(store_engine: Engine) -> None:
    """Spec §7: a deadline moved earlier never makes a finished instance late; so too the
    extension a unit finished under, taken back."""
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1", at("2020-11-10"))
    extend(store_engine, ("x-c",), "hn-co-so", "2021-01-01", "2020-11-20 09:00")
    signal(store_engine, "x-c", "hn-co-so", "2020-12-20 08:00")
    tick(store_engine, CID, at("2020-12-20 09:00"))
    assert states(store_engine)[("hn-co-so", "x-c")] == "done"
    changes = lift(store_engine, ("x-c",), "2020-12-21 09:00")
    assert changes.amended == []  # nothing to tell: the decision is recorded, the work stays on time
    assert states(store_engine)[("hn-co-so", "x-c")] == "done"
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1 again", at("2020-12-22"))  # nor a redeploy
    assert states(store_engine)[("hn-co-so", "x-c")] == "done"


def test_the_decision_recorded_last_stands_though_the_clock_stepped_back(store_engine: Engine) -> None:
    """Seen with the drill clock (and a machine whose clock is corrected backwards): a lift
    recorded after an exemption, at an instant the clock read as earlier, was taken as the older
    of the two, and the next redeploy exempted the unit again. Decisions stand in the order they
    were recorded."""
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    with store_engine.begin() as conn:
        decide(conn, CID, Decision("exemption", "hn-co-so", ("x-c",), "nhầm", "op"), at("2020-11-20 10:00"))
    with store_engine.begin() as conn:  # the clock set back an hour
        decide(conn, CID, Decision("lifted", "hn-co-so", ("x-c",), "Miễn nhầm", "op"), at("2020-11-20 09:00"))
    deploy(store_engine, chain(), "v1 again", at("2020-11-21"))
    assert states(store_engine)[("hn-co-so", "x-c")] != "exempt"
    extend(store_engine, ("x-c",), "hn-co-so", "2021-01-10", "2020-11-21 10:00")
    lift(store_engine, ("x-c",), "2020-11-21 09:00")
    extend(store_engine, ("x-c",), "hn-co-so", "2021-01-05", "2020-11-21 08:00")
    deploy(store_engine, chain(), "v1 again", at("2020-11-22"))
    assert deadlines(store_engine)["x-c"] == int(at("2021-01-05").timestamp())


def test_an_approved_request_is_listed_as_the_parents_decision_at_the_units_request(
    store_engine: Engine,
) -> None:
    from cascade.engine.requests import answer_request, request_extension
    from cascade.views.decisions import Where, standing

    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    with store_engine.begin() as conn:
        asked = request_extension(
            conn, CID, "hn-co-so", "x-c", int(at("2020-12-30").timestamp()), "Lũ", at("2020-11-20 08:00")
        )
    with store_engine.begin() as conn:
        answer_request(conn, CID, asked, True, at("2020-11-20 09:00"))
    extend(store_engine, ("x-d",), "hn-co-so", "2020-12-25", "2020-11-20 10:00")
    lift(store_engine, ("x-d",), "2020-11-20 11:00")
    with store_engine.connect() as conn:
        [found] = standing(conn, CID, Where(kind="extension"))
    assert (found.name, found.title, found.by, found.requested, found.reason) == (
        "Đảng ủy xã C",
        "Hội nghị cơ sở",
        "Huyện ủy B",  # x-c's parent
        True,
        "Lũ",
    )
    assert (found.deadline, found.file_deadline) == (
        int(at("2020-12-30").timestamp()),
        int(at("2020-12-15").timestamp()),
    )


def test_a_whole_level_extended_leaves_a_later_deadline_as_it_is(store_engine: Engine) -> None:
    """A province-wide extension to 31/12 (`--level`) after one commune was given 10/01 by its own
    decision was refused whole ("not later than the current one"), and the operator had to list
    every other unit by hand. Chosen by --under or --level, a unit whose deadline is already that
    day or later keeps it (nothing is recorded for it: a redeploy keeps its later extension);
    named one by one, it is still refused, or, earlier than an extension, a correction."""
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1", at("2020-11-10"))
    extend(store_engine, ("x-c",), "hn-co-so", "2021-01-11", "2020-11-20 09:00", reason="Bão")
    changes = extend(
        store_engine, ("x-c", "x-d", "x-f"), "hn-co-so", "2021-01-01", "2020-11-21 09:00", named=False
    )
    assert changes.passed_over == ["Đảng ủy xã C"]
    assert sorted(a.unit for a in changes.amended) == ["x-d", "x-f"]
    deploy(store_engine, chain(grassroots="15/12/2020"), "v1 again", at("2020-11-22"))
    assert deadlines(store_engine) == {
        "x-c": int(at("2021-01-11").timestamp()),
        "x-d": int(at("2021-01-01").timestamp()),
        "x-f": int(at("2021-01-01").timestamp()),
    }
    with pytest.raises(DecisionRefused) as refused:  # every one of them already has it, or later
        extend(store_engine, ("x-c", "x-d"), "hn-co-so", "2021-01-01", "2020-11-23 09:00", named=False)
    assert refused.value.problems == [
        "every unit chosen has «Hội nghị cơ sở» due that day or later already: nothing to extend"
    ]
