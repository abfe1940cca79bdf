"""Reports and the summary on a small campaign whose every figure is worked out by hand.

    tu-a (province)
    ├── hu-b (district)   hn-huyen 25/11 on time         report 18/01, as computed
    │   ├── x-c           hn-co-so 10/12: 44 of 50       report 12/01, as computed
    │   └── x-d           hn-co-so 20/12 (late): 30/40   report 13/01, attendees corrected to 32
    ├── hu-e (district)   hn-huyen 02/12 (late)          no report
    │   └── x-f           no conference                  no report
    └── mttq (district)   not targeted, excluded from the report

Grassroots reports fall due before 17/01/2021, district ones before 20/01/2021 (step 3d);
requests go out 10 days before each.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pendulum
import pytest
from sqlalchemy import Engine, select

from cascade.engine import store, words
from cascade.engine.deploy import deploy
from cascade.engine.signals import Signal, record
from cascade.engine.summary import Summary, build
from cascade.engine.tick import tick
from cascade.errors import CampaignInvalid
from cascade.reports import tables
from tests.conftest import SMALL_UNITS, compile_text

TZ = "Asia/Ho_Chi_Minh"
TASKS = """\
tasks:
  - {id: hn-tinh, title: Hội nghị tỉnh, level: province, due: {before: 20/11/2020}}
  - {id: hn-huyen, title: Hội nghị huyện, tags: [district-committee], due: {before: 30/11/2020}}
  - id: hn-co-so
    title: Hội nghị cơ sở
    level: grassroots
    due: {before: 15/12/2020}
    fields:
      attendees: {type: int, required: true, title: Số đảng viên dự}
      members: {type: int, required: true, title: Tổng số đảng viên}
      rate: {formula: attendees / members, target: ">= 0.85", title: Tỷ lệ tham dự}
reports:
  - id: bc
    title: Báo cáo kết quả
    from: [grassroots, district]
    exclude: [mttq]
    due: {before: 20/01/2021}
    step: 3d
    opens: 10d
    rollup: [hn-co-so.attendees, hn-co-so.members, hn-co-so.done, hn-co-so.missing]
