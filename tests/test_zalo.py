"""The zalo:// and zns:// Apprise services against a local HTTP server speaking Zalo's API.

The fake (tests/servers.py) is a plain `http.server`: it must see the `access_token` header
as sent.
"""

from __future__ import annotations

from typing import Any

import apprise
import pytest

import notifiers  # noqa: F401  (registers zalo:// and zns://)
from tests.conftest import compile_text
from tests.servers import FakeZalo


def service(url: str) -> Any:
    a = apprise.Apprise()
    assert a.add(url), url
    return a[0]


def test_oa_text_reaches_every_follower_with_the_token_header(zalo: FakeZalo) -> None:
    s = service(f"zalo://good/5001/5002?base={zalo.base}")
    assert s.notify(body="Đồng chí chưa báo cáo hội nghị cấp huyện.", title="Nhắc việc")
    assert [r["body"]["recipient"]["user_id"] for r in zalo.requests] == ["5001", "5002"]
    assert {r["token"] for r in zalo.requests} == {"good"}
    text = zalo.requests[0]["body"]["message"]["text"]
    assert text.startswith("Nhắc việc") and "chưa báo cáo hội nghị cấp huyện" in text
    assert s.message_ids == ["m1", "m2"]


def test_zns_sends_the_template_with_title_and_message(zalo: FakeZalo) -> None:
    s = service(f"zns://good/tpl-42/84912000001?base={zalo.base}")
    assert s.notify(body="Hạn chót: hết ngày 29/11/2020.", title="Hội nghị huyện")
    [request] = zalo.requests
    assert request["path"] == "/message/template"
    assert request["body"] == {
        "phone": "84912000001",
        "template_id": "tpl-42",
        "template_data": {"title": "Hội nghị huyện", "message": "Hạn chót: hết ngày 29/11/2020."},
    }


@pytest.mark.parametrize("token", ["expired", "limited"])
def test_an_error_code_in_a_200_body_is_a_failed_send(zalo: FakeZalo, token: str) -> None:
    assert service(f"zalo://{token}/5001?base={zalo.base}").notify(body="x") is False
    assert len(zalo.requests) == 1


def test_a_5xx_fails_and_the_next_attempt_succeeds(zalo: FakeZalo) -> None:
    s = service(f"zalo://flaky/5001?base={zalo.base}")
    assert s.notify(body="x") is False
    assert s.notify(body="x") is True


def test_an_unreachable_server_is_a_failed_send() -> None:
    assert service("zalo://good/5001?base=http://127.0.0.1:9").notify(body="x") is False


def test_the_token_is_masked_and_the_url_round_trips(zalo: FakeZalo) -> None:
    s = service(f"zns://S3cret-Token_x/tpl-42/84912000001/84912000002?base={zalo.base}")
    assert "S3cret" not in s.url(privacy=True) and "****" in s.url(privacy=True)
    again = service(s.url())
    assert (again.token, again.template, again.targets, again.base) == (
        "S3cret-Token_x",
        "tpl-42",
        ["84912000001", "84912000002"],
        zalo.base,
    )
    assert len(again) == 2


def test_a_url_without_token_or_recipient_is_refused() -> None:
    assert apprise.Apprise().add("zalo://good") is False
    assert apprise.Apprise().add("zns://good/tpl-42") is False


def test_a_long_digest_is_split_at_zalo_text_limit_not_cut(zalo: FakeZalo) -> None:
    body = "Đơn vị chậm. " * 400  # 5,200 characters
    assert service(f"zalo://good/5001?base={zalo.base}").notify(body=body)
    texts = [r["body"]["message"]["text"] for r in zalo.requests]
    assert len(texts) == 3 and all(len(t) <= 2000 for t in texts)
    assert " ".join(texts).split() == body.split()  # every word arrives (splits drop edge spaces)


# ---- the OA's tokens, refreshed by Cascade (issue: Zalo stopped after a day) ---------------------


def _tokens(engine: Any, zalo: Any, clock: Any = None) -> Any:
    import time

    from notifiers.zalo_tokens import Tokens, ZaloApp

    app = ZaloApp("app-1", "app-secret", f"{zalo.base}/v4/oa/access_token")
    return Tokens(engine, app, clock or time.time)


def test_the_token_is_refreshed_before_it_expires_and_the_pair_rotates(store_engine: Any, zalo: Any) -> None:
    from cascade.engine import store
    from notifiers.channels import ChannelConfig, send
    from notifiers.render import Message

    zalo.oauth("refresh-0")
    now = [1_700_000_000.0]
    tokens = _tokens(store_engine, zalo, lambda: now[0])
    tokens.keep(None, "refresh-0")  # the first pair from the console: only a refresh token
    assert [r["refresh_token"] for r in zalo.refreshes] == ["refresh-0"]
    config = ChannelConfig(zalo_api=zalo.base, tokens=tokens)
    message = Message("s", "t", "<p>t</p>", "t")
    assert send("zalo", "8490", message, config).ok
    assert zalo.requests[-1]["token"] == "access-1"
    now[0] += 90_000 - 1800  # half an hour before it expires (it said expires_in 90000)
    assert send("zalo", "8490", message, config).ok
    assert zalo.requests[-1]["token"] == "access-2"  # refreshed ahead of its expiry
    with store_engine.connect() as conn:
        row = conn.execute(store.zalo_tokens.select()).one()
    assert (row.access_token, row.refresh_token) == ("access-2", "refresh-2")  # single-use: rotated
    assert all(r["secret_key"] == "app-secret" and r["app_id"] == "app-1" for r in zalo.refreshes)


