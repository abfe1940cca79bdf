"""Benchmark: validate + plan a national-scale campaign (≈60,000 units over 5 levels).

Each measurement runs in a fresh Python process (so imports, caches and the allocator
start cold, as for an operator's `cascade validate`) and is repeated; the median is
printed with the spread. Also runs a 10x smaller campaign, so the ratio shows how the
cost grows with the number of units. Targets (issue 2): under 5 s and 1 GiB.

    .venv/bin/python bench/bench_compile.py [--units 60000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from gen_national import generate  # noqa: E402

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from cascade.compile.files import load_plan
from cascade.views.tables import write_csv
t1 = time.perf_counter()
plan = load_plan(sys.argv[1])
t2 = time.perf_counter()
with open("/dev/null", "w") as out:
    write_csv(plan, iter(plan.instances), out)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "validate_plan": t2 - t1, "render_csv": t3 - t2,
                  "units": len(plan.hierarchy.units), "instances": len(plan.instances),
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(campaign: Path, repeat: int) -> dict[str, list[float]]:
    runs: dict[str, list[float]] = {}
    for _ in range(repeat):
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(campaign)], capture_output=True, text=True, check=True
        )
        for key, value in json.loads(child.stdout).items():
            runs.setdefault(key, []).append(value)
        start = time.perf_counter()
        cli = Path(sys.executable).parent / "cascade"
        subprocess.run([str(cli), "validate", str(campaign)], capture_output=True, check=True)
        runs.setdefault("cli_validate", []).append(time.perf_counter() - start)
    return runs


def row(name: str, values: list[float], unit: str) -> str:
    spread = f"({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else ""
    return f"  {name:<28}{statistics.median(values):>9.2f} {unit} {spread}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=60000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out = HERE / "out"
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    results = {}
    for size in (args.units // 10, args.units):
        campaign, _ = generate(size, out)
        runs = measure(campaign, args.repeat)
        results[size] = runs
        print(
            f"\n{int(runs['units'][0]):,} units, {int(runs['instances'][0]):,} instances "
            f"(median of {args.repeat} fresh processes, min-max):"
        )
        print(row("import cascade", runs["import"], "s"))
        print(row("read + validate + plan", runs["validate_plan"], "s"))
        print(row("render plan as CSV", runs["render_csv"], "s"))
        print(row("`cascade validate` end to end", runs["cli_validate"], "s"))
        print(row("peak RSS", runs["rss_mib"], "MiB"))
    small, large = (statistics.median(results[s]["validate_plan"]) for s in sorted(results))
    print(f"\nscaling: 10x the units costs {large / small:.1f}x the validate+plan time")
    big = results[args.units]
    verdict = statistics.median(big["cli_validate"]) < 5 and statistics.median(big["rss_mib"]) < 1024
    print(f"target (< 5 s and < 1 GiB at {args.units:,} units): {'met' if verdict else 'MISSED'}")


if __name__ == "__main__":
    main()
