"""The watchdog: a deployed campaign that stops ticking is told to the operator (real SMTP
server on loopback), shown on the status page and in /healthz, and cleared when it ticks again."""

from __future__ import annotations

import time
from email.header import decode_header, make_header
from typing import Any

from sqlalchemy import Engine, select, update

from cascade.engine import health, locks, store
from cascade.engine.deploy import deploy
from cascade.engine.tick import TickResult, tick_in
from notifiers.channels import ChannelConfig
from notifiers.watchdog import check
from tests.conftest import compile_text
from tests.servers import Inbox
from tests.test_summary import TASKS, at
from tests.test_web import TOKEN, client_for, csrf

INTERVAL = 600


def deployed(engine: Engine) -> None:
    deploy(engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    health.record_interval(engine, "test-campaign", INTERVAL)


def live_tick(engine: Engine, now: Any) -> TickResult:
    """A tick as the flow and `cascade tick` run it: holding the campaign (cascade.engine.locks)."""
    with locks.ticking(engine, "test-campaign", locks.me("test")) as conn:
        return tick_in(conn, "test-campaign", now)


def last_ticked(engine: Engine, wall: int) -> None:
    c = store.campaigns.c
    with engine.begin() as conn:
        conn.execute(update(store.campaigns).where(c.id == "test-campaign").values(ticked_at=wall))


def test_a_live_tick_stamps_the_campaign_with_the_wall_clock_even_when_idle(store_engine: Engine) -> None:
    deployed(store_engine)
    before = int(time.time())
    live_tick(store_engine, at("2020-11-11 08:00"))
    assert live_tick(store_engine, at("2020-11-11 08:00")).idle
    [h] = health.read(store_engine, int(time.time()), 60)
    assert h.ticked_at is not None and h.ticked_at >= before
    assert h.interval == INTERVAL and not h.stalled


def test_a_campaign_without_a_tick_for_three_intervals_is_told_to_the_operator_once(
    store_engine: Engine, smtp: tuple[str, Inbox]
) -> None:
    url, inbox = smtp
    config = ChannelConfig(smtp_url=url)
    deployed(store_engine)
    now = int(time.time())
    last_ticked(store_engine, now - 3 * INTERVAL + 5)  # not yet three intervals
    assert check(store_engine, 60, now, config) == []
    assert inbox.messages == []

    last_ticked(store_engine, now - 3 * INTERVAL - 5)
    [told] = check(store_engine, 60, now, config)
    assert told.campaign == "test-campaign" and told.result is not None and told.result.ok
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["vp@example.vn"]  # the top unit's first contact: no operator is named
    [message] = inbox.parsed()
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "[Cascade] Cảnh báo: chiến dịch «Chiến dịch thử» đã ngừng chạy"
    [text] = [
        p.get_payload(decode=True).decode() for p in message.walk() if p.get_content_type() == "text/plain"
    ]
    assert "(test-campaign) đã 30 phút" in text and "chu kỳ: 10 phút" in text
    assert check(store_engine, 60, now + 60, config) == []  # told once, not every minute
    assert len(inbox.messages) == 1

    last_ticked(store_engine, now + 100)  # it ticks again: the alert is cleared ...
    assert check(store_engine, 60, now + 120, config) == []
    [h] = health.read(store_engine, now + 120, 60)
    assert h.alerted_at is None
    last_ticked(store_engine, now - 10 * INTERVAL)  # ... so a second stall is told again
    assert len(check(store_engine, 60, now, config)) == 1
    assert len(inbox.messages) == 2


def test_an_alert_no_channel_takes_is_tried_again_at_the_next_check(
    store_engine: Engine, smtp: tuple[str, Inbox]
) -> None:
    deployed(store_engine)
    now = int(time.time())
    last_ticked(store_engine, now - 4 * INTERVAL)
    [told] = check(store_engine, 60, now, ChannelConfig(smtp_url=None))  # no SMTP server configured
    assert told.result is None
    [h] = health.read(store_engine, now, 60)
    assert h.stalled and h.alerted_at is None  # not marked as told
    url, inbox = smtp
    [told] = check(store_engine, 60, now + 60, ChannelConfig(smtp_url=url))
    assert told.result is not None and told.result.ok and len(inbox.messages) == 1


def test_a_campaign_deployed_and_never_ticked_counts_from_its_deploy(store_engine: Engine) -> None:
    deploy(store_engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    c = store.campaigns.c
    with store_engine.connect() as conn:
        deployed_at = conn.execute(select(c.deployed_at)).scalar_one()
    [h] = health.read(store_engine, deployed_at + 3 * 600 + 1, 600)
    assert h.ticked_at is None and h.stalled


def login(client: Any) -> None:
    page = client.get("/status")
    client.post("/login", data={"csrf": csrf(page.text), "token": TOKEN, "next": "/status"})


def test_healthz_and_the_status_page_show_a_stalled_campaign(store_engine: Engine) -> None:
    deployed(store_engine)
    live_tick(store_engine, at("2020-12-05 09:00"))
    with client_for(store_engine) as client:
        ok = client.get("/healthz").json()
        assert ok["status"] == "ok"
        assert ok["campaigns"]["test-campaign"]["stalled"] is False
        assert ok["campaigns"]["test-campaign"]["interval_s"] == INTERVAL
        assert ok["campaigns"]["test-campaign"]["last_tick_age_s"] < 60
        login(client)
        assert "data-stalled" not in client.get("/status/test-campaign").text

        last_ticked(store_engine, int(time.time()) - 4 * INTERVAL)
        stalled = client.get("/healthz").json()
        assert stalled["status"] == "stalled" and stalled["campaigns"]["test-campaign"]["stalled"]
        assert stalled["campaigns"]["test-campaign"]["last_tick_age_s"] >= 4 * INTERVAL
        board = client.get("/status/test-campaign").text
        assert 'data-stalled="test-campaign"' in board and "đã ngừng chạy" in board
        assert 'data-stalled="test-campaign"' in client.get("/status").text
