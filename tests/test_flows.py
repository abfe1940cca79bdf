"""The campaign flow under a real (test) Prefect server: a tick fanned out per level.

One `prefect_test_harness` serves the whole session (it takes ~15 s to start).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
from sqlalchemy import Engine, func, select

from cascade.compile.files import load_plan
from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.signal_files import load_signals
from cascade.engine.signals import record
from cascade.engine.tick import tick
from cascade.plan.model import Plan
from cascade.views.eventlog import event_lines
from tests.servers import FakeZalo, Inbox

ROOT = Path(__file__).parent.parent
CAMPAIGN = "ha-tinh-xix-2020"
# after the province's conference (18/11 10:00): the districts open
AFTER_PROVINCE = "2020-11-18T10:30:00+07:00"


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def seeded(path: Path) -> tuple[Engine, Plan]:
    engine = store.open_store(f"sqlite:///{path}")
    plan = load_plan(ROOT / "campaigns" / f"{CAMPAIGN}.yaml")
    deploy(engine, plan, "source", plan.campaign.issued_at)
    signals = ROOT / "tests" / "scenarios" / f"{CAMPAIGN}.signals.yaml"
    batch = load_signals(signals, plan.campaign.timezone)
    record(engine, CAMPAIGN, batch, "test", plan.campaign.issued_at, allow_future=True)
    return engine, plan


@pytest.fixture
def flow_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> tuple[Engine, Plan]:
    """The seed deployed in a fresh store; the flow's dispatcher sends to the loopback SMTP
    server and the Zalo fake."""
    monkeypatch.setenv("CASCADE_DATABASE_URL", f"sqlite:///{tmp_path / 'flow.db'}")
    monkeypatch.setenv("CASCADE_SMTP_URL", smtp[0])
    for name, value in {
        "ZALO_TOKEN": "good",
        "ZNS_TEMPLATE": "t1",
        "ZALO_API": zalo.base,
        "ZNS_API": zalo.base,
    }.items():
        monkeypatch.setenv(f"CASCADE_{name}", value)
    return seeded(tmp_path / "flow.db")


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def run_flow(now: str) -> tuple[dict[str, int], Any]:
    from flows.campaign import campaign_flow

    state = campaign_flow(CAMPAIGN, now=now, return_state=True)
    return state.result(), state.state_details.flow_run_id


def test_a_run_is_one_tick_task_then_dispatch_and_logs_each_level_top_down(
    prefect_api: None, flow_store: tuple[Engine, Plan]
) -> None:
    """The tick is one task run (its body holds the campaign's lock and calls no Prefect API);
    what each level did, top-down, is logged after the commit; no task run per unit."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort, TaskRunSort

    engine, plan = flow_store
    counts, run_id = run_flow(AFTER_PROVINCE)
    districts = [u for u in plan.hierarchy.units.values() if u.level == "district"]
    assert counts["task.completed"] == 1  # the province's conference
    assert counts["task.opened"] >= len(districts) + 1
    opened = {(e["task"], e["unit"]) for e in event_lines(engine, CAMPAIGN, "Asia/Ho_Chi_Minh")}
    assert ("hn-huyen", "hu-can-loc") in opened

    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
            sort=TaskRunSort.ID_DESC,
            limit=50,
        )
        assert sorted(t.name.rsplit("-", 1)[0] for t in tasks) == ["dispatch", "tick"]
        assert all(t.state is not None and t.state.is_completed() for t in tasks)
        deadline = time.monotonic() + 30
        while True:  # run logs reach the API in batches
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])),
                sort=LogSort.TIMESTAMP_ASC,
            )
            lines = [log.message for log in logs]
            if any(line.startswith("write:") for line in lines) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    phases = [line.split(":")[0] for line in lines if line.startswith(("signals:", "level ", "write:"))]
    assert phases == ["signals", *(f"level {level}" for level in plan.hierarchy.levels), "write"]
    [district_line] = [line for line in lines if line.startswith("level district:")]
    assert district_line.startswith("level district: opened "), district_line


def test_a_run_emits_prefect_events_for_what_happened(prefect_api: None, flow_store: Any) -> None:
    from prefect import get_client

    run_flow(AFTER_PROVINCE)
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:  # the server persists events asynchronously
            found = []
            for kind in ("cascade.task.completed", "cascade.task.opened", "cascade.tick.completed"):
                body = {"filter": {"event": {"name": [kind]}}, "limit": 50}
                found += client.request("POST", "/events/filter", json=body).json()["events"]
            if {e["event"] for e in found} == {
                "cascade.task.completed",
                "cascade.task.opened",
                "cascade.tick.completed",
            }:
                break
            time.sleep(0.2)
    completed = [e for e in found if e["event"] == "cascade.task.completed"]
    assert completed, f"no cascade.task.completed among {sorted({e['event'] for e in found})}"
    assert completed[0]["resource"]["prefect.resource.id"] == f"cascade.unit.{CAMPAIGN}.tu-ha-tinh"
    assert completed[0]["related"][0]["prefect.resource.id"] == f"cascade.campaign.{CAMPAIGN}"
    assert completed[0]["payload"]["at"] == "2020-11-18T10:00:00+07:00"
    opened = {e["resource"]["prefect.resource.id"] for e in found if e["event"] == "cascade.task.opened"}
    assert f"cascade.unit.{CAMPAIGN}.hu-can-loc" in opened


