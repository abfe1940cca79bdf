"""`cascade notify-test`: a test message on every channel of a unit's contacts."""

from __future__ import annotations

import email
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cascade.cli import app
from tests.servers import FakeZalo, Inbox

ROOT = Path(__file__).parent.parent
runner = CliRunner()


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASCADE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CASCADE_DATABASE_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert runner.invoke(app, ["deploy", str(ROOT / "campaigns" / "ha-tinh-xix-2020.yaml")]).exit_code == 0


def configure(monkeypatch: pytest.MonkeyPatch, smtp_url: str, zalo: FakeZalo, token: str) -> None:
    monkeypatch.setenv("CASCADE_SMTP_URL", smtp_url)
    monkeypatch.setenv("CASCADE_ZALO_TOKEN", token)
    monkeypatch.setenv("CASCADE_ZALO_API", zalo.base)


def test_every_channel_of_the_contact_gets_the_test_message(
    deployed: None, smtp: tuple[str, Inbox], zalo: FakeZalo, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, smtp[0], zalo, "good")
    inbox = smtp[1]
    result = runner.invoke(app, ["notify-test", "ha-tinh-xix-2020", "Huyện ủy Can Lộc", "--role", "head"])
    assert result.exit_code == 0, result.output
    [message] = inbox.messages
    assert message.rcpt_tos == ["vp.can-loc.hatinh@example.vn"]
    subject = email.message_from_bytes(message.content)["Subject"]
    assert str(make_header(decode_header(subject))) == "[Cascade] Thư thử kênh thông báo"
    [request] = zalo.requests
    assert request["body"]["recipient"]["user_id"] == "84923900049"
    # the officials read names and titles, not ids
    said = "Thư thử kênh thông báo của Cascade cho Huyện ủy Can Lộc, chiến dịch «Học tập, quán triệt"
    assert said in request["body"]["message"]["text"]


