"""Vietnamese digests from notice payloads (Jinja2 templates in notifiers/templates)."""

from __future__ import annotations

import pendulum

from notifiers.render import Renderer, days_left, subject_of

TZ = "Asia/Ho_Chi_Minh"
UNITS = {"tu-a": "Tỉnh ủy A", "hu-b": "Huyện ủy B", "hu-e": "Huyện ủy <E> & Co"}


def epoch(text: str) -> int:
    return int(pendulum.parse(text, tz=TZ).timestamp())


DEADLINE = epoch("2020-11-30T00:00:00")
BASE = {"task": "hn-huyen", "task_title": "Hội nghị cấp huyện", "deadline": DEADLINE}


def test_the_deadline_is_written_as_its_last_day() -> None:
    r = Renderer(TZ)
    assert r.deadline(DEADLINE) == "hết ngày 29/11/2020"
    assert r.deadline(epoch("2020-11-30T17:30:00")) == "trước 17 giờ 30 ngày 30/11/2020"
    assert r.deadline(epoch("2023-07-01T00:00:00")) == "hết ngày 30/06/2023"  # a Q2 task
    assert r.deadline(epoch("2021-01-01T00:00:00")) == "hết ngày 31/12/2020"
    assert days_left(DEADLINE, epoch("2020-11-25T08:00:00"), TZ) == " (còn 5 ngày)"
    assert days_left(DEADLINE, epoch("2020-11-29T20:00:00"), TZ) == " (còn dưới 1 ngày)"
    assert days_left(DEADLINE, epoch("2020-12-03T07:00:00"), TZ) == " (đã quá 4 ngày)"


def test_the_days_late_are_counted_by_the_calendar_from_the_last_day() -> None:
    """A digest of 08/12 07:05 said "hạn chót: hết ngày 06/12/2026 (đã quá 1 ngày)": a day and
    seven hours had passed since the deadline's instant, and it counted the whole days. Its readers
    count the days since the last day, 07/12 and 08/12: two. The status table did the same."""
    last_day_29_11 = DEADLINE  # 30/11 00:00, the end of 29/11
    assert days_left(last_day_29_11, epoch("2020-11-30T00:00:00"), TZ) == " (đã quá 1 ngày)"
    assert days_left(last_day_29_11, epoch("2020-11-30T23:59:00"), TZ) == " (đã quá 1 ngày)"
    assert days_left(last_day_29_11, epoch("2020-12-01T07:00:00"), TZ) == " (đã quá 2 ngày)"
    at_an_hour = epoch("2020-11-30T17:30:00")  # "trước 17 giờ 30 ngày 30/11/2020"
    assert days_left(at_an_hour, epoch("2020-11-30T18:00:00"), TZ) == " (vừa quá hạn)"
    assert days_left(at_an_hour, epoch("2020-12-01T08:00:00"), TZ) == " (đã quá 1 ngày)"
    # the days of the campaign's timezone, not the server's: 01/12 05:00 in Hà Nội is 30/11 in UTC
    assert days_left(last_day_29_11, epoch("2020-12-01T05:00:00"), TZ) == " (đã quá 2 ngày)"


def test_the_lagging_units_are_listed_in_the_trees_order_as_the_lines_name_them() -> None:
    """A district's digest ended "Các đơn vị chưa hoàn thành: Chi bộ 1 xã 2.8.1, Chi bộ 1 xã 2.8.10,
    Chi bộ 1 xã 2.8.11, ..., Chi bộ 1 xã 2.8.2, ...", sorted as text: each commune's cells strewn
    over the list (and every "Đảng ủy" after every "Chi bộ"), where its lines name them commune
    by commune. The list keeps the tree's order the dispatcher reads the units in."""
    units = {"xa-1": "Đảng ủy xã 2.8.1"}
    units |= {f"cb-{c}-{n}": f"Chi bộ {n} xã 2.8.{c}" for c in (1, 2, 10) for n in range(1, 9)}
    notices = [{**BASE, "kind": "escalation.sent", "unit": u, "stage": 1, "lagging": u} for u in units]
    place = {unit: n for n, unit in enumerate(units)}
    at = epoch("2020-12-03T07:00:00")
    text = Renderer(TZ, place=place).render(notices, "Huyện ủy 2.8", units, "c", at).text
    listed = text.split("Các đơn vị chưa hoàn thành: ")[1].split(".\n")[0]
    assert listed == ", ".join(units.values()), listed  # (25 units: a line names 20, the list all)
    assert listed.startswith("Đảng ủy xã 2.8.1, Chi bộ 1 xã 2.8.1, Chi bộ 2 xã 2.8.1")


