"""Benchmark: signals posted through the JSON API on loopback — requests per second and
latency percentiles, with the store on SQLite and (given a URL) on PostgreSQL.

A campaign of one province and 2,000 districts is deployed; `cascade web` serves it in its
own process (uvicorn, one worker, as `cascade serve` runs it); an asyncio client (raw
HTTP/1.1 on keep-alive connections) keeps `--connections` requests in flight for
`--seconds`, each posting one new signal (a district's conference, at a distinct instant)
with the operator's token. Every answer must
be 201. Target (issue 7): at least 500 requests/s with p99 under 200 ms.

    .venv/bin/python bench/bench_web.py [--seconds 10] [--connections 32] [--postgres URL] [--grassroots N]

`--grassroots 60000` puts 60,000 grassroots units with three tasks each below the districts: the
posts still name districts, in a store the size of a national campaign's.

PostgreSQL: `bash -c 'source scripts/postgres.sh && start_throwaway_postgres &&
.venv/bin/python bench/bench_web.py --postgres "$CASCADE_TEST_POSTGRES_URL"'`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pendulum

sys.path.insert(0, str(Path(__file__).parent.parent))

from cascade.compile.build import compile_plan
from cascade.compile.reading import read_yaml
from cascade.compile.units import read_units
from cascade.engine.deploy import deploy
from cascade.engine.store import open_store

TOKEN = "bench-token"
DISTRICTS = 2000
CAMPAIGN = """\
campaign:
  id: bench-web
  title: Học tập, quán triệt Nghị quyết (benchmark)
  issued_on: 10/11/2020
  units: units.yaml
  summary_date: 20/01/2021
tasks:
  - id: hn-huyen
    title: Hội nghị cấp huyện
    level: district
    due: {before: 30/11/2020}
    fields: {attendees: {type: int, min: 0}}
"""


# `--grassroots N`: N grassroots units below the districts, with three tasks each, so that the
# store holds a national campaign's instances (N=60000: ~182,000) while the posts name districts
GRASSROOTS_TASKS = """\
  - {id: hn-co-so, title: Hội nghị cơ sở, level: grassroots, due: {before: 15/12/2020}}
  - {id: thu-hoach, title: Bài thu hoạch, level: grassroots, due: {before: 20/12/2020}}
  - {id: tuyen-truyen, title: Tuyên truyền, level: grassroots, due: {within: Q1/2021}}
"""


def campaign(grassroots: int) -> str:
    return CAMPAIGN + (GRASSROOTS_TASKS if grassroots else "")


def units(grassroots: int = 0) -> str:
    levels = "[province, district, grassroots]" if grassroots else "[province, district]"
    lines = [f"levels: {levels}", "units:", "  - {id: tu, name: Tỉnh ủy, level: province, children: ["]
    for i in range(DISTRICTS):
        below = [
            f"{{id: x-{i}-{j}, name: Xã {j} huyện {i}, level: grassroots}}"
            for j in range(grassroots // DISTRICTS)
        ]
        children = f", children: [{', '.join(below)}]" if below else ""
        lines.append(f"      {{id: hu-{i}, name: Huyện ủy số {i}, level: district{children}}},")
    return "\n".join(lines) + "\n  ]}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def load(base: str, seconds: float, connections: int) -> tuple[int, list[float], dict[int, int]]:
    """`connections` keep-alive HTTP/1.1 connections, each posting as soon as it has its
    answer. Requests are written and answers read on raw asyncio streams: httpx's client
    costs more CPU per request than the server here (it tops out near 150 req/s against a
    trivial endpoint on this machine) and would measure itself."""
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    codes: dict[int, int] = {}
    counter = iter(range(10**9))
    # every request built before the clock starts: the generator shares the cores with the
    # server, so the less it works per request the more the figure is the server's
    start_at = datetime(2020, 11, 20, tzinfo=timezone(timedelta(hours=7)))
    prepared = []
    for n in range(int(seconds * 3000)):
        body = json.dumps(
            {
                "signals": [
                    {
                        "unit": f"hu-{n % DISTRICTS}",
                        "task": "hn-huyen",
                        "at": (start_at + timedelta(seconds=n)).isoformat(),
                        "fields": {"attendees": n % 500},
                    }
                ]
            }
        ).encode()
        head = (
            f"POST /api/campaigns/bench-web/signals HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        prepared.append(head + body)
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.perf_counter() < stop:
            request = prepared[next(counter) % len(prepared)]
            began = time.perf_counter()
            writer.write(request)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            codes[status] = codes.get(status, 0) + 1
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    return int(len(latencies) / elapsed), latencies, codes


def run(label: str, url: str, seconds: float, connections: int, folder: Path, grassroots: int = 0) -> None:
    engine = open_store(url)
    plan = compile_plan(
        read_yaml(campaign(grassroots), "bench.yaml"), read_units(units(grassroots), "units.yaml")
    )
    deploy(engine, plan, "bench", pendulum.datetime(2020, 11, 10, 8, tz="Asia/Ho_Chi_Minh"))
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "CASCADE_DATABASE_URL": url,
        "CASCADE_DATA_DIR": str(folder),  # no local Prefect server to announce signals to
        "CASCADE_WEB_TOKEN": TOKEN,
        "CASCADE_WEB_SECRET": "bench-" + "s" * 32,  # at least MIN_SECRET bytes
        "CASCADE_WEB_RATE_API": "1000000/1",
    }
    env.pop("PREFECT_API_URL", None)
    log = (folder / f"web-{label}.log").open("wb")  # the server's own log, if it fails
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "cascade"), "web", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the web application did not start")
            time.sleep(0.2)
        asyncio.run(load(base, 1.0, connections))  # warm up
        rate, latencies, codes = asyncio.run(load(base, seconds, connections))
    finally:
        server.terminate()
        server.wait()
        log.close()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000

    assert set(codes) == {201}, codes
    print(
        f"{label:<10} {rate:>5} req/s   p50 {pct(0.50):6.1f} ms   p99 {pct(0.99):6.1f} ms   "
        f"({len(latencies)} signals, {connections} connections, {len(plan.instances):,} instances)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", help="a PostgreSQL URL (an empty database) to measure as well")
    parser.add_argument(
        "--grassroots", type=int, default=0, help="grassroots units below the districts (60000: national)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cascade-bench-web-"))
    sqlite = f"sqlite:///{folder / 'store.db'}"
    run("SQLite", sqlite, args.seconds, args.connections, folder, args.grassroots)
    if args.postgres:
        run("PostgreSQL", args.postgres, args.seconds, args.connections, folder, args.grassroots)


if __name__ == "__main__":
    main()
