"""Benchmark: the whole national campaign through the engine on the virtual clock.

Generates the national units (bench/gen_national.py) and signals from ~95% of instances,
recorded on half-hour marks in office hours (07:00-17:00) between 30% and 105% of the
way to each deadline, then simulates from issue to summary + 14 days on a fresh SQLite
store. Prints wall time, peak memory, ticks, events and notices, an idle tick, and the
same at a tenth of the size. Beside it: the floor (bench/floor.py: the simulation's instance,
event and outbox rows inserted raw into SQLite and its event log rewritten, measured in the same
run) as a ratio, and the ceiling (one Prefect task run per instance, measured on 300
under prefect_test_harness and extrapolated) as ratios.
Targets (issue 3): simulate < 60 s and < 1.5 GiB; idle tick < 50 ms.

    .venv/bin/python bench/bench_engine.py [--units 60000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from floor import floor  # noqa: E402

CHILD = """
import json, random, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
sys.path.insert(0, str(Path(sys.argv[3]).parent))  # this checkout's cascade, wherever it is run from
from gen_national import generate, national_signals
from cascade.compile.files import load_plan
from cascade.engine.simulate import simulate
from cascade.views.eventlog import write_log
from cascade.engine.tick import tick
from cascade.engine.store import open_store

campaign, _ = generate(int(sys.argv[1]), Path(sys.argv[2]))
plan = load_plan(campaign)
start = plan.campaign.issued_at
batch = national_signals(plan)
folder = Path(tempfile.mkdtemp(prefix="cascade-bench-"))
engine = open_store(f"sqlite:///{folder / 'bench.db'}", durable=False)  # as `cascade simulate` does
t0 = time.perf_counter()
result = simulate(plan, "bench", batch, plan.campaign.summary_at.add(days=14), engine=engine)
t1 = time.perf_counter()
idle = []
for _ in range(20):
    s = time.perf_counter()
    outcome = tick(engine, plan.campaign.id, plan.campaign.summary_at.add(days=14))
    idle.append(time.perf_counter() - s)
    assert outcome.idle
log = folder / "events.jsonl"
with engine.connect() as conn, log.open("wb") as out:
    events = sum(write_log(conn, plan.campaign.id, plan.campaign.timezone, out).values())
print(json.dumps({"units": len(plan.hierarchy.units), "instances": len(plan.instances), "signals": len(batch),
                  "simulate_s": t1 - t0, "ticks": result.ticks, "events": events, "log": str(log),
                  "notices": result.counts["notices"], "idle_tick_ms": sorted(idle)[len(idle) // 2] * 1000,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(units: int) -> dict[str, float]:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(units), str(HERE / "out"), str(HERE)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=60000)
    parser.add_argument("--no-prefect", action="store_true", help="skip the Prefect ceiling measurement")
    args = parser.parse_args()
    results = {size: run(size) for size in (args.units // 10, args.units)}
    for r in results.values():
        print(
            f"\n{int(r['units']):,} units, {int(r['instances']):,} instances, {int(r['signals']):,} signals:"
        )
        print(f"  simulate (issue -> summary + 14 d)  {r['simulate_s']:8.1f} s")
        per_tick = r["simulate_s"] / r["ticks"] * 1000
        print(f"  ticks                                {int(r['ticks']):8,}   ({per_tick:.1f} ms each)")
        print(f"  events / notices                     {int(r['events']):8,} / {int(r['notices']):,}")
        print(f"  idle tick (median of 20)             {r['idle_tick_ms']:8.2f} ms")
        print(f"  peak RSS                             {r['rss_mib']:8.0f} MiB")
    small, large = results[args.units // 10], results[args.units]
    print(
        f"\n10x the units: {large['simulate_s'] / small['simulate_s']:.1f}x the simulate time, "
        f"{large['ticks'] / small['ticks']:.1f}x the ticks, "
        f"{(large['simulate_s'] / large['ticks']) / (small['simulate_s'] / small['ticks']):.1f}x per tick"
    )
    for r in (small, large):
        base = floor(int(r["instances"]), int(r["events"]), int(r["notices"]), Path(str(r["log"])))
        shutil.rmtree(Path(str(r["log"])).parent, ignore_errors=True)  # the child's store and log
        ratio = r["simulate_s"] / base["total_s"]
        print(
            f"floor at {int(r['units']):,} units (bench/floor.py: its instance, event and outbox rows "
            f"raw into SQLite, its log rewritten): {base['total_s']:.2f} s; simulate is {ratio:.1f}x"
        )
    if not args.no_prefect:
        child = subprocess.run(
            [sys.executable, str(HERE / "prefect_ceiling.py"), "--runs", "300"],
            capture_output=True,
            text=True,
            check=True,
        )
        ceiling = json.loads(child.stdout.strip().splitlines()[-1])
        per_run = ceiling["ms_per_task_run"] / 1000
        total = per_run * large["instances"]
        print(
            f"ceiling: one Prefect task run per instance, {ceiling['ms_per_task_run']:.1f} ms each "
            f"(300 under prefect_test_harness) x {int(large['instances']):,} instances = "
            f"{total / 60:.0f} min "
            f"for ONE pass over them ({total / large['simulate_s']:.1f}x the whole simulated campaign)"
        )
    met = large["simulate_s"] < 60 and large["rss_mib"] < 1536 and large["idle_tick_ms"] < 50
    print(f"targets (simulate < 60 s, < 1.5 GiB, idle tick < 50 ms): {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