def test_work_opened_already_overdue_has_its_forms_link_once() -> None:
    """A cell whose conference was signalled late got "Đã mở việc «Bài thu hoạch» ...; (đã quá 3
    ngày)" with its form's link, then "[Quá hạn] ... «Bài thu hoạch»" with the same link again;
    a report requested and overdue the same. The link is under the last line about its task."""
    opened = {**BASE, "kind": "task.opened", "unit": "hu-b"}
    overdue = {**BASE, "kind": "escalation.sent", "unit": "hu-b", "stage": 1, "lagging": "hu-b"}
    other = {**BASE, "task": "bc", "task_title": "Báo cáo", "kind": "report.requested", "unit": "hu-b"}
    renderer = Renderer(TZ, link=lambda unit, task, _now: f"https://cascade.example/l/{unit}/{task}")
    at = epoch("2020-12-03T07:00:00")
    text = renderer.render([opened, overdue, other], "Huyện ủy B", UNITS, "c", at, recipient_unit="hu-b").text
    assert text.count("https://cascade.example/l/hu-b/hn-huyen") == 1, text
    lines = text.split("\n- ")
    assert lines[1].startswith("Đã mở việc «Hội nghị cấp huyện»") and "https://" not in lines[1], lines
    assert lines[2].startswith("[Quá hạn] Huyện ủy B") and "/l/hu-b/hn-huyen" in lines[2], lines
    assert "/l/hu-b/bc" in lines[3]  # (another task's link stays where it is)


def test_a_digest_words_every_notice_and_lists_the_lagging_units() -> None:
    notices = [
        {**BASE, "kind": "task.opened", "unit": "hu-b"},
        {**BASE, "kind": "reminder.sent", "unit": "hu-e"},
        {**BASE, "kind": "escalation.sent", "unit": "hu-e", "stage": 2, "lagging": "hu-e"},
        {
            **BASE,
            "kind": "escalation.sent",
            "unit": "hu-b",
            "stage": 2,
            "lagging": "hu-b",
            "repeated": 1606870800,
        },
        {**BASE, "kind": "task.at_risk", "unit": "hu-b", "window": "5d"},
        {
            **BASE,
            "kind": "task.below_target",
            "unit": "hu-b",
            "field": "ty_le",
            "field_title": "Tỷ lệ đảng viên tham dự",
            "value": 0.77,
            "target": ">= 85%",
        },
        {  # a notice written before notices carried the figure's title: its id stands in
            **BASE,
            "kind": "task.below_target",
            "unit": "hu-e",
            "field": "so_lop",
            "value": 3.0,
            "target": ">= 5",
        },
        {**BASE, "kind": "report.requested", "unit": "hu-b", "task_title": "Báo cáo tiến độ"},
    ]
    m = Renderer(TZ).render(notices, "Tỉnh ủy A", UNITS, "ha-tinh-xix-2020", epoch("2020-12-03T07:00:00"))
    assert m.subject == "[Cascade] Đôn đốc: 2 việc quá hạn — ha-tinh-xix-2020"
    text = m.text
    assert text.startswith("Kính gửi Tỉnh ủy A,")
    assert "Đã mở việc «Hội nghị cấp huyện» cho Huyện ủy B; hạn chót: hết ngày 29/11/2020" in text
    assert "[Đôn đốc lần 2] Huyện ủy <E> & Co chưa hoàn thành «Hội nghị cấp huyện»" in text
    assert "[Đôn đốc lần 2, nhắc lại] Huyện ủy B chưa hoàn thành «Hội nghị cấp huyện»" in text
    assert "(đã quá 4 ngày)" in text
    # the figure by its title, as a percentage when its target was written as one
    assert "Tỷ lệ đảng viên tham dự 77%, chưa đạt chỉ tiêu 85%" in text
    assert "so_lop 3, chưa đạt chỉ tiêu 5" in text
    assert ">=" not in text and "0.85" not in text
    assert "Đề nghị Huyện ủy B gửi báo cáo «Báo cáo tiến độ»" in text
    assert "Các đơn vị chưa hoàn thành: Huyện ủy <E> & Co, Huyện ủy B." in text
    assert text.count("\n- ") == len(notices)
    # the HTML part escapes names; the Zalo text has the notices without greeting
    assert "Huyện ủy &lt;E&gt; &amp; Co" in m.html and "<E>" not in m.html
    assert m.html.count("<li>") == len(notices)
    assert m.short.startswith(m.subject) and "Kính gửi" not in m.short