"""
SIGNALS = [
    ("tu-a", "hn-tinh", "2020-11-18 10:00", {}),
    ("hu-b", "hn-huyen", "2020-11-25 10:00", {}),
    ("hu-e", "hn-huyen", "2020-12-02 10:00", {}),
    ("x-c", "hn-co-so", "2020-12-10 10:00", {"attendees": 44, "members": 50}),
    ("x-d", "hn-co-so", "2020-12-20 10:00", {"attendees": 30, "members": 40}),
    ("x-c", "bc", "2021-01-12 10:00", {}),
    ("x-d", "bc", "2021-01-13 10:00", {"hn-co-so.attendees": 32}),
    ("hu-b", "bc", "2021-01-18 10:00", {}),
]
AS_OF = "2021-01-25 08:00"


def at(text: str) -> pendulum.DateTime:
    return pendulum.parse(text, tz=TZ)  # type: ignore[return-value]


def run(engine: Engine, until: str = AS_OF) -> None:
    """Signals recorded and ticked in time order, with a tick on each day requests go out."""
    deploy(engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    moments = sorted([*((s[2], s) for s in SIGNALS), ("2021-01-07 08:00", None), ("2021-01-10 08:00", None)])
    for when, signal in moments:
        if when > until:
            break
        if signal is not None:
            unit, task, _, fields = signal
            record(engine, "test-campaign", [Signal(unit, task, at(when), fields)], "test", at(when))
        tick(engine, "test-campaign", at(when).add(minutes=1))
    tick(engine, "test-campaign", at(until))


@pytest.fixture
def summary(store_engine: Engine) -> Summary:
    run(store_engine)
    result = build(store_engine, "test-campaign", at(AS_OF))
    assert result is not None
    return result


def counts(s: Summary) -> dict[tuple[str, str], dict[str, int]]:
    return {(t.task, t.level): {k: v for k, v in t.counts.items() if v} for t in s.tasks}


def test_every_count_of_the_summary(summary: Summary) -> None:
    assert counts(summary) == {
        ("hn-tinh", "province"): {"done": 1},
        ("hn-huyen", "district"): {"done": 1, "done_late": 1},
        ("hn-co-so", "grassroots"): {"done": 1, "done_late": 1, "overdue": 1},
        ("bc", "district"): {"done": 1, "overdue": 1},
        ("bc", "grassroots"): {"done": 2, "overdue": 1},
    }
    assert [(o.unit, o.task, o.state) for o in summary.owed] == [
        ("hu-e", "bc", "overdue"),
        ("x-f", "hn-co-so", "overdue"),
        ("x-f", "bc", "overdue"),
    ]
    assert summary.missing_units == ["hu-e", "x-f"]


def test_rolled_up_figures_use_reports_where_submitted_and_signals_elsewhere(summary: Summary) -> None:
    [report] = summary.reports
    # tu-a = hu-b as reported (x-c 44/50 + x-d corrected 32/40) + hu-e computed (x-f: nothing, missing)
    assert report.totals == {
        "hn-co-so.attendees": 76,
        "hn-co-so.members": 90,
        "hn-co-so.done": 2,
        "hn-co-so.missing": 1,
        "hn-co-so.rate": round(76 / 90, 4),
    }
    units = {u.id: u.figures["bc"] for u in summary.units}
    assert units["x-c"]["hn-co-so.attendees"] == 44 and units["x-c"]["hn-co-so.rate"] == 0.88
    assert units["x-d"]["hn-co-so.attendees"] == 32  # its correction, not the 30 of its signal
    assert units["x-d"]["hn-co-so.rate"] == 0.8  # the rate follows the corrected sum
    assert units["hu-e"] == {  # no figures below it: none, not 0 members attending (it read as 0)
        "hn-co-so.attendees": None,
        "hn-co-so.members": None,
        "hn-co-so.done": 0,
        "hn-co-so.missing": 1,
        "hn-co-so.rate": None,  # nothing to divide
    }
    assert report.by_level["district"]["hn-co-so.attendees"] == 76
    assert report.by_level["grassroots"] == {
        "hn-co-so.attendees": 76,
        "hn-co-so.members": 90,
        "hn-co-so.done": 2,
        "hn-co-so.missing": 1,
        "hn-co-so.rate": round(76 / 90, 4),
    }


def test_targets_missed_by_units_and_by_their_roll_ups(summary: Summary) -> None:
    assert [(m.unit, m.figure, m.value, m.target) for m in summary.misses] == [
        ("tu-a", "hn-co-so.rate", round(76 / 90, 4), ">= 0.85"),
        ("hu-b", "hn-co-so.rate", round(76 / 90, 4), ">= 0.85"),
        ("x-d", "rate", 0.75, ">= 0.85"),  # its own conference: 30 of 40
    ]
    assert {m.label for m in summary.misses} == {"Tỷ lệ tham dự"}  # the field's title, rolled up or not
    # the documents' table reads the figure and the target in the target's own terms
    table = tables.misses(summary)
    assert [row[-2:] for row in table.rows] == [["0,84", "0,85"], ["0,84", "0,85"], ["0,75", "0,85"]]


def test_a_target_written_in_percent_is_read_in_percent() -> None:
    assert words.below_target("Tỷ lệ đảng viên tham dự", 0.77, ">= 85%") == (
        "Tỷ lệ đảng viên tham dự 77%, chưa đạt chỉ tiêu 85%"
    )
    assert (
        words.below_target("Tỷ lệ tham dự", 0.8444, "> 50%")
        == "Tỷ lệ tham dự 84,4%, chưa đạt chỉ tiêu trên 50%"
    )
    assert words.target_text("<= 0.05") == "không quá 0,05"
    assert words.measured_text(1234.0, ">= 2000") == "1.234"


def test_a_correction_is_kept_beside_the_computed_value(summary: Summary, store_engine: Engine) -> None:
    assert [(c.unit, c.key, c.computed, c.reported) for c in summary.corrections] == [
        ("x-d", "hn-co-so.attendees", 30, 32)
    ]
    i = store.instances.c
    with store_engine.connect() as conn:
        fields, computed = conn.execute(
            select(i.fields, i.computed).where(i.task_id == "bc", i.unit_id == "x-d")
        ).one()
    assert computed["hn-co-so.attendees"] == 30 and fields["hn-co-so.attendees"] == 32
    assert computed["hn-co-so.members"] == fields["hn-co-so.members"] == 40  # confirmed as computed


def test_the_narrative_says_the_figures(summary: Summary) -> None:
    text = summary.narrative
    assert text.startswith("Tính đến ngày 25/01/2021, 1/1 đơn vị cấp tỉnh đã hoàn thành «Hội nghị tỉnh»")
    assert "2/3 đơn vị cơ sở đã hoàn thành «Hội nghị cơ sở» (1 đúng hạn, 1 muộn; 1 quá hạn)" in text
    assert "Số đảng viên dự («Hội nghị cơ sở»): 76" in text
    assert "Tỷ lệ tham dự («Hội nghị cơ sở»): 84,4%" in text
    assert "Đã nhận 3/5 báo cáo." in text
    assert "3 đơn vị chưa đạt chỉ tiêu đề ra." in text
    assert "Còn 2 đơn vị chưa hoàn thành đầy đủ các nội dung." in text
    assert "1 số liệu được đơn vị điều chỉnh" in text


def test_the_timeline_counts_tasks_done_by_each_day(summary: Summary) -> None:
    grassroots = dict(summary.timeline["grassroots"])
    assert grassroots[pendulum.date(2020, 11, 10)] == 0
    assert grassroots[pendulum.date(2021, 1, 25)] == pytest.approx(2 / 3)
    district = dict(summary.timeline["district"])
    assert district[pendulum.date(2021, 1, 25)] == 1.0  # hn-huyen: hu-b, hu-e (mttq is not targeted)


def outbox_payloads(engine: Engine, kind: str, unit: str) -> list[dict[str, Any]]:
    o = store.outbox.c
    with engine.connect() as conn:
        rows = conn.execute(select(o.payload).where(o.kind == kind, o.recipient_unit == unit)).scalars()
        return list(rows)


def test_a_request_carries_the_units_figures_to_confirm(store_engine: Engine) -> None:
    run(store_engine, until="2021-01-11 08:00")
    [request] = outbox_payloads(store_engine, "report.requested", "hu-b")
    # on 10/01 its communes had not reported yet: their own signals, 44 + 30 of 50 + 40
    figures = {key: value for key, _, value, _kind in request["figures"]}
    assert figures == {
        "hn-co-so.attendees": 74,
        "hn-co-so.members": 90,
        "hn-co-so.done": 2,
        "hn-co-so.missing": 0,
        "hn-co-so.rate": round(74 / 90, 4),
    }
    labels = [label for _, label, _, _kind in request["figures"]]
    assert labels[0] == "Số đảng viên dự («Hội nghị cơ sở»)"
    assert labels[2] == "Số đơn vị đã hoàn thành «Hội nghị cơ sở»"
    # hu-b's communes had theirs on 07/01
    assert len(outbox_payloads(store_engine, "report.requested", "x-c")) == 1
    from notifiers.render import Renderer

    message = Renderer(TZ).render(
        [request], "Huyện ủy B", {}, "test-campaign", int(at("2021-01-10").timestamp())
    )
    assert "Đề nghị hu-b gửi báo cáo «Báo cáo kết quả»; hạn chót: hết ngày 19/01/2021" in message.text
    said = " ".join(message.text.split())
    assert (
        "Số liệu tổng hợp từ các đơn vị trực thuộc (xác nhận hoặc sửa khi gửi báo cáo): "
        "Số đảng viên dự («Hội nghị cơ sở»): 74; Tổng số đảng viên («Hội nghị cơ sở»): 90;"
    ) in said
    # a rate as the summary writes it (it read "0,8222"), and a unit with none below asked to
    # confirm its own figures (a cell was told they were "from the units under it")
    assert "; Tỷ lệ tham dự («Hội nghị cơ sở»): 82,2%. " in said, said
    [own] = outbox_payloads(store_engine, "report.requested", "x-c")
    commune = Renderer(TZ).render([own], "Đảng ủy xã C", {}, "c", int(at("2021-01-10").timestamp())).text
    assert "Số liệu đã ghi nhận của đơn vị (xác nhận hoặc sửa khi gửi báo cáo):" in " ".join(commune.split())
    older = {**request, "figures": [f[:3] for f in request["figures"]]}  # (queued before rates were told)
    assert "82,2%" not in Renderer(TZ).render([older], "Huyện ủy B", {}, "c", 0).text


def test_a_report_refuses_a_figure_it_does_not_roll_up(store_engine: Engine) -> None:
    deploy(store_engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    bad = [
        Signal("x-c", "bc", at("2021-01-12 10:00"), {"hn-co-so.attendes": 3}),
        Signal("x-d", "bc", at("2021-01-12 10:00"), {"hn-co-so.members": -1}),
    ]
    with pytest.raises(CampaignInvalid) as refused:
        record(store_engine, "test-campaign", bad, "test", at("2021-01-12 10:00"))
    text = "\n".join(str(p) for p in refused.value.problems)
    assert "`bc` has no field `hn-co-so.attendes`; did you mean `hn-co-so.attendees`" in text
    assert "hn-co-so.members: -1 is below the minimum 0" in text


def fingerprint(engine: Engine) -> str:
    """Every row of every table, hashed."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in store.metadata.sorted_tables:
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_building_and_writing_a_summary_changes_nothing(store_engine: Engine, tmp_path: Any) -> None:
    from cascade.reports import write

    run(store_engine)
    before = fingerprint(store_engine)
    summary = build(store_engine, "test-campaign", at(AS_OF))
    assert summary is not None
    for fmt in ("md", "xlsx", "docx"):
        write(summary, fmt, tmp_path / f"summary.{fmt}")
    assert fingerprint(store_engine) == before


