"""Benchmark: the national campaign's summary (≈ 60,000 units) from the store, in each format.

Generates the national units and campaign (bench/gen_national.py: five levels, a report
from every level below the top with a roll-up of commune figures and cell counts), runs
it through the engine on the virtual clock up to its summary date with signals from ~95%
of the instances (as bench_engine.py does), then times, on that store:

- the summary itself (`cascade.engine.summary.build`: every instance, the report's roll-up over
  the whole tree, targets missed, units still missing, timeline, paragraph);
- writing it as Markdown (+ chart), xlsx (every unit, one sheet per level) and docx
  (unit tables capped at 300 rows, as `cascade report` does).

Target (issue 6): the summary generated in under 10 s.

    .venv/bin/python bench/bench_summary.py [--units 60000]
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

from gen_national import generate, national_signals  # noqa: E402

from cascade.compile.files import load_plan  # noqa: E402
from cascade.engine import rollup  # noqa: E402
from cascade.engine.simulate import simulate  # noqa: E402
from cascade.engine.store import open_store  # noqa: E402
from cascade.engine.summary import build  # noqa: E402
from cascade.reports import write  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=60_000)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cascade-bench-summary-"))
    campaign, _ = generate(args.units, folder)
    plan = load_plan(campaign)
    engine = open_store(f"sqlite:///{folder / 'store.db'}", durable=False)
    t0 = time.perf_counter()
    simulate(plan, "bench", national_signals(plan), plan.campaign.summary_at.add(days=1), engine=engine)
    print(
        f"setup: {len(plan.hierarchy.units):,} units, {len(plan.instances):,} instances simulated to the "
        f"summary date in {time.perf_counter() - t0:.1f} s"
    )
    at = plan.campaign.summary_at.add(days=1)
    timings = []
    for _ in range(3):
        rollup._HIERARCHIES.clear()  # as `cascade report` starts: the hierarchy not yet kept in the process
        start = time.perf_counter()
        summary = build(engine, plan.campaign.id, at)
        timings.append(time.perf_counter() - start)
    assert summary is not None
    print(
        f"summary (build, median of 3): {sorted(timings)[1]:.2f} s — {len(summary.units):,} units, "
        f"{len(summary.owed):,} instances owed, {len(summary.misses):,} targets missed"
    )
    for fmt in ("md", "xlsx", "docx"):
        start = time.perf_counter()
        files = write(summary, fmt, folder / f"summary.{fmt}")
        seconds = time.perf_counter() - start
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"  write {fmt:<4}: {seconds:5.2f} s ({size:.1f} MB)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(summary.narrative[:400] + " ...")


if __name__ == "__main__":
    main()
