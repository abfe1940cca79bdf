"""Properties of the tick over random signal orders (hypothesis), and crash safety.

- catching up: one tick at t2 after downtime leaves the same instance states as ticking
  every hour up to t2;
- no reminder or escalation for an instance after its completion; stages in order;
- a tick is idempotent;
- a failure at any statement inside a tick leaves the store exactly as before the tick;
- a simulation killed with SIGKILL and restarted ends with the same event log.
"""

from __future__ import annotations

import os
import signal as signals_module
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, select

from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.signals import Signal, record
from cascade.engine.simulate import Simulation, run_until
from cascade.engine.store import open_store
from cascade.engine.tick import tick
from cascade.views.eventlog import event_lines
from tests.conftest import compile_text

TZ = "Asia/Ho_Chi_Minh"
ISSUED = pendulum.datetime(2020, 11, 10, tz=TZ)

# A short campaign (three weeks), so that hourly ticking stays affordable in a property test.
SHORT = """\
defaults:
  remind: [3d, 1d, 12h]
  escalate:
    - {after: 1d, to: [self, parent]}
    - {after: 2d, to: [ancestor:2]}
    - {after: 3d, to: [root], repeat: 2d}
tasks:
  - {id: a, title: A, level: province, due: {before: 14/11/2020}}
  - {id: b, title: B, tags: [district-committee], opens_after: {task: a, at: parent}, min_window: 3d,
     due: {before: 20/11/2020}}
  - {id: c, title: C, level: grassroots, opens_after: {task: b, at: parent}, due: {before: 25/11/2020}}
  - {id: d, title: D, level: grassroots, due: {after: c, days: 1}}
"""
INSTANCES = [
    ("a", "tu-a"),
    ("b", "hu-b"),
    ("b", "hu-e"),
    ("c", "x-c"),
    ("c", "x-d"),
    ("c", "x-f"),
    ("d", "x-c"),
    ("d", "x-d"),
    ("d", "x-f"),
]

signal_sets = st.lists(
    st.tuples(st.sampled_from(INSTANCES), st.integers(0, 20 * 24)),  # (instance, hours after issue)
    max_size=len(INSTANCES),
    unique_by=lambda s: s[0],
)


def fresh(path: Path, signals: list[tuple[tuple[str, str], int]]) -> Engine:
    engine = open_store(f"sqlite:///{path}")
    deploy(engine, compile_text(SHORT), "short", ISSUED)
    batch = [Signal(unit, task, ISSUED.add(hours=h)) for (task, unit), h in signals]
    if batch:
        record(engine, "test-campaign", batch, "test", ISSUED, allow_future=True)  # the whole scenario
    return engine


LIFECYCLE = ("state", "opens_on", "opened_at", "deadline", "done_at", "fields")
PROGRESS = ("next_reminder_at", "stage", "next_escalation_at", "next_action_at")


def snapshot(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    """Each instance's lifecycle; for unfinished ones also its reminder and escalation progress.
    (An instance completed during downtime may have had an escalation sent by hourly ticks that
    a catch-up rightly never sends, so a finished instance's notice progress is not compared.)"""
    i = store.instances
    with engine.connect() as conn:
        rows = conn.execute(select(i)).all()
    out = {}
    for r in rows:
        m = r._mapping
        columns = LIFECYCLE if m["state"] in ("done", "done_late") else LIFECYCLE + PROGRESS
        out[(m["task_id"], m["unit_id"])] = {c: m[c] for c in columns}
    return out


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: sorted(tuple(map(repr, r)) for r in conn.execute(select(t)))
            for t in store.metadata.sorted_tables
        }


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signal_sets, st.integers(1, 20 * 24))
def test_one_tick_after_downtime_equals_hourly_ticks(tmp_path_factory: Any, signals: Any, hours: int) -> None:
    folder = tmp_path_factory.mktemp("catchup")
    hourly, once = fresh(folder / "hourly.db", signals), fresh(folder / "once.db", signals)
    for h in range(hours + 1):
        tick(hourly, "test-campaign", ISSUED.add(hours=h))
    tick(once, "test-campaign", ISSUED.add(hours=hours))
    assert snapshot(once) == snapshot(hourly)
    late = [e for e in event_lines(once, "test-campaign", TZ) if e["kind"] == "reminder.sent"]
    deadlines = {key: row["deadline"] for key, row in snapshot(once).items()}
    assert all(pendulum.parse(e["at"]).int_timestamp < deadlines[(e["task"], e["unit"])] for e in late)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signal_sets)
