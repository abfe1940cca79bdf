"""Dispatch: due outbox rows grouped into digests, statuses recorded, nothing sent twice."""

from __future__ import annotations

from sqlalchemy import Engine, select

from cascade.engine import bulk, store
from cascade.engine.outbox import Claim, Delivery, Digest, dispatch, due_digests

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
        bulk.insert_many(conn, store.outbox, rows)


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

    def send(digest: Digest) -> Delivery:
        seen.append(digest.unit)
        return Delivery("pending" if digest.unit == "x-f" else "sent")  # x-f: retry later

    assert dispatch(store_engine, "c", 150, send, batch=1) == {"sent": 2, "pending": 1}
    assert statuses(store_engine) == [("x-c", "sent")] * 2 + [("x-d", "sent")] * 2 + [("x-f", "pending")] * 2
    seen.clear()
    assert dispatch(store_engine, "c", 150, send) == {"pending": 1}
    assert seen == ["x-f"]


def test_two_dispatchers_never_share_a_digest(store_engine: Engine) -> None:
    for unit in ("x-c", "x-d"):
        add(store_engine, unit, 100, 2)
    first, second = Claim(store_engine, "c", 150), Claim(store_engine, "c", 150)
    assert first.take() == 4
    assert second.take() == 0  # everything is held by the first, within its lease
    assert [d.unit for page in second.pages() for d in page] == []
    assert sorted(d.unit for page in first.pages() for d in page) == ["x-c", "x-d"]


def test_a_dead_dispatchers_claim_is_taken_over_after_its_lease(store_engine: Engine) -> None:
    add(store_engine, "x-c", 100, 2)
    wall = [1000.0]
    dead = Claim(store_engine, "c", 150, lease=60, clock=lambda: wall[0])
    assert dead.take() == 2  # ... and the process is killed before it records anything
    wall[0] += 59
    assert Claim(store_engine, "c", 150, lease=60, clock=lambda: wall[0]).take() == 0
    wall[0] += 2
    heir = Claim(store_engine, "c", 150, lease=60, clock=lambda: wall[0])
    assert heir.take() == 2
    [[digest]] = list(heir.pages())
    assert digest.resent  # it may have gone out already: counted as a re-send
    heir.record([(digest, Delivery("sent", "email", "a@example.vn", 1))])
    dead.record([(digest, Delivery("failed"))])  # a late answer from the old claim changes nothing
    assert statuses(store_engine) == [("x-c", "sent")] * 2


def test_a_notice_already_delivered_is_not_sent_again_from_another_row(store_engine: Engine) -> None:
    add(store_engine, "x-c", 100, 2)
    claim = Claim(store_engine, "c", 150)
    claim.take()
    [[digest]] = list(claim.pages())
    claim.record([(digest, Delivery("sent", "email", "a@example.vn", 1, "id-1"))])
    add(store_engine, "x-c", 100, 1)  # the same notice (payload n=0) written again, e.g. by a restored backup
    again = Claim(store_engine, "c", 150)
    assert again.take() == 1
    assert list(again.pages()) == []
    assert statuses(store_engine) == [("x-c", "duplicate")] + [("x-c", "sent")] * 2
    d = store.deliveries.c
    with store_engine.connect() as conn:
        log = conn.execute(select(d.key, d.channel, d.attempts, d.result, d.provider_id)).all()
    assert sorted(row[1:] for row in log) == [("email", 1, "sent", "id-1")] * 2
    assert len({row.key for row in log}) == 2


def test_the_same_notice_twice_in_one_page_is_sent_and_logged_once(store_engine: Engine) -> None:
    """Two ticks can write the same notice (a repeated escalation, a notice written again)
    before a dispatch: one claim then holds both rows. The first is sent, the second marked
    `duplicate`; recording them is not an error (it was a unique violation on the log's key)."""
    add(store_engine, "x-c", 100, 2)
    add(store_engine, "x-c", 100, 1)  # payload n=0 again, not yet sent
    claim = Claim(store_engine, "c", 150)
    assert claim.take() == 3
    [[digest]] = list(claim.pages())
    assert sorted(n["n"] for n in digest.notices) == [0, 1]
    claim.record([(digest, Delivery("sent", "email", "a@example.vn", 1, "id-1"))])
    assert statuses(store_engine) == [("x-c", "duplicate")] + [("x-c", "sent")] * 2
    d = store.deliveries.c
    with store_engine.connect() as conn:
        keys = conn.execute(select(d.key)).scalars().all()
    assert len(keys) == len(set(keys)) == 2


def test_two_dispatchers_recording_the_same_notice_keep_one_log_row(store_engine: Engine) -> None:
    """The same notice in two rows, each held by its own claim (two runs dispatching at once):
    whichever records second finds the notice logged already and keeps the first's row."""
    add(store_engine, "x-c", 100, 1)
    first = Claim(store_engine, "c", 150)
    first.take()
    [[one]] = list(first.pages())
    add(store_engine, "x-c", 100, 1)  # the same notice again, claimed by the second dispatcher
    second = Claim(store_engine, "c", 150)
    second.take()
    [[other]] = list(second.pages())  # read before the first recorded: not yet a duplicate
    first.record([(one, Delivery("sent", "email", "a@example.vn", 1, "id-1"))])
    second.record([(other, Delivery("sent", "email", "a@example.vn", 1, "id-2"))])
    d = store.deliveries.c
    with store_engine.connect() as conn:
        log = conn.execute(select(d.key, d.provider_id)).all()
    assert [row.provider_id for row in log] == ["id-1"]
