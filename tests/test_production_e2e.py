"""The production recipe, end to end with real processes: a Prefect server on PostgreSQL, the
store on PostgreSQL, the process work pool `cascade` with two workers, the web application,
and four campaigns. Every service is started with the command of its systemd unit in
scripts/systemd/ (the same ExecStart, its ${VARS} from this test's environment), so the
README's production set-up is the one tested here.

It shows: a scheduled run on this server; `cascade deploy` putting deployments on the pool;
`prefect deploy --all` and `prefect deployment ls` exiting 0; several runs per campaign created
at once all completing with no event or notice written twice (against one `tick` of each
campaign at the same instant); a run waiting for a campaign's lock saying so and giving up
after CASCADE_LOCK_WAIT; runs per minute with two workers and with one; a worker stopped by
the unit's KillSignal; `kill -9` of a worker's process group mid-tick leaving no partial tick,
the dead run marked Crashed by the heartbeat automation, and the next run catching up exactly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from cascade.compile.files import load_plan
from cascade.engine import locks, store
from cascade.engine.deploy import deploy
from cascade.engine.tick import tick
from flows.serve import free_port
from tests.conftest import postgres_url
from tests.test_serve_e2e import wait_for

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
UNITS = ROOT / "scripts" / "systemd"
EXAMPLES = ["ha-tinh-xix-2020", "tra-vinh-ct01-2020", "tra-vinh-hd42-2017"]
# the example campaigns' runs tick 8 days ahead: after the scheduled runs (at the wall clock),
# with every repeating escalation stage due once more
T = pendulum.now("Asia/Ho_Chi_Minh").add(days=8).set(hour=9, minute=0, second=0, microsecond=0).isoformat()
T2 = "2021-06-01T09:00:00+07:00"  # the national campaign's: 11,000 overdue, 68,000 notices

sys.path.insert(0, str(ROOT / "bench"))
from gen_national import generate  # noqa: E402


def unit_command(unit: str, env: dict[str, str], instance: str = "") -> list[str]:
    """The unit's ExecStart as systemd would run it: ${VAR} from `env`, %i the instance, the
    installed /opt/cascade/.venv/bin replaced by this checkout's."""
    [line] = [ln for ln in (UNITS / unit).read_text().splitlines() if ln.startswith("ExecStart=")]
    command = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], line.removeprefix("ExecStart="))
    argv = shlex.split(command.replace("%i", instance))
    argv[0] = argv[0].replace("/opt/cascade/.venv/bin", str(BIN))
    return argv


def kill_signal(unit: str) -> signal.Signals:
    [line] = [ln for ln in (UNITS / unit).read_text().splitlines() if ln.startswith("KillSignal=")]
    return signal.Signals[line.removeprefix("KillSignal=")]


def env_file_keys() -> list[str]:
    lines = (UNITS / "cascade.env").read_text().splitlines()
    return [ln.split("=", 1)[0] for ln in lines if ln.strip() and not ln.startswith("#")]


