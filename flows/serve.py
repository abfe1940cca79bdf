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
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

from prefect import get_client
from prefect.runner import Runner
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import select

from cascade import store
from cascade.settings import Settings
from flows.deployments import campaign_deployment, healthy, url_file


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
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("ab")
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


def active_campaigns(settings: Settings) -> list[str]:
    engine = store.open_store(settings.store_url())
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
    os.environ["CASCADE_DATA_DIR"] = str(settings.data_dir.resolve())
    os.environ.setdefault("CASCADE_DATABASE_URL", Settings().store_url())
    with contextlib.ExitStack() as stack:
        url = os.environ.get("PREFECT_API_URL")
        if not url:
            say(f"starting a local Prefect server (data in {settings.data_dir / 'prefect'}) ...")
            url = stack.enter_context(local_server(settings.data_dir.resolve() / "prefect", port))
            marker = url_file(settings)
            marker.write_text(url, encoding="utf-8")
            stack.callback(marker.unlink, missing_ok=True)
        os.environ["PREFECT_API_URL"] = url
        stack.enter_context(temporary_settings(updates={PREFECT_API_URL: url}))
        campaigns = active_campaigns(settings)
        runner = Runner(name="cascade-serve", query_seconds=poll, pause_on_shutdown=False)
        with get_client(sync_client=True) as client:
            for campaign in campaigns:
                deployment_id = runner.add_deployment(campaign_deployment(campaign))
                assert isinstance(deployment_id, UUID)  # called synchronously
                # catch up now, not one interval after a restart
                client.create_flow_run_from_deployment(deployment_id, tags=["catch-up"])
        say(f"serving {len(campaigns)} campaign(s): {', '.join(campaigns) or 'none deployed yet'}")
        say(f"Prefect UI: {url.removesuffix('/api')}  (Ctrl-C stops)")
        asyncio.run(_run(runner, seconds))


async def _run(runner: Runner, seconds: float | None) -> None:
    if seconds is None:
        await runner.start()
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(runner.start(), timeout=seconds)
