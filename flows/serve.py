"""`cascade serve`: the unattended scheduler.

With `PREFECT_API_URL` set it serves the campaigns against that server. Without it, it
starts a local Prefect server first (SQLite under DATA_DIR/prefect, loopback only) and
stops it on the way out. Every campaign deployed in the store (and not undeployed) is
served: its deployment is created or updated, then its scheduled and triggered runs
execute here. Stopping for a day loses nothing: the next run's tick catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

import httpx
from prefect import get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import PrefectHTTPStatusError
from prefect.runner import Runner
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Cancelled
from sqlalchemy import select

from cascade.engine import health, store
from cascade.settings import Settings, environment, export, export_default
from flows.deployments import HEARTBEAT_ENV, campaign_deployment, ensure_crash_automation
from flows.project import healthy, template, url_file

LOG_BYTES = 10 * 1024 * 1024  # the local Prefect server's log, before it is set aside


def free_port(preferred: int = 4200) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free loopback port")


@contextlib.contextmanager
def local_server(home: Path, port: int | None = None, timeout: float = 90.0) -> Iterator[str]:
    """A Prefect server on loopback with its SQLite database under `home`; yields its API URL."""
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = environment(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
    )
    env.pop("PREFECT_API_URL", None)
    # months unattended: the server deletes its finished runs (their task runs and logs) once
    # they are older than its retention period (90 days unless PREFECT_SERVER_SERVICES_DB_VACUUM_
    # RETENTION_PERIOD says otherwise), as it does its events; left on, its database grew by every
    # run of every campaign for as long as serve ran. A campaign's history is Cascade's store.
    env.setdefault("PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED", "events,flow_runs")
    log = server_log(home)
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not healthy(url, timeout=1.0):
            if process.poll() is not None:
                raise RuntimeError(
                    f"the Prefect server exited ({process.returncode}); see {home / 'server.log'}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not answer in {timeout:.0f} s; see {log.name}")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def server_log(home: Path, keep: int = LOG_BYTES) -> BinaryIO:
    """The local server's log, appended to; one over `keep` bytes is moved to server.log.1 first
    (the one before that dropped), so that serve restarted over months keeps two at most."""
    path = home / "server.log"
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > keep:
            path.replace(path.with_name("server.log.1"))
    return path.open("ab")


class AlreadyServed(RuntimeError):
    """Another `cascade serve` holds the data folder; the message is what it wrote there."""


@contextlib.contextmanager
def only_serve(data_dir: Path) -> Iterator[None]:
    """The data folder served by this process alone, while it lasts. A second serve of one folder
    started a second Prefect server on the same database, and on its way out deleted the first
    one's API address (`url_file`). The lock is the kernel's (`flock`): it goes with the process,
    however it ends, so a killed serve leaves nothing to clean up."""
    data_dir.mkdir(parents=True, exist_ok=True)
    held = (data_dir / "serve.lock").open("a+", encoding="utf-8")
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        held.seek(0)
        holder = held.read().strip()
        held.close()
        raise AlreadyServed(holder or "?") from None
    try:
        held.seek(0)
        held.truncate()
        since = datetime.now(UTC).astimezone().strftime("%d/%m/%Y %H:%M")
        held.write(f"pid {os.getpid()} on {socket.gethostname()} since {since}\n")
        held.flush()
        yield
    finally:
        held.close()  # (and with it the lock)


def active_campaigns(settings: Settings) -> list[str]:
    engine = store.open_store(settings.store.url())
    c = store.campaigns.c
    with engine.connect() as conn:
        return list(conn.execute(select(c.id).where(c.archived_at.is_(None)).order_by(c.id)).scalars())


def serve(
    seconds: float | None = None,
    poll: float = 2.0,
    port: int | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Serve every active campaign until interrupted (or for `seconds`)."""
    settings = Settings()
    # flow runs are subprocesses: they must find the same store from any working directory
    data_dir = settings.store.data_dir.resolve()
    export(CASCADE_DATA_DIR=str(data_dir))
    export_default("CASCADE_DATABASE_URL", settings.store.url())
    # its flow runs send heartbeats; a run whose heartbeats stop is marked Crashed
    export(**HEARTBEAT_ENV)
    shift = settings.scheduler.clock_shift
    if shift:
        say(f"CASCADE_CLOCK_SHIFT={shift:.0f}: runs tick on a shifted clock (a drill)")
    with contextlib.ExitStack() as stack:
        url = settings.prefect.api_url
        if not url:
            say(f"starting a local Prefect server (data in {settings.store.data_dir / 'prefect'}) ...")
            url = stack.enter_context(local_server(data_dir / "prefect", port))
            marker = url_file(settings)
            marker.write_text(url, encoding="utf-8")
            stack.callback(marker.unlink, missing_ok=True)
        export(PREFECT_API_URL=url)
        stack.enter_context(temporary_settings(updates={PREFECT_API_URL: url}))
        campaigns = active_campaigns(settings)
        runner = Runner(name="cascade-serve", query_seconds=poll, pause_on_shutdown=False)
        shape = template()
        engine = store.open_store(settings.store.url())
        ensure_crash_automation()
        with get_client(sync_client=True) as client:
            for campaign in campaigns:
                deployment_id = runner.add_deployment(campaign_deployment(campaign, shape))
                health.record_interval(engine, campaign, int(shape.interval.total_seconds()))
                assert isinstance(deployment_id, UUID)  # called synchronously
                try:
                    missed = cancel_missed_runs(client, deployment_id)
                except (PrefectHTTPStatusError, httpx.HTTPError) as exc:  # housekeeping: serve goes on
                    say(f"{campaign}: runs missed while serve was down left as they are ({exc})")
                    missed = 0
                if missed:
                    say(f"{campaign}: cancelled {missed} run(s) that fell due while serve was down")
                # catch up now, not one interval after a restart
                client.create_flow_run_from_deployment(deployment_id, tags=["catch-up"])
        say(f"serving {len(campaigns)} campaign(s): {', '.join(campaigns) or 'none deployed yet'}")
        say(f"Prefect UI: {url.removesuffix('/api')}  (Ctrl-C stops)")
        asyncio.run(_run(runner, seconds))


MISSED = "superseded by cascade serve's catch-up run at start-up"


def cancel_missed_runs(client: SyncPrefectClient, deployment_id: UUID) -> int:
    """Cancel the deployment's runs that were due while nobody served it (scheduled in the
    past, never started: Late). Prefect would run every one of them, oldest first, after a
    restart; one tick catches up all they would have done, and serve starts that run next."""
    due_before = datetime.now(UTC)
    runs_filter = FlowRunFilter(
        deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
        expected_start_time=FlowRunFilterExpectedStartTime(before_=due_before),
    )
    asked: set[UUID] = set()
    cancelled = 0
    while True:
        oldest_first = FlowRunSort.EXPECTED_START_TIME_ASC  # Prefect 3.8's sync client refuses no sort
        runs = client.read_flow_runs(flow_run_filter=runs_filter, sort=oldest_first, limit=200)
        page = [run for run in runs if run.id not in asked]
        if not page:
            return cancelled
        for run in page:
            asked.add(run.id)  # a run the server would not cancel is not asked twice
            result: OrchestrationResult[Any] = client.set_flow_run_state(run.id, Cancelled(message=MISSED))
            cancelled += result.status == SetStateStatus.ACCEPT


async def _run(runner: Runner, seconds: float | None) -> None:
    if seconds is None:
        await runner.start()
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(runner.start(), timeout=seconds)