class Service:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill_group(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, sig: signal.Signals, timeout: float) -> float:
        """Stop as systemd would (its KillSignal); seconds it took (SIGKILL after `timeout`)."""
        assert self.process is not None
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill_group()
        return time.monotonic() - started


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Fresh `cascade_e2e` and `prefect_e2e` databases on the test PostgreSQL."""
    url = postgres_url()
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in ("cascade_e2e", "prefect_e2e"):
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    base = url.rsplit("/", 1)[0]
    yield f"{base}/cascade_e2e", f"{base}/prefect_e2e".replace("postgresql+psycopg", "postgresql+asyncpg")


def cascade(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(BIN / "cascade"), *args], env=env, capture_output=True, text=True, cwd=ROOT)
    assert not check or done.returncode == 0, done.stderr
    return done


def events_of(engine: Engine, campaign: str) -> Counter[tuple[Any, ...]]:
    e = store.events.c
    query = select(e.kind, e.task_id, e.unit_id, e.at, e.data).where(e.campaign_id == campaign)
    with engine.connect() as conn:
        return Counter(
            (kind, task, unit, at, repr(data.get("to")), data.get("stage"), data.get("late"))
            for kind, task, unit, at, data in conn.execute(query)
            if kind not in ("channel.failed", "channel.recovered")  # the dispatcher's, not the tick's
        )


def outbox_of(engine: Engine, campaign: str) -> Counter[tuple[Any, ...]]:
    o = store.outbox.c
    query = select(o.kind, o.recipient_unit, o.role, o.send_at, o.payload).where(o.campaign_id == campaign)
    with engine.connect() as conn:
        return Counter(
            (kind, unit, role, at, json.dumps(payload, sort_keys=True))
            for kind, unit, role, at, payload in conn.execute(query)
        )


def tick_instants(engine: Engine, campaign: str) -> list[int]:
    t = store.ticks.c
    with engine.connect() as conn:
        return list(conn.execute(select(t.now).where(t.campaign_id == campaign).order_by(t.id)).scalars())


def instance_states(engine: Engine, campaign: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    i = store.instances.c
    query = select(i.task_id, i.unit_id, i.state, i.done_at, i.stage, i.next_action_at).where(
        i.campaign_id == campaign
    )
    with engine.connect() as conn:
        return {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(query)}


def assert_ticked_once_each(engine: Engine, tmp_path: Path, files: list[Path]) -> None:
    """Whatever runs did, the store holds what one engine tick at each instant its ticks
    record would write: the same campaigns replayed in a fresh SQLite store give the same
    events, notices and states, and no instant was ticked twice (a run that wrote what
    another run had written would show as a second tick, or as events twice)."""
    ref = store.open_store(f"sqlite:///{tmp_path / f'replay-{len(list(tmp_path.iterdir()))}.db'}")
    for file in files:
        plan = load_plan(file)
        cid = plan.campaign.id
        deploy(ref, plan, "replay", pendulum.now("UTC"))
        instants = tick_instants(engine, cid)
        assert len(instants) == len(set(instants)), f"{cid}: an instant ticked twice: {instants}"
        for now in instants:
            tick(ref, cid, pendulum.from_timestamp(now))
        assert tick_instants(ref, cid) == instants, cid
        assert events_of(engine, cid) == events_of(ref, cid), cid
        assert outbox_of(engine, cid) == outbox_of(ref, cid), cid
        assert instance_states(engine, cid) == instance_states(ref, cid), cid


def test_the_production_recipe(tmp_path: Path, databases: tuple[str, str]) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.client.schemas.objects import FlowRun, StateType
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Cancelled

    store_url, prefect_db = databases
    port = free_port(0)
    env = {
        **os.environ,
        # every variable of scripts/systemd/cascade.env, with this test's values
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
        "CASCADE_DATABASE_URL": store_url,
        "CASCADE_DATA_DIR": str(tmp_path / "data"),
        "CASCADE_HOME": str(ROOT),
        "CASCADE_WORK_POOL": "cascade",
        "CASCADE_SMTP_URL": "",
        "CASCADE_WEB_URL": "http://127.0.0.1:8080",
        "CASCADE_WEB_TOKEN": "e2e-token",
        # not in the env file: no SMTP server here, digests go to the run's log; a short lock wait
        "CASCADE_NOTIFY": "log",
        "CASCADE_LOCK_WAIT": "3",
    }
    assert set(env_file_keys()) <= set(env), set(env_file_keys()) - set(env)
    (tmp_path / "data").mkdir()
    engine = store.open_store(store_url)
    server = Service("prefect", unit_command("cascade-prefect.service", env), env, tmp_path / "prefect.log")
    workers = [
        Service(
            f"worker-{n}", unit_command("cascade-worker@.service", env, str(n)), env, tmp_path / f"w{n}.log"
        )
        for n in (1, 2)
    ]
    web_port = free_port(0)
    web_argv = [a.replace("8080", str(web_port)) for a in unit_command("cascade-web.service", env)]
    web = Service("web", web_argv, env, tmp_path / "web.log")
    services = [server, *workers, web]
    figures: dict[str, str] = {}
    server.start()
    try:
        import httpx

        assert wait_for(lambda: _healthy(env["PREFECT_API_URL"]), timeout=120, step=0.5), (
            tmp_path / "prefect.log"
        ).read_text()[-3000:]
        settings = httpx.get(f"{env['PREFECT_API_URL']}/admin/settings", timeout=10).json()
        assert set(settings["server"]["services"]["db_vacuum"]["enabled"]) == {"events", "flow_runs"}
        # -- deployments land on the pool; a scheduled run happens on this server -----------
        files = [ROOT / "campaigns" / f"{cid}.yaml" for cid in EXAMPLES]
        for file in files:
            out = cascade({**env, "CASCADE_TICK_INTERVAL": "10"}, "deploy", str(file))
            assert "run by work pool cascade" in out.stderr, out.stderr
        for worker in workers:
            worker.start()
        web.start()
        with (
            temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}),
            get_client(sync_client=True) as client,
        ):

            def runs(names: list[str] | None = None, limit: int = 200) -> list[FlowRun]:
                deployments = DeploymentFilter(name=DeploymentFilterName(any_=names)) if names else None
                return client.read_flow_runs(deployment_filter=deployments, limit=limit)

            for cid in EXAMPLES:
                deployment = client.read_deployment_by_name(f"cascade-campaign/{cid}")
                assert deployment.work_pool_name == "cascade"
            scheduled = wait_for(
                lambda: [r for r in runs() if r.auto_scheduled and r.state and r.state.is_completed()],
                timeout=180,
                step=1.0,
            )
            assert scheduled, [(r.name, r.state_name, r.auto_scheduled) for r in runs()]

            # -- prefect deploy --all / deployment ls on the pinned versions -----------------
            deployed = subprocess.run(
                [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
            listed = subprocess.run(
                [str(BIN / "prefect"), "deployment", "ls"], env=env, cwd=ROOT, capture_output=True, text=True
            )
            assert listed.returncode == 0, listed.stderr[-3000:]
            for cid in EXAMPLES:
                assert f"cascade-campaign/{cid}"[:28] in listed.stdout
            ids = {cid: client.read_deployment_by_name(f"cascade-campaign/{cid}").id for cid in EXAMPLES}
            for deployment_id in ids.values():  # from here on, runs at fixed instants only
                for schedule in client.read_deployment_schedules(deployment_id):
                    client.update_deployment_schedule(deployment_id, schedule.id, active=False)
            for r in runs():  # runs the schedule already created, not yet started
                if r.state is not None and r.state.type == StateType.SCHEDULED:
                    client.set_flow_run_state(
                        r.id, Cancelled(message="the test runs at fixed instants"), force=True
                    )
            assert wait_for(
                lambda: not [r for r in runs() if r.state and not r.state.is_final()], timeout=120, step=1.0
            )

            # -- several runs per campaign at once; one campaign's lock held meanwhile ----------
            held, release = threading.Event(), threading.Event()

            def hold_hd42() -> None:  # held until the test lets go, however slow the workers are
                me = locks.me("psql session of the test")
                with locks.ticking(engine, "tra-vinh-hd42-2017", me):
                    held.set()
                    release.wait()

            holder = threading.Thread(target=hold_hd42, daemon=True)
            holder.start()
            assert held.wait(30)
            started = time.monotonic()
            try:
                batch = [
                    client.create_flow_run_from_deployment(
                        ids[cid], parameters={"campaign_id": cid, "now": T}
                    )
                    for cid in EXAMPLES
                    for _ in range(3)
                ]
                hd42_batch = [r for r in batch if r.deployment_id == ids["tra-vinh-hd42-2017"]]
                assert wait_for(lambda: _all_final(client, hd42_batch), timeout=240, step=0.5)
            finally:
                release.set()  # hd42's runs each waited 3 s for the lock, then gave up
            holder.join()
            finished = wait_for(lambda: _all_final(client, batch), timeout=240, step=0.5)
            assert finished, [(r.name, r.state_name) for r in (client.read_flow_run(b.id) for b in batch)]
            figures["9 runs, 2 workers"] = f"{time.monotonic() - started:.1f} s"
            assert all(r.state is not None and r.state.type == StateType.COMPLETED for r in finished), [
                (r.name, r.state_name, r.state.message if r.state else None) for r in finished
            ]
            hd42 = [r for r in finished if r.deployment_id == ids["tra-vinh-hd42-2017"]]
            logs = _logs(
                client, [r.id for r in hd42], until=lambda ls: _count(ls, "this run skips its tick") >= 3
            )
            assert sum("this run skips its tick" in line for line in logs) == 3, logs  # every hd42 run
            assert any("is being ticked by psql session of the test" in line for line in logs), logs
            waited = [
                int(m.group(1)) for line in logs if (m := re.search(r"gave up after waiting (\d+) s", line))
            ]
            assert len(waited) == 3 and all(3 <= w < 10 for w in waited), (
                waited
            )  # CASCADE_LOCK_WAIT=3, bounded
            [after] = [
                client.create_flow_run_from_deployment(
                    ids["tra-vinh-hd42-2017"], parameters={"campaign_id": "tra-vinh-hd42-2017", "now": T}
                )
            ]
            assert wait_for(lambda: _all_final(client, [after]), timeout=120, step=0.5)
            waits = [
                float(m.group(1))
                for line in _logs(
                    client, [r.id for r in finished], until=lambda ls: _count(ls, "lock waited") >= 6
                )
                if (m := re.search(r"lock waited ([\d.]+) s", line))
            ]
            figures["lock waits (s) of the 6 runs of two campaigns"] = ", ".join(
                f"{w:.2f}" for w in sorted(waits)
            )

            # nothing written twice: the store equals one engine tick at each instant it ticked
            assert_ticked_once_each(engine, tmp_path, files)
            at_t = pendulum.parse(T).int_timestamp  # type: ignore[union-attr]
            assert all(at_t in tick_instants(engine, cid) for cid in EXAMPLES)  # the batch's ticks did work

            # -- throughput with two workers, then one (stopped by the unit's KillSignal) ------
            figures["runs/min, 2 workers"] = _throughput(client, ids, 12)
            took = workers[1].stop(kill_signal("cascade-worker@.service"), timeout=60)
            assert workers[1].process is not None and workers[1].process.returncode is not None
            figures["worker stopped by SIGINT in"] = f"{took:.1f} s"
            figures["runs/min, 1 worker"] = _throughput(client, ids, 12)
            workers[1].start()

            # -- kill -9 of a worker mid-tick ----------------------------------------------------
            national, _ = generate(60000, tmp_path / "national")
            cascade({**env, "CASCADE_TICK_INTERVAL": "86400"}, "deploy", str(national))
            nid = client.read_deployment_by_name("cascade-campaign/national-bench").id
            for schedule in client.read_deployment_schedules(nid):
                client.update_deployment_schedule(nid, schedule.id, active=False)
            before = instance_states(engine, "national-bench")
            run = client.create_flow_run_from_deployment(
                nid, parameters={"campaign_id": "national-bench", "now": T2}
            )
            note = wait_for(lambda: locks.read_note(engine, "national-bench"), timeout=180, step=0.02)
            assert note is not None, "the run never took the campaign"
            ancestors = _ancestors(note.pid)
            [victim] = [w for w in workers if w.process and w.process.pid in ancestors]
            victim.kill_group()  # the worker and its flow-run process (in a session of its own):
            with contextlib.suppress(ProcessLookupError):  # as when their host is lost mid-tick
                os.kill(note.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            t = store.ticks.c
            with engine.connect() as conn:
                assert (
                    conn.execute(select(func.count()).where(t.campaign_id == "national-bench")).scalar() == 0
                )
            assert instance_states(engine, "national-bench") == before  # nothing half-written
            status = cascade(env, "status", "national-bench")
            assert "stopped without finishing" in status.stdout, status.stdout
            crashed = wait_for(
                lambda: (s := client.read_flow_run(run.id).state) and s.type == StateType.CRASHED and s,
                timeout=240,
                step=1.0,
            )
            assert crashed, client.read_flow_run(run.id).state
            figures["dead run marked Crashed after"] = f"{time.monotonic() - killed_at:.0f} s"
            victim.start()  # systemd's Restart=always
            again = client.create_flow_run_from_deployment(
                nid, parameters={"campaign_id": "national-bench", "now": T2}
            )
            done = wait_for(lambda: _all_final(client, [again]), timeout=300, step=1.0)
            assert done and done[0].state is not None and done[0].state.type == StateType.COMPLETED
            assert tick_instants(engine, "national-bench") == [pendulum.parse(T2).int_timestamp]  # type: ignore[union-attr]
            assert_ticked_once_each(engine, tmp_path, [national])
            assert locks.read_note(engine, "national-bench") is None

            health = httpx.get(f"http://127.0.0.1:{web_port}/healthz", timeout=10).json()
            assert set(health["campaigns"]) == {*EXAMPLES, "national-bench"}
            assert all(c["last_tick_age_s"] is not None for c in health["campaigns"].values())
    finally:
        for service in reversed(services):
            if service.process is not None:
                service.stop(signal.SIGINT, timeout=20)
        print("\nproduction e2e figures:", figures)


def _ancestors(pid: int) -> list[int]:
    """`pid` and its parents, from /proc."""
    chain = [pid]
    while pid > 1:
        stat = Path(f"/proc/{pid}/stat").read_text()
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        chain.append(pid)
    return chain


def _healthy(url: str) -> bool:
    from flows.project import healthy

    return healthy(url)


def _all_final(client: Any, runs: list[Any]) -> list[Any]:
    fresh = [client.read_flow_run(r.id) for r in runs]
    return fresh if all(r.state is not None and r.state.is_final() for r in fresh) else []


def _logs(client: Any, run_ids: list[Any], until: Callable[[list[str]], bool] | None = None) -> list[str]:
    """The runs' log lines; logs reach the API in batches after a run ends, so this reads again
    for up to 30 s until `until` holds of them (or 3 s, without one)."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    if until is None:
        time.sleep(3)
    deadline = time.monotonic() + 30
    while True:
        lines: list[str] = []
        while True:  # the API gives at most 200 a page
            page = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=run_ids)),
                limit=200,
                offset=len(lines),
            )
            lines += [log.message for log in page]
            if len(page) < 200:
                break
        if until is None or until(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(1)


def _count(lines: list[str], words: str) -> int:
    return sum(words in line for line in lines)


def _throughput(client: Any, ids: dict[str, Any], n: int) -> str:
    started = time.monotonic()
    batch = [
        client.create_flow_run_from_deployment(ids[cid], parameters={"campaign_id": cid, "now": T})
        for k in range(n)
        for cid in [EXAMPLES[k % len(EXAMPLES)]]
    ]
    assert wait_for(lambda: _all_final(client, batch), timeout=300, step=0.5)
    elapsed = time.monotonic() - started
    return f"{n / elapsed * 60:.1f} ({n} runs in {elapsed:.1f} s)"
