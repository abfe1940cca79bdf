"""The physical floor of a simulation: what writing its rows and its event log costs at least.

The rows a simulation leaves (instances, events, outbox) made and inserted raw into a fresh
SQLite file of the store's schema, journal and fsync off, in one transaction by `executemany`; then
the simulation's own event log (JSON lines) read back, parsed and written again with orjson.
No engine, no ORM, no decisions: the cost of the bytes alone. A simulation's time divided by
this floor, both measured in the same run, is a ratio that holds while the machine's speed
drifts from day to day.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

import orjson

INSTANCE_COLUMNS = (
    "campaign_id, task_id, unit_id, kind, state, opens_on, open_at, prereq_task, prereq_unit, opened_at,"
    " deadline, next_reminder_at, stage, next_escalation_at, next_action_at, archived, tick"
)
EVENT_COLUMNS = "campaign_id, tick, at, kind, task_id, unit_id, data"
OUTBOX_COLUMNS = (
    "campaign_id, tick, send_at, kind, recipient_unit, role, channels, digest_key, payload, status"
)


def floor(instances: int, events: int, outbox: int, event_log: Path) -> dict[str, float]:
    """Seconds to insert the rows raw, to rewrite the event log, and their sum (`total`).

    The tables are the store's own (its schema and indexes, made by SQLAlchemy from
    cascade.engine.store); the rows are made and inserted through the sqlite3 module inside
    the measurement, their JSON columns taken from the simulation's event log."""
    from sqlalchemy import create_engine

    from cascade.engine.store import metadata

    lines = [line.decode() for line in event_log.read_bytes().splitlines()] or ['{"kind": "task.opened"}']
    with tempfile.TemporaryDirectory(prefix="cascade-floor-") as folder:
        path = Path(folder) / "floor.db"
        metadata.create_all(create_engine(f"sqlite:///{path}"))
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        start = time.perf_counter()
        db.execute("BEGIN")
        db.executemany(
            f"INSERT INTO instances ({INSTANCE_COLUMNS}) VALUES ({', '.join('?' * 17)})",
            (
                ("c", f"t{n % 7}", f"u{n}", "task", "open", "prerequisite", None, f"t{n % 7 - 1}",
                 f"p{n // 15}", 1_700_000_000 + n, 1_700_100_000, 1_700_050_000, 0, None, 1_700_050_000,
                 False, n // 100)
                for n in range(instances)
            ),
        )  # fmt: skip
        db.executemany(
            f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                ("c", n // 100, 1_700_000_000 + n, "task.opened", f"t{n % 7}", f"u{n}", line)
                for n, line in enumerate(islice(cycle(lines), events))
            ),
        )
        db.executemany(
            f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ("c", n // 100, 1_700_000_000 + n, "task.opened", f"u{n}", "head",
                 '[["email", "u@example.vn"]]', f"c|u{n}|head|{n // 100}", line, "pending")
                for n, line in enumerate(islice(cycle(lines), outbox))
            ),
        )  # fmt: skip
        db.execute("COMMIT")
        inserted = time.perf_counter() - start
        db.close()
        start = time.perf_counter()
        with event_log.open("rb") as source, (Path(folder) / "events.jsonl").open("wb") as out:
            for line in source:
                out.write(orjson.dumps(orjson.loads(line)) + b"\n")
        rewritten = time.perf_counter() - start
    return {"insert_s": inserted, "log_s": rewritten, "total_s": inserted + rewritten}