def test_no_notice_after_completion_and_stages_in_order(tmp_path_factory: Any, signals: Any) -> None:
    engine = fresh(tmp_path_factory.mktemp("order") / "s.db", signals)
    run_until(engine, "test-campaign", TZ, ISSUED.add(days=40), Simulation("test-campaign"))
    lines = event_lines(engine, "test-campaign", TZ)
    done = {(e["task"], e["unit"]): e["at"] for e in lines if e["kind"] == "task.completed"}
    stages: dict[tuple[str, str], list[int]] = {}
    for e in lines:
        key = (e["task"], e["unit"])
        if e["kind"] in ("reminder.sent", "escalation.sent") and key in done:
            assert e["at"] <= done[key], e
        if e["kind"] == "escalation.sent":
            stages.setdefault(key, []).append(e["stage"])
    for fired in stages.values():
        first = list(dict.fromkeys(fired))
        assert first == list(range(1, len(first) + 1)) and fired == sorted(fired)
    # idempotent at the end: the same instant again changes nothing (the first idle tick there
    # keeps its instant, what the states are as of)
    assert tick(engine, "test-campaign", ISSUED.add(days=40)).idle
    before = dump(engine)
    assert tick(engine, "test-campaign", ISSUED.add(days=40)).idle
    assert dump(engine) == before


def test_a_failure_at_any_statement_leaves_the_store_as_before(tmp_path: Path) -> None:
    signals = [(("a", "tu-a"), 30), (("b", "hu-b"), 100), (("c", "x-c"), 200)]
    now = ISSUED.add(days=12)
    reference = fresh(tmp_path / "ref.db", signals)
    statements = []
    event.listen(reference, "before_cursor_execute", lambda *a: statements.append(a[2]))
    tick(reference, "test-campaign", now)
    assert len(statements) > 8
    for n in range(1, len(statements)):
        engine = fresh(tmp_path / f"crash{n}.db", signals)
        before = dump(engine)
        count = 0

        def fail_at_n(*_: Any, n: int = n) -> None:
            nonlocal count
            count += 1
            if count == n:
                raise RuntimeError(f"simulated crash at statement {n}")

        event.listen(engine, "before_cursor_execute", fail_at_n)
        with pytest.raises(RuntimeError, match="simulated crash"):
            tick(engine, "test-campaign", now)
        assert dump(engine) == before, f"store changed by a tick that failed at statement {n}"
        event.remove(engine, "before_cursor_execute", fail_at_n)
        tick(engine, "test-campaign", now)
        assert snapshot(engine) == snapshot(reference)
        engine.dispose()


RUNNER = """
import sys, pendulum
from cascade.engine.simulate import Simulation, run_until
from cascade.engine.store import open_store
engine = open_store(sys.argv[1])
run_until(engine, "test-campaign", "Asia/Ho_Chi_Minh", pendulum.parse(sys.argv[2]),
          Simulation("test-campaign"), batch_seconds=0.0)  # a commit a tick: killed between two
"""


def test_killed_and_restarted_simulation_gives_the_same_event_log(tmp_path: Path) -> None:
    signals = [(("a", "tu-a"), 30), (("b", "hu-b"), 150), (("c", "x-c"), 200), (("d", "x-c"), 260)]
    until = ISSUED.add(days=60)
    reference = fresh(tmp_path / "ref.db", signals)
    run_until(reference, "test-campaign", TZ, until, Simulation("test-campaign"))
    expected = event_lines(reference, "test-campaign", TZ)
    ticks_expected = _ticks(reference)
    assert ticks_expected > 20

    victim = fresh(tmp_path / "victim.db", signals)
    url = f"sqlite:///{tmp_path / 'victim.db'}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    kills = 0
    for _ in range(3):  # kill it three times at different points, then let it finish
        process = subprocess.Popen([sys.executable, "-c", RUNNER, url, until.isoformat()], env=env)
        target = _ticks(victim) + 3
        deadline = time.monotonic() + 60
        while _ticks(victim) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        killed = process.poll() is None
        if killed:
            process.send_signal(signals_module.SIGKILL)
        process.wait(timeout=30)
        kills += killed and _ticks(victim) < ticks_expected  # killed with ticks still to do
    assert kills >= 1, "the runner finished its ticks before it could be killed"
    subprocess.run([sys.executable, "-c", RUNNER, url, until.isoformat()], env=env, check=True, timeout=120)
    assert event_lines(victim, "test-campaign", TZ) == expected
    assert _ticks(victim) == ticks_expected


def _ticks(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(store.ticks.c.id)).all())
