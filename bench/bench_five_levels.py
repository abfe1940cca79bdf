"""Benchmark: `cascade simulate` of a five-level national campaign, against its physical floor.

For 6, 21 and 63 provinces (about 1/10, 1/3 and the whole nation: 66,844 units, ~250,000
instances, ~220,000 signals), generates the campaign with bench/gen_five_levels.py and runs,
as an operator would,

    cascade simulate five-levels.yaml --signals five-signals.csv --out events.jsonl

in a fresh process: wall time, peak RSS (of that process), events and notices. Beside each,
the floor measured in the same run (bench/floor.py: the same numbers of instance, event and
outbox rows inserted raw into SQLite, and the event log rewritten with orjson) and the ratio.
Then `cascade validate` of the whole nation (median of --repeat fresh processes), back to back
with another checkout's when --validate-vs names one.
Targets (issue 19): simulate within 3x the floor and under 1.5 GiB; validate in half the time
of the code before (a checkout of it: `git worktree add /tmp/before <commit>`).

    .venv/bin/python bench/bench_five_levels.py [--scales 6,21,63] [--repeat 3]
        [--code DIR]          run the cascade found in DIR (another checkout) instead
        [--validate-vs DIR]   time DIR's validate back to back with this one's
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from floor import floor  # noqa: E402
from gen_five_levels import generate  # noqa: E402

TARGET_RATIO, TARGET_MIB, TARGET_VALIDATE = 3.0, 1536, 0.5  # validate: a ratio to the code before


def cascade(code: Path | None) -> list[str]:
    """The command that runs `cascade`: this checkout's, or the one in `code`."""
    if code is None:
        return [str(Path(sys.executable).parent / "cascade")]
    return [
        sys.executable,
        "-c",
        f"import sys; sys.path.insert(0, {str(code)!r}); from cascade.cli import main; main()",
    ]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of one fresh process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({os.waitstatus_to_exitcode(status)}): {' '.join(argv)}\n{text}")
    return wall, usage.ru_maxrss / 1024, text


def number(pattern: str, text: str) -> int:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in:\n{text}"
    return int(m.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="6,21,63", help="provinces per run")
    parser.add_argument("--repeat", type=int, default=3, help="validate runs (median)")
    parser.add_argument("--code", type=Path, help="run another checkout's cascade instead of this one")
    parser.add_argument(
        "--validate-vs", type=Path, help="time this checkout's validate back to back with ours"
    )
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    env = {**os.environ, "CASCADE_LANG": "en", "COLUMNS": "200"}
    command = cascade(args.code)
    rows = []
    for provinces in (int(p) for p in args.scales.split(",")):
        campaign, _units, signals = generate(provinces, args.out)
        _w, _r, checked = timed([*command, "validate", str(campaign)], env)
        instances = number(r"([\d,]+) instances", checked)
        log = args.out / f"five-events-{provinces}p.jsonl"
        argv = [*command, "simulate", str(campaign), "--signals", str(signals), "--out", str(log)]
        wall, rss, printed = timed(argv, env)
        events = sum(1 for _ in log.open("rb"))
        notices = number(r"notices captured\s*│\s*([\d,]+)", printed)
        base = floor(instances, events, notices, log)
        rows.append(
            (provinces, instances, sum(1 for _ in signals.open()) - 1, events, notices, wall, rss, base)
        )
        log.unlink()
    print(f"\n{'provinces':>9} {'instances':>10} {'signals':>9} {'events':>10} {'notices':>9} "
          f"{'simulate':>9} {'peak RSS':>9} {'floor':>7} {'ratio':>6} {'s/100k ev':>9}")  # fmt: skip
    for provinces, instances, signals_n, events, notices, wall, rss, base in rows:
        print(
            f"{provinces:>9} {instances:>10,} {signals_n:>9,} {events:>10,} {notices:>9,} {wall:>8.1f}s "
            f"{rss:>6.0f}MiB {base['total_s']:>6.1f}s {wall / base['total_s']:>5.1f}x "
            f"{wall / events * 1e5:>8.2f}s"
        )
    largest = rows[-1]
    ratio = largest[5] / largest[7]["total_s"]
    print(
        f"floor of the largest: insert {largest[7]['insert_s']:.1f} s + event log {largest[7]['log_s']:.1f} s"
    )
    campaign, _units, _signals = generate(max(int(p) for p in args.scales.split(",")), args.out)
    checks: list[float] = []
    others: list[float] = []
    for _ in range(args.repeat):  # back to back with the other checkout, if any
        checks.append(timed([*command, "validate", str(campaign)], env)[0])
        if args.validate_vs:
            others.append(timed([*cascade(args.validate_vs), "validate", str(campaign)], env)[0])
    mine = statistics.median(checks)
    print(f"validate ({largest[1]:,} instances): median {mine:.2f} s ({min(checks):.2f}-{max(checks):.2f})")
    met = ratio <= TARGET_RATIO and largest[6] < TARGET_MIB
    targets = f"simulate <= {TARGET_RATIO:.0f}x floor, < {TARGET_MIB} MiB"
    if others:
        theirs = statistics.median(others)
        print(f"validate of {args.validate_vs}: median {theirs:.2f} s; this one takes {mine / theirs:.2f}x")
        met = met and mine <= TARGET_VALIDATE * theirs
        targets += f"; validate <= {TARGET_VALIDATE}x the other's"
    print(f"targets ({targets}): {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
