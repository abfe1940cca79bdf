"""Benchmark: 10,000 distinct digests through the dispatcher to an SMTP server on loopback.

A campaign of one province and N districts (email contacts only) is deployed and ticked
once on a fresh SQLite store, which leaves one digest per district. An aiosmtpd server
(its `Sink` handler: accepts and drops) runs in its own process, so that it does not
share this process's interpreter lock. The dispatcher then sends every digest, once per
concurrency level (the outbox is reset in between), rendering each digest, sending it
through Apprise's mailto:// and recording its delivery log as it goes. Prints messages
per second and the memory the run added over the process's baseline (sampled RSS).

Beside it, Apprise's own way: one Apprise object with one mailto:// service per
recipient and a single notify() (the body already rendered), on a sample, with Apprise's
email plugin as it comes (a new SSL context per send; notifiers.email reuses one per thread).
Target (issue 5): at least 100 messages per second.

    .venv/bin/python bench/bench_dispatch.py [--digests 10000] [--concurrency 1,4,8,16]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pendulum
from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).parent.parent))

from cascade.compile.build import compile_plan
from cascade.compile.reading import read_yaml
from cascade.compile.units import read_units
from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.tick import tick
from notifiers.channels import ChannelConfig
from notifiers.dispatch import Dispatcher, Policy

TZ = "Asia/Ho_Chi_Minh"
CAMPAIGN = """\
campaign:
  id: bench
  title: Học tập, quán triệt Nghị quyết (benchmark)
  issued_on: 10/11/2020
  units: units.yaml
  summary_date: 20/01/2021
tasks:
  - {id: hn-huyen, title: Hội nghị cán bộ chủ chốt cấp huyện, level: district, due: {before: 30/11/2020}}
"""


def units(n: int) -> str:
    lines = [
        "levels: [province, district]",
        "units:",
        "  - {id: tu, name: Tỉnh ủy, level: province, contacts: [{role: head, email: vp@example.vn}],",
        "     children: [",
    ]
    lines += [
        f"      {{id: hu-{i}, name: Huyện ủy số {i}, level: district, "
        f"contacts: [{{role: head, email: h{i}@example.vn}}]}},"
        for i in range(n)
    ]
    return "\n".join(lines) + "\n  ]}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRSS:
    """Samples this process's RSS every 20 ms while running."""

    def __enter__(self) -> PeakRSS:
        self.base = self.peak = rss_mib()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mib())
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()


def smtp_server(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"]
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the SMTP server did not start")


def reset(engine: Engine) -> None:
    """Every digest pending again, the delivery log empty."""
    with engine.begin() as conn:
        conn.execute(store.deliveries.delete())
        conn.execute(store.outbox.update().values(status="pending", claim=None, claimed_at=None))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--digests", type=int, default=10_000)
    parser.add_argument("--concurrency", default="1,4,8,16")
    parser.add_argument("--apprise-sample", type=int, default=500)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cascade-bench-dispatch-"))
    engine = store.open_store(f"sqlite:///{folder / 'store.db'}")
    issued = pendulum.datetime(2020, 11, 10, 8, tz=TZ)
    t0 = time.perf_counter()
    plan = compile_plan(read_yaml(CAMPAIGN, "bench.yaml"), read_units(units(args.digests), "units.yaml"))
    deploy(engine, plan, "bench", issued)
    tick(engine, "bench", issued)
    print(f"setup: {args.digests} digests deployed and ticked in {time.perf_counter() - t0:.1f} s")
    port = free_port()
    server = smtp_server(port)
    config = ChannelConfig(smtp_url=f"mailto://127.0.0.1:{port}?from=cascade@example.vn&mode=insecure")
    now = int(issued.timestamp())
    try:
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            reset(engine)
            dispatcher = Dispatcher(engine, "bench", config, Policy(concurrency=concurrency))
            with PeakRSS() as memory:
                start = time.perf_counter()
                outcome = dispatcher.run(now)
                seconds = time.perf_counter() - start
            sent = outcome.digests["sent"]
            assert sent == args.digests, outcome.digests
            print(
                f"dispatcher, concurrency {concurrency:>2}: {sent} messages in {seconds:6.1f} s = "
                f"{sent / seconds:6.1f} msg/s; RSS {memory.base:.0f} MiB, "
                f"+{memory.peak - memory.base:.0f} MiB during the run"
            )
        apprise_default(port, args.apprise_sample)
    finally:
        server.terminate()
        server.wait()


def apprise_default(port: int, n: int) -> None:
    """Apprise as it comes: its email plugin's own SSL context per send (see notifiers.email)."""
    import ssl

    import apprise
    import apprise.plugins.email.base as apprise_email

    reused, apprise_email.ssl = apprise_email.ssl, ssl  # type: ignore[assignment]
    try:
        apprise_notify(apprise, port, n)
    finally:
        apprise_email.ssl = reused


def apprise_notify(apprise: Any, port: int, n: int) -> None:
    service = apprise.Apprise()
    for i in range(n):
        service.add(f"mailto://127.0.0.1:{port}?from=cascade@example.vn&mode=insecure&to=h{i}@example.vn")
    start = time.perf_counter()
    ok = service.notify(title="Nhắc hạn chót", body="<p>Hội nghị cấp huyện: trước 00 giờ ngày 30/11/2020</p>")
    seconds = time.perf_counter() - start
    print(
        f"Apprise defaults, one service per recipient, one notify(): {n} messages in {seconds:.1f} s = "
        f"{n / seconds:.1f} msg/s (all sent: {ok})"
    )


if __name__ == "__main__":
    main()
