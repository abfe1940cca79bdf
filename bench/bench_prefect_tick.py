"""Benchmark: one tick through Prefect (the campaign flow) against the bare engine tick.

On the national-scale data (bench/gen_national.py, ~95% of instances signalled), two
identical stores tick at the same instants, 20 days apart from the issue date (each tick
catches up 20 days of national work): one with `cascade.engine.tick.tick`, one with the
`cascade-campaign` flow under `prefect_test_harness` (a real local Prefect server). Prints
the time of each, their ratio, and how many flow and task runs Prefect records per tick.

    .venv/bin/python bench/bench_prefect_tick.py [--units 60000] [--ticks 6]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=60000)
    parser.add_argument("--ticks", type=int, default=6)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cascade-bench-prefect-"))
    os.environ.setdefault("PREFECT_HOME", str(folder / "prefect"))
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"

    from gen_national import generate, national_signals

    from cascade.compile.files import load_plan
    from cascade.engine.deploy import deploy
    from cascade.engine.signals import record
    from cascade.engine.store import open_store
    from cascade.engine.tick import tick

    campaign, _ = generate(args.units, HERE / "out")
    plan = load_plan(campaign)
    start = plan.campaign.issued_at
    batch = national_signals(plan)
    bare_db, flow_db = folder / "bare.db", folder / "flow.db"
    bare = open_store(f"sqlite:///{bare_db}")
    deploy(bare, plan, "bench", start)
    record(bare, plan.campaign.id, batch, "bench", start)
    bare.dispose()
    shutil.copy(bare_db, flow_db)
    bare = open_store(f"sqlite:///{bare_db}")
    os.environ["CASCADE_DATABASE_URL"] = f"sqlite:///{flow_db}"
    instants = [start.add(days=20 * (n + 1)) for n in range(args.ticks)]

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId
    from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
    from prefect.testing.utilities import prefect_test_harness

    from flows.campaign import campaign_flow

    print(f"{len(plan.hierarchy.units):,} units, {len(plan.instances):,} instances, {len(batch):,} signals")
    print(f"{'tick at':<12} {'events':>8} {'bare s':>8} {'flow s':>8} {'ratio':>6} {'runs':>5}")
    totals = [0.0, 0.0]
    with prefect_test_harness(server_startup_timeout=120):
        for now in instants:
            t0 = time.perf_counter()
            result = tick(bare, plan.campaign.id, now)
            t1 = time.perf_counter()
            state = campaign_flow(plan.campaign.id, now=now.isoformat(), return_state=True)
            t2 = time.perf_counter()
            assert state.is_completed(), state
            run_id = state.state_details.flow_run_id
            with get_client(sync_client=True) as client:
                children = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])
                    ),
                    sort=FlowRunSort.START_TIME_ASC,
                    limit=50,
                )
                ids = [run_id, *(r.id for r in children)]
                tasks = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)),
                    sort=TaskRunSort.ID_DESC,
                    limit=200,
                )
            runs = len(ids) + len(tasks)
            events = sum(v for k, v in result.counts.items() if "." in k)
            totals[0] += t1 - t0
            totals[1] += t2 - t1
            print(
                f"{now.format('DD/MM/YYYY'):<12} {events:>8,} {t1 - t0:>8.2f} {t2 - t1:>8.2f} "
                f"{(t2 - t1) / (t1 - t0):>6.2f} {runs:>5}  ({len(ids)} flow runs, {len(tasks)} task runs)"
            )
    print(
        f"total: bare {totals[0]:.1f} s, through Prefect {totals[1]:.1f} s "
        f"(ratio {totals[1] / totals[0]:.2f}; the flow also dispatches the due digests to the log "
        f"channel and emits up to 1,000 Prefect events per run)"
    )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
