"""End to end in a real browser: Debian's Chromium, headless, driven by Playwright.

A notice goes out by email to a real SMTP server on loopback; its signed link is opened
in the browser, the form filled and submitted; after the next tick the operator's status
page shows the unit done. A tampered link shows the refusal page. Screenshots of the form,
the refusal and the status page are kept under tests/artifacts/.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from cascade.engine.deploy import deploy
from cascade.engine.links import Link
from cascade.engine.store import open_store
from cascade.engine.tick import tick
from cascade.web.app import WebConfig, create_app
from notifiers.channels import ChannelConfig
from notifiers.dispatch import Dispatcher, Policy
from tests.conftest import compile_text
from tests.servers import Inbox, free_port
from tests.test_summary import TASKS
from tests.test_web import NOW, SECRET, TOKEN, at

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CASCADE_REQUIRE_BROWSER"):
            pytest.fail("CASCADE_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
        pytest.skip("Debian's chromium is not installed (./test.sh installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Engine]]:
    """The campaign in a SQLite store and the web application serving it on loopback."""
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    deploy(engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("CASCADE_WEB_URL", base)
    monkeypatch.setenv("CASCADE_WEB_SECRET", SECRET.decode())
    config = WebConfig(secret=SECRET, operator_token=TOKEN)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(engine, config, clock=lambda: NOW), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield base, engine
    server.should_exit = True
    thread.join(10)


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


def test_an_official_confirms_from_the_emailed_link_and_the_board_shows_it(
    browser: object, site: tuple[str, Engine], smtp: tuple[str, Inbox]
) -> None:
    base, engine = site
    smtp_url, inbox = smtp
    tick(engine, "test-campaign", NOW)
    outcome = Dispatcher(
        engine, "test-campaign", ChannelConfig(smtp_url=smtp_url), Policy(concurrency=2)
    ).run(int(NOW.timestamp()))
    assert outcome.digests["sent"] >= 1
    [mail] = [m for m in inbox.parsed() if m["To"] == "x.c@example.vn"]
    [link] = re.findall(rf"{re.escape(base)}/l/test-campaign/x-c/hn-co-so\?\S+", text_of(mail))
    ARTIFACTS.mkdir(exist_ok=True)

    page = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    # the operator's board first: x-c still open
    page.goto(f"{base}/status/test-campaign")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/status/test-campaign")
    page.goto(f"{base}/status/test-campaign?task=hn-co-so")
    assert page.get_attribute('[data-unit="x-c"]', "class") == "cell s-open"

    official = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    official.goto(link)
    assert official.inner_text("h1") == "Hội nghị cơ sở"
    assert "Đảng ủy xã C" in official.inner_text(".card")
    official.fill('input[name="attendees"]', "44")
    official.fill('input[name="members"]', "50")
    official.screenshot(path=str(ARTIFACTS / "form.png"), full_page=True)
    official.click("#submit")
    assert "Đã ghi nhận: Đảng ủy xã C hoàn thành" in official.inner_text("#recorded")

    tampered = link.replace("/x-c/", "/x-d/")
    official.goto(tampered)
    assert "Đường dẫn không hợp lệ" in official.inner_text("#refused")
    official.screenshot(path=str(ARTIFACTS / "refused.png"), full_page=True)

    tick(engine, "test-campaign", NOW.add(minutes=1))  # the scheduler's next tick applies the signal
    page.reload()
    assert page.inner_text('tr[data-task="hn-co-so"] .progress') == "1/3"
    page.click('tr[data-task="hn-co-so"] a')  # the map by that task
    assert page.get_attribute('[data-unit="x-c"]', "class") == "cell s-done"
    assert page.get_attribute('[data-unit="x-d"]', "class") == "cell s-open"
    page.set_viewport_size({"width": 1200, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "status.png"), full_page=True)
    for name in ("form.png", "refused.png", "status.png"):
        assert (ARTIFACTS / name).read_bytes()[:4] == b"\x89PNG"


def _dispatch(engine: Engine, smtp_url: str) -> None:
    outcome = Dispatcher(
        engine, "test-campaign", ChannelConfig(smtp_url=smtp_url), Policy(concurrency=2)
    ).run(int(NOW.timestamp()))
    assert outcome.digests["failed"] == 0


def _mail_to(inbox: Inbox, address: str, containing: str) -> str:
    texts = [text_of(m) for m in inbox.parsed() if m["To"] == address]
    found = [t for t in texts if containing in t]
    assert found, f"no mail to {address} with {containing!r}: {texts}"
    return found[-1]


def test_extension_requests_approved_and_denied_through_the_emailed_links(
    browser: object, site: tuple[str, Engine], smtp: tuple[str, Inbox]
) -> None:
    """Two communes ask for more time from their notices' links; their district approves one
    and denies the other from the links in its own email; each commune is told."""
    base, engine = site
    smtp_url, inbox = smtp
    tick(engine, "test-campaign", NOW)
    _dispatch(engine, smtp_url)
    ARTIFACTS.mkdir(exist_ok=True)
    official = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    for unit, day, reason in (
        ("x-c", "2020-12-24", "Bão lũ, chưa tổ chức được"),
        ("x-d", "2020-12-28", "Thiếu kinh phí"),
    ):
        mail = _mail_to(inbox, f"{unit.replace('-', '.')}@example.vn", "/l/test-campaign/")
        [link] = re.findall(rf"{re.escape(base)}/l/test-campaign/{unit}/hn-co-so\?\S+", mail)
        official.goto(link)
        official.click("#extension summary")
        official.fill("#x-date", day)
        official.fill("#x-reason", reason)
        if unit == "x-c":
            official.screenshot(path=str(ARTIFACTS / "extension-request.png"), full_page=True)
        official.click("#ask-submit")
        assert "Đã gửi đề nghị gia hạn" in official.inner_text("#asked")
        official.goto(link)
        assert "đang chờ Huyện ủy B trả lời" in official.inner_text("#pending")
    _dispatch(engine, smtp_url)  # the district's digest: both requests, each with its two links
    parent_mail = _mail_to(inbox, "hu.b@example.vn", "xin gia hạn")
    assert "Đảng ủy xã C xin gia hạn «Hội nghị cơ sở»" in parent_mail and "Thiếu kinh phí" in parent_mail
    approve = re.findall(
        rf"Đồng ý gia hạn: ({re.escape(base)}/x/test-campaign/\d+/approve\?\S+)", parent_mail
    )
    deny = re.findall(rf"Không đồng ý: ({re.escape(base)}/x/test-campaign/\d+/deny\?\S+)", parent_mail)
    assert len(approve) == len(deny) == 2
    parent = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    parent.goto(approve[0])  # x-c's request (the first in the digest)
    assert "Bão lũ" in parent.inner_text("#request")
    parent.screenshot(path=str(ARTIFACTS / "extension-answer.png"), full_page=True)
    parent.click("#confirm-answer")
    assert "Đã đồng ý gia hạn; Đảng ủy xã C sẽ được thông báo." in parent.inner_text("#answered")
    parent.goto(deny[1])  # x-d's
    assert "Thiếu kinh phí" in parent.inner_text("#request")
    parent.click("#confirm-answer")
    assert "Đã không đồng ý gia hạn" in parent.inner_text("#answered")
    parent.goto(deny[0])  # x-c's again: answered once
    assert "đã được trả lời" in parent.inner_text("#answered")
    assert parent.query_selector("#confirm-answer") is None
    _dispatch(engine, smtp_url)
    told_c = _mail_to(inbox, "x.c@example.vn", "Điều chỉnh hạn chót")
    assert "hết ngày 14/12/2020 → hết ngày 24/12/2020" in told_c
    assert "do Huyện ủy B quyết định" in told_c and "lý do: Bão lũ" in told_c
    told_d = _mail_to(inbox, "x.d@example.vn", "không được chấp thuận")
    assert "hạn chót giữ nguyên: hết ngày 14/12/2020" in told_d
    for name in ("extension-request.png", "extension-answer.png"):
        assert (ARTIFACTS / name).read_bytes()[:4] == b"\x89PNG"


def test_a_form_still_submits_after_the_operator_logged_in_in_the_same_browser(
    browser: object, site: tuple[str, Engine]
) -> None:
    """The login page and the forms both set `cascade_csrf` (paths / and /l/): after the board
    was opened, every form submit in that browser was refused."""
    base, engine = site
    tick(engine, "test-campaign", NOW)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{base}/status/test-campaign")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/status/test-campaign")
    link = Link("test-campaign", "x-d", "hn-co-so", int(NOW.add(days=30).timestamp())).path(SECRET)
    page.goto(base + link)
    page.fill('input[name="attendees"]', "40")
    page.fill('input[name="members"]', "45")
    page.click("#submit")
    assert "Đã ghi nhận: Đảng ủy xã D hoàn thành" in page.inner_text("#recorded")
