"""Benchmark: what a caller is told of the signals it stores, with a nation's signals waiting.

`cascade signal` and the web's posts are told, in the transaction that stores their signals,
which of them change nothing (their task already done) and which are dated before the work
that opens them. The five-level nation (bench/gen_five_levels.py) is deployed into a fresh
store and its whole signals file imported as `cascade signal --import` does, timing the
question apart; then single signals are recorded as a web API post records them (told) and as
a simulation does (not told), alternating, and the median of each printed.

Targets: the import's question under a fifth of the import; a post's answer under 50 ms.

    .venv/bin/python bench/bench_told.py [--provinces 63] [--posts 20] [--postgres URL]

`--postgres URL` runs on a fresh database made on that server (URL names any database there;
it is dropped at the end).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pendulum
from sqlalchemy import create_engine, text

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from gen_five_levels import generate  # noqa: E402

from cascade.compile.files import load_plan  # noqa: E402
from cascade.engine import signal_files, signals  # noqa: E402
from cascade.engine.deploy import deploy  # noqa: E402
from cascade.engine.store import open_store  # noqa: E402

TZ = "Asia/Ho_Chi_Minh"
FRESH_DB = "cascade_bench_told"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--provinces", type=int, default=63)
    parser.add_argument("--posts", type=int, default=20, help="single signals recorded each way")
    parser.add_argument("--postgres", help="a PostgreSQL URL: run on a fresh database on that server")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    campaign_file, _units, signals_file = generate(args.provinces, args.out)
    with tempfile.TemporaryDirectory(prefix="cascade-told-") as folder:
        url = _fresh_postgres(args.postgres) if args.postgres else f"sqlite:///{folder}/told.db"
        try:
            _run(url, campaign_file, signals_file, args.posts)
        finally:
            if args.postgres:
                _drop_postgres(args.postgres)


def _run(url: str, campaign_file: Path, signals_file: Path, posts: int) -> None:
    engine = open_store(url)
    plan = load_plan(campaign_file)
    deploy(engine, plan, "bench", plan.campaign.issued_at)
    cid = plan.campaign.id
    asked: list[float] = []
    question = signals.told

    def timed_told(*args: Any, **kwargs: Any) -> signals.Recorded:
        started = time.perf_counter()
        answer = question(*args, **kwargs)
        asked.append(time.perf_counter() - started)
        return answer

    now = pendulum.now(TZ)
    setattr(signal_files, "told", timed_told)  # noqa: B010 (import_table's own name for it)
    started = time.perf_counter()
    imported = signal_files.import_table(engine, cid, signals_file, "cli", now, True, tell=True)
    whole = time.perf_counter() - started
    setattr(signal_files, "told", question)  # noqa: B010
    print(f"{engine.dialect.name}: {plan.campaign.id}, {len(plan.instances):,} instances")
    print(
        f"import of {imported[0]:,} signals: {whole:.2f} s, of which the question {asked[0]:.2f} s "
        f"({asked[0] / whole:.0%}); {len(imported.early):,} dated early, {len(imported.unchanged):,} "
        "changing nothing"
    )
    cell = next(i.unit for i in plan.instances if i.task == "thu-hoach")
    spent: dict[bool, list[float]] = {False: [], True: []}
    for n in range(posts):
        for tell in (False, True):
            at = pendulum.datetime(2026, 6, 1, 8, tz=TZ).add(minutes=2 * n + tell)
            batch = [signals.Signal(cell, "thu-hoach", at, {})]
            started = time.perf_counter()
            signals.record(engine, cid, batch, "api", now, allow_future=True, tell=tell)
            spent[tell].append(time.perf_counter() - started)
    told, plain = statistics.median(spent[True]), statistics.median(spent[False])
    print(f"one signal, told as a web post: median {told * 1000:.1f} ms; not told: {plain * 1000:.1f} ms")
    met = asked[0] <= whole / 5 and told <= 0.05
    print(f"targets (question <= 1/5 of the import, a post told <= 50 ms): {'met' if met else 'MISSED'}")
    engine.dispose()


def _fresh_postgres(url: str) -> str:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {FRESH_DB}"))
        conn.execute(text(f"CREATE DATABASE {FRESH_DB}"))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + FRESH_DB


def _drop_postgres(url: str) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {FRESH_DB} WITH (FORCE)"))
    admin.dispose()


if __name__ == "__main__":
    main()
