"""Amending a running campaign equals deploying the last version fresh (spec §7), over random
campaigns, signals and sequences of amendments (hypothesis), with nothing sent twice.

The amended run deploys v1, then at increasing instants ticks and either redeploys a random
version (deadlines moved both ways, an exemption list, a unit moved to another parent, a
title changed) or records one unit's extension or exemption; then it ticks at the end. The
fresh run records the same decisions and signals, deploys the last version and ticks once at
the same end instant. Their instance states must be equal, except where §7 keeps history:
a unit that finished keeps its completion (a later exemption or an earlier deadline does not
undo it, and a completion re-judged on time stays on time), and an instance that opened under
its old parent stays open after its unit moves.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

import pendulum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select

from cascade.engine import store
from cascade.engine.decisions import Decision, DecisionRefused, decide
from cascade.engine.deploy import deploy
from cascade.engine.signals import Signal, SignalRefused, record
from cascade.engine.store import open_store
from cascade.engine.tick import tick
from cascade.views.eventlog import event_lines
from tests.conftest import MOVED_UNITS, SMALL_UNITS, compile_text

TZ = "Asia/Ho_Chi_Minh"
CID = "test-campaign"
ISSUED = pendulum.datetime(2020, 11, 10, tz=TZ)

TEMPLATE = """\
defaults:
  remind: [3d, 1d]
  escalate:
    - {{after: 1d, to: [self, parent]}}
    - {{after: 3d, to: [root], repeat: 2d}}
tasks:
  - {{id: a, title: A{title}, level: province, due: {{before: {a}}}}}
  - {{id: b, title: B, tags: [district-committee], opens_after: {{task: a, at: parent}},
     due: {{before: {b}}}}}
  - {{id: c, title: C, level: grassroots, opens_after: {{task: b, at: parent}}, due: {{before: {c}}}}}
  - {{id: e, title: E, level: grassroots, due: {{before: {e}}}{exempt}}}
