"""Where a simulation's time goes: `cascade simulate CAMPAIGN --signals FILE --out LOG` done in
this process a phase at a time, each phase timed (wall clock, with the collector settings
`cascade simulate` uses). For the five-level shape, make the files first
(bench/gen_five_levels.py); bench/bench_five_levels.py times the whole command instead.

    .venv/bin/python bench/phases.py bench/out/five-levels-21p.yaml bench/out/five-signals-21p.csv
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

started = time.perf_counter()
from cascade import collector  # noqa: E402
from cascade.compile.files import load_plan  # noqa: E402
from cascade.engine import store  # noqa: E402
from cascade.engine.deploy import deploy  # noqa: E402
from cascade.engine.signal_files import load_signals  # noqa: E402
from cascade.engine.signals import record  # noqa: E402
from cascade.engine.simulate import Simulation, run_until  # noqa: E402
from cascade.views.eventlog import write_log  # noqa: E402

IMPORTS = time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("campaign", type=Path)
    parser.add_argument("signals", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cascade-phases-"))
    spent = [("imports", IMPORTS, "")]
    last = time.perf_counter()

    def lap(name: str, note: str = "") -> None:
        nonlocal last
        now = time.perf_counter()
        spent.append((name, now - last, note))
        last = now

    try:
        with collector.paused():  # as `cascade simulate` runs
            plan = load_plan(args.campaign)
            lap("compile", f"{len(plan.instances):,} instances")
            signals = load_signals(args.signals, plan.campaign.timezone)
            lap("read the signals file", f"{len(signals):,} signals")
            engine = store.open_store(f"sqlite:///{folder / 'simulation.db'}", durable=False)
            start = plan.campaign.issued_at
            deploy(engine, plan, "phases", start)
            lap("deploy")
            record(engine, plan.campaign.id, signals, "simulation", start, file="signals", allow_future=True)
            lap("record the signals")
            result = Simulation(plan.campaign.id)
            until = plan.campaign.summary_at.add(days=14)
            run_until(engine, plan.campaign.id, plan.campaign.timezone, until, result)
            lap("ticks", f"{result.ticks:,} ticks, {result.counts['notices']:,} notices")
            with engine.connect() as conn, (folder / "events.jsonl").open("wb") as out:
                kinds = write_log(conn, plan.campaign.id, plan.campaign.timezone, out)
            lap("event log", f"{sum(kinds.values()):,} events")
            engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    total = sum(seconds for _name, seconds, _note in spent)
    for name, seconds, note in spent:
        print(f"{name:22} {seconds:7.2f} s  {seconds / total:4.0%}  {note}")
    print(f"{'total':22} {total:7.2f} s")


if __name__ == "__main__":
    main()
