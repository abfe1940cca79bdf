"""The web application through HTTP (Starlette's test client): signed forms, refusals, CSRF,
rate limits, the operator's board and the JSON API, security headers, quiet logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pendulum
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.links import Link, link_maker
from cascade.engine.tick import tick
from cascade.settings import Settings, WebSettings
from cascade.web.app import WebConfig, create_app
from cascade.web.security import NoQueryStrings, RateLimit
from tests.conftest import compile_text
from tests.test_summary import TASKS, at

SECRET = b"test-secret-of-thirty-two-bytes-at-least"
TOKEN = "operator-token"
NOW = at("2020-12-05 09:00")


@pytest.fixture
def campaign(store_engine: Engine) -> Engine:
    deploy(store_engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    tick(store_engine, "test-campaign", NOW)
    return store_engine


def client_for(engine: Engine, **config: Any) -> TestClient:
    settings = WebConfig(secret=SECRET, operator_token=TOKEN, **config)
    return TestClient(create_app(engine, settings, clock=lambda: NOW), base_url="https://testserver")


@pytest.fixture
def client(campaign: Engine) -> Iterator[TestClient]:
    with client_for(campaign) as c:
        yield c


def link(unit: str = "x-c", task: str = "hn-co-so", expires: pendulum.DateTime | None = None) -> str:
    expires = expires or NOW.add(days=30)
    return Link("test-campaign", unit, task, int(expires.timestamp())).path(SECRET)


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


def state(engine: Engine, unit: str, task: str) -> tuple[str, Any]:
    i = store.signals.c
    with engine.connect() as conn:
        rows = conn.execute(select(i.fields).where(i.unit_id == unit, i.task_id == task)).scalars().all()
    return ("signalled", rows) if rows else ("none", rows)


def test_a_signed_link_opens_the_form_and_records_the_signal(client: TestClient, campaign: Engine) -> None:
    page = client.get(link())
    assert page.status_code == 200
    assert "Hội nghị cơ sở" in page.text and "Đảng ủy xã C" in page.text
    assert "Hạn chót:</strong> hết ngày 14/12/2020" in page.text
    assert 'name="attendees"' in page.text and 'name="members"' in page.text
    done = client.post(link(), data={"csrf": csrf(page.text), "attendees": "44", "members": "50"})
    assert done.status_code == 200, done.text
    assert "Đã ghi nhận: Đảng ủy xã C hoàn thành lúc 09:00 05/12/2020" in done.text
    assert state(campaign, "x-c", "hn-co-so") == ("signalled", [{"attendees": 44, "members": 50}])
    tick(campaign, "test-campaign", NOW.add(minutes=1))
    again = client.get(link())
    assert "đã xác nhận hoàn thành lúc 09:00 05/12/2020" in again.text  # nothing to submit twice


def test_the_form_says_how_long_is_left_or_how_late_it_is(client: TestClient, campaign: Engine) -> None:
    """The form said "Hạn chót: hết ngày 29/11/2020" to a district five days late, with nothing of
    it being late, where its notices say "(đã quá 6 ngày)" (30/11 to 05/12). It says so too."""
    from cascade.engine.signals import Signal, record

    assert "Hạn chót:</strong> hết ngày 14/12/2020 (còn 10 ngày)" in client.get(link()).text
    late = client.get(link("hu-e", "hn-huyen"))
    assert late.status_code == 200, late.text
    assert "Hạn chót:</strong> hết ngày 29/11/2020 (đã quá 6 ngày)" in late.text
    wrong = client.post(link("x-c"), data={"csrf": csrf(client.get(link()).text), "attendees": "x"})
    assert wrong.status_code == 422 and "(còn 10 ngày)" in wrong.text  # (the page shown again)
    record(campaign, "test-campaign", [Signal("hu-e", "hn-huyen", NOW, {})], "cli", NOW)
    tick(campaign, "test-campaign", NOW.add(minutes=1))
    done = client.get(link("hu-e", "hn-huyen")).text
    assert "đã xác nhận hoàn thành lúc 09:00 05/12/2020" in done and "đã quá" not in done  # done: when


def test_a_count_is_typed_on_a_phones_number_pad(client: TestClient) -> None:
    """Officials open their links on a phone (from Zalo): a count of members (`type: int`) showed
    the decimal keypad, inviting "40,5", refused on sending. A whole number gets the number pad; a
    figure that may have a fraction (`type: float`, and its sums) keeps the decimal one."""
    page = client.get(link()).text
    for name in ("attendees", "members"):  # (type: int)
        [field] = re.findall(rf'<input id="f-\d+" [^>]*name="{name}"[^>]*>', page)
        assert 'inputmode="numeric"' in field, field
    # a report's rolled-up figures: sums of whole numbers and counts of units are whole too (a
    # district's form opened the decimal keypad for its 2,420 members and 81 units done)
    report = client.get(link("x-c", "bc")).text
    figures = re.findall(r'<input id="f-\d+" [^>]*name="hn-co-so\.[a-z]+"[^>]*>', report)
    assert len(figures) == 4 and all('inputmode="numeric"' in f for f in figures), figures


def test_a_form_sent_after_the_task_was_done_says_the_first_signal_counts(
    client: TestClient, campaign: Engine
) -> None:
    """A commune's form, opened before the district recorded its conference from a phone call and
    sent after: "Recorded: done at 09:00. Thank you", though its figures changed nothing."""
    from cascade.engine.signals import Signal, record

    page = client.get(link())
    phoned = at("2020-12-04 16:00")
    record(
        campaign,
        "test-campaign",
        [Signal("x-c", "hn-co-so", phoned, {"attendees": 40, "members": 50})],
        "cli",
        NOW,
    )
    tick(campaign, "test-campaign", NOW.add(minutes=1))
    sent = client.post(link(), data={"csrf": csrf(page.text), "attendees": "44", "members": "50"})
    assert sent.status_code == 200, sent.text
    recorded = sent.text.split('id="recorded">')[1].split("</p>")[0]
    assert recorded.startswith(
        "Đảng ủy xã C đã xác nhận hoàn thành lúc 16:00 04/12/2020. Nội dung vừa gửi"
    ), recorded
    assert "không thay đổi kết quả đã ghi (tin báo đầu tiên được tính)" in recorded
    assert "Xin cảm ơn" not in recorded


def test_bad_figures_are_shown_on_the_form_and_nothing_is_recorded(
    client: TestClient, campaign: Engine
) -> None:
    page = client.get(link())
    bad = client.post(link(), data={"csrf": csrf(page.text), "attendees": "bốn mươi"})
    assert bad.status_code == 422
    # an official reads the form: Vietnamese (the suite's operator reads English), figures by title
    assert "Số đảng viên dự (attendees): `bốn mươi` không phải là số nguyên" in bad.text
    assert "Tổng số đảng viên (members) là số liệu bắt buộc của «Hội nghị cơ sở»" in bad.text
    assert state(campaign, "x-c", "hn-co-so")[0] == "none"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: url.replace("/x-c/", "/x-d/"),  # the link of another unit
        lambda url: url.replace("/hn-co-so?", "/bc?"),  # another task
        lambda url: re.sub(r"exp=(\d+)", lambda m: f"exp={int(m.group(1)) + 86400}", url),  # a later expiry
        lambda url: url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"),  # a forged signature
    ],
    ids=["other-unit", "other-task", "later-expiry", "forged"],
)
def test_a_tampered_link_is_refused_and_records_nothing(
    client: TestClient, campaign: Engine, tamper: Any
) -> None:
    url = tamper(link())
    page = client.get(url)
    assert page.status_code == 403
    assert "Đường dẫn không hợp lệ" in page.text
    posted = client.post(url, data={"csrf": "x", "attendees": "1", "members": "2"})
    assert posted.status_code == 403
    assert state(campaign, "x-d", "hn-co-so")[0] == state(campaign, "x-c", "hn-co-so")[0] == "none"


def test_an_expired_link_is_refused(client: TestClient) -> None:
    page = client.get(link(expires=NOW.subtract(seconds=1)))
    assert page.status_code == 403
    assert "Đường dẫn đã hết hạn" in page.text


def test_a_form_posted_without_its_csrf_token_is_refused(client: TestClient, campaign: Engine) -> None:
    client.get(link())  # sets the nonce cookie
    for data in ({"attendees": "1", "members": "2"}, {"csrf": "0" * 64, "attendees": "1", "members": "2"}):
        refused = client.post(link(), data=data)
        assert refused.status_code == 403
        assert "Phiên làm việc không hợp lệ" in refused.text
    fresh = client_for(campaign)  # another browser: a token from this page, but no cookie
    page = client.get(link())
    assert (
        fresh.post(link(), data={"csrf": csrf(page.text), "attendees": "1", "members": "2"}).status_code
        == 403
    )
    assert state(campaign, "x-c", "hn-co-so")[0] == "none"


def test_form_submissions_are_rate_limited_per_client(campaign: Engine) -> None:
    with client_for(campaign, form_rate="3/60") as client:
        codes = [client.post(link(), data={}).status_code for _ in range(5)]
    assert codes == [403, 403, 403, 429, 429]


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for response in (client.get(link()), client.get("/status"), client.get("/openapi.json")):
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_the_access_log_keeps_no_signature() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/l/c/x-c/hn-co-so?exp=1&sig=SECRETSIG", "1.1", 200), None,
    )  # fmt: skip
    NoQueryStrings().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /l/c/x-c/hn-co-so?… HTTP/1.1" 200'


def test_the_board_wants_the_operator_token(client: TestClient) -> None:
    login = client.get("/status/test-campaign")
    assert login.status_code == 401 and 'name="token"' in login.text
    wrong = client.post("/login", data={"csrf": csrf(login.text), "token": "guess", "next": "/status"})
    assert wrong.status_code == 401
    login = client.get("/status/test-campaign")
    ok = client.post(
        "/login",
        data={"csrf": csrf(login.text), "token": TOKEN, "next": "/status/test-campaign"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/status/test-campaign"
    assert TOKEN not in ok.headers["set-cookie"]  # the cookie is derived from the token, not the token
    board = client.get("/status/test-campaign")
    assert board.status_code == 200
    assert '<meta http-equiv="refresh" content="60">' in board.text
    # on 05/12: the province and both districts done (hn-huyen by 30/11? no one signalled: overdue)
    assert 'data-unit="x-c"' in board.text and "s-open" in board.text
    # the latest events in words: what happened, to which unit (by name), for which task (by title)
    events = board.text.split('<table id="events">')[1].split("</table>")[0]
    assert "<td>Đôn đốc lần 2</td><td>Huyện ủy E</td><td>Hội nghị huyện</td>" in events
    assert "Mở việc" in events and "task." not in events and "hu-b" not in events
    overdue = client.get("/status/test-campaign?overdue=1")
    assert 'class="unit-overdue" data-unit="hu-b"' in overdue.text
    assert 'data-unit="x-c"' not in overdue.text


def test_the_boards_overdue_list_names_tasks_by_title_and_says_how_many_more(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nation's overdue list (`?overdue=1`) gave each cell's overdue work as `sh-quy`,
    `hn-chi-bo`, and stopped at 3,000 of 14,999 overdue cells without a word of the rest."""
    from cascade.web import board

    login = client.get("/status/test-campaign")
    client.post("/login", data={"csrf": csrf(login.text), "token": TOKEN, "next": "/status"})
    overdue = client.get("/status/test-campaign?overdue=1").text
    row = re.search(r'<tr class="unit-overdue" data-unit="hu-b">(.*?)</tr>', overdue)
    assert row and row.group(1) == "<td>Huyện ủy B</td><td>Hội nghị huyện</td>", row
    assert "đơn vị quá hạn khác" not in overdue
    monkeypatch.setattr(board, "SHOWN_UNITS", 1)
    cut = (
        client.get("/status/test-campaign?overdue=1")
        .text.split('id="level-district"')[1]
        .split("</section>")[0]
    )
    assert len(re.findall(r'class="unit-overdue"', cut)) == 1, cut  # of its 2
    assert (
        "… và 1 đơn vị quá hạn khác; danh sách đầy đủ: <code>cascade status test-campaign --level district "
        "--format csv &gt; qua-han.csv</code>"
    ) in cut, cut


