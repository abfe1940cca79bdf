"""Dispatch: due outbox rows grouped into digests, statuses recorded, nothing sent twice."""

from __future__ import annotations

from sqlalchemy import Engine, select

from cascade import store
from cascade.outbox import Digest, dispatch, due_digests

ROW = {
    "campaign_id": "c",
    "tick": 1,
    "kind": "reminder.sent",
    "role": "head",
    "channels": [["email", "a@example.vn"]],
    "status": "pending",
}


def add(engine: Engine, unit: str, send_at: int, n: int) -> None:
    rows = [
        {
            **ROW,
            "send_at": send_at,
            "recipient_unit": unit,
            "digest_key": f"c|{unit}|head|{send_at}",
            "payload": {"n": i},
        }
        for i in range(n)
    ]
    with engine.begin() as conn:
        store.insert_many(conn, store.outbox, rows)


def statuses(engine: Engine) -> list[tuple[str, str]]:
    o = store.outbox.c
    with engine.connect() as conn:
        return sorted((r.recipient_unit, r.status) for r in conn.execute(select(o.recipient_unit, o.status)))


def test_due_rows_group_into_one_digest_per_recipient_and_send_time(store_engine: Engine) -> None:
    add(store_engine, "x-c", 100, 3)
    add(store_engine, "x-d", 100, 1)
    add(store_engine, "x-c", 200, 2)  # not due yet at 150
    digests = due_digests(store_engine, "c", 150)
    assert sorted((d.unit, len(d.notices)) for d in digests) == [("x-c", 3), ("x-d", 1)]
    assert {d.channels[0][0] for d in digests} == {"email"}


def test_dispatch_records_each_outcome_and_never_hands_a_digest_over_twice(store_engine: Engine) -> None:
    for unit in ("x-c", "x-d", "x-f"):
        add(store_engine, unit, 100, 2)
    seen: list[str] = []

    def send(digest: Digest) -> str:
        seen.append(digest.unit)
        return "pending" if digest.unit == "x-f" else "sent"  # x-f: retry later

    assert dispatch(store_engine, "c", 150, send, batch=1) == {"sent": 2, "pending": 1}
    assert statuses(store_engine) == [("x-c", "sent")] * 2 + [("x-d", "sent")] * 2 + [("x-f", "pending")] * 2
    seen.clear()
    assert dispatch(store_engine, "c", 150, send) == {"pending": 1}
    assert seen == ["x-f"]
