"""A dispatcher killed (SIGKILL) in the middle of a batch and started again: no notice is
lost, and the duplicates are at most the digests that were in flight.

The dispatcher runs as `cascade dispatch` in its own process against a real SMTP server on
loopback (aiosmtpd, 5 ms per message so the kill lands mid-run). Every message carries
its digest's idempotency key (X-Cascade-Key), so the server's inbox says exactly what
arrived how often.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pendulum
from sqlalchemy import func, select

from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.outbox import Digest, notice_key
from cascade.engine.tick import tick
from tests.conftest import compile_text
from tests.servers import Inbox

CASCADE = str(Path(sys.executable).parent / "cascade")
TZ = "Asia/Ho_Chi_Minh"
DIGESTS = 400
CONCURRENCY = 8
HEADER = """\
campaign:
  id: crash
  title: Chiến dịch thử
  issued_on: 10/11/2020
  units: units.yaml
  summary_date: 20/01/2021
"""
TASKS = """\
tasks:
  - {id: hn-huyen, title: Hội nghị huyện, level: district, due: {before: 30/11/2020}}
"""


def units(n: int) -> str:
    children = "".join(
        f"      - {{id: hu-{i}, name: Huyện ủy {i}, level: district, "
        f"contacts: [{{role: head, email: h{i}@example.vn}}]}}\n"
        for i in range(n)
    )
    return (
        "levels: [province, district]\nunits:\n  - id: tu-a\n    name: Tỉnh ủy A\n    level: province\n"
        "    contacts: [{role: head, email: vp@example.vn}]\n    children:\n" + children
    )


def test_a_killed_dispatcher_loses_nothing_and_resends_only_what_was_in_flight(
    tmp_path: Path, smtp: tuple[str, Inbox]
) -> None:
    url, inbox = smtp
    inbox.delay = 0.005
    db = f"sqlite:///{tmp_path / 'store.db'}"
    engine = store.open_store(db)
    issued = pendulum.datetime(2020, 11, 10, 8, tz=TZ)
    deploy(engine, compile_text(TASKS, units(DIGESTS), HEADER), "source", issued)
    tick(engine, "crash", issued)
    o = store.outbox.c
    with engine.connect() as conn:
        assert conn.execute(select(func.count(o.digest_key.distinct()))).scalar() == DIGESTS
    env = {
        **os.environ,
        "CASCADE_DATABASE_URL": db,
        "CASCADE_SMTP_URL": url,
        "CASCADE_DISPATCH_CONCURRENCY": str(CONCURRENCY),
        "CASCADE_DISPATCH_LEASE": "1",  # a dead dispatcher's claim is taken over after 1 s
    }
    command = [CASCADE, "dispatch", "crash", "--now", "2020-11-10 08:00"]

    kills = []
    for stop_at in (DIGESTS // 4, DIGESTS // 2):  # kill it twice, at different points
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(inbox.messages) < stop_at and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert process.poll() is None, "the dispatcher finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills.append(len(inbox.messages))
        with engine.connect() as conn:
            claimed = conn.execute(select(func.count()).where(o.status == "sending")).scalar()
        assert claimed, "the kill left no claimed rows: it did not land mid-batch"
        time.sleep(1.2)  # the lease runs out

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    keys = Counter(message["X-Cascade-Key"] for message in inbox.parsed())
    notices: dict[str, list[str]] = {}
    with engine.connect() as conn:
        statuses = Counter(conn.execute(select(o.status)).scalars())
        for row in conn.execute(select(o.digest_key, o.recipient_unit, o.role, o.payload)):
            notices.setdefault(row.digest_key, []).append(
                notice_key("crash", row.recipient_unit, row.role, row.payload)
            )
    expected = {Digest("", "", "", [], keys=k).idempotency_key for k in notices.values()}

    assert statuses == {"sent": DIGESTS}  # every notice recorded as delivered
    assert set(keys) == expected  # no notice lost: every digest arrived
    duplicates = sum(n - 1 for n in keys.values())
    # in flight at a kill: at most the dispatcher's window of 2 x concurrency sends
    assert duplicates <= 2 * 2 * CONCURRENCY
    print(
        f"\ncrash test: {DIGESTS} digests, killed at {kills} messages received, "
        f"{sum(keys.values())} messages, {duplicates} duplicates (bound {2 * 2 * CONCURRENCY})"
    )