def test_a_second_run_at_the_same_instant_changes_nothing(
    prefect_api: None, flow_store: tuple[Engine, Plan]
) -> None:
    engine, _ = flow_store
    first, _ = run_flow(AFTER_PROVINCE)
    events, outbox = count(engine, store.events), count(engine, store.outbox)
    second, _ = run_flow(AFTER_PROVINCE)
    assert first and second == {}
    assert (count(engine, store.events), count(engine, store.outbox)) == (events, outbox)


def test_flow_ticks_equal_bare_engine_ticks(
    prefect_api: None, tmp_path: Path, flow_store: Any, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> None:
    flow_engine, plan = flow_store
    bare, _ = seeded(tmp_path / "bare.db")
    for now in (AFTER_PROVINCE, "2020-11-28T08:00:00+07:00", "2020-12-10T08:00:00+07:00"):
        run_flow(now)
        tick(bare, CAMPAIGN, pendulum.parse(now))  # type: ignore[arg-type]
    tz = plan.campaign.timezone
    flow_lines, bare_lines = event_lines(flow_engine, CAMPAIGN, tz), event_lines(bare, CAMPAIGN, tz)
    assert len(bare_lines) > 100
    assert sorted(map(repr, flow_lines)) == sorted(map(repr, bare_lines))
    o = store.outbox.c
    with flow_engine.connect() as conn:
        statuses = set(conn.execute(select(o.status)).scalars())
        sent = conn.execute(select(func.count(o.digest_key.distinct())).where(o.status == "sent")).scalar()
    # due digests went out (less what was settled by the time they went); later ones wait for their time
    assert statuses <= {"sent", "pending", "settled"}
    # one message per digest, each on the contact's first channel (email in the seed)
    assert sent and len(smtp[1].messages) + len(zalo.requests) == sent


def test_digests_held_by_quiet_hours_go_out_with_the_first_run_after_them(
    prefect_api: None, flow_store: tuple[Engine, Plan]
) -> None:
    engine, _ = flow_store
    o = store.outbox.c
    night, morning = pendulum.parse("2020-11-18T22:00:00+07:00"), pendulum.parse("2020-11-19T07:05:00+07:00")
    run_flow(night.isoformat())  # the districts open; their notices wait for 07:00
    with engine.connect() as conn:
        held = (
            conn.execute(select(o.status).where(o.send_at == int(morning.timestamp()) - 300)).scalars().all()
        )
    assert held and set(held) == {"pending"}
    counts, _ = run_flow(morning.isoformat())
    assert set(counts) == {"digests_sent"}  # the tick itself had nothing to do: only the dispatch
    assert counts["digests_sent"] >= 1
    with engine.connect() as conn:
        after = (
            conn.execute(select(o.status).where(o.send_at == int(morning.timestamp()) - 300)).scalars().all()
        )
    # all sent, but the province's "opened" notice: it finished before 07:00, so it is settled
    assert "sent" in after and set(after) <= {"sent", "settled"}
    with engine.connect() as conn:
        settled = conn.execute(select(o.payload).where(o.status == "settled")).scalars().all()
    assert [(n["kind"], n["unit"]) for n in settled] == [("task.opened", "tu-ha-tinh")]


def test_the_smtp_url_can_come_from_a_prefect_secret_block(
    prefect_api: None,
    flow_store: tuple[Engine, Plan],
    smtp: tuple[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.blocks.system import Secret

    Secret(value=smtp[0]).save("cascade-smtp-test", overwrite=True)
    monkeypatch.delenv("CASCADE_SMTP_URL")
    monkeypatch.setenv("CASCADE_SMTP_SECRET", "cascade-smtp-test")
    counts, _ = run_flow(AFTER_PROVINCE)
    assert counts["digests_sent"] == len(smtp[1].messages) > 0


def test_doctor_reads_the_smtp_url_from_its_prefect_secret_block(
    prefect_api: None,
    flow_store: tuple[Engine, Plan],
    smtp: tuple[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the SMTP URL in a Prefect Secret block (CASCADE_SMTP_SECRET, production's way),
    doctor said "no channel configured"; a block it cannot read was not told either. Nor that
    the watchdog's stall alerts, which never read the block, then go nowhere."""
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL
    from typer.testing import CliRunner

    from cascade.cli import app

    Secret(value=smtp[0]).save("cascade-smtp-doctor", overwrite=True)
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    for name in ("CASCADE_SMTP_URL", "CASCADE_ZALO_TOKEN", "CASCADE_ZNS_TEMPLATE"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("CASCADE_SMTP_SECRET", "cascade-smtp-doctor")
    runner = CliRunner()
    read = runner.invoke(app, ["doctor"], env={"COLUMNS": "300"})
    assert "✓ channels: configured: email (Prefect Secret block `cascade-smtp-doctor`)" in read.stdout
    assert "✓ reach: every unit of 1 campaign has a contact on a channel set up (email)" in read.stdout
    # the watchdog does not read the block (it speaks when Prefect has stopped): with no Zalo
    # either, a stopped scheduler would be silent, and doctor said everything was fine
    assert "✗ stall alerts: the web application's watchdog" in read.stdout, read.stdout
    assert "Set CASCADE_SMTP_URL in the web application's environment too" in read.stdout
    assert read.exit_code == 1
    monkeypatch.setenv("CASCADE_SMTP_URL", smtp[0])
    both = runner.invoke(app, ["doctor"], env={"COLUMNS": "300"})
    assert "✓ stall alerts: on email" in both.stdout, both.stdout
    monkeypatch.delenv("CASCADE_SMTP_URL")
    monkeypatch.setenv("CASCADE_SMTP_SECRET", "no-such-block")
    unread = runner.invoke(app, ["doctor"], env={"COLUMNS": "300"})
    assert unread.exit_code == 1
    assert "✗ channels: the Prefect Secret block `no-such-block` cannot be read" in unread.stdout


def test_cascade_dispatch_reads_the_smtp_url_from_its_prefect_secret_block(
    prefect_api: None,
    flow_store: tuple[Engine, Plan],
    smtp: tuple[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flow's dispatch reads the SMTP URL from its Secret block (CASCADE_SMTP_SECRET); `cascade
    dispatch`, run by hand on the same host, said "CASCADE_SMTP_URL is not set" and sent nothing,
    and `notify-test`, there to check the channels, said the same of a channel that works."""
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL
    from typer.testing import CliRunner

    from cascade.cli import app

    Secret(value=smtp[0]).save("cascade-smtp-dispatch", overwrite=True)
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    monkeypatch.delenv("CASCADE_SMTP_URL")
    monkeypatch.setenv("CASCADE_SMTP_SECRET", "cascade-smtp-dispatch")
    runner = CliRunner()
    assert runner.invoke(app, ["tick", CAMPAIGN, "--now", AFTER_PROVINCE]).exit_code == 0
    sent = runner.invoke(app, ["dispatch", CAMPAIGN, "--now", AFTER_PROVINCE], env={"COLUMNS": "200"})
    assert sent.exit_code == 0, sent.output
    assert len(smtp[1].messages) > 0 and "CASCADE_SMTP_URL is not set" not in sent.output
    before = len(smtp[1].messages)
    tested = runner.invoke(
        app, ["notify-test", CAMPAIGN, "hu-can-loc", "--role", "head"], env={"COLUMNS": "200"}
    )
    assert "✓ accepted by the SMTP server" in tested.stdout, tested.output
    assert len(smtp[1].messages) == before + 1
    monkeypatch.setenv("CASCADE_SMTP_SECRET", "no-such-block")
    unread = runner.invoke(app, ["dispatch", CAMPAIGN, "--now", AFTER_PROVINCE])
    assert unread.exit_code == 1
    assert "the Prefect Secret block `no-such-block` cannot be read" in unread.stderr


def test_a_broken_channel_is_a_prefect_event_and_one_alert(
    prefect_api: None, flow_store: tuple[Engine, Plan], zalo: FakeZalo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import get_client

    monkeypatch.setenv("CASCADE_SMTP_URL", "mailto://127.0.0.1:9?from=cascade@example.vn&mode=insecure")
    monkeypatch.setenv("CASCADE_DISPATCH_BACKOFF", "0.01")
    counts, _ = run_flow(AFTER_PROVINCE)
    assert counts["digests_pending"] > 0  # nothing lost: they wait for the SMTP server
    assert counts.get("digests_sent", 0) > 0  # contacts with Zalo after email got it there
    # the operator (the province's office: email, then Zalo) heard once, on Zalo
    alerts = [r for r in zalo.requests if "Cảnh báo: kênh email" in str(r["body"])]
    assert len(alerts) == 1
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as client:
        while not found and time.monotonic() < deadline:
            body = {"filter": {"event": {"name": ["cascade.channel.failed"]}}, "limit": 5}
            found = client.request("POST", "/events/filter", json=body).json()["events"]
            time.sleep(0.2)
    assert found and found[0]["payload"]["channel"] == "email"
    assert "Connection refused" in found[0]["payload"]["detail"]


def test_a_drill_run_logs_its_digests_through_the_same_dispatcher(
    prefect_api: None, flow_store: Any, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> None:
    """`notify="log"` (a run's parameter; default CASCADE_NOTIFY): the digests are rendered and
    recorded as sent, with "logged" in their delivery log, and nothing reaches a channel."""
    from flows.campaign import campaign_flow

    flow_engine, _ = flow_store
    state = campaign_flow(CAMPAIGN, now=AFTER_PROVINCE, notify="log", return_state=True)
    counts = state.result()
    assert counts.get("digests_sent", 0) > 0
    assert smtp[1].messages == [] and zalo.requests == []
    d = store.deliveries.c
    with flow_engine.connect() as conn:
        rows = conn.execute(select(d.result, d.tries)).all()
    assert rows and {result for result, _ in rows} == {"sent"}
    assert {t["detail"] for _, tries in rows for t in tries} == {"logged"}
