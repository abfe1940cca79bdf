"""Benchmark: the heaviest live tick of the five-level national campaign, and its simulation,
on PostgreSQL (and on SQLite beside it).

The wave: every district's conference signalled in one tick. The campaign of
bench/gen_five_levels.py (66,844 units) is deployed on a fresh store; the central and the 63
provinces' conferences are signalled and the campaign ticked up to the wave (their openings,
the districts' reminders and escalations, the communes turning overdue while they wait); then
the 630 districts' conferences are recorded for 04/05/2026 07:00 and that one tick is timed:
630 completions (late), 9,450 communes opening, and their second escalation stage (due that
morning: 5 days after their deadline) sent with them, in one transaction. Printed: the tick's
time, its counts, and the rows it wrote per table.

With --simulate, also the whole `cascade simulate` of the campaign on each store (in
process: the same engine calls; the CLI's own run uses a temporary SQLite).

    .venv/bin/python bench/bench_national_tick.py --postgres URL [--provinces 63] [--simulate]

URL: a PostgreSQL server where the benchmark may make (and drop) a database `cascade_bench`,
e.g. the throwaway cluster of `source scripts/postgres.sh; start_throwaway_postgres`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import pendulum  # noqa: E402
from gen_five_levels import generate  # noqa: E402
from sqlalchemy import Engine, create_engine, func, make_url, select, text  # noqa: E402

from cascade import collector  # noqa: E402
from cascade.compile.files import load_plan  # noqa: E402
from cascade.engine import store  # noqa: E402
from cascade.engine.deploy import deploy  # noqa: E402
from cascade.engine.signal_files import load_signals  # noqa: E402
from cascade.engine.signals import Signal, record  # noqa: E402
from cascade.engine.simulate import Simulation, run_until  # noqa: E402
from cascade.engine.tick import tick  # noqa: E402
from cascade.plan.model import Plan  # noqa: E402

TZ = "Asia/Ho_Chi_Minh"
DATABASE = "cascade_bench"  # made afresh on the PostgreSQL server for each run
WAVE = pendulum.datetime(2026, 5, 4, 7, tz=TZ)  # the communes, overdue since 29/04: stage 2 due now


def fresh(url: str) -> Engine:
    """An empty store at `url` (PostgreSQL: its public schema dropped and made again)."""
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    if url.startswith("postgresql"):
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {DATABASE}"))
        admin.dispose()
        url = make_url(url).set(database=DATABASE).render_as_string(hide_password=False)
    return store.open_store(url)


def wave(url: str, plan: Plan) -> dict[str, object]:
    engine = fresh(url)
    cid = plan.campaign.id
    start = time.perf_counter()
    deploy(engine, plan, "bench", plan.campaign.issued_at)
    units = plan.hierarchy.units
    upper = [Signal("tw", "hn-tw", pendulum.datetime(2026, 3, 3, 9, tz=TZ), {})]
    upper += [
        Signal(u, "hn-tinh", pendulum.datetime(2026, 3, 20, 9, tz=TZ), {})
        for u, unit in units.items()
        if unit.level == "province"
    ]
    record(engine, cid, upper, "bench", plan.campaign.issued_at, allow_future=True)
    run_until(engine, cid, TZ, WAVE.subtract(minutes=1), Simulation(cid))
    prepared = time.perf_counter() - start
    districts = [Signal(u, "hn-huyen", WAVE, {}) for u, unit in units.items() if unit.level == "district"]
    record(engine, cid, districts, "bench", WAVE)
    start = time.perf_counter()
    result = tick(engine, cid, WAVE)
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        tick_id = conn.execute(select(func.max(store.ticks.c.id))).scalar_one()
        written = {
            table.name: conn.execute(
                select(func.count()).select_from(table).where(table.c.tick == tick_id)
            ).scalar_one()
            for table in (store.instances, store.events, store.outbox)
        }
    engine.dispose()
    return {"prepared_s": prepared, "tick_s": seconds, "counts": dict(result.counts), "written": written}


def simulated(url: str, plan: Plan, signals: Path) -> dict[str, float]:
    engine = fresh(url)
    cid = plan.campaign.id
    batch = load_signals(signals, plan.campaign.timezone)
    start = time.perf_counter()
    with collector.paused():  # as `cascade simulate` runs
        deploy(engine, plan, "bench", plan.campaign.issued_at)
        record(engine, cid, batch, "simulation", plan.campaign.issued_at, allow_future=True)
        result = Simulation(cid)
        run_until(engine, cid, TZ, plan.campaign.summary_at.add(days=14), result)
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(store.events)).scalar_one()
    engine.dispose()
    return {
        "simulate_s": seconds,
        "ticks": result.ticks,
        "events": events,
        "notices": result.counts["notices"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", required=True, help="a PostgreSQL server's URL (see above)")
    parser.add_argument("--provinces", type=int, default=63)
    parser.add_argument(
        "--simulate", action="store_true", help="also simulate the whole campaign on each store"
    )
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    campaign, _units, signals = generate(args.provinces, args.out)
    plan = load_plan(campaign)
    with tempfile.TemporaryDirectory(prefix="cascade-tick-") as folder:
        stores = {"PostgreSQL": args.postgres, "SQLite": f"sqlite:///{Path(folder) / 'store.db'}"}
        for name, url in stores.items():
            w = wave(url, plan)
            at = WAVE.format("DD/MM/YYYY HH:mm")
            print(f"\n{name}: the district wave at {at} ({len(plan.instances):,} instances)")
            print(f"  tick                 {w['tick_s']:8.2f} s   (brought there in {w['prepared_s']:.1f} s)")
            print(f"  counts               {w['counts']}")
            print(f"  rows written         {w['written']}")
        if args.simulate:
            for name, url in stores.items():
                s = simulated(url, plan, signals)
                print(
                    f"\n{name}: simulate (deploy, signals, every tick to summary + 14 d) "
                    f"{s['simulate_s']:.1f} s, {int(s['ticks']):,} ticks, {int(s['events']):,} events, "
                    f"{int(s['notices']):,} notices"
                )
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