def api(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    return client.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs)


def test_the_api_says_which_signals_are_dated_before_their_work_opened(store_engine: Engine) -> None:
    """`cascade signal` warns of a signal dated before the work that opens its task; a district's
    app posting the same signal was answered "stored: 1" and nothing more."""
    from tests.test_engine import TASKS as WAITING  # the districts wait on the province

    deploy(store_engine, compile_text(WAITING), "source", at("2020-11-10 08:00"))
    path = "/api/campaigns/test-campaign/signals"
    with client_for(store_engine) as client:
        alone = {"signals": [{"unit": "hu-b", "task": "hn-huyen", "at": "16/11/2020 09:00"}]}
        [said] = api(client, "POST", path, json=alone).json()["early"]
        assert (said["opened_by_unit"], said["opened_by_task"], said["opened_at"]) == (
            "tu-a",
            "hn-tinh",
            None,
        )
        province = {"signals": [{"unit": "tu-a", "task": "hn-tinh", "at": "18/11/2020 10:00"}]}
        assert api(client, "POST", path, json=province).json()["early"] == []  # (opened at the issue)
        posted = {
            "signals": [
                {"unit": "hu-b", "task": "hn-huyen", "at": "16/11/2020 09:30"},  # before the province's
                {"unit": "hu-e", "task": "hn-huyen", "at": "19/11/2020 09:00"},  # after it: nothing said
            ]
        }
        answer = api(client, "POST", path, json=posted).json()
    assert answer["stored"] == 2
    assert answer["early"] == [
        {
            "unit": "hu-b",
            "task": "hn-huyen",
            "at": "2020-11-16T09:30:00+07:00",
            "opened_by_unit": "tu-a",
            "opened_by_task": "hn-tinh",
            "opened_at": "2020-11-18T10:00:00+07:00",
        }
    ]