def test_the_summary_digest_counts_states_in_words() -> None:
    counts = {"hn-huyen": {"district": {"done": 20, "overdue": 3}}, "hn-xa": {"grassroots": {"done": 80}}}
    notices = [{"kind": "summary.generated", "counts": counts}]
    m = Renderer(TZ).render(notices, "Tỉnh ủy A", UNITS, "ha-tinh-xix-2020", DEADLINE)
    assert m.subject == "[Cascade] Tổng hợp kết quả — ha-tinh-xix-2020"
    assert "Đã có tổng hợp kết quả chiến dịch: hoàn thành 100, quá hạn 3." in m.text


def test_a_reminder_beside_the_opening_of_the_same_work_is_said_once() -> None:
    """A cell's essay (due 7 days after its conference, reminded 7 days before) opened with the
    conference's signal recorded the next day, and its reminder fell due at once: the digest
    said "Đã mở việc «Bài thu hoạch» ...; hạn chót: hết ngày 25/04/2026 (còn 6 ngày)" and then
    "Nhắc việc «Bài thu hoạch» ...: hạn chót: hết ngày 25/04/2026 (còn 6 ngày)", the same link
    under each, in 9,011 digests of a national campaign. The opening says all the reminder
    does; a reminder of other work, or of the same work elsewhere, keeps its line."""
    essay = {"task": "thu-hoach", "task_title": "Bài thu hoạch", "deadline": DEADLINE}
    report = {"task": "bc", "task_title": "Báo cáo tiến độ", "deadline": DEADLINE}
    notices = [
        {**essay, "kind": "task.opened", "unit": "hu-b"},
        {**BASE, "kind": "reminder.sent", "unit": "hu-b"},
        {**essay, "kind": "reminder.sent", "unit": "hu-b"},
        {**essay, "kind": "reminder.sent", "unit": "hu-e"},
        {**report, "kind": "report.requested", "unit": "hu-b"},
        {**report, "kind": "reminder.sent", "unit": "hu-b"},
    ]
    links = Renderer(TZ, link=lambda unit, task, now: f"https://cascade.example.vn/l/{unit}/{task}")
    m = links.render(notices, "Huyện ủy B", UNITS, "c", epoch("2020-11-25T08:00:00"), "hu-b")
    lines = [line for line in m.text.splitlines() if line.startswith("- ")]
    assert lines == [
        "- Đã mở việc «Bài thu hoạch» cho Huyện ủy B; hạn chót: hết ngày 29/11/2020 (còn 5 ngày).",
        "- Nhắc việc «Hội nghị cấp huyện» (Huyện ủy B): hạn chót: hết ngày 29/11/2020 (còn 5 ngày).",
        "- Nhắc việc «Bài thu hoạch» (Huyện ủy <E> & Co): hạn chót: hết ngày 29/11/2020 (còn 5 ngày).",
        "- Đề nghị Huyện ủy B gửi báo cáo «Báo cáo tiến độ»; hạn chót: hết ngày 29/11/2020 (còn 5 ngày).",
    ], m.text
    assert m.text.count("/l/hu-b/thu-hoach") == 1 and m.text.count("/l/hu-b/bc") == 1
    assert m.html.count("<li>") == 4 and m.short.count("\n- ") == 4
    assert m.subject == "[Cascade] Nhắc hạn chót: 2 việc — c"
    alone = links.render(notices[:1] + notices[2:3], "Huyện ủy B", UNITS, "c", DEADLINE - 86400, "hu-b")
    assert alone.subject.startswith("[Cascade] Việc mới: «") and alone.text.count("\n- ") == 1


def test_subjects_follow_the_most_pressing_kind() -> None:
    assert subject_of([{"kind": "reminder.sent"}] * 2, "c") == "[Cascade] Nhắc hạn chót: 2 việc — c"
    assert subject_of([{"kind": "unit.moved"}], "c") == "[Cascade] 1 thông báo — c"


