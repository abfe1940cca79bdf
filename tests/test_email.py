"""Digests by email to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
from email.header import decode_header, make_header

import pytest

from notifiers.email import email_url, send_email
from notifiers.render import Renderer
from tests.servers import Inbox
from tests.test_render import BASE, UNITS, epoch


def test_a_digest_arrives_as_one_multipart_message_in_vietnamese(smtp: tuple[str, Inbox]) -> None:
    server, inbox = smtp
    notices = [
        {**BASE, "kind": "escalation.sent", "unit": "hu-e", "stage": 2, "lagging": "hu-e"},
        {**BASE, "kind": "reminder.sent", "unit": "hu-b"},
    ]
    message = Renderer("Asia/Ho_Chi_Minh").render(
        notices, "Tỉnh ủy A", UNITS, "ha-tinh", epoch("2020-12-03T07:00:00")
    )
    assert send_email(message, server, "vp@example.vn")[0]
    [received] = inbox.messages
    assert received.rcpt_tos == ["vp@example.vn"]
    parsed = email.message_from_bytes(received.content)
    assert str(make_header(decode_header(parsed["Subject"]))) == "[Cascade] Đôn đốc: 1 việc quá hạn — ha-tinh"
    assert parsed.get_content_type() == "multipart/alternative"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in parsed.walk()
        if p.get_content_maintype() == "text"
    }
    text, html = parts["text/plain"], parts["text/html"]
    assert "Huyện ủy &lt;E&gt; &amp; Co chưa hoàn thành" in html
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[0] == "Kính gửi Tỉnh ủy A,"
    reminder = "Nhắc việc «Hội nghị cấp huyện» (Huyện ủy B): hạn chót trước 00 giờ ngày 30/11/2020"
    assert any(line.endswith(reminder + " (đã quá 3 ngày).") for line in lines)


def test_a_refused_connection_is_a_failed_send() -> None:
    message = Renderer("Asia/Ho_Chi_Minh").render(
        [{**BASE, "kind": "task.opened", "unit": "hu-b"}], "X", UNITS, "c", 0
    )
    ok, failure, detail = send_email(
        message, "mailto://127.0.0.1:9?from=cascade@example.vn&mode=insecure", "a@example.vn"
    )
    assert (ok, failure) == (False, "transient")  # worth retrying: the server may come back
    assert "Connection refused" in detail


def test_smtp_failures_are_told_apart_by_the_servers_reply(
    smtp: tuple[str, Inbox], smtp_auth: tuple[int, Inbox]
) -> None:
    message = Renderer("Asia/Ho_Chi_Minh").render(
        [{**BASE, "kind": "task.opened", "unit": "hu-b"}], "X", UNITS, "c", 0
    )
    server, inbox = smtp
    inbox.refuse.add("gone@example.vn")
    assert send_email(message, server, "gone@example.vn") == (
        False,
        "address",
        "SMTP 550 5.1.1 mailbox unavailable",
    )
    inbox.defer = 1
    assert send_email(message, server, "a@example.vn") == (
        False,
        "transient",
        "SMTP 451 4.3.0 try again later",
    )
    assert send_email(message, server, "a@example.vn", key="k1")[0]
    assert inbox.parsed()[-1]["X-Cascade-Key"] == "k1"

    port, auth_inbox = smtp_auth
    wrong = f"mailto://cascade:wrong@127.0.0.1:{port}?from=cascade@example.vn&mode=insecure"
    ok, failure, detail = send_email(message, wrong, "a@example.vn")
    assert (ok, failure) == (False, "channel")  # bad credentials: every send would fail
    assert detail.startswith("SMTP 535")
    right = f"mailto://cascade:secret@127.0.0.1:{port}?from=cascade@example.vn&mode=insecure"
    assert send_email(message, right, "a@example.vn") == (True, None, "accepted by the SMTP server")
    assert len(auth_inbox.messages) == 1


def test_the_recipient_is_added_to_the_server_url() -> None:
    url = email_url("mailtos://u:p@smtp.example.vn?from=c@example.vn&to=old@example.vn", "new@example.vn")
    assert url == "mailtos://u:p@smtp.example.vn?from=c%40example.vn&to=new%40example.vn"
    with pytest.raises(ValueError, match="mailto:// or mailtos://"):
        email_url("smtp://smtp.example.vn", "a@example.vn")