def test_the_api_tells_of_its_signals_though_the_tick_it_sets_off_applies_them_first(
    store_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A post announces its signals, and the campaign ticks at once (`serve`, a Prefect server):
    the API read its `early` after that announcement, as signals still waiting for a tick, and a
    tick quicker than the read had applied them: the district's app was told nothing."""
    from cascade.web.deps import Web
    from tests.test_engine import TASKS as WAITING  # the districts wait on the province

    deploy(store_engine, compile_text(WAITING), "source", at("2020-11-10 08:00"))
    ticks: list[int] = []

    def tick_now(w: Web, campaign: str, stored: int) -> None:  # the tick wins the race
        then = at("2020-11-20 08:00").add(minutes=len(ticks))
        ticks.append(tick(w.engine, campaign, then).counts["signals"])

    monkeypatch.setattr(Web, "announce", tick_now)
    path = "/api/campaigns/test-campaign/signals"
    with client_for(store_engine) as client:
        province = {"signals": [{"unit": "tu-a", "task": "hn-tinh", "at": "18/11/2020 10:00"}]}
        assert api(client, "POST", path, json=province).status_code == 201
        posted = {
            "signals": [
                {"unit": "hu-b", "task": "hn-huyen", "at": "16/11/2020 09:30"},  # before the province's
                {"unit": "tu-a", "task": "hn-tinh", "at": "19/11/2020 10:00"},  # the province's again
            ]
        }
        answer = api(client, "POST", path, json=posted).json()
    assert ticks == [1, 2]  # each post's signals applied before its answer was written
    assert [(e["unit"], e["opened_at"]) for e in answer["early"]] == [("hu-b", "2020-11-18T10:00:00+07:00")]
    assert [(u["unit"], u["done_at"]) for u in answer["unchanged"]] == [("tu-a", "2020-11-18T10:00:00+07:00")]


def test_the_api_reports_status_and_records_signals(client: TestClient, campaign: Engine) -> None:
    assert client.get("/api/campaigns").status_code == 401
    assert api(client, "GET", "/api/campaigns").json() == [{"id": "test-campaign", "title": "Chiến dịch thử"}]
    body = {"signals": [{"unit": "hu-b", "task": "hn-huyen", "at": "02/12/2020 10:00"}]}
    assert api(client, "POST", "/api/campaigns/test-campaign/signals", json=body).json() == {
        "stored": 1,
        "known": 0,
        "unchanged": [],
        "early": [],  # (this campaign opens every task at its issue)
    }
    assert api(client, "POST", "/api/campaigns/test-campaign/signals", json=body).json() == {
        "stored": 0,
        "known": 1,
        "unchanged": [],
        "early": [],
    }
    refused = api(
        client,
        "POST",
        "/api/campaigns/test-campaign/signals",
        json={"signals": [{"unit": "hu-z", "task": "hn-huyen"}]},
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["message"].startswith("no unit `hu-z` in `test-campaign`")
    tick(campaign, "test-campaign", NOW.add(minutes=1))
    status = api(client, "GET", "/api/campaigns/test-campaign/status").json()
    districts = next(level for level in status["levels"] if level["level"] == "district")
    # done late; its report not open yet (what is left waits: not "at work")
    assert {u["id"]: u["state"] for u in districts["units"]}["hu-b"] == "held"
    assert {u["id"]: u["tasks"] for u in districts["units"]}["hu-b"]["hn-huyen"] == "done_late"
    events = api(client, "GET", "/api/campaigns/test-campaign/events?limit=50").json()
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)  # newest first
    [completed] = [e for e in events if e["kind"] == "task.completed"]
    assert (completed["unit"], completed["at"], completed["late"]) == (
        "hu-b",
        "2020-12-02T10:00:00+07:00",
        True,
    )
    assert api(client, "GET", "/api/campaigns/nope/status").status_code == 404
    # a second signal for the finished task (a corrected time): kept, and said to change nothing
    # (it was answered "stored: 1" as if the next tick would apply it)
    corrected = {"signals": [{"unit": "Huyện ủy B", "task": "hn-huyen", "at": "01/12/2020 16:00"}]}
    assert api(client, "POST", "/api/campaigns/test-campaign/signals", json=corrected).json() == {
        "stored": 1,
        "known": 0,
        "unchanged": [
            {"unit": "hu-b", "task": "hn-huyen", "state": "done_late", "done_at": "2020-12-02T10:00:00+07:00"}
        ],
        "early": [],
    }
    # recorded by mistake: taken back, as `cascade withdraw` does
    path = "/api/campaigns/test-campaign/withdrawals"
    taken = api(client, "POST", path, json={"unit": "Huyện ủy B", "task": "hn-huyen", "reason": "nhầm huyện"})
    assert taken.status_code == 200, taken.text
    assert taken.json() == {
        "unit": "hu-b",
        "task": "hn-huyen",
        "done_at": "2020-12-02T10:00:00+07:00",
        "state": "overdue",
        "signals": 2,  # the applied one and the correction after it
    }
    status = api(client, "GET", "/api/campaigns/test-campaign/status").json()
    districts = next(level for level in status["levels"] if level["level"] == "district")
    assert {u["id"]: u["tasks"] for u in districts["units"]}["hu-b"]["hn-huyen"] == "overdue"
    again = api(client, "POST", path, json={"unit": "hu-b", "task": "hn-huyen", "reason": ""})
    assert again.status_code == 422
    assert again.json()["detail"][0]["message"].startswith("a reason is required")
    nothing = api(client, "POST", path, json={"unit": "hu-b", "task": "hn-huyen", "reason": "lại"})
    assert nothing.status_code == 422
    said = nothing.json()["detail"][0]["message"]
    assert said == "Huyện ủy B has no signal for «Hội nghị huyện»: nothing to withdraw"
    elsewhere = {"unit": "hu-b", "task": "hn-huyen", "reason": "x"}
    assert api(client, "POST", "/api/campaigns/nope/withdrawals", json=elsewhere).status_code == 404


def test_api_signal_posts_are_rate_limited_per_token(campaign: Engine) -> None:
    with client_for(campaign, api_rate="2/60") as client:
        body = {"signals": [{"unit": "hu-b", "task": "hn-huyen"}]}
        codes = [
            api(client, "POST", "/api/campaigns/test-campaign/signals", json=body).status_code
            for _ in range(3)
        ]
    assert codes == [201, 201, 429]


def test_the_openapi_document_describes_the_api_only(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/api/campaigns",
        "/api/campaigns/{campaign}/status",
        "/api/campaigns/{campaign}/events",
        "/api/campaigns/{campaign}/decisions",
        "/api/campaigns/{campaign}/signals",
        "/api/campaigns/{campaign}/withdrawals",
    }


def test_a_token_bucket_refills() -> None:
    limit = RateLimit.parse("2/10")
    assert [limit.allow("a", t) for t in (0, 0, 0)] == [True, True, False]
    assert limit.allow("b", 0)  # another client has its own
    assert limit.allow("a", 5.0)  # one token back after 5 s


def test_notices_carry_signed_links_for_the_units_own_instances(campaign: Engine, tmp_path: Any) -> None:
    from notifiers.render import Renderer

    web = WebSettings(url="https://cascade.example.vn", secret=SECRET.decode())
    make = link_maker("test-campaign", Settings(web=web))
    assert make is not None
    renderer = Renderer("Asia/Ho_Chi_Minh", make)
    now = int(NOW.timestamp())
    notices = [
        {
            "kind": "reminder.sent",
            "task": "hn-co-so",
            "task_title": "Hội nghị cơ sở",
            "unit": "x-c",
            "deadline": now,
        },
        {
            "kind": "escalation.sent",
            "task": "hn-co-so",
            "unit": "x-d",
            "lagging": "x-d",
            "stage": 1,
            "deadline": now,
        },
    ]
    own = renderer.render(notices, "Đảng ủy xã C", {}, "test-campaign", now, "x-c")
    [url] = re.findall(r"https://cascade\.example\.vn/l/\S+", own.text)
    parts = urlsplit(url)
    assert parts.path == "/l/test-campaign/x-c/hn-co-so"  # x-d's escalation carries no link for x-c
    assert f'href="{url.replace("&", "&amp;")}"' in own.html
    assert url in own.short


@contextmanager
def _report_form(store_engine: Engine, unit: str) -> Iterator[tuple[TestClient, str, Any]]:
    """The small campaign of tests/test_summary.py as it stands at FORM_AT (x-c and x-d have
    reported, x-d correcting its attendees to 32; x-f held no conference), and `unit`'s report
    form opened by its link: (the client, the link, the page)."""
    from tests.test_summary import run

    run(store_engine, until="2021-01-15 08:00")
    config = WebConfig(secret=SECRET, operator_token=TOKEN)
    with TestClient(
        create_app(store_engine, config, clock=lambda: FORM_AT), base_url="https://testserver"
    ) as client:
        url = Link("test-campaign", unit, "bc", int(FORM_AT.add(days=5).timestamp())).path(SECRET)
        page = client.get(url)
        assert page.status_code == 200
        yield client, url, page


FORM_AT = at("2021-01-15 09:00")


def test_a_report_form_is_pre_filled_with_the_roll_up_and_keeps_a_correction(store_engine: Engine) -> None:
    with _report_form(store_engine, "hu-b") as (client, url, page):
        assert re.search(r'name="hn-co-so.attendees" value="76"', page.text)  # 44 + 32 as x-d reported
        assert re.search(r'name="hn-co-so.members" value="90"', page.text)
        assert "Số tổng hợp: 76" in page.text
        fields = {
            "hn-co-so.attendees": "78",
            "hn-co-so.members": "90",
            "hn-co-so.done": "2",
            "hn-co-so.missing": "0",
        }
        done = client.post(url, data={"csrf": csrf(page.text), **fields})
        assert done.status_code == 200, done.text
    tick(store_engine, "test-campaign", FORM_AT.add(minutes=1))
    i = store.instances.c
    with store_engine.connect() as conn:
        reported, computed = conn.execute(
            select(i.fields, i.computed).where(i.task_id == "bc", i.unit_id == "hu-b")
        ).one()
    assert (reported["hn-co-so.attendees"], computed["hn-co-so.attendees"]) == (78, 76)


def test_a_report_form_with_no_figures_below_it_leaves_them_to_fill(store_engine: Engine) -> None:
    """hu-e's communes had not held their conference: its report form came pre-filled with 0
    members attending, as if none came, for the official to send up unread. Figures nobody
    below it gave are left blank, to fill in; the counts stay counts."""
    with _report_form(store_engine, "hu-e") as (_client, _url, page):  # (x-f, its one commune)
        assert re.search(r'name="hn-co-so.attendees" value=""', page.text), page.text
        assert re.search(r'name="hn-co-so.members" value=""', page.text)
        assert re.search(r'name="hn-co-so.missing" value="1"', page.text)


def test_a_stopped_campaign_says_so_on_its_forms(client: TestClient, campaign: Engine) -> None:
    """After `cascade undeploy` an official's link still opened the form as if all ran: a
    confirmation or a request for more time was taken and then waited, unsaid, for the campaign
    to be deployed again. The page says the campaign is stopped and what becomes of them."""
    from cascade.engine.deploy import undeploy

    paused = "Chiến dịch đang tạm dừng từ ngày 05/12/2020"
    assert paused not in client.get(link()).text
    undeploy(campaign, "test-campaign", at("2020-12-05 08:30"))
    page = client.get(link())
    assert page.status_code == 200
    assert paused in page.text and "được xử lý khi chiến dịch chạy lại" in page.text
    done = client.post(link(), data={"csrf": csrf(page.text), "attendees": "44", "members": "50"})
    assert done.status_code == 200 and paused in done.text
    assert state(campaign, "x-c", "hn-co-so") == ("signalled", [{"attendees": 44, "members": 50}])  # kept


def test_in_a_drill_the_web_application_acts_on_the_drills_clock(
    campaign: Engine, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With CASCADE_CLOCK_SHIFT, `cascade serve` ticks, mints links and takes `cascade signal` on
    the drill's clock, but its web application read the wall clock: a link minted in the drill
    opened as expired, and a completion made through it would be recorded at another time than
    the drill's."""
    from cascade.web import server

    monkeypatch.setenv("CASCADE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CASCADE_DATABASE_URL", campaign.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CASCADE_WEB_SECRET", SECRET.decode())
    monkeypatch.setenv("CASCADE_CLOCK_SHIFT", str(int(NOW.timestamp() - pendulum.now().timestamp())))
    monkeypatch.setattr(server.Watchdog, "start", lambda self: None)  # (no thread left behind)
    monkeypatch.setattr(server.gc, "freeze", lambda: None)  # (nor the test process frozen)
    app = server.make_server(tick_interval=600).config.app
    with TestClient(app, base_url="https://testserver") as client:  # type: ignore[arg-type]
        expires = NOW.add(days=2)  # two days into the drill's future, years before the wall clock
        page = client.get(link(expires=expires))
        assert page.status_code == 200, page.text
        done = client.post(
            link(expires=expires), data={"csrf": csrf(page.text), "attendees": "44", "members": "50"}
        )
        assert done.status_code == 200, done.text
        assert "Đã ghi nhận: Đảng ủy xã C hoàn thành lúc 09:00 05/12/2020" in done.text, done.text


def test_a_server_on_utc_tells_the_official_the_campaigns_time(campaign: Engine) -> None:
    """The page after a completion said the time in the server's own zone: on a server kept in
    UTC, as most are, an official in Hà Tĩnh who confirmed at 09:00 read "02:00"."""
    config = WebConfig(secret=SECRET, operator_token=TOKEN)
    app = create_app(campaign, config, clock=lambda: NOW.in_timezone("UTC"))
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get(link())
        done = client.post(link(), data={"csrf": csrf(page.text), "attendees": "44", "members": "50"})
        assert "Đã ghi nhận: Đảng ủy xã C hoàn thành lúc 09:00 05/12/2020" in done.text, done.text


def test_the_board_tells_units_still_waiting_from_those_at_work(store_engine: Engine) -> None:
    """Communes held until their district's conference were shown "đang thực hiện" (at work) on
    the board's map and counts, as if they had been told to start; `cascade status` says "chưa
    mở" (not open yet) of them."""
    from tests.test_amend import CHAIN

    chained = CHAIN.replace("DISTRICT", "30/11/2020").replace("GRASSROOTS", "15/12/2020")
    chained = chained.replace(
        "    level: grassroots\n", "    level: grassroots\n    opens_after: {task: hn-huyen, at: parent}\n"
    )
    deploy(store_engine, compile_text(chained), "source", at("2020-11-10 08:00"))
    tick(store_engine, "test-campaign", at("2020-11-12 09:00"))  # the province has not met yet
    with client_for(store_engine) as client:
        login = client.get("/status/test-campaign")
        client.post("/login", data={"csrf": csrf(login.text), "token": TOKEN, "next": "/status"})
        page = client.get("/status/test-campaign").text
        status = api(client, "GET", "/api/campaigns/test-campaign/status").json()
    grassroots = next(level for level in status["levels"] if level["level"] == "grassroots")
    assert {u["id"]: u["state"] for u in grassroots["units"]} == {"x-c": "held", "x-d": "held", "x-f": "held"}
    assert grassroots["counts"]["held"] == 3 and grassroots["counts"]["open"] == 0
    assert '<i class="cell s-held" data-unit="x-c" title="Đảng ủy xã C: chưa mở">' in page, page
    assert '<span class="count-held">3 chưa mở</span>' in page, page
    assert '<span class="count-open">' in page  # the province, at work on its conference


def test_the_sites_address_and_the_login_address_lead_to_the_board(client: TestClient) -> None:
    """An operator typing the web application's address got `{"detail":"Not Found"}`, and one
    opening /login (bookmarked, or typed after logging out) `{"detail":"Method Not Allowed"}`."""
    for path in ("/", "/login"):
        went = client.get(path, follow_redirects=False)
        assert went.status_code == 303 and went.headers["location"] == "/status", (path, went.text)
        assert 'name="token"' in client.get(path).text  # the login form, then the board


def test_a_link_cut_short_gets_a_page_in_words_and_the_api_keeps_its_json(client: TestClient) -> None:
    """A signed link cut short when copied (its task and signature lost) answered an official
    `{"detail":"Not Found"}`."""
    cut = client.get("/l/test-campaign/x-c")
    assert cut.status_code == 404 and cut.headers["content-type"].startswith("text/html"), cut.text
    assert "Không có trang này" in cut.text and "đường dẫn đầy đủ trong thông báo" in cut.text
    unknown = api(client, "GET", "/api/nothing-here")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "Not Found"}
    assert client.post("/status").status_code == 405  # other refusals as they were


def test_the_board_lists_the_decisions_in_force(campaign: Engine) -> None:
    """The operator who works from the board saw no extension or exemption anywhere on it: which
    units have more time, to when and why, was only in the audit log."""
    from cascade.engine.decisions import Decision, decide

    with campaign.begin() as conn:
        more = Decision(
            "extension",
            "hn-co-so",
            ("x-c",),
            "Bão <số 9>",
            "Ban Tuyên giáo",
            int(at("2020-12-31").timestamp()),
        )
        decide(conn, "test-campaign", more, NOW)
        decide(
            conn, "test-campaign", Decision("exemption", "hn-co-so", ("x-d",), "Sáp nhập", "Ban Tổ chức"), NOW
        )
    with client_for(campaign) as client:
        login = client.get("/status/test-campaign")
        client.post("/login", data={"csrf": csrf(login.text), "token": TOKEN, "next": "/status"})
        page = client.get("/status/test-campaign").text
        listed = api(client, "GET", "/api/campaigns/test-campaign/decisions").json()
        assert api(client, "GET", "/api/campaigns/nope/decisions").status_code == 404
    assert [(d["unit"], d["decision"], d["deadline"], d["file_deadline"], d["by"]) for d in listed] == [
        ("x-c", "extension", "2020-12-31T00:00:00+07:00", "2020-12-15T00:00:00+07:00", "Ban Tuyên giáo"),
        ("x-d", "exemption", None, None, "Ban Tổ chức"),
    ]
    section = page[page.index('id="decisions"') :]
    assert "Quyết định đang có hiệu lực: 1 gia hạn, 1 miễn thực hiện" in section, section
    row = re.sub(r"\s+", " ", section[section.index('data-unit="x-c"') :].split("</tr>")[0])
    assert "<td>Đảng ủy xã C</td>" in row and "Gia hạn đến 30/12/2020</td> <td>14/12/2020</td>" in row, row
    assert "Bão &lt;số 9&gt;" in row and "Ban Tuyên giáo, 05/12/2020 09:00" in row, row
    assert "Miễn thực hiện" in section[section.index('data-unit="x-d"') :]


def test_the_board_shows_the_first_decisions_and_counts_them_all(
    campaign: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nation's 49,805 extensions were each made a record for a board that shows 200 of them
    (1-2 s of its page): the first ones are made, in the tree's order, and all are counted."""
    from cascade.engine.decisions import Decision, decide
    from cascade.views.decisions import first_standing, standing
    from cascade.web import board

    with campaign.begin() as conn:
        later = int(at("2020-12-31").timestamp())
        decide(
            conn, "test-campaign", Decision("extension", "hn-co-so", ("x-d", "x-c"), "Bão", "BTG", later), NOW
        )
        decide(conn, "test-campaign", Decision("exemption", "hn-co-so", ("x-f",), "Sáp nhập", "BTC"), NOW)
    with campaign.connect() as conn:
        every = standing(conn, "test-campaign")
        first = first_standing(conn, "test-campaign", 2)
        assert first_standing(conn, "nope", 2).shown == []
    assert [(s.unit, s.kind) for s in every] == [
        ("x-c", "extension"),
        ("x-d", "extension"),
        ("x-f", "exemption"),
    ]
    assert (first.shown, first.extensions, first.exemptions) == (every[:2], 2, 1)
    monkeypatch.setattr(board, "SHOWN_DECISIONS", 1)
    with client_for(campaign) as client:
        login = client.get("/status/test-campaign")
        client.post("/login", data={"csrf": csrf(login.text), "token": TOKEN, "next": "/status"})
        section = client.get("/status/test-campaign").text.split('id="decisions"')[1].split("</section>")[0]
    assert "Quyết định đang có hiệu lực: 2 gia hạn, 1 miễn thực hiện" in section, section
    assert [unit for unit in re.findall(r'data-unit="([^"]+)"', section)] == ["x-c"], section
    assert "… và 2 quyết định khác" in section, section


def test_the_boards_counts_are_grouped_as_vietnamese_writes_numbers(store_engine: Engine) -> None:
    """A national board read "Cấp xã: 9450 không có việc", "9014 đang thực hiện, 38652 chưa mở",
    "… và 53700 đơn vị khác" and "3008/9450", where `cascade status` and the summary write 9.450."""
    communes = "".join(
        f"          - {{id: x-{n}, name: Đảng ủy xã {n}, level: grassroots, contacts: [{{role: head, "
        f"email: x{n}@example.vn}}]}}\n"
        for n in range(3_100)
    )
    units = (
        "levels: [province, district, grassroots]\n"
        "units:\n"
        "  - id: tu-a\n    name: Tỉnh ủy A\n    level: province\n"
        "    contacts: [{role: head, email: a@example.vn}]\n    children:\n"
        "      - id: hu-b\n        name: Huyện ủy B\n        level: district\n"
        "        contacts: [{role: head, email: b@example.vn}]\n        children:\n" + communes
    )
    tasks = "tasks:\n  - {id: hn-co-so, title: Hội nghị cơ sở, level: grassroots, due: {before: 15/12/2020}}"
    deploy(store_engine, compile_text(tasks, units), "source", at("2020-11-10 08:00"))
    tick(store_engine, "test-campaign", NOW)
    with client_for(store_engine) as client:
        login = client.get("/status/test-campaign")
        client.post("/login", data={"csrf": csrf(login.text), "token": TOKEN, "next": "/status"})
        page = client.get("/status/test-campaign").text
    assert '<span class="count-open">3.100 đang thực hiện</span>' in page, page[:3000]
    assert "… và 100 đơn vị khác" in page  # the map draws the first 3.000
    assert '<td class="progress">0/3.100</td>' in page
    assert "3100" not in page
