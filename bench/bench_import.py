"""Benchmark: `cascade signal --import FILE.csv` on two file sizes, each in a fresh process;
prints rows, megabytes, seconds and the process's peak memory, and the ratios between the
sizes. The import streams (issue 16: a 50 MB file took 1.95 GB): memory should stay flat
while the file grows ten times.

    .venv/bin/python bench/bench_import.py [--rows 40000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parent.parent
CHILD = """
import json, resource, sys, time
from pathlib import Path
import pendulum
from cascade.engine.signal_files import import_table
from cascade.engine.store import open_store
engine = open_store(sys.argv[1])
t0 = time.perf_counter()
now = pendulum.parse("2021-01-10T08:00:00+07:00")
stored, known = import_table(engine, "ha-tinh-xix-2020", Path(sys.argv[2]), "bench", now)
print(json.dumps({"stored": stored, "s": time.perf_counter() - t0,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write(path: Path, rows: int, units: list[str]) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("at,unit,task,attendees,members\n")
        for n in range(rows):
            minute = n // len(units)
            when = f"2020-12-{1 + minute // 1440:02d} {minute // 60 % 24:02d}:{minute % 60:02d}"
            out.write(f"{when},{units[n % len(units)]},hn-co-so,40,50\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=40_000, help="rows of the smaller file (the larger: 10x)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from cascade.compile.files import load_plan
    from cascade.engine.deploy import deploy
    from cascade.engine.store import open_store

    plan = load_plan(ROOT / "campaigns" / "ha-tinh-xix-2020.yaml")
    units = sorted({i.unit for i in plan.instances if i.task == "hn-co-so"})
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in (args.rows, 10 * args.rows):
            url = f"sqlite:///{folder}/s{rows}.db"
            deploy(open_store(url), plan, "bench", plan.campaign.issued_at)
            csv = Path(folder) / f"s{rows}.csv"
            write(csv, rows, units)
            done = subprocess.run([sys.executable, "-c", CHILD, url, str(csv)], cwd=ROOT, capture_output=True,
                                  text=True, check=True)  # fmt: skip
            result = {"rows": rows, "mb": csv.stat().st_size / 1e6, **json.loads(done.stdout)}
            results.append(result)
            print(
                f"{rows:>9,} rows {result['mb']:6.1f} MB: {result['s']:6.1f} s, "
                f"{rows / result['s']:,.0f} rows/s, peak {result['peak_mib']:.0f} MiB"
            )
    small, large = results
    time, memory = large["s"] / small["s"], large["peak_mib"] / small["peak_mib"]
    print(f"10x the file: {time:.1f}x the time, {memory:.2f}x the memory")


if __name__ == "__main__":
    main()
