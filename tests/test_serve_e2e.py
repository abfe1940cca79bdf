"""End to end with real processes: a Prefect server, `cascade deploy`, `cascade serve`, and a
parent's signal whose triggered run opens the children within seconds."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pendulum
from sqlalchemy import select

from cascade.engine import store
from tests.conftest import SMALL_UNITS

ROOT = Path(__file__).parent.parent
CASCADE = [str(Path(sys.executable).parent / "cascade")]


def campaign_yaml(today: pendulum.Date) -> str:
    def d(days: int) -> str:
        return today.add(days=days).format("DD/MM/YYYY")

    return f"""\
campaign:
  id: e2e
  title: Chiến dịch thử
  issued_on: {d(0)}
  units: units.yaml
  summary_date: {d(60)}
tasks:
  - id: hn-tinh
    title: Hội nghị tỉnh
    level: province
    due: {{before: {d(10)}}}
  - id: hn-huyen
    title: Hội nghị huyện
    tags: [district-committee]
    opens_after: {{task: hn-tinh, at: parent}}
    due: {{before: {d(20)}}}
"""


def wait_for(check, timeout: float, step: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(step)
    return None


def setting_up(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The e2e campaign's files and the environment the `cascade` processes run in."""
    (tmp_path / "units.yaml").write_text(SMALL_UNITS, encoding="utf-8")
    campaign = tmp_path / "e2e.yaml"
    campaign.write_text(campaign_yaml(pendulum.today("Asia/Ho_Chi_Minh").date()), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    env = {
        **os.environ,
        "CASCADE_DATA_DIR": str(data),
        "CASCADE_DATABASE_URL": f"sqlite:///{data / 'cascade.db'}",
        "CASCADE_TICK_INTERVAL": "3600",  # only the trigger and start-up runs tick within these tests
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    return campaign, env


def start_serve(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CASCADE, "serve", "--poll", "0.5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_serve(serve: subprocess.Popen[str]) -> None:
    serve.send_signal(signal.SIGINT)
    try:
        serve.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(serve.pid, signal.SIGKILL)
        serve.wait()


def output_of(serve: subprocess.Popen[str]) -> str:
    """What serve printed, once it has stopped (reading a running serve's pipe would block)."""
    stop_serve(serve)
    return serve.stdout.read() if serve.stdout else ""


def states(env: dict[str, str], task: str) -> dict[str, str]:
    engine = store.open_store(env["CASCADE_DATABASE_URL"])
    i = store.instances.c
    try:
        with engine.connect() as conn:
            return dict(
                (
                    (unit, state)
                    for unit, state in conn.execute(select(i.unit_id, i.state).where(i.task_id == task))
                )
            )
    finally:
        engine.dispose()


@contextlib.contextmanager
def deployed_on_a_prefect_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A real Prefect server on loopback with the e2e campaign deployed by `cascade deploy`."""
    from flows.serve import free_port, local_server

    campaign, env = setting_up(tmp_path)
    with local_server(tmp_path / "prefect", port=free_port(0)) as url:
        env["PREFECT_API_URL"] = url
        deployed = subprocess.run(
            [*CASCADE, "deploy", str(campaign)], env=env, capture_output=True, text=True
        )
        assert deployed.returncode == 0, deployed.stderr
        assert "Prefect deployment cascade-campaign/e2e" in deployed.stderr
        yield url, env


def test_a_signal_triggers_a_run_that_opens_the_children(tmp_path: Path) -> None:
    with deployed_on_a_prefect_server(tmp_path) as (url, env):
        # serve's server deletes its finished runs after its retention period, as it does its
        # events: its database grew by every run of every campaign for as long as serve ran
        import httpx

        vacuum = httpx.get(f"{url}/admin/settings", timeout=10).json()["server"]["services"]["db_vacuum"]
        assert set(vacuum["enabled"]) == {"events", "flow_runs"}
        assert vacuum["retention_period"] == "P90D"
        serve = start_serve(env)
        try:
            engine = store.open_store(env["CASCADE_DATABASE_URL"])
            i = store.instances.c

            def children_open() -> list[str]:
                with engine.connect() as conn:
                    rows = conn.execute(
                        select(i.unit_id).where(i.task_id == "hn-huyen", i.state == "open")
                    ).scalars()
                    return sorted(rows)

            def province_open() -> bool:
                with engine.connect() as conn:
                    state = conn.execute(select(i.state).where(i.task_id == "hn-tinh")).scalar()
                    return state == "open"

            # serve's catch-up run opens the province's task; only then does the signal come
            assert wait_for(province_open, timeout=120), output_of(serve)
            assert serve.poll() is None
            assert children_open() == []
            sent = time.monotonic()
            signalled = subprocess.run(
                [*CASCADE, "signal", "e2e", "tu-a", "hn-tinh"], env=env, capture_output=True, text=True
            )
            assert signalled.returncode == 0, signalled.stderr
            assert "cascade.signal.received sent" in signalled.stderr
            opened = wait_for(children_open, timeout=120)
            latency = time.monotonic() - sent
            print(f"\nsignal -> children open: {latency:.1f} s (incl. the `cascade signal` process)")
            assert opened == ["hu-b", "hu-e"]

            from prefect import get_client
            from prefect.client.schemas.sorting import FlowRunSort
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
                runs = client.read_flow_runs(limit=50, sort=FlowRunSort.START_TIME_ASC)
            by_automation = [r for r in runs if r.created_by and r.created_by.type == "AUTOMATION"]
            assert by_automation, [(r.name, r.created_by) for r in runs]

            undeployed = subprocess.run(
                [*CASCADE, "undeploy", "e2e"], env=env, capture_output=True, text=True
            )
            assert undeployed.returncode == 0, undeployed.stderr
            assert "Prefect deployment paused" in undeployed.stderr
            with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
                assert client.read_deployment_by_name("cascade-campaign/e2e").paused
        finally:
            stop_serve(serve)


def test_a_signal_recorded_while_serve_is_down_is_applied_when_it_restarts(tmp_path: Path) -> None:
    """Nothing is lost across downtime: serve stops, a signal is recorded (its event reaches
    Prefect, whose automation creates a run nobody runs), and the restarted serve's catch-up
    run applies it; the missed run is cancelled rather than run late."""
    from prefect import get_client
    from prefect.client.schemas.objects import FlowRun, StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.serve import MISSED

    with deployed_on_a_prefect_server(tmp_path) as (url, env):
        serve = start_serve(env)
        try:
            opened = wait_for(lambda: states(env, "hn-tinh").get("tu-a") == "open", timeout=120)
            assert opened, output_of(serve)
        finally:
            stop_serve(serve)
        assert serve.returncode is not None

        signalled = subprocess.run(
            [*CASCADE, "signal", "e2e", "tu-a", "hn-tinh"], env=env, capture_output=True, text=True
        )
        assert signalled.returncode == 0, signalled.stderr
        with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:

            def triggered() -> list[FlowRun]:
                runs = client.read_flow_runs(limit=50, sort=FlowRunSort.EXPECTED_START_TIME_ASC)
                return [r for r in runs if r.created_by and r.created_by.type == "AUTOMATION"]

            [missed] = wait_for(triggered, timeout=60)  # nobody runs it: the store stays as it was
        assert states(env, "hn-tinh")["tu-a"] == "open"
        assert set(states(env, "hn-huyen").values()) == {"held"}

        serve = start_serve(env)
        try:
            children = wait_for(
                lambda: {u: s for u, s in states(env, "hn-huyen").items() if s == "open"} or None, timeout=120
            )
            assert children == {"hu-b": "open", "hu-e": "open"}, output_of(serve)
            assert states(env, "hn-tinh")["tu-a"] == "done"
            with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
                # the run missed while down was cancelled, not run late: the catch-up run did its work
                state = client.read_flow_run(missed.id).state
                assert state is not None and state.type == StateType.CANCELLED, state
                assert state.message == MISSED
        finally:
            stop_serve(serve)
        assert serve.stdout is not None
        assert "cancelled 1 run(s) that fell due while serve was down" in serve.stdout.read()


def deadline_campaign_yaml(deadline: pendulum.DateTime) -> str:
    """A province task whose deadline is `deadline` (a midnight), escalated one minute after it."""
    issued = deadline.subtract(days=1).format("DD/MM/YYYY")
    return f"""\
campaign:
  id: e2e
  title: Chiến dịch thử
  issued_on: {issued}
  units: units.yaml
  summary_date: {deadline.add(days=60).format("DD/MM/YYYY")}
defaults:
  remind: []
  quiet_hours: none
  escalate:
    - {{after: 1m, to: [self]}}
tasks:
  - id: hn-tinh
    title: Hội nghị tỉnh
    level: province
    due: {{before: {deadline.format("DD/MM/YYYY")}}}
"""


def test_serve_runs_scheduled_ticks_with_no_signal_and_a_passing_deadline_escalates(
    tmp_path: Path,
) -> None:
    """The scheduler runs unattended: with no signal at all, the Prefect server's scheduler
    creates runs every few seconds, and a deadline that passes between two of them is marked
    overdue and escalated by the scheduled runs that follow. (Prefect 3.8.8's scheduler fails
    on every loop with SQLAlchemy 2.1: then only serve's start-up run ever ticks.)

    The deadline passes within the test because the runs tick on a shifted clock
    (CASCADE_CLOCK_SHIFT): the virtual time is 40 s before a midnight when serve starts."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.serve import free_port, local_server

    tz = "Asia/Ho_Chi_Minh"
    deadline = pendulum.now(tz).add(days=2).start_of("day")
    _, env = setting_up(tmp_path)
    campaign = tmp_path / "e2e.yaml"
    campaign.write_text(deadline_campaign_yaml(deadline), encoding="utf-8")
    env["CASCADE_TICK_INTERVAL"] = "5"
    with local_server(tmp_path / "prefect", port=free_port(0)) as url:
        env["PREFECT_API_URL"] = url
        deployed = subprocess.run(
            [*CASCADE, "deploy", str(campaign)], env=env, capture_output=True, text=True
        )
        assert deployed.returncode == 0, deployed.stderr
        # 40 s of virtual time before the deadline once serve is up (it starts in a few seconds)
        env["CASCADE_CLOCK_SHIFT"] = str(deadline.subtract(seconds=45).timestamp() - time.time())
        serve = start_serve(env)
        try:
            engine = store.open_store(env["CASCADE_DATABASE_URL"])
            e = store.events.c

            def escalated() -> list[tuple[str, int, dict[str, object]]]:
                with engine.connect() as conn:
                    rows = conn.execute(select(e.kind, e.at, e.data).order_by(e.id)).all()
                kinds = [r.kind for r in rows]
                return [(r.kind, r.at, r.data) for r in rows] if "escalation.sent" in kinds else []

            events = wait_for(escalated, timeout=180, step=1.0)
            assert serve.poll() is None
            assert events, output_of(serve)
        finally:
            stop_serve(serve)
        at_of = {kind: at for kind, at, _ in events}
        assert at_of["task.overdue"] == deadline.int_timestamp
        # a notice's instant is when it went out: the first scheduled run after its time (5 s apart)
        assert 0 <= at_of["escalation.sent"] - deadline.add(minutes=1).int_timestamp <= 30
        [stage] = [data["stage"] for kind, _, data in events if kind == "escalation.sent"]
        assert stage == 1
        with engine.connect() as conn:
            assert conn.execute(select(store.signals.c.id)).first() is None  # no signal at all
        with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["e2e"])), limit=200
            )
        scheduled = [r for r in runs if r.auto_scheduled and r.state is not None and r.state.is_completed()]
        # the start-up catch-up run ticked before the deadline; overdue and escalation came later,
        # from runs the server's scheduler created
        assert len(scheduled) >= 3, [(r.name, r.state_name, r.auto_scheduled) for r in runs]
        assert not [r for r in runs if r.created_by and r.created_by.type == "AUTOMATION"]