def test_a_token_that_expires_during_a_batch_is_refreshed_once(store_engine: Any, zalo: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from notifiers.channels import ChannelConfig, send
    from notifiers.render import Message

    zalo.oauth("refresh-0")
    tokens = _tokens(store_engine, zalo)
    tokens.keep(None, "refresh-0")
    config = ChannelConfig(zalo_api=zalo.base, tokens=tokens)
    message = Message("s", "t", "<p>t</p>", "t")
    assert send("zalo", "8490", message, config).ok
    zalo.revoke("access-1")  # Zalo ends it early, mid-batch
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: send("zalo", f"849{n}", message, config), range(16)))
    assert all(r.ok for r in results), [r.detail for r in results if not r.ok]
    assert len(zalo.refreshes) == 2  # the first, and exactly one more for the whole batch


def test_two_dispatchers_refreshing_at_once_spend_the_refresh_token_once(
    store_engine: Any, zalo: Any
) -> None:
    import threading

    zalo.oauth("refresh-0")
    first = _tokens(store_engine, zalo)
    first.keep("access-0", "refresh-0", 90_000)
    zalo.valid.add("access-0")
    second = _tokens(store_engine, zalo)
    got: list[str] = []
    barrier = threading.Barrier(2)

    def refresh(tokens: Any) -> None:
        barrier.wait()
        got.append(tokens.refresh("access-0"))

    threads = [threading.Thread(target=refresh, args=(t,)) for t in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert got == ["access-1", "access-1"]
    assert [r["refresh_token"] for r in zalo.refreshes] == ["refresh-0"]


def test_a_refused_refresh_is_a_broken_channel_and_the_operator_is_told(
    store_engine: Any, zalo: Any, smtp: Any
) -> None:
    from cascade.engine.deploy import deploy
    from cascade.engine.tick import tick
    from notifiers.channels import ChannelConfig
    from notifiers.dispatch import Dispatcher, Policy
    from tests.test_dispatch import HEADER, ISSUED, NOW, TASKS, UNITS

    deploy(store_engine, compile_text(TASKS, UNITS, HEADER), "source", ISSUED)
    tick(store_engine, "test-campaign", ISSUED)
    zalo.oauth("refresh-0")
    tokens = _tokens(store_engine, zalo)
    tokens.keep("access-0", "refresh-gone", 90_000)  # its refresh token was spent elsewhere
    zalo.revoke("access-0")
    url, inbox = smtp
    config = ChannelConfig(
        smtp_url=url, zalo_api=zalo.base, zns_api=zalo.base, zns_template="t", tokens=tokens
    )
    outcome = Dispatcher(store_engine, "test-campaign", config, Policy(concurrency=2)).run(NOW)
    [alert] = [a for a in outcome.alerts if a.channel == "zalo"]
    assert "Zalo refused to refresh the access token (Invalid refresh token)" in alert.detail
    assert alert.delivered is not None and alert.delivered.channel == "email"
    assert any("Zalo" in str(m["Subject"]) for m in inbox.parsed())


def test_the_refresh_token_is_renewed_before_it_lapses_though_nothing_is_sent(
    store_engine: Any, zalo: Any
) -> None:
    """Zalo's refresh token lives about 3 months, and Cascade renewed the pair only when a
    message went out: a campaign with nothing to send for that long (waiting for its summary
    date, or `cascade serve` between two campaigns) lost Zalo until the operator ran `cascade
    zalo-token` again. The pair is now renewed once it is 30 days old."""
    from cascade.engine import store

    zalo.oauth("refresh-0")
    now = [1_700_000_000.0]
    tokens = _tokens(store_engine, zalo, lambda: now[0])
    tokens.keep(None, "refresh-0")
    assert len(zalo.refreshes) == 1
    now[0] += 29 * 86_400
    assert tokens.keep_alive() is False and len(zalo.refreshes) == 1  # young enough: left alone
    now[0] += 2 * 86_400
    assert tokens.keep_alive() is True and [r["refresh_token"] for r in zalo.refreshes][-1] == "refresh-1"
    with store_engine.connect() as conn:
        row = conn.execute(store.zalo_tokens.select()).one()
    assert (row.refresh_token, row.refreshed_at) == ("refresh-2", int(now[0]))
    assert tokens.keep_alive() is False  # renewed just now


def test_the_watchdog_keeps_the_zalo_pair_alive(
    store_engine: Any, zalo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What renews it: the watchdog of `cascade serve`'s web application, every minute."""
    import time

    from sqlalchemy import update

    from cascade.engine import store
    from notifiers.watchdog import Watchdog

    monkeypatch.setenv("CASCADE_ZALO_APP_ID", "app-1")
    monkeypatch.setenv("CASCADE_ZALO_SECRET_KEY", "app-secret")
    monkeypatch.setenv("CASCADE_ZALO_OAUTH_URL", f"{zalo.base}/v4/oa/access_token")
    zalo.oauth("refresh-0")
    _tokens(store_engine, zalo).keep(None, "refresh-0")
    with store_engine.begin() as conn:  # renewed 40 days ago, and nothing sent since
        conn.execute(update(store.zalo_tokens).values(refreshed_at=int(time.time()) - 40 * 86_400))
    watchdog = Watchdog(store_engine, 600, every=0.05)
    watchdog.start()
    try:
        deadline = time.monotonic() + 10
        while len(zalo.refreshes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watchdog.stop()
    assert len(zalo.refreshes) == 2
    with store_engine.connect() as conn:
        assert conn.execute(store.zalo_tokens.select()).one().refresh_token == "refresh-2"
