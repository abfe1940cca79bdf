"""Asking for more time from the signed link, and the parent's answer, through HTTP (spec §7)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.links import AnswerLink
from cascade.engine.outbox import due_digests
from cascade.engine.requests import AlreadyAnswered, answer_request
from cascade.engine.tick import tick
from cascade.views.eventlog import event_lines
from notifiers.render import Renderer
from tests.conftest import compile_text
from tests.test_summary import TASKS, at
from tests.test_web import NOW, SECRET, client_for, csrf, link

CID = "test-campaign"


@pytest.fixture
def campaign(store_engine: Engine) -> Engine:
    """test_web's campaign: deployed on 10/11/2020, ticked on 05/12/2020 (the web app's clock)."""
    deploy(store_engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    tick(store_engine, CID, NOW)
    return store_engine


def ask(client: TestClient, deadline: str, reason: str, unit: str = "x-c") -> Any:
    form = client.get(link(unit))
    assert form.status_code == 200, form.text
    action = re.search(r'<form method="post" action="([^"]+)" id="ask">', form.text)
    assert action, "the form offers Xin gia hạn"
    return client.post(
        action.group(1).replace("&amp;", "&"),
        data={"csrf": csrf(form.text), "deadline": deadline, "reason": reason},
    )


def answer_link(request: int, action: str) -> str:
    return AnswerLink(CID, request, action, int(NOW.add(days=30).timestamp())).path(SECRET)


def answer(client: TestClient, request: int, action: str) -> Any:
    page = client.get(answer_link(request, action))
    assert page.status_code == 200, page.text
    return client.post(answer_link(request, action), data={"csrf": csrf(page.text)})


def log(engine: Engine, kind: str) -> list[dict[str, Any]]:
    return [e for e in event_lines(engine, CID, "Asia/Ho_Chi_Minh") if e["kind"] == kind]


def requests(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(store.extension_requests)).all()


def test_a_unit_asks_and_its_parent_approves_once(campaign: Engine) -> None:
    with client_for(campaign) as client:
        asked = ask(client, "2020-12-24", "Bão lũ, chưa tổ chức được hội nghị")
        assert asked.status_code == 200, asked.text
        assert "Đã gửi đề nghị gia hạn đến hết ngày 24/12/2020 tới Huyện ủy B" in asked.text
        [req] = requests(campaign)
        assert (req.unit_id, req.task_id, req.status) == ("x-c", "hn-co-so", "pending")
        [requested] = log(campaign, "extension.requested")
        assert requested["to"] == ["hu-b"] and requested["reason"] == "Bão lũ, chưa tổ chức được hội nghị"
        assert requested["proposed"] == "2020-12-25T00:00:00+07:00"
        # the parent's digest carries both signed answers
        [digest] = [
            d for d in due_digests(campaign, CID, int(NOW.add(days=1).timestamp())) if d.unit == "hu-b"
        ]
        notice = next(n for n in digest.notices if n["kind"] == "extension.requested")
        renderer = Renderer("Asia/Ho_Chi_Minh", answer=lambda r, a, s: f"https://x/{r}/{a}")
        text = renderer.render(
            [notice], "Huyện ủy B", {"x-c": "Đảng ủy xã C"}, "C", int(NOW.timestamp())
        ).text
        assert "Đảng ủy xã C xin gia hạn «Hội nghị cơ sở»" in text and "lý do: Bão lũ" in text
        assert f"Đồng ý gia hạn: https://x/{req.id}/approve" in text and f"https://x/{req.id}/deny" in text
        again = client.get(link("x-c"))
        assert "Đã đề nghị gia hạn đến hết ngày 24/12/2020; đang chờ Huyện ủy B trả lời" in again.text
        preview = client.get(answer_link(req.id, "approve"))
        assert "Đồng ý cho Đảng ủy xã C gia hạn đến hết ngày 24/12/2020?" in preview.text
        assert 'id="past-summary"' not in preview.text  # (before the summary: nothing to warn of)
        assert requests(campaign)[0].status == "pending"  # opening the link changes nothing
        done = answer(client, req.id, "approve")
        assert "Đã đồng ý gia hạn; Đảng ủy xã C sẽ được thông báo." in done.text
        twice = client.get(answer_link(req.id, "deny"))
        assert "đã được trả lời lúc 09:00 05/12/2020: đã đồng ý gia hạn" in twice.text
        assert 'id="answer"' not in twice.text  # answered once: no form to answer again
        with pytest.raises(AlreadyAnswered), campaign.begin() as conn:  # a second answer by any path
            answer_request(conn, CID, req.id, False, NOW)
    [approved] = requests(campaign)
    assert (approved.status, approved.answered_by) == ("approved", "hu-b")
    [amended] = log(campaign, "task.amended")
    assert (amended["unit"], amended["by"], amended["new_deadline"]) == (
        "x-c",
        "hu-b",
        "2020-12-25T00:00:00+07:00",
    )
    assert amended["reason"] == "Bão lũ, chưa tổ chức được hội nghị" and amended["to"] == ["x-c"]
    assert log(campaign, "extension.denied") == []


def test_the_parent_is_warned_of_a_day_past_the_summary_before_it_answers(campaign: Engine) -> None:
    """`cascade extend` past the summary date is warned of; the parent answering a unit's
    request for a day past it, on the page its link opens, was told nothing."""
    with client_for(campaign) as client:
        assert ask(client, "2021-02-10", "Sáp nhập đơn vị").status_code == 200
        [req] = requests(campaign)
        preview = client.get(answer_link(req.id, "approve"))
        assert (
            "Lưu ý: báo cáo tổng hợp gửi ngày 20/01/2021, trước khi hết ngày 10/02/2021; nếu Đảng ủy xã C "
            "chưa hoàn thành trước đó, báo cáo tổng hợp sẽ tính là chưa hoàn thành."
        ) in preview.text
        done = answer(client, req.id, "approve")
        assert 'id="past-summary"' not in done.text  # answered: said before, not again


def test_a_denied_request_tells_the_unit_and_keeps_the_deadline(campaign: Engine) -> None:
    with client_for(campaign) as client:
        assert ask(client, "2021-01-10", "Thiếu kinh phí").status_code == 200
        [req] = requests(campaign)
        assert "Đã không đồng ý gia hạn" in answer(client, req.id, "deny").text
    [denied] = log(campaign, "extension.denied")
    assert (denied["unit"], denied["to"], denied["by"]) == ("x-c", ["x-c"], "hu-b")
    assert log(campaign, "task.amended") == []
    i = store.instances.c
    with campaign.connect() as conn:
        deadline = conn.execute(
            select(i.deadline).where(i.unit_id == "x-c", i.task_id == "hn-co-so")
        ).scalar()
    assert deadline == int(NOW.set(month=12, day=15, hour=0).timestamp())


def test_requests_are_checked_and_forged_answers_refused(campaign: Engine) -> None:
    with client_for(campaign) as client:
        early = ask(client, "2020-12-10", "")
        assert early.status_code == 422
        assert "Ngày đề nghị phải sau hạn chót hiện tại" in early.text and "nêu lý do" in early.text
        assert requests(campaign) == []
        assert ask(client, "2020-12-24", "Bão").status_code == 200
        [req] = requests(campaign)
        forged = answer_link(req.id, "approve").replace("/approve?", "/deny?")
        assert client.get(forged).status_code == 403
        no_csrf = client.post(answer_link(req.id, "approve"), data={"csrf": "x"})
        assert no_csrf.status_code == 403
        province = client.get(link("tu-a", "hn-tinh"))
        assert 'id="ask"' not in province.text  # the top unit has nobody to ask
    assert requests(campaign)[0].status == "pending"
    assert urlsplit(answer_link(1, "deny")).path == f"/x/{CID}/1/deny"


def test_a_form_shown_again_after_a_mistake_keeps_all_it_said(campaign: Engine) -> None:
    """A cell's form said "Hạn chót: hết ngày 30/06/2026 (đã quá 159 ngày)" and offered "Xin gia
    hạn"; a request for more time with a mistake in it drew the form again without "(đã quá ...)",
    and a figure typed wrong drew it without the request for more time at all."""
    with client_for(campaign) as client:
        first = client.get(link()).text
        assert "(còn 10 ngày)" in first and 'id="ask"' in first
        asked_early = ask(client, "2020-12-10", "Bão")
        assert asked_early.status_code == 422 and "(còn 10 ngày)" in asked_early.text, asked_early.text
        again = client.get(link()).text  # (its session: each page opened starts one)
        wrong = client.post(link(), data={"csrf": csrf(again), "attendees": "x", "members": "50"})
        assert wrong.status_code == 422 and "(còn 10 ngày)" in wrong.text, wrong.text
        assert 'id="ask"' in wrong.text, wrong.text  # (still offered)
        assert ask(client, "2020-12-24", "Bão").status_code == 200  # and still taken
    assert [r.status for r in requests(campaign)] == ["pending"]
