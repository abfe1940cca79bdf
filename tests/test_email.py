"""Digests by email to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
import ssl
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.header import decode_header, make_header
from pathlib import Path

import apprise.plugins.email.base as apprise_email
import pytest
from aiosmtpd.controller import Controller

from notifiers.email import _ReusedContexts, email_url, send_email
from notifiers.render import Message, Renderer
from tests.servers import Inbox, free_port
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
    reminder = "Nhắc việc «Hội nghị cấp huyện» (Huyện ủy B): hạn chót: hết ngày 29/11/2020"
    assert any(line.endswith(reminder + " (đã quá 4 ngày).") for line in lines)  # 30/11 to 03/12


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


@pytest.fixture
def smtps(tmp_path: Path) -> Iterator[tuple[int, Inbox, Path]]:
    """An SMTP server speaking TLS from the first byte (SMTPS), with a self-signed certificate."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    yield port, inbox, cert
    controller.stop()


def run_in_thread(work: Callable[[], object]) -> object:
    with ThreadPoolExecutor(1) as pool:  # a fresh thread: a fresh reused context
        return pool.submit(work).result()


def test_a_reused_ssl_context_still_verifies_after_an_unverified_send(
    smtps: tuple[int, Inbox, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(apprise_email.ssl, _ReusedContexts)  # Apprise still builds its context there
    port, inbox, cert = smtps
    server = f"mailtos://127.0.0.1:{port}?from=cascade@example.vn&mode=ssl"
    message = Message(subject="Thử", text="Thử kênh", html="<p>Thử kênh</p>", short="Thử kênh")

    def in_turn(*verify: str) -> list[tuple[bool, str | None]]:
        return [send_email(message, f"{server}&verify={v}", "vp@example.vn")[:2] for v in verify]

    # self-signed: refused when verified (every send would be: the channel is broken),
    # even right after an unverified send on this thread
    assert run_in_thread(lambda: in_turn("yes", "no", "yes")) == [
        (False, "channel"),
        (True, None),
        (False, "channel"),
    ]
    assert len(inbox.messages) == 1
    # the certificate trusted (a context made after SSL_CERT_FILE names it): verified and sent
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    assert run_in_thread(lambda: in_turn("yes")) == [(True, None)]
    assert len(inbox.messages) == 2


def test_each_thread_reuses_its_own_context_with_the_secure_defaults_back() -> None:
    contexts = _ReusedContexts()
    first = contexts.create_default_context()
    first.check_hostname = False
    first.verify_mode = ssl.CERT_NONE
    again = contexts.create_default_context()
    assert again is first
    assert (again.check_hostname, again.verify_mode) == (True, ssl.CERT_REQUIRED)
    assert run_in_thread(contexts.create_default_context) is not first
    assert contexts.CERT_NONE is ssl.CERT_NONE  # the rest of `ssl` as it is


def test_tls_asked_of_a_server_without_it_is_a_broken_channel(smtp: tuple[str, Inbox]) -> None:
    server, inbox = smtp
    server = server.replace("mailto://", "mailtos://").replace("mode=insecure", "mode=ssl")
    message = Message(subject="Thử", text="Thử kênh", html="<p>Thử kênh</p>", short="Thử kênh")
    ok, failure, detail = send_email(message, server, "vp@example.vn")
    assert (ok, failure) == (False, "channel"), detail
    assert "WRONG_VERSION_NUMBER" in detail
    assert inbox.messages == []


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            "mailtos://cascade:p@ss#w0rd@smtp.example.vn?from=a@example.vn",
            "a `#` (write it %23 in the password)",
        ),
        ("mailtos://cascade:p@ss@smtp.example.vn?from=a@example.vn", "`@` (write it %40)"),
        ("smtp://cascade:pw@smtp.example.vn", "must start with mailto:// or mailtos://"),
        ("mailtos://", "names no SMTP server"),
    ],
)
def test_an_smtp_url_that_cannot_be_what_was_meant_is_told_with_its_fix(url: str, said: str) -> None:
    """A password holding `@` or `#`, written as it is, makes another URL: Apprise read
    `mailtos://cascade:p@ss#w0rd@smtp.example.vn` as the server `ss` with the password `p`, and
    `cascade doctor` said "configured: email"; the first digest failed, days later."""
    from notifiers.email import smtp_url_problem

    problem = smtp_url_problem(url)
    assert problem is not None and said in problem, problem
    assert smtp_url_problem("mailtos://cascade:p%40ss%23w0rd@smtp.example.vn?from=a@example.vn") is None
    assert smtp_url_problem("mailto://127.0.0.1:2525?from=cascade@example.vn&mode=insecure") is None
