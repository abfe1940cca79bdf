"""`cascade.engine.lifecycle.rederive`, the pure half of an amendment: no database, milliseconds."""

from __future__ import annotations

from dataclasses import replace

import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from cascade.engine.lifecycle import DONE, Instance, Rules, next_action, rederive
from cascade.plan.model import Stage
from cascade.timing.durations import parse_duration
from cascade.timing.quiet import QuietHours
from cascade.timing.workdays import Calendar

TZ = "Asia/Ho_Chi_Minh"
DAY = 86_400
T0 = int(pendulum.datetime(2020, 11, 10, tz=TZ).timestamp())
CALENDAR = Calendar("VN")


class Timing:
    remind = (parse_duration("7d"), parse_duration("1d"))
    quiet = QuietHours(0, 0)
    escalate = (
        Stage(1, parse_duration("1d"), ("self", "parent"), None),
        Stage(2, parse_duration("3d"), ("root",), parse_duration("2d")),
    )


days = st.integers(0, 40).map(lambda d: T0 + d * DAY)
instances = st.builds(
    lambda state, opened, deadline, done, stage: Instance(
        state,
        "prerequisite",
        None,
        opened if state != "held" else None,
        deadline,
        done if state in DONE else None,
        stage if state == "overdue" else 0,
    ),
    st.sampled_from(["held", "open", "overdue", "done", "done_late", "exempt"]),
    days,
    days,
    days,
    st.integers(0, 2),
)
rules = st.builds(
    lambda deadline, exempt: Rules(deadline, exempt, Timing(), "prerequisite", None),
    days,
    st.booleans(),
)


@settings(max_examples=2000, deadline=None)
@given(instances, rules, days, st.dictionaries(days, st.integers(1, 2), max_size=2))
def test_rederive_keeps_history_and_follows_the_new_deadline(
    current: Instance, new: Rules, now: int, sent: dict[int, int]
) -> None:
    out = rederive(current, new, now, TZ, CALENDAR, sent)
    got = out.instance
    assert out.old_deadline == current.deadline
    if current.state in DONE:  # finished work stays finished; only ever re-judged on time
        assert got.state in DONE and got.done_at == current.done_at
        assert not (current.state == "done" and got.state == "done_late")
        if got.state != current.state:
            assert out.effect == "rejudged" and got.done_at is not None and got.done_at < (got.deadline or 0)
        return
    if new.exempt:
        assert got.state == "exempt" and got.next_action_at is None
        assert out.effect == ("unchanged" if current.state == "exempt" else "exempted")
        return
    if current.state == "exempt":
        assert (got.state, got.opened_at, out.effect) == ("held", None, "unexempted")
        assert got.stage == sent.get(new.deadline, 0)  # (new.deadline is never None here)
        return
    if new.deadline == current.deadline:  # nothing about its timing changed: nothing moves
        assert out.effect == "unchanged"
        assert replace(got, next_action_at=None) == replace(current, next_action_at=None)
        return
    expected = "open" if current.opened_at is not None else "held"
    if new.deadline <= now:
        expected = "overdue"
    assert got.state == expected and got.deadline == new.deadline and out.amended
    # the summary's words for it: an open one was never closed, an overdue one never on time
    was = "still" if current.state == expected else "turned"
    words = {
        ("open", "still"): "still_open",
        ("open", "turned"): "reopened",
        ("overdue", "still"): "still_overdue",
        ("overdue", "turned"): "overdue",
        ("held", "still"): "held",
        ("held", "turned"): "held",
    }
    assert out.effect == words[expected, was], (current.state, expected, out.effect)
    assert got.opened_at == current.opened_at  # when it opened is history
    if got.next_reminder_at is not None:  # reminders resume strictly after now, before the deadline
        assert now < got.next_reminder_at < new.deadline and got.state == "open"
    if got.state == "overdue":
        assert got.stage == min(sent.get(new.deadline, 0), len(Timing.escalate))
        assert got.next_escalation_at is not None  # the ladder goes on from what was sent
    assert got.next_action_at == next_action(got)


def test_a_pending_signal_keeps_an_instance_from_turning_overdue_or_exempt() -> None:
    current = Instance("open", "issued", T0, T0, T0 + 10 * DAY, None)
    earlier = Rules(T0 + 5 * DAY, False, Timing(), "issued", T0)
    now, signalled = T0 + 6 * DAY, T0 + 4 * DAY
    assert rederive(current, earlier, now, TZ, CALENDAR).instance.state == "overdue"
    assert rederive(current, earlier, now, TZ, CALENDAR, signalled=signalled).instance.state == "open"
    exempt = replace(earlier, exempt=True)
    assert rederive(current, exempt, now, TZ, CALENDAR, signalled=signalled).effect == "unchanged"