def test_a_broken_channel_is_reported_and_fails_the_command(
    deployed: None, smtp: tuple[str, Inbox], zalo: FakeZalo, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, smtp[0], zalo, "expired")
    result = runner.invoke(app, ["notify-test", "ha-tinh-xix-2020", "hu-can-loc"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "accepted by the SMTP server" in result.stdout
    assert "Zalo error -216: Access token is invalid" in result.stdout  # what Zalo said, for the operator
    monkeypatch.delenv("CASCADE_SMTP_URL")
    unset = runner.invoke(app, ["notify-test", "ha-tinh-xix-2020", "hu-can-loc"], env={"COLUMNS": "200"})
    assert unset.exit_code == 1 and "CASCADE_SMTP_URL is not set" in unset.stdout


def test_a_unit_without_contacts_is_refused(deployed: None) -> None:
    result = runner.invoke(app, ["notify-test", "ha-tinh-xix-2020", "hu-can-loc", "--role", "nobody"])
    assert result.exit_code == 1 and "has no contact with role nobody" in result.stderr


def test_the_operator_reads_the_results_in_vietnamese(
    deployed: None, smtp: tuple[str, Inbox], zalo: FakeZalo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table's columns and Cascade's own results ("accepted by the SMTP server",
    "CASCADE_SMTP_URL is not set") were English in a Vietnamese session; what a server said
    (Zalo's error, an SMTP reply) stays as it said it."""
    from cascade import i18n

    configure(monkeypatch, smtp[0], zalo, "expired")
    try:
        said = runner.invoke(
            app, ["--lang", "vi", "notify-test", "ha-tinh-xix-2020", "hu-can-loc"], env={"COLUMNS": "200"}
        )
        monkeypatch.delenv("CASCADE_SMTP_URL")
        unset = runner.invoke(
            app, ["--lang", "vi", "notify-test", "ha-tinh-xix-2020", "hu-can-loc"], env={"COLUMNS": "200"}
        )
    finally:
        i18n.use("en")
    assert said.exit_code == 1
    header = said.stdout.splitlines()[1]
    assert all(word in header for word in ("vai trò", "kênh", "địa chỉ", "kết quả")), said.stdout
    assert "máy chủ SMTP đã nhận" in said.stdout
    assert "Zalo error -216: Access token is invalid" in said.stdout  # Zalo's own words
    assert "chưa đặt CASCADE_SMTP_URL" in unset.stdout


def test_dispatch_tells_its_digests_in_the_operators_language(
    deployed: None, smtp: tuple[str, Inbox], zalo: FakeZalo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cascade dispatch` printed "digests | n" and "sent" in a Vietnamese session; the flow's
    log line read "lượt gửi: email sent 131"."""
    from cascade import i18n
    from notifiers.dispatch import Outcome

    configure(monkeypatch, smtp[0], zalo, "good")
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "10/11/2020 08:00"]).exit_code == 0
    try:
        said = runner.invoke(
            app, ["--lang", "vi", "dispatch", "ha-tinh-xix-2020", "--now", "10/11/2020 08:00"]
        )
        outcome = Outcome()
        outcome.digests.update({"sent": 1639, "failed": 2})
        outcome.sends.update({"email sent": 1639, "zalo address": 2, "phone transient": 1})
        line = outcome.in_words()
    finally:
        i18n.use("en")
    assert said.exit_code == 0, said.output
    assert "bản tin" in said.stdout and "đã gửi" in said.stdout and "sent" not in said.stdout
    assert line == (
        "bản tin: thất bại 2, đã gửi 1.639; "
        "lượt gửi: email đã gửi 1.639, phone chờ gửi lại 1, zalo địa chỉ bị từ chối 2"
    )


def test_dispatch_in_a_drill_sends_nothing(
    deployed: None, smtp: tuple[str, Inbox], zalo: FakeZalo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With CASCADE_NOTIFY=log (a drill, `./run.sh`'s default) the flow writes its digests to its
    log, but `cascade dispatch` sent them to the officials all the same, through the channels
    the environment had set up."""
    from sqlalchemy import select

    from cascade.cli.common import open_engine
    from cascade.engine import store

    configure(monkeypatch, smtp[0], zalo, "good")
    monkeypatch.setenv("CASCADE_NOTIFY", "log")
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "10/11/2020 08:00"]).exit_code == 0
    said = runner.invoke(app, ["dispatch", "ha-tinh-xix-2020", "--now", "10/11/2020 08:00"])
    assert said.exit_code == 0, said.output
    assert smtp[1].messages == [] and zalo.requests == []
    assert "CASCADE_NOTIFY=log: the digests were written to no channel (a drill)" in said.stderr
    o = store.outbox.c
    with open_engine().connect() as conn:
        statuses = set(conn.execute(select(o.status).where(o.campaign_id == "ha-tinh-xix-2020")).scalars())
    assert statuses == {"sent"}  # as the flow's drill leaves them: done, not waiting for a channel


def test_a_drill_at_the_command_line_shows_what_it_wrote(
    deployed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drill said only that nothing was sent: the operator trying the campaign's notices saw
    neither who is told nor in which words. It lists the digests it wrote (the first 20, then how
    many more) and prints the first whole."""
    monkeypatch.setenv("CASCADE_NOTIFY", "log")
    monkeypatch.setenv("COLUMNS", "250")
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "10/11/2020 08:00"]).exit_code == 0
    held = ["ha-tinh-xix-2020", "tu-ha-tinh", "hn-tinh", "--field", "attendees=450"]
    assert runner.invoke(app, ["signal", *held, "--at", "12/11/2020 10:00"]).exit_code == 0
    assert runner.invoke(app, ["tick", "ha-tinh-xix-2020", "--now", "12/11/2020 10:05"]).exit_code == 0
    said = runner.invoke(app, ["dispatch", "ha-tinh-xix-2020", "--now", "12/11/2020 10:05"])
    assert said.exit_code == 0, said.output
    rows = [line for line in said.stdout.splitlines() if "[Cascade] Việc mới: «" in line]
    assert len(rows) == 20, said.stdout  # 18 districts' committees and mass organisations, each
    name, address = (cell.strip() for cell in rows[0].split("│")[1:3])
    assert (name, address) == ("Đảng ủy Bộ đội Biên phòng tỉnh", "email vp.bien-phong.hatinh@example.vn")
    more = [line for line in said.stdout.splitlines() if line.startswith("… and ")]
    assert len(more) == 1 and int(more[0].split()[2]) > 0, said.stdout
    first = said.stdout[said.stdout.index("The first, to ") :]
    assert first.startswith(f"The first, to {name}:\nKính gửi {name},"), first
    assert f"Đã mở việc «Hội nghị cốt cán cấp huyện và tương đương» cho {name}" in first