def test_a_subject_says_what_is_new_and_which_work_it_is() -> None:
    """A unit told of its new work, asked for its report or for its answer to a request for more
    time, or told of a deadline moved, read "[Cascade] 1 thông báo — Học tập, quán triệt Nghị
    quyết Đại hội đại biểu toàn quốc lần thứ XIV của Đảng", which an inbox cuts before it says
    anything: what it is, and which work, come first."""
    opened = {"kind": "task.opened", "task": "hn-xa", "task_title": "Hội nghị cấp xã"}
    asked = {"kind": "report.requested", "task": "bc", "task_title": "Báo cáo kết quả"}
    other = {**opened, "task": "hn-2", "task_title": "Hội nghị lần 2"}
    assert subject_of([opened], "c") == "[Cascade] Việc mới: «Hội nghị cấp xã» — c"
    assert subject_of([opened, other], "c") == "[Cascade] Việc mới: 2 việc — c"
    assert subject_of([asked], "c") == "[Cascade] Đề nghị gửi báo cáo «Báo cáo kết quả» — c"
    assert subject_of([asked, opened], "c") == "[Cascade] Đề nghị gửi 1 báo cáo — c"
    assert subject_of([opened, {"kind": "reminder.sent"}], "c") == "[Cascade] Nhắc hạn chót: 1 việc — c"
    # a parent asked for more time, and a unit whose deadline moved, are told what it is too
    wants = [{"kind": "extension.requested", "unit": u} for u in ("x-c", "x-d")]
    assert subject_of([*wants, asked], "c") == "[Cascade] Đề nghị gia hạn: 2 đơn vị chờ ý kiến — c"
    moved = [{"kind": "task.amended"}, {"kind": "extension.denied"}]
    assert subject_of(moved, "c") == "[Cascade] Điều chỉnh hạn chót: 2 việc — c"
    # (a figure under its target, and work opened with too little time left, said so too)
    assert subject_of([{"kind": "task.below_target"}], "c") == "[Cascade] Chưa đạt chỉ tiêu: 1 việc — c"
    risky = [{"kind": "task.at_risk"}] * 2
    assert subject_of(risky, "c") == "[Cascade] Cảnh báo thời gian thực hiện: 2 việc — c"


def test_units_moved_together_are_one_line_of_the_new_parents_digest() -> None:
    """Dropping Hà Tĩnh's district level told the province of 87 moves in 87 lines alike
    (13,660 characters; seven Zalo messages). Units moved from one parent to another together
    are one line naming them; a unit moved alone keeps its line."""
    units = {**UNITS, "x-c": "Đảng ủy xã C", "x-d": "Đảng ủy xã D", "x-f": "Đảng ủy xã F"}

    def moved(unit: str, old: str) -> dict[str, object]:
        return {"kind": "unit.moved", "unit": unit, "from": old, "moved_to": "tu-a"}

    notices = [moved("x-c", "hu-b"), moved("x-f", "hu-e"), moved("x-d", "hu-b")]
    m = Renderer(TZ).render(notices, "Tỉnh ủy A", units, "ha-tinh-xix-2020", epoch("2020-12-03T07:00:00"))
    lines = [line for line in m.text.splitlines() if line.startswith("- ")]
    assert lines == [
        "- 2 đơn vị chuyển sang trực thuộc Tỉnh ủy A (trước đây thuộc Huyện ủy B): Đảng ủy xã C, "
        "Đảng ủy xã D; từ nay đôn đốc của các đơn vị này gửi về Tỉnh ủy A.",
        "- Đảng ủy xã F chuyển sang trực thuộc Tỉnh ủy A (trước đây thuộc Huyện ủy <E> & Co); từ nay đôn đốc"
        " của đơn vị này gửi về Tỉnh ủy A.",
    ], m.text
    assert "87" not in m.subject and m.subject.startswith("[Cascade] 3 thông báo")


def test_figures_and_counts_in_a_notice_are_grouped_as_vietnamese_writes_numbers() -> None:
    """A province's report request carried its roll-up as "Số đảng viên dự: 1234567", and the
    nation's summary notice "hoàn thành 56700", where the summary document writes 1.234.567."""
    figures = [["x.attendees", "Số đảng viên dự", 1234567], ["x.rate", "Tỷ lệ", 0.8444]]
    figures.append(["x.n", "Số lớp", None])
    request = {**BASE, "kind": "report.requested", "unit": "tu-a", "figures": figures}
    counts = {"hn": {"cell": {"done": 56700, "overdue": 1234}}}
    notices = [request, {"kind": "summary.generated", "counts": counts}]
    m = Renderer(TZ).render(notices, "Tỉnh ủy A", UNITS, "c", epoch("2020-11-25T08:00:00"))
    assert "Số đảng viên dự: 1.234.567; Tỷ lệ: 0,84; Số lớp: chưa có." in m.text, m.text
    assert "Đã có tổng hợp kết quả chiến dịch: hoàn thành 56.700, quá hạn 1.234." in m.text, m.text


