"""A national tick's digests dispatch on PostgreSQL: the top unit's digest alone holds over
120,000 notices, so every IN list the outbox builds from a page of digests must stay under
PostgreSQL's 65,535 parameters (the sent-key check put them all in one list, and every run of
the campaign failed from then on). The bench generator's national campaign (60,988 units), no
signal, ticked once after its summary date: ~800,000 notices."""

from __future__ import annotations

import sys
from pathlib import Path

import pendulum
from sqlalchemy import Engine, func, select

from cascade.compile.files import load_plan
from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.outbox import Delivery, Digest, dispatch
from cascade.engine.tick import tick

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from gen_national import generate


def test_a_national_ticks_digests_dispatch_on_postgresql(postgres_engine: Engine, tmp_path: Path) -> None:
    store_engine = postgres_engine
    campaign, _ = generate(60000, tmp_path)
    plan = load_plan(campaign)
    deploy(store_engine, plan, "source", plan.campaign.issued_at)
    now = pendulum.datetime(2021, 7, 20, 9, tz="Asia/Ho_Chi_Minh")
    tick(store_engine, "national-bench", now)
    o = store.outbox.c
    with store_engine.connect() as conn:
        sizes = dict(conn.execute(select(o.digest_key, func.count()).group_by(o.digest_key)).tuples().all())
    assert max(sizes.values()) > 65_535  # the top unit's digest, on one page

    sent: dict[str, int] = {}

    def send(digest: Digest) -> Delivery:
        sent[digest.key] = len(digest.notices)
        return Delivery("sent", "email", f"{digest.unit}@example.vn", 1)

    outcome = dispatch(store_engine, "national-bench", int(now.timestamp()), send)
    assert outcome == {"sent": len(sizes)}
    assert sent == sizes  # every digest once, whole
    with store_engine.connect() as conn:
        statuses = dict(conn.execute(select(o.status, func.count()).group_by(o.status)).tuples().all())
        logged = conn.execute(select(func.count()).select_from(store.deliveries)).scalar_one()
    assert statuses == {"sent": sum(sizes.values())}
    assert logged == sum(sizes.values())  # one delivery-log row per notice
    # a second dispatch finds nothing left to send
    assert dispatch(store_engine, "national-bench", int(now.timestamp()), send) == {}
