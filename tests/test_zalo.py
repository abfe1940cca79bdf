"""The zalo:// and zns:// Apprise services against a local HTTP server speaking Zalo's API.

The fake (tests/servers.py) is a plain `http.server`: it must see the `access_token` header
as sent.
"""

from __future__ import annotations

from typing import Any

import apprise
import pytest

import notifiers  # noqa: F401  (registers zalo:// and zns://)
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
    assert s.notify(body="Hạn chót: trước 00 giờ ngày 30/11/2020.", title="Hội nghị huyện")
    [request] = zalo.requests
    assert request["path"] == "/message/template"
    assert request["body"] == {
        "phone": "84912000001",
        "template_id": "tpl-42",
        "template_data": {"title": "Hội nghị huyện", "message": "Hạn chót: trước 00 giờ ngày 30/11/2020."},
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