def test_escalations_of_many_units_for_one_deadline_are_one_line_naming_them() -> None:
    """The Central Committee's digest after a national catch-up held 717 lines alike, "[Đôn đốc
    lần 2] Đảng ủy xã … chưa hoàn thành «Hội nghị cấp xã»; hạn chót đã qua: hết ngày 28/04/2026
    (đã quá 21 ngày)", then the 717 names again: 104 KB of email and 46 Zalo messages. The units
    lagging on one task, stage and deadline are one line naming them; an escalation about the
    recipient's own work keeps its line and its link."""
    names = {f"x{n}": f"Đảng ủy xã {n}" for n in range(717)} | {"tw": "Ban Chấp hành Trung ương"}
    lagging = [
        {**BASE, "kind": "escalation.sent", "stage": 2, "unit": f"x{n}", "lagging": f"x{n}"}
        for n in range(717)
    ]
    lagging.insert(
        3, {**BASE, "kind": "escalation.sent", "stage": 2, "unit": "hu-b", "lagging": "hu-b", "repeated": 1}
    )
    own = {**BASE, "kind": "escalation.sent", "stage": 1, "unit": "tw", "lagging": "tw"}
    links = Renderer(TZ, link=lambda unit, task, now: f"https://cascade.example.vn/l/{unit}/{task}")
    m = links.render(
        [own, *lagging], "Ban Chấp hành Trung ương", names | UNITS, "c", epoch("2020-12-20T08:00:00"), "tw"
    )
    lines = [line for line in m.text.splitlines() if line.startswith("- ")]
    assert lines[0].startswith("- [Quá hạn] Ban Chấp hành Trung ương chưa hoàn thành «Hội nghị cấp huyện»")
    assert lines[1] == (
        "- [Đôn đốc lần 2] 717 đơn vị chưa hoàn thành «Hội nghị cấp huyện»; hạn chót đã qua: hết ngày "
        "29/11/2020 (đã quá 21 ngày): "
        + ", ".join(f"Đảng ủy xã {n}" for n in range(20))
        + " và 697 đơn vị khác."
    ), lines[1][:300]
    assert lines[2].startswith("- [Đôn đốc lần 2, nhắc lại] Huyện ủy B chưa hoàn thành «Hội nghị cấp huyện»")
    assert len(lines) == 3 and m.text.count("/l/tw/hn-huyen") == 1
    assert m.subject == "[Cascade] Đôn đốc: 719 việc quá hạn — c"
    # the whole list once, at the end of the email, for the names the line leaves out
    assert m.text.count("Đảng ủy xã 716") == 1 and m.html.count("Đảng ủy xã 716") == 1
    assert m.text.count("Đảng ủy xã 3,") == 2  # in the line's first twenty, and in the list
    assert m.html.count("<li>") == 3
    # a Zalo message is a chat line, not a register: the twenty names and the count, one message
    assert "Đảng ủy xã 716" not in m.short and "697 đơn vị khác" in m.short
    assert "Danh sách đầy đủ các đơn vị chưa hoàn thành có trong thư điện tử" in m.short
    assert len(m.short) < 2_000, len(m.short)


def test_a_few_units_lagging_alike_are_all_named_in_their_line_and_not_listed_again() -> None:
    """Twenty names or fewer are the whole line; the list at the end would only repeat them."""
    names = {f"x{n}": f"Đảng ủy xã {n}" for n in range(20)}
    lagging = [
        {**BASE, "kind": "escalation.sent", "stage": 2, "unit": f"x{n}", "lagging": f"x{n}"}
        for n in range(20)
    ]
    m = Renderer(TZ).render(lagging, "Huyện ủy A", names | UNITS, "c", epoch("2020-12-20T08:00:00"))
    (line,) = [line for line in m.text.splitlines() if line.startswith("- ")]
    assert line.endswith(", ".join(f"Đảng ủy xã {n}" for n in range(20)) + "."), line[-200:]
    assert m.text.count("Đảng ủy xã 19") == 1 and "khác" not in m.text and "Danh sách" not in m.short
