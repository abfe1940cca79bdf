"""The ceiling the engine avoids: one Prefect task run per instance.

Runs a flow of `n` trivial task runs (each "checks one instance") under
`prefect_test_harness` (a real local Prefect server on SQLite) and prints the time per
task run, so that bench_engine.py can extrapolate to the national instance count.

    .venv/bin/python bench/prefect_ceiling.py [--runs 300]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="cascade-prefect-"))
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from prefect import flow, task
    from prefect.testing.utilities import prefect_test_harness

    @task
    def check_instance(n: int) -> int:
        return n

    @flow
    def one_task_run_per_instance(n: int) -> int:
        return sum(check_instance(i) for i in range(n))

    with prefect_test_harness():
        one_task_run_per_instance(5)  # warm up the server and the client
        start = time.perf_counter()
        one_task_run_per_instance(args.runs)
        elapsed = time.perf_counter() - start
    print(json.dumps({"runs": args.runs, "seconds": elapsed, "ms_per_task_run": elapsed / args.runs * 1000}))


if __name__ == "__main__":
    main()