def test_the_top_unit_receives_the_summary_with_its_paragraph(summary: Summary, store_engine: Engine) -> None:
    from notifiers.render import Renderer

    [payload] = outbox_payloads(store_engine, "summary.generated", "tu-a")
    assert payload["narrative"] == summary.narrative  # built in the tick, from the same store
    message = Renderer(TZ).render([payload], "Tỉnh ủy A", {}, "test-campaign", int(at(AS_OF).timestamp()))
    assert "Báo cáo tổng hợp kết quả: Tính đến ngày 25/01/2021" in message.text
    assert "Tỷ lệ tham dự («Hội nghị cơ sở»): 84,4%" in message.short


def test_reads_as_far_as_needed_and_whole_campaign_reads_agree(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tick's roll-ups read only what its units' figures need (looked up, or scanned past
    SCAN_ABOVE units): the same stored figures and requests either way."""
    import cascade.engine.rollup
    from cascade.engine.store import open_store

    def figures(engine: Engine) -> list[Any]:
        i = store.instances.c
        with engine.connect() as conn:
            rows = conn.execute(
                select(i.unit_id, i.fields, i.computed).where(i.task_id == "bc").order_by(i.unit_id)
            )
            return [*rows.all(), *sorted(map(str, outbox_payloads(engine, "report.requested", "hu-b")))]

    looked_up = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    run(looked_up)
    monkeypatch.setattr(cascade.engine.rollup, "SCAN_ABOVE", 0)
    scanned = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    run(scanned)
    assert figures(looked_up) == figures(scanned)
    assert any(computed for _, _, computed in figures(scanned)[:5])


@pytest.mark.parametrize("moment", ["2021-01-07 08:00", "2021-01-12 12:00", "2021-01-13 12:00", AS_OF])
def test_every_units_figures_read_for_it_alone_match_the_whole_campaigns(
    store_engine: Engine, moment: str
) -> None:
    from cascade.engine.rollup import load, load_for
    from cascade.plan.rules import campaign_rules

    run(store_engine, until=moment)
    with store_engine.connect() as conn:
        campaign = conn.execute(select(store.campaigns)).one()
        rules = campaign_rules(campaign)
        whole = load(conn, campaign, rules["bc"], rules)
        for unit in ("tu-a", "hu-b", "hu-e", "x-c", "x-d", "x-f"):
            alone = load_for(conn, campaign, rules["bc"], rules, [unit])
            assert alone.computed_of(unit) == whole.computed_of(unit), unit
            assert alone.reported(unit) == whole.reported(unit), unit


def test_a_submitted_report_settles_its_subtree(store_engine: Engine) -> None:
    """Once hu-b has reported, tu-a's figures take hu-b's report and read nothing below it;
    hu-e has not, so its commune's instances are read."""
    from cascade.engine.rollup import load_for
    from cascade.plan.rules import campaign_rules

    run(store_engine)
    with store_engine.connect() as conn:
        campaign = conn.execute(select(store.campaigns)).one()
        rules = campaign_rules(campaign)
        rollup = load_for(conn, campaign, rules["bc"], rules, ["tu-a"])
        assert {unit for _, unit in rollup.instances} == {"x-f"}  # x-c's and x-d's conferences: not read
        assert set(rollup.reports) == {"hu-b", "hu-e", "x-f"}  # not x-c's, x-d's
        assert rollup.computed_of("tu-a")["hn-co-so.attendees"] == 44 + 32  # hu-b's report, corrected


def test_a_redeploy_that_moves_a_unit_is_seen_by_the_next_roll_up(store_engine: Engine) -> None:
    """The hierarchy is kept per deploy: a commune moved to another district counts there, even
    when the caller passes the same source text at the same instant."""
    from cascade.engine.rollup import load_for
    from cascade.plan.rules import campaign_rules

    run(store_engine, until="2021-01-07 08:00")

    def attendees(unit: str) -> Any:
        with store_engine.connect() as conn:
            campaign = conn.execute(select(store.campaigns)).one()
            rules = campaign_rules(campaign)
            return load_for(conn, campaign, rules["bc"], rules, [unit]).computed_of(unit)[
                "hn-co-so.attendees"
            ]

    assert (attendees("hu-b"), attendees("hu-e")) == (74, None)  # (nothing below hu-e gave the figure)
    x_d = next(line for line in SMALL_UNITS.splitlines(keepends=True) if "id: x-d" in line)
    moved = SMALL_UNITS.replace(x_d, "").replace(
        "contacts: [{role: head, email: x.f@example.vn}]}\n",
        "contacts: [{role: head, email: x.f@example.vn}]}\n" + x_d,
    )
    plan = compile_text(TASKS, moved)
    deploy(store_engine, plan, "source", at("2020-11-10 08:00"))  # same text and instant: the hierarchy tells
    assert (attendees("hu-b"), attendees("hu-e")) == (44, 30)


def test_what_is_not_in_yet_is_said_as_not_in(store_engine: Engine) -> None:
    """What the summary said of work and figures not in yet, read by the officials it goes to:
    a grassroots unit's essays, due 7 days after its own conference, were "waiting for the level
    above to finish"; a district none of whose communes had held their conference had "0
    members attending"; and with one commune's figures in and two to come (or none in at all),
    "every unit met the target"."""
    from cascade.reports.markdown import markdown

    essays = (
        "  - {id: thu-hoach, title: Bài thu hoạch, level: grassroots, due: {after: hn-co-so, days: 7}}\n"
        "  - id: so-ket\n    title: Sơ kết\n    level: grassroots\n"
        "    opens_after: {task: hn-huyen, at: parent}\n    due: {before: 31/12/2020}\n"
    )
    plan = compile_text(TASKS.replace("reports:\n", essays + "reports:\n"))
    deploy(store_engine, plan, "source", at("2020-11-10 08:00"))
    tick(store_engine, "test-campaign", at("2020-11-12 08:00"))
    first = build(store_engine, "test-campaign", at("2020-11-12 08:00"))
    assert first is not None
    assert "«Bài thu hoạch» (3 chờ hoàn thành «Hội nghị cơ sở» để bắt đầu)" in first.narrative
    assert "«Sơ kết» (3 chờ cấp trên hoàn thành để bắt đầu)" in first.narrative
    section = markdown(first).split("## III.")[1].split("## IV.")[0]
    assert "Chưa có số liệu để đánh giá chỉ tiêu (3 đơn vị chưa có số liệu)." in section

    for unit, task, when, fields in SIGNALS[:4]:  # x-c's conference (44 of 50), the others not yet
        record(store_engine, "test-campaign", [Signal(unit, task, at(when), fields)], "test", at(when))
    tick(store_engine, "test-campaign", at("2020-12-11 08:00"))
    summary = build(store_engine, "test-campaign", at("2020-12-11 08:00"))
    assert summary is not None
    said = summary.narrative
    assert "«Bài thu hoạch» (1 đang thực hiện; 2 chờ hoàn thành «Hội nghị cơ sở» để bắt đầu)" in said
    assert "«Sơ kết» (3 đang thực hiện)" in said  # (its districts are done: open)
    units = {u.id: u.figures["bc"] for u in summary.units}
    assert (units["x-d"]["hn-co-so.attendees"], units["hu-e"]["hn-co-so.attendees"]) == (None, None)
    assert (units["x-c"]["hn-co-so.attendees"], units["hu-b"]["hn-co-so.attendees"]) == (44, 44)
    assert (summary.judged, summary.unjudged) == (1, 2)
    section = markdown(summary).split("## III.")[1].split("## IV.")[0]
    assert "Các đơn vị đã có số liệu (1 đơn vị) đều đạt chỉ tiêu đề ra; 2 đơn vị chưa có số liệu." in section
    # the essays not open yet had no last day in section IV, as if they had none
    owed = markdown(summary).split("## IV.")[1]
    assert (
        "| x-d | Đảng ủy xã D | cơ sở | Bài thu hoạch | chưa mở "
        "| 7 ngày sau khi hoàn thành «Hội nghị cơ sở» |" in owed
    )
    assert "| x-c | Đảng ủy xã C | cơ sở | Bài thu hoạch | đang thực hiện | 17/12/2020 |" in owed


def test_signals_recorded_keep_their_rows_only_to_say_one_back(store_engine: Engine) -> None:
    """The rows stored are kept in the answer for `cascade signal` to say one back; a simulation
    records its whole file (219,327 signals) told, and kept them all for its run: 110 MiB more at
    its peak, seen by the national benchmark."""
    deploy(store_engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    batch = [Signal(u, t, at(w), f) for u, t, w, f in SIGNALS[:3]]
    told = record(store_engine, "test-campaign", batch, "test", at("2021-01-25 08:00"), tell=True)
    assert told == (3, 0) and told.rows == ()
    one = [Signal("x-c", "hn-co-so", at("2020-12-10 10:00"), {"attendees": 44, "members": 50})]
    said = record(
        store_engine, "test-campaign", one, "test", at("2021-01-25 08:00"), tell=True, said_back=True
    )
    assert [(r["unit_id"], r["task_id"], r["fields"]) for r in said.rows] == [
        ("x-c", "hn-co-so", {"attendees": 44, "members": 50})
    ]


def test_the_overdue_list_counts_the_days_late_by_the_calendar(store_engine: Engine) -> None:
    """`cascade status` counted whole days since the deadline's instant: work whose last day was
    19/11 was "30" days overdue at 08:00 on 20/12, where the notices and the people count 31
    (20/11 to 20/12), and a conference due by 14/12 was 5 days late, not 6."""
    from cascade.views.status import campaign_status

    deploy(store_engine, compile_text(TASKS), "source", at("2020-11-10 08:00"))
    tick(store_engine, "test-campaign", at("2020-12-20 08:00"))
    status = campaign_status(store_engine, "test-campaign")
    assert status is not None
    late = {(o.task, o.days) for o in status.overdue}
    assert late == {("hn-tinh", 31), ("hn-huyen", 21), ("hn-co-so", 6)}


def test_units_are_listed_in_the_order_their_file_writes_them(store_engine: Engine) -> None:
    """The summary, the board, the reply template and the overdue list showed units by their ids
    (`dang-uy-ubnd` before `dong-hoi`), not in the order the province lists them; a redeploy that
    reorders the file reorders them."""
    from cascade.views.answer_sheet import answer_sheet
    from cascade.views.board import board
    from cascade.views.status import campaign_status

    written = SMALL_UNITS.replace("hu-b", "hu-z").replace("x-c", "x-y").replace("hu-e", "hu-b")
    # tu-a, then hu-z (x-y, x-d), hu-b (x-f), mttq: ids out of alphabetical order
    plan = compile_text(TASKS, units_yaml=written)
    deploy(store_engine, plan, "source", at("2020-11-10 08:00"))
    tick(store_engine, "test-campaign", at("2020-12-20 08:00"))  # every conference overdue
    file_order = ["tu-a", "hu-z", "x-y", "x-d", "hu-b", "x-f", "mttq"]

    summary = build(store_engine, "test-campaign", at("2020-12-20 08:00"))
    assert summary is not None
    assert [u.id for u in summary.units] == file_order
    assert [o.unit for o in summary.owed if o.task == "hn-co-so"] == ["x-y", "x-d", "x-f"]
    with store_engine.connect() as conn:
        sheet = answer_sheet(conn, "test-campaign", "hn-co-so")
        shown = board(conn, "test-campaign", int(at("2020-12-20 08:00").timestamp()))
    assert [(g.id, [u.id for u in g.units]) for g in sheet.groups] == [
        ("hu-z", ["x-y", "x-d"]),
        ("hu-b", ["x-f"]),
    ]
    assert shown is not None
    assert [u.id for u in shown.units["district"]] == ["hu-z", "hu-b", "mttq"]
    status = campaign_status(store_engine, "test-campaign")
    assert status is not None
    assert [o.unit for o in status.overdue if o.level == "grassroots"] == ["x-y", "x-d", "x-f"]

    # the province lists hu-b first from now on
    hu_b = written[written.index("      - id: hu-b") : written.index("      - id: mttq")]
    reordered = written.replace(hu_b, "").replace("      - id: hu-z", hu_b + "      - id: hu-z")
    deploy(store_engine, compile_text(TASKS, units_yaml=reordered), "source 2", at("2020-12-20 09:00"))
    summary = build(store_engine, "test-campaign", at("2020-12-20 09:00"))
    assert summary is not None
    assert [u.id for u in summary.units] == ["tu-a", "hu-b", "x-f", "hu-z", "x-y", "x-d", "mttq"]
