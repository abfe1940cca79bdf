"""The audit log out of the store: `cascade events` (§6, line by line) and the API's pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from cascade.cli import app
from cascade.engine import store
from cascade.engine.decisions import Decision, decide
from cascade.engine.deploy import deploy
from cascade.engine.signals import Signal, record
from cascade.engine.tick import tick
from tests.test_amend import CID, at, chain
from tests.test_web import api, client_for

runner = CliRunner()
# §6: the keys every line carries, and the kinds the log may hold
KEYS = ("at", "kind", "campaign", "task", "unit", "to", "stage")
KINDS = {
    "task.opened", "reminder.sent", "task.completed", "task.overdue", "task.at_risk", "task.below_target",
    "escalation.sent", "report.requested", "report.submitted", "report.overdue", "summary.generated",
    "task.amended", "task.exempted", "unit.moved", "extension.requested", "extension.denied",
}  # fmt: skip


@pytest.fixture
def lived(store_engine: Engine) -> Engine:
    """A campaign that ran, was amended and had a unit's deadline extended."""
    deploy(store_engine, chain(), "v1", at("2020-11-10"))
    record(store_engine, CID, [Signal("tu-a", "hn-tinh", at("2020-11-18 10:00"), {})], "t", at("2020-11-18"))
    record(store_engine, CID, [Signal("x-c", "hn-co-so", at("2020-12-16 10:00"), {})], "t", at("2020-12-16"))
    for day in ("2020-11-13 07:00", "2020-11-19 08:00", "2020-11-25 09:00", "2020-12-17 09:00"):
        tick(store_engine, CID, at(day))
    deploy(store_engine, chain(grassroots="31/12/2020"), "v2", at("2020-12-17 10:00"))
    with store_engine.begin() as conn:
        decide(conn, CID, Decision("extension", "hn-huyen", ("hu-e",), "Bão lũ", "Văn phòng",
                                   int(at("2020-12-30").timestamp())), at("2020-12-17 11:00"))  # fmt: skip
    tick(store_engine, CID, at("2021-01-21 09:00"))
    return store_engine


def run(engine: Engine, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("CASCADE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return runner.invoke(app, ["events", CID, *args])


def test_cascade_events_writes_the_whole_log_in_the_section_6_format(
    lived: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "events.jsonl"
    result = run(lived, monkeypatch, "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    with lived.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(store.events)).scalar_one()
    assert len(lines) == stored > 30  # every event (no operational ones in this campaign)
    assert f"{len(lines):,} event(s) written to" in result.stderr
    previous = ""
    for text in lines:
        line = json.loads(text)
        assert tuple(line)[: len(KEYS)] == KEYS, text  # the keys of §6, in its order
        assert line["kind"] in KINDS and line["campaign"] == CID
        assert line["at"] >= previous, "in time order"
        previous = line["at"]
        assert isinstance(line["to"], list)
        if line["kind"] in ("task.completed", "report.submitted"):
            assert isinstance(line["late"], bool)
        if line["kind"] == "escalation.sent":
            assert isinstance(line["stage"], int) and line["stage"] >= 1
        else:
            assert line["stage"] is None
        if line["kind"] == "task.amended":
            assert {"old_deadline", "new_deadline", "state"} <= set(line)
            assert line["new_deadline"].endswith("+07:00")
    kinds = {json.loads(t)["kind"] for t in lines}
    assert {"task.amended", "task.completed", "escalation.sent", "summary.generated"} <= kinds
    amended = [json.loads(t) for t in lines if '"task.amended"' in t]
    assert any(a.get("reason") == "Bão lũ" and a.get("by") == "Văn phòng" for a in amended)


def test_cascade_events_filters_by_time_kind_and_unit(lived: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(lived, monkeypatch, "--since", "2020-12-17", "--kind", "task.amended", "--unit", "x-d")
    assert result.exit_code == 0, result.output
    lines = [json.loads(t) for t in result.stdout.splitlines()]
    assert [(e["kind"], e["unit"], e["state"]) for e in lines] == [("task.amended", "x-d", "open")]
    assert run(lived, monkeypatch, "--since", "2030-01-01").stdout == ""
    bad = run(lived, monkeypatch, "--kind", "task.done")
    assert bad.exit_code == 1
    assert "no event kind task.done" in bad.stderr and "task.completed" in bad.stderr
    # a unit by its exact name, as `signal` takes it; a typo was "0 event(s)", now refused
    named = run(
        lived, monkeypatch, "--since", "2020-12-17", "--kind", "task.amended", "--unit", "Đảng ủy xã D"
    )
    assert named.stdout == result.stdout
    typo = run(lived, monkeypatch, "--unit", "x-dd")
    assert typo.exit_code == 1 and typo.stdout == ""
    assert "--unit: no unit `x-dd` in `test-campaign`; did you mean `x-d`?" in " ".join(typo.stderr.split())
    campaign = runner.invoke(app, ["events", "test-campaig"])
    assert campaign.exit_code == 1
    assert "hint: did you mean `test-campaign`?" in campaign.stderr


def test_the_api_pages_through_the_whole_log(lived: Engine) -> None:
    with lived.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(store.events)).scalar_one()
    seen: list[dict[str, Any]] = []
    with client_for(lived) as client:
        response = api(client, "GET", f"/api/campaigns/{CID}/events?limit=7")
        while True:
            assert response.status_code == 200, response.text
            seen += response.json()
            if "link" not in response.headers:
                break
            nxt = response.headers["link"].split(">", 1)[0].lstrip("<")
            response = api(client, "GET", nxt)
        assert api(client, "GET", f"/api/campaigns/{CID}/events?limit=1000").status_code == 200
        assert api(client, "GET", f"/api/campaigns/{CID}/events?before=x").status_code == 422
    assert len(seen) == stored
    assert [e["at"] for e in seen] == sorted((e["at"] for e in seen), reverse=True)


@pytest.mark.parametrize("newest_first", [False, True])
def test_a_page_of_the_log_seeks_its_index_to_the_cursor(store_engine: Engine, newest_first: bool) -> None:
    """Each page starts where the last ended, found in the (campaign_id, at, id) index: the
    cursor written with OR had SQLite read every page from the log's first row again (a national
    log of 830,000 events: 166 pages, each reading on average half of it)."""
    from cascade.views.eventlog import Filter, page_query

    if store_engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans from its statistics: an empty table's plan says nothing")
    from sqlalchemy import event

    sent: list[tuple[str, Any]] = []  # the statement as the store runs it: parameters bound, not inlined

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(store_engine, "before_cursor_execute", keep)
    try:
        with store_engine.connect() as conn:
            conn.execute(page_query(CID, Filter(), 1000, (1_600_000_000, 42), newest_first)).all()
            statement, parameters = sent[-1]
            found = conn.connection.driver_connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = " ".join(str(row[-1]) for row in found)
    finally:
        event.remove(store_engine, "before_cursor_execute", keep)
    assert ("at<?" if newest_first else "at>?") in plan, plan  # the seek takes the instant too