"""
GRASSROOTS = ("x-c", "x-d", "x-f")
INSTANCES = [("a", "tu-a"), ("b", "hu-b"), ("b", "hu-e"), *((t, u) for t in "ce" for u in GRASSROOTS)]


def day(n: int) -> str:
    return ISSUED.add(days=n).format("DD/MM/YYYY")


versions = st.fixed_dictionaries(
    {
        "a": st.integers(3, 8),
        "b": st.integers(6, 14),
        "c": st.integers(10, 22),
        "e": st.integers(4, 22),
        "exempt": st.lists(st.sampled_from(GRASSROOTS), unique=True, max_size=2),
        "moved": st.booleans(),
        "title": st.sampled_from(["", " (sửa)"]),
    }
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("deploy"), versions),
        st.tuples(
            st.just("extend"),
            st.tuples(st.sampled_from(["c", "e"]), st.sampled_from(GRASSROOTS), st.integers(8, 30)),
        ),
        st.tuples(st.just("exempt"), st.tuples(st.sampled_from(["c", "e"]), st.sampled_from(GRASSROOTS))),
    ),
    min_size=1,
    max_size=4,
)
signal_sets = st.lists(
    st.tuples(st.sampled_from(INSTANCES), st.integers(0, 24 * 24)),
    max_size=len(INSTANCES),
    unique_by=lambda s: s[0],
)


def compiled(version: dict[str, Any]) -> Any:
    exempt = f", exempt: [{', '.join(version['exempt'])}]" if version["exempt"] else ""
    body = TEMPLATE.format(
        a=day(version["a"]), b=day(version["b"]), c=day(version["c"]), e=day(version["e"]),
        exempt=exempt, title=version["title"],
    )  # fmt: skip
    return compile_text(body, MOVED_UNITS if version["moved"] else SMALL_UNITS)


def signalled(engine: Engine, signals: list[tuple[tuple[str, str], int]]) -> None:
    """Each signal as its unit would send it; one for an instance exempt from the start is refused."""
    for (task, unit), h in signals:
        with contextlib.suppress(SignalRefused):
            record(engine, CID, [Signal(unit, task, ISSUED.add(hours=h))], "test", ISSUED, allow_future=True)


def states(engine: Engine) -> dict[tuple[str, str], tuple[Any, ...]]:
    i = store.instances.c
    with engine.connect() as conn:
        rows = conn.execute(select(i.task_id, i.unit_id, i.state, i.deadline, i.opened_at).where(~i.archived))
        return {(r.task_id, r.unit_id): (r.state, r.deadline, r.opened_at) for r in rows}


FIRST = {"a": 5, "b": 10, "c": 16, "e": 12, "exempt": [], "moved": False, "title": ""}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signal_sets, steps, st.lists(st.integers(1, 24 * 24), min_size=4, max_size=4, unique=True))
def test_amended_equals_fresh_and_nothing_is_sent_twice(
    tmp_path_factory: Any, signals: Any, changes: Any, hours: list[int]
) -> None:
    folder = tmp_path_factory.mktemp("amend")
    instants = [ISSUED.add(hours=h) for h in sorted(hours)]
    end = instants[-1].add(days=2)
    amended = open_store(f"sqlite:///{folder / 'amended.db'}", durable=False)
    deploy(amended, compiled(FIRST), "v1", ISSUED)
    signalled(amended, signals)
    last, decisions = FIRST, []
    for (kind, what), at in zip(changes, instants, strict=False):
        tick(amended, CID, at)
        if kind == "deploy":
            deploy(amended, compiled(what), f"v{len(decisions)}", at)
            last = what
            continue
        task, unit = what[0], what[1]
        if kind == "extend":
            decision = Decision(
                "extension", task, (unit,), "gia hạn", "op", int(ISSUED.add(days=what[2]).timestamp())
            )
        else:
            decision = Decision("exemption", task, (unit,), "miễn", "op")
        try:
            with amended.begin() as conn:
                decide(conn, CID, decision, at)
        except DecisionRefused:
            continue  # (a date already past, a deadline not later): refused whole, nothing recorded
        decisions.append((decision, int(at.timestamp())))
    tick(amended, CID, end)

    fresh = open_store(f"sqlite:///{folder / 'fresh.db'}", durable=False)
    with fresh.begin() as conn:
        for d, at_s in decisions:
            conn.execute(
                insert(store.decisions).values(
                    campaign_id=CID, task_id=d.task, unit_id=d.units[0], kind=d.kind, deadline=d.deadline,
                    reason=d.reason, by=d.by, at=at_s,
                )
            )  # fmt: skip
    deploy(fresh, compiled(last), "vN", ISSUED)
    signalled(fresh, signals)
    tick(fresh, CID, end)

    lines = event_lines(amended, CID, TZ)
    completed = {(e["task"], e["unit"]) for e in lines if e["kind"] == "task.completed"}
    on_time = {(e["task"], e["unit"]) for e in lines if e["kind"] == "task.completed" and not e["late"]}
    on_time |= {(e["task"], e["unit"]) for e in lines if e["kind"] == "task.amended" and e["state"] == "done"}
    got, want = states(amended), states(fresh)
    assert got.keys() == want.keys()
    for key, (state, deadline, opened) in got.items():
        f_state, f_deadline, f_opened = want[key]
        if (state, deadline) == (f_state, f_deadline) or state == f_state == "exempt":
            continue
        kept = (
            (state == "done" and f_state == "done_late" and key in on_time)  # finished on time stays so
            or (
                state in ("done", "done_late") and f_state == "exempt" and key in completed
            )  # done before exempt
            or (
                state in ("done", "done_late") and key in completed and deadline != f_deadline
            )  # finished: kept
            or (
                opened is not None and f_opened is None and key[1] == "x-d" and deadline == f_deadline
            )  # moved
        )
        assert kept, f"{key}: amended {state} {deadline}, fresh {f_state} {f_deadline}"

    reminders = Counter(
        (e["task"], e["unit"], e["deadline"], e["due"]) for e in lines if e["kind"] == "reminder.sent"
    )
    assert not [k for k, n in reminders.items() if n > 1], reminders
    stages = Counter(
        (e["task"], e["unit"], e["deadline"], e["stage"])
        for e in lines
        if e["kind"] == "escalation.sent" and not e["repeat"]
    )
    assert not [k for k, n in stages.items() if n > 1], stages
    amended.dispose()
    fresh.dispose()
