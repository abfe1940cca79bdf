"""The dispatcher against real servers on loopback: digests by email (aiosmtpd) and Zalo
(a local server speaking the OA and ZNS APIs), fallback, retries, the delivery log, alerts."""

from __future__ import annotations

import logging
from email.header import decode_header, make_header
from typing import Any

import pendulum
import pytest
from sqlalchemy import Engine, select

from cascade.engine import store
from cascade.engine.deploy import deploy
from cascade.engine.tick import tick
from cascade.views.eventlog import LOG_KINDS, event_lines
from notifiers.channels import ChannelConfig
from notifiers.dispatch import Dispatcher, Policy
from tests.conftest import compile_text
from tests.servers import FakeZalo, Inbox

TZ = "Asia/Ho_Chi_Minh"
UNITS = """\
levels: [province, district, grassroots]
units:
  - id: tu-a
    name: Tỉnh ủy A
    level: province
    contacts: [{role: head, name: Văn phòng Tỉnh ủy, email: vp@example.vn, zalo: "84900000001"}]
    children:
      - id: hu-b
        name: Huyện ủy B
        level: district
        contacts: [{role: head, email: hu.b@example.vn, phone: "0912000002"}]
        children:
          - {id: x-c, name: Đảng ủy xã C, level: grassroots, contacts: [{role: head, zalo: "84900000003"}]}
      - {id: hu-e, name: Huyện ủy E, level: district, contacts: [{role: head, email: hu.e@example.vn}]}
"""
HEADER = """\
campaign:
  id: test-campaign
  title: Chiến dịch thử
  issued_on: 10/11/2020
  units: units.yaml
  summary_date: 20/01/2021
  operator: {name: Ban Tuyên giáo, email: btg@example.vn, zalo: "84900000009"}
"""
TASKS = """\
tasks:
  - {id: hn-tinh, title: Hội nghị tỉnh, level: province, due: {before: 20/11/2020}}
  - {id: hn-huyen, title: Hội nghị huyện, level: district, due: {before: 30/11/2020}}
  - {id: hn-co-so, title: Hội nghị cơ sở, level: grassroots, due: {before: 15/12/2020}}
"""
ISSUED = pendulum.datetime(2020, 11, 10, 8, tz=TZ)
NOW = int(ISSUED.timestamp())


@pytest.fixture
def campaign(store_engine: Engine) -> Engine:
    deploy(store_engine, compile_text(TASKS, UNITS, HEADER), "source", ISSUED)
    tick(store_engine, "test-campaign", ISSUED)  # four units' tasks open: one digest each
    return store_engine


def config(smtp_url: str | None, zalo: FakeZalo, token: str = "good") -> ChannelConfig:
    return ChannelConfig(smtp_url, token, "tpl-1", zalo.base, zalo.base)


def dispatcher(engine: Engine, cfg: ChannelConfig, sleeps: list[float] | None = None) -> Dispatcher:
    policy = Policy(attempts=3, backoff=0.5, breaker=3, concurrency=4)
    return Dispatcher(
        engine, "test-campaign", cfg, policy, sleep=(sleeps if sleeps is not None else []).append
    )


def log(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """The delivery log by recipient unit: (channel, address, attempts, result, provider id, tries)."""
    d, o = store.deliveries.c, store.outbox.c
    query = select(o.recipient_unit, d.channel, d.address, d.attempts, d.result, d.provider_id, d.tries).join(
        store.outbox, o.id == d.outbox_id
    )
    with engine.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(query)}


def statuses(engine: Engine) -> dict[str, str]:
    o = store.outbox.c
    with engine.connect() as conn:
        return dict(conn.execute(select(o.recipient_unit, o.status)).all())


def events(engine: Engine, kind: str) -> list[dict[str, Any]]:
    e = store.events.c
    with engine.connect() as conn:
        return [r.data for r in conn.execute(select(e.data).where(e.kind == kind))]


def subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_each_recipient_gets_one_message_on_its_first_channel(
    campaign: Engine, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> None:
    url, inbox = smtp
    outcome = dispatcher(campaign, config(url, zalo)).run(NOW)
    assert outcome.digests == {"sent": 4}
    assert sorted(m.rcpt_tos[0] for m in inbox.messages) == [
        "hu.b@example.vn",
        "hu.e@example.vn",
        "vp@example.vn",
    ]
    assert [r["body"]["recipient"]["user_id"] for r in zalo.requests] == ["84900000003"]  # x-c: zalo only
    mails = inbox.parsed()
    assert all(
        subject(m).startswith("[Cascade]") and m.get_content_type() == "multipart/alternative" for m in mails
    )
    assert all(m["X-Cascade-Key"] for m in mails)  # the digest's idempotency key travels with it
    entries = log(campaign)
    assert entries["x-c"][:5] == ("zalo", "84900000003", 1, "sent", "m1")  # Zalo's message id kept
    assert entries["tu-a"][:4] == ("email", "vp@example.vn", 1, "sent")
    # a second dispatch finds nothing: nothing is sent twice
    assert dispatcher(campaign, config(url, zalo)).run(NOW).digests == {}
    assert len(inbox.messages) == 3


def test_a_refused_address_falls_back_to_the_contacts_next_channel(
    campaign: Engine, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> None:
    url, inbox = smtp
    inbox.refuse |= {"vp@example.vn", "hu.e@example.vn"}
    outcome = dispatcher(campaign, config(url, zalo)).run(NOW)
    assert outcome.digests == {"sent": 3, "failed": 1}  # hu-e has no other channel
    entries = log(campaign)
    channel, address, attempts, result, _, tries = entries["tu-a"]
    assert (channel, address, attempts, result) == ("zalo", "84900000001", 2, "sent")
    assert [(t["channel"], t["ok"], t["error"]) for t in tries] == [
        ("email", False, "address"),
        ("zalo", True, None),
    ]
    assert "550" in tries[0]["detail"]
    assert entries["hu-e"][3] == "failed"
    assert statuses(campaign)["hu-e"] == "failed"
    assert outcome.alerts == []  # refused addresses are not a broken channel


def test_a_phone_goes_to_zns_in_the_form_zalo_takes(
    campaign: Engine, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> None:
    """A phone written as officials write it (0912000002) went to ZNS as written, which Zalo
    refuses (it takes 84912000002): every ZNS message failed, and a unit with no other channel
    heard nothing."""
    url, inbox = smtp
    inbox.refuse.add("hu.b@example.vn")  # Huyện ủy B: email, then its phone
    outcome = dispatcher(campaign, config(url, zalo)).run(NOW)
    assert outcome.digests == {"sent": 4}
    [zns] = [r for r in zalo.requests if r["path"] == "/message/template"]
    assert zns["body"]["phone"] == "84912000002" and zns["body"]["template_id"] == "tpl-1"
    channel, address, attempts, result, _, _ = log(campaign)["hu-b"]
    assert (channel, address, attempts, result) == ("phone", "0912000002", 2, "sent")  # as written


def test_transient_failures_are_retried_with_backoff(
    campaign: Engine, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> None:
    url, inbox = smtp
    inbox.defer = 1  # the first message: 451 try again later
    sleeps: list[float] = []
    outcome = dispatcher(campaign, config(url, zalo, token="flaky"), sleeps).run(NOW)  # Zalo: 500 once
    assert outcome.digests == {"sent": 4}
    assert sorted(sleeps) == [0.5, 0.5]  # one retry on each channel, after the first backoff
    attempts = {unit: entry[2] for unit, entry in log(campaign).items()}
    assert attempts["x-c"] == 2
    assert sorted(attempts.values()) == [1, 1, 2, 2]
    assert len(inbox.messages) == 3


def test_a_rate_limit_that_lasts_leaves_the_digest_for_the_next_dispatch(
    campaign: Engine, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> None:
    url, _ = smtp
    sleeps: list[float] = []
    outcome = dispatcher(campaign, config(url, zalo, token="limited"), sleeps).run(NOW)
    assert statuses(campaign)["x-c"] == "pending"  # not lost, not failed: Zalo said "later"
    assert sleeps == [0.5, 1.0]  # three attempts, backoff doubling
    assert log(campaign)["x-c"][2:4] == (3, "pending")
    assert outcome.digests == {"sent": 3, "pending": 1}
    outcome = dispatcher(campaign, config(url, zalo, token="good")).run(NOW)
    assert outcome.digests == {"sent": 1}
    assert log(campaign)["x-c"][2:4] == (4, "sent")  # attempts add up over dispatches


def test_a_broken_channel_raises_one_alert_and_nothing_is_lost(
    campaign: Engine, smtp_auth: tuple[int, Inbox], zalo: FakeZalo
) -> None:
    port, inbox = smtp_auth
    wrong = f"mailto://cascade:wrong@127.0.0.1:{port}?from=cascade@example.vn&mode=insecure"
    outcome = dispatcher(campaign, config(wrong, zalo)).run(NOW)
    # email is broken after its first 535: tu-a and hu-b fall back to Zalo / ZNS, hu-e waits
    assert outcome.digests == {"sent": 3, "pending": 1}
    assert statuses(campaign)["hu-e"] == "pending"
    [alert] = outcome.alerts
    assert (alert.channel, alert.new) == ("email", True)
    assert alert.detail.startswith("SMTP 535")
    assert alert.delivered is not None and alert.delivered.channel == "zalo"
    to_operator = [r for r in zalo.requests if r["body"].get("recipient", {}).get("user_id") == "84900000009"]
    assert len(to_operator) == 1
    assert "Cảnh báo: kênh email không gửi được" in to_operator[0]["body"]["message"]["text"]
    assert [e["channel"] for e in events(campaign, "channel.failed")] == ["email"]
    assert alert.held == 1  # hu-e; the others went out on their next channel

    # still broken at the next dispatch: no second alert
    again = dispatcher(campaign, config(wrong, zalo)).run(NOW)
    assert [(a.channel, a.new, a.delivered) for a in again.alerts] == [("email", False, None)]
    assert len([r for r in zalo.requests if "84900000009" in str(r["body"])]) == 1
    assert len(events(campaign, "channel.failed")) == 1

    # the operator fixes the password: the waiting digest goes out, the channel is recovered
    right = f"mailto://cascade:secret@127.0.0.1:{port}?from=cascade@example.vn&mode=insecure"
    fixed = dispatcher(campaign, config(right, zalo)).run(NOW)
    assert fixed.digests == {"sent": 1} and fixed.recovered == ["email"]
    assert [m.rcpt_tos for m in inbox.messages] == [["hu.e@example.vn"]]
    assert statuses(campaign)["hu-e"] == "sent"
    assert len(events(campaign, "channel.recovered")) == 1
    # the campaign's event log (§6) keeps to the format's kinds: the channel's events stay out
    kinds = {line["kind"] for line in event_lines(campaign, "test-campaign", TZ)}
    assert "task.opened" in kinds and kinds <= set(LOG_KINDS)


def test_a_broken_channel_is_not_tried_for_every_digest(
    store_engine: Engine, smtp_auth: tuple[int, Inbox], zalo: FakeZalo
) -> None:
    districts = "".join(
        f"      - {{id: hu-{i}, name: Huyện ủy {i}, level: district, "
        f"contacts: [{{role: head, email: h{i}@example.vn}}]}}\n"
        for i in range(40)
    )
    units = UNITS.split("    children:")[0] + "    children:\n" + districts
    deploy(store_engine, compile_text(TASKS, units, HEADER), "source", ISSUED)
    tick(store_engine, "test-campaign", ISSUED)
    port, _ = smtp_auth
    wrong = f"mailto://cascade:wrong@127.0.0.1:{port}?from=cascade@example.vn&mode=insecure"
    outcome = dispatcher(store_engine, config(wrong, zalo)).run(NOW)
    tried = sum(
        t["attempts"] for entry in log(store_engine).values() for t in entry[5] if t["channel"] == "email"
    )
    assert outcome.digests == {"sent": 1, "pending": 40}  # tu-a by Zalo; 40 wait for email
    assert tried <= 4  # at most the sends already in flight (concurrency 4) when the first 535 came
    assert [(a.channel, a.held) for a in outcome.alerts] == [("email", 40)]
    assert len(events(store_engine, "channel.failed")) == 1


def test_an_expired_zalo_token_is_one_alert_by_email(
    campaign: Engine, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> None:
    url, inbox = smtp
    outcome = dispatcher(campaign, config(url, zalo, token="expired")).run(NOW)
    assert statuses(campaign)["x-c"] == "pending"
    assert [a.channel for a in outcome.alerts] == ["zalo"]
    assert "-216" in outcome.alerts[0].detail
    alerts = [m for m in inbox.parsed() if m["To"].endswith("btg@example.vn>") or "btg@example.vn" in m["To"]]
    assert len(alerts) == 1 and "Zalo OA" in subject(alerts[0])


def test_without_an_operator_the_alert_goes_to_the_top_units_contact(
    store_engine: Engine, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> None:
    header = "\n".join(line for line in HEADER.splitlines() if "operator" not in line) + "\n"
    deploy(store_engine, compile_text(TASKS, UNITS, header), "source", ISSUED)
    tick(store_engine, "test-campaign", ISSUED)
    url, inbox = smtp
    outcome = dispatcher(store_engine, config(url, zalo, token="expired")).run(NOW)
    assert outcome.alerts[0].delivered is not None
    assert outcome.alerts[0].delivered.address == "vp@example.vn"  # Tỉnh ủy A's head, by email
    assert sum("Cảnh báo" in subject(m) for m in inbox.parsed()) == 1


def test_an_alert_nobody_could_take_is_retried_until_delivered(
    campaign: Engine, smtp_auth: tuple[int, Inbox], zalo: FakeZalo
) -> None:
    """Before: the broken channel was recorded whether or not the alert went out; later runs
    said "alerted earlier" and the operator never heard of it."""
    port, _ = smtp_auth
    wrong = f"mailto://cascade:wrong@127.0.0.1:{port}?from=cascade@example.vn&mode=insecure"
    first = dispatcher(campaign, config(wrong, zalo, token="expired")).run(NOW)  # both channels broken
    assert sorted(a.channel for a in first.alerts) == ["email", "phone", "zalo"]  # (ZNS: Zalo's token)
    assert all(a.delivered is None for a in first.alerts)  # the operator has only these two
    with campaign.connect() as conn:
        rows = {r.channel: r for r in conn.execute(select(store.channel_alerts))}
    assert rows["email"].delivered_at is None and rows["email"].tries == 1
    from typer.testing import CliRunner

    from cascade.cli import app

    url = {"CASCADE_DATABASE_URL": campaign.url.render_as_string(hide_password=False), "COLUMNS": "250"}
    shown = CliRunner().invoke(app, ["status", "test-campaign"], env=url)
    assert "channel email broken since" in shown.stdout and "operator NOT told yet (1 tries" in shown.stdout
    # the channels by the names the alerts give them ("channel phone broken" read as a phone line's)
    assert "channel Zalo ZNS broken since" in shown.stdout and "channel Zalo OA broken since" in shown.stdout

    second = dispatcher(campaign, config(wrong, zalo)).run(NOW)  # Zalo works again; email does not
    [email] = [x for x in second.alerts if x.channel == "email"]
    assert email.delivered is not None and email.delivered.channel == "zalo"
    told = [r for r in zalo.requests if r["body"].get("recipient", {}).get("user_id") == "84900000009"]
    assert len(told) == 1 and "kênh email không gửi được" in told[0]["body"]["message"]["text"]
    with campaign.connect() as conn:
        rows = {r.channel: r for r in conn.execute(select(store.channel_alerts))}
        assert set(rows) <= {"email", "phone"} and "zalo" not in rows  # zalo recovered: its alert is moot
        assert rows["email"].delivered_at is not None and rows["email"].tries == 2
        assert rows["email"].delivered_by == "zalo:84900000009"
    shown = CliRunner().invoke(app, ["status", "test-campaign"], env=url)
    assert "operator told" in shown.stdout and "(zalo:84900000009)" in shown.stdout

    third = dispatcher(campaign, config(wrong, zalo)).run(NOW)
    again = [x for x in third.alerts if x.channel == "email"]
    assert [(x.delivered, x.told_before) for x in again] == [(None, True)]  # told once: not repeated
    told = [r for r in zalo.requests if "84900000009" in str(r["body"]) and "kênh email" in str(r["body"])]
    assert len(told) == 1


def test_a_drill_leaves_a_broken_channels_alert_as_it_was(
    campaign: Engine, smtp_auth: tuple[int, Inbox], zalo: FakeZalo
) -> None:
    """A drill (`CASCADE_NOTIFY=log cascade dispatch`) on a store whose email had really failed
    "told" the operator of it through the log and recorded the channel recovered: the alert was
    gone, and the operator never heard. A drill sends through no channel, so it says nothing of
    their health: the alert waits for the next real dispatch."""
    from typer.testing import CliRunner

    from cascade.cli import app

    port, _ = smtp_auth
    wrong = f"mailto://cascade:wrong@127.0.0.1:{port}?from=cascade@example.vn&mode=insecure"
    dispatcher(campaign, config(wrong, zalo, token="expired")).run(NOW)  # the operator unreachable

    def alerts() -> dict[str, tuple[Any, ...]]:
        with campaign.connect() as conn:
            rows = conn.execute(select(store.channel_alerts)).all()
        return {r.channel: (r.since, r.delivered_at, r.tries) for r in rows}

    before = alerts()
    assert set(before) == {"email", "phone", "zalo"} and before["email"][1] is None
    env = {
        "CASCADE_DATABASE_URL": campaign.url.render_as_string(hide_password=False),
        "CASCADE_NOTIFY": "log",
        "COLUMNS": "250",
    }
    drill = CliRunner().invoke(app, ["dispatch", "test-campaign", "--now", "2020-11-10 08:00"], env=env)
    assert drill.exit_code == 0, drill.output
    assert "written to no channel (a drill)" in drill.stderr
    told = [line for line in drill.stderr.splitlines() if line.startswith("channel email broken since ")]
    assert len(told) == 1 and told[0].endswith(": a drill does not try it; the next real dispatch does")
    assert alerts() == before
    assert events(campaign, "channel.recovered") == []
    assert set(statuses(campaign).values()) == {"sent"}  # what waited went to the drill's log

    # the next real dispatch, Zalo working again: the operator hears of email
    again = dispatcher(campaign, config(wrong, zalo)).run(NOW)
    [email] = [a for a in again.alerts if a.channel == "email"]
    assert email.delivered is not None and email.delivered.channel == "zalo"


def test_the_logging_channel_goes_through_the_same_dispatcher(
    campaign: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """CASCADE_NOTIFY=log: the digests are rendered, recorded and settled as real ones are,
    their messages written to the log; nothing is sent, and nothing is logged twice."""
    from notifiers.channels import logging_channel

    logger = logging.getLogger("cascade.test.notices")
    policy = Policy(attempts=1, concurrency=2)
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        outcome = Dispatcher(
            campaign, "test-campaign", ChannelConfig(), policy, send=logging_channel(logger)
        ).run(NOW)
        again = Dispatcher(
            campaign, "test-campaign", ChannelConfig(), policy, send=logging_channel(logger)
        ).run(NOW)
    assert outcome.digests == {"sent": 4} and again.digests == {}
    assert set(statuses(campaign).values()) == {"sent"}
    lines = [r.getMessage() for r in caplog.records if r.name == logger.name]
    assert len(lines) == 4 and all("[Cascade]" in line for line in lines)
    assert {entry[3] for entry in log(campaign).values()} == {"sent"}


def test_a_repeated_escalation_reaches_its_recipients_each_time(
    store_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """`repeat: 7d` sends the last stage again every 7 days while the work is still missing: each
    repeat is a notice of its own, not a duplicate of the stage's first (it used to share its
    idempotency key, so the dispatcher dropped every repeat as already sent)."""
    from notifiers.channels import logging_channel

    ladder = "defaults:\n  escalate:\n    - {after: 1d, to: [self]}\n"
    ladder += "    - {after: 3d, to: [root], repeat: 7d}\n"
    tasks = ladder + TASKS
    deploy(store_engine, compile_text(tasks, UNITS, HEADER), "source", ISSUED)
    logger = logging.getLogger("cascade.test.repeats")
    policy = Policy(attempts=1, concurrency=2)
    sent: list[str] = []
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        for day in ("2020-11-10", "2020-11-20", "2020-11-21", "2020-11-23", "2020-11-30", "2020-12-07"):
            now = pendulum.parse(f"{day}T08:00:00", tz=TZ)
            assert isinstance(now, pendulum.DateTime)
            tick(store_engine, "test-campaign", now)
            Dispatcher(
                store_engine, "test-campaign", ChannelConfig(), policy, send=logging_channel(logger)
            ).run(int(now.timestamp()))
            sent += [r.getMessage() for r in caplog.records if r.name == logger.name]
            caplog.clear()
    repeats = [e for e in events(store_engine, "escalation.sent") if e["repeat"] and "tu-a" in e["to"]]
    assert len(repeats) == 2  # 30/11 and 07/12: the province's own work, stage 2 again
    o = store.outbox.c
    with store_engine.connect() as conn:
        to_root = [
            (row.send_at, row.status)
            for row in conn.execute(
                select(o.send_at, o.status, o.payload)
                .where(o.kind == "escalation.sent", o.recipient_unit == "tu-a")
                .order_by(o.send_at)
            )
            if row.payload["task"] == "hn-tinh" and row.payload["stage"] == 2
        ]
    # the stage on 23/11, then each repeat: each delivered (a repeat is not a duplicate)
    assert [(pendulum.from_timestamp(at, tz=TZ).format("DD/MM"), s) for at, s in to_root] == [
        ("23/11", "sent"),
        ("30/11", "sent"),
        ("07/12", "sent"),
    ]
    assert len([m for m in sent if m.startswith("email to vp@example.vn: [Cascade] Đôn đốc")]) >= 4


def test_an_address_corrected_in_the_units_file_gets_what_has_not_gone_out(
    campaign: Engine, smtp: tuple[str, Inbox], zalo: FakeZalo
) -> None:
    """Huyện ủy E's address was mistyped: its digest was refused and `failed`. The operator
    corrected it in the units file and redeployed, and nothing more reached Huyện ủy E: the
    outbox keeps the addresses of the tick that wrote it, so what was refused stayed refused,
    and what was waiting went to the old address too. A redeploy sends what has not gone out
    to the new addresses, and says so."""
    from cascade.i18n import speaking
    from cascade.views.changes import describe

    url, inbox = smtp
    inbox.refuse.add("hu.e@example.vn")
    assert dispatcher(campaign, config(url, zalo)).run(NOW).digests == {"sent": 3, "failed": 1}
    later = ISSUED.add(days=13)  # 23/11 08:00: Huyện ủy B's reminder, 7 days before its deadline
    tick(campaign, "test-campaign", later)
    assert statuses(campaign)["hu-b"] == "pending"
    fixed = UNITS.replace("hu.e@example.vn", "vp.hue@example.vn").replace(
        "hu.b@example.vn", "vp.hub@example.vn"
    )
    plan = compile_text(TASKS, fixed, HEADER)
    dry = deploy(campaign, plan, "source v2", later, dry_run=True)
    assert dry.changes is not None
    with speaking("en"):
        lines = describe(dry.changes)
    assert "Contacts changed (2): Huyện ủy B, Huyện ủy E" in lines, lines
    assert "  2 notice(s) not sent yet go to the new addresses" in lines  # both reminders of 23/11
    assert any(
        line.startswith("  1 notice(s) the old addresses refused go again, to the new ones") for line in lines
    )
    o = store.outbox.c
    with campaign.connect() as conn:
        hu_e_rows = select(o.status, o.channels).where(o.recipient_unit == "hu-e").order_by(o.id)
        assert [tuple(r) for r in conn.execute(hu_e_rows)] == [  # (a dry run changes nothing)
            ("failed", [["email", "hu.e@example.vn"]]),
            ("pending", [["email", "hu.e@example.vn"]]),
        ]
    deploy(campaign, plan, "source v2", later)
    inbox.messages.clear()
    outcome = dispatcher(campaign, config(url, zalo)).run(int(later.timestamp()))
    assert outcome.digests == {"sent": 4}, outcome.digests
    to = sorted(m.rcpt_tos[0] for m in inbox.messages)  # and the province's escalation, to its own
    assert to == ["vp.hub@example.vn", "vp.hue@example.vn", "vp.hue@example.vn", "vp@example.vn"], to
    d = store.deliveries.c
    with campaign.connect() as conn:
        hu_e = conn.execute(
            select(o.status, d.address, d.attempts).join(store.deliveries, d.outbox_id == o.id)
            .where(o.recipient_unit == "hu-e").order_by(o.id)
        ).all()  # fmt: skip
    assert [tuple(r) for r in hu_e] == [("sent", "vp.hue@example.vn", 2), ("sent", "vp.hue@example.vn", 1)]


def test_the_dispatcher_renders_with_the_units_in_the_trees_order(campaign: Engine, zalo: FakeZalo) -> None:
    """The renderer lists a digest's lagging units in the tree's order (tests/test_render.py): the
    dispatcher reads the units in that order and gives the renderer each one's place."""
    u = store.units.c
    with campaign.connect() as conn:
        in_order = conn.execute(
            select(u.id).where(u.campaign_id == "test-campaign").order_by(u.path)
        ).scalars()
        tree = list(in_order)
    renderer = dispatcher(campaign, config(None, zalo)).renderer
    assert renderer.place is not None and sorted(renderer.place, key=renderer.place.__getitem__) == tree
