"""`cascade validate`'s checks: every bad-input class names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cascade import i18n
from cascade.errors import CampaignInvalid, Problem
from cascade.plan.model import Plan
from cascade.timing.deadlines import written_out
from tests.conftest import HEADER, SMALL_UNITS, compile_text

GOOD_TASKS = """\
tasks:
  - id: hn-tinh
    title: Hội nghị tỉnh
    level: province
    due: {before: 20/11/2020}
  - id: hn-huyen
    title: Hội nghị huyện
    level: district
    opens_after: {task: hn-tinh, at: parent}
    due: {before: 30/11/2020}
"""


def problems(body: str, header: str = HEADER) -> list[Problem]:
    with pytest.raises(CampaignInvalid) as caught:
        compile_text(body, header=header)
    return caught.value.problems


def one(body: str, header: str = HEADER) -> Problem:
    found = problems(body, header)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


# Line numbers count from the top of the file: HEADER is lines 1-6, tasks start on line 7.


def test_unknown_key_suggests_the_right_one() -> None:
    problem = one(
        GOOD_TASKS.replace(
            "    due: {before: 30/11/2020}", "    due: {before: 30/11/2020}\n    min_windw: 3d"
        )
    )
    assert (problem.file, problem.line, problem.key) == ("campaign.yaml", 17, "tasks[1].min_windw")
    assert problem.message == "unknown key `min_windw`"
    assert problem.hint == "did you mean `min_window`?"


def test_a_key_written_by_what_it_means_is_told_the_key() -> None:
    """`deadline:` (or "Hạn chót:", as the plan says it) on a task was "unknown key" with the list
    of every key a task has, `due` not picked out: the key meant is told."""
    for written in ("deadline", "Hạn chót", "due_date"):
        found = problems(GOOD_TASKS.replace("    due: {before: 30/11/2020}", f"    {written}: 30/11/2020"))
        assert [(p.key, p.hint) for p in found if p.key != "tasks[1].due"] == [
            (f"tasks[1].{written}", "did you mean `due`?")
        ], found
    problem = one(GOOD_TASKS.replace("    opens_after:", "    depends_on:", 1))
    assert (problem.key, problem.hint) == ("tasks[1].depends_on", "did you mean `opens_after`?"), problem


def test_a_title_cut_by_a_comma_in_braces_is_told_to_be_quoted() -> None:
    """`{type: int, title: Số cán bộ, đảng viên dự, required: true}`: inside `{...}` a comma ends the
    title, and "đảng viên dự" was "unknown key `đảng viên dự`" with the keys a field takes. "Cán bộ,
    đảng viên" is how every plan writes it: the title is told to go in quotes, whole."""
    body = GOOD_TASKS.replace(
        "    due: {before: 30/11/2020}\n",
        "    due: {before: 30/11/2020}\n"
        "    fields:\n"
        "      attendees: {type: int, title: Số cán bộ, đảng viên dự, required: true}\n"
        "      units: {title: Chi bộ, tổ đảng, đảng bộ bộ phận, type: int}\n",
    )
    found = problems(body)
    assert [(p.line, p.key, p.message, p.hint) for p in found] == [
        (
            18,
            "tasks[1].fields.attendees.đảng viên dự",
            "the title ends at a comma, which ends a value inside `{...}`: it reads «Số cán bộ»",
            'to keep what follows, put the title in quotes: title: "Số cán bộ, đảng viên dự"',
        ),
        (
            19,
            "tasks[1].fields.units.tổ đảng",
            "the title ends at a comma, which ends a value inside `{...}`: it reads «Chi bộ»",
            'to keep what follows, put the title in quotes: title: "Chi bộ, tổ đảng, đảng bộ bộ phận"',
        ),
    ], found
    # a key with no value after a value that is no title is still an unknown key
    written = body.replace("title: Số cán bộ, đảng viên dự, required: true", "min: 0, bắt buộc, title: Số dự")
    assert next((p.key, p.message) for p in problems(written)) == (
        "tasks[1].fields.attendees.bắt buộc",
        "unknown key `bắt buộc`",
    )


def test_unknown_top_level_key() -> None:
    problem = one(GOOD_TASKS + "report: []\n")
    assert (problem.line, problem.key, problem.hint) == (17, "report", "did you mean `reports`?")


def test_a_key_one_indent_off_is_told_where_it_belongs() -> None:
    """`timezone:` written beside `campaign:`, `tasks:` indented under it: "unknown key" with the
    known keys listed, and for `tasks` also "`tasks` is required", never saying where it goes."""
    beside = one(GOOD_TASKS + "timezone: Asia/Ho_Chi_Minh\n")
    assert (beside.key, beside.hint) == (
        "timezone",
        "`timezone` belongs under `campaign:` (indent it below it)",
    )
    nested = HEADER + "  " + GOOD_TASKS.replace("\n", "\n  ").rstrip() + "\n"
    under = one("", header=nested)
    assert (under.key, under.message) == ("campaign.tasks", "unknown key `tasks`")
    assert under.hint == "`tasks` belongs at the top of the file, not under `campaign:` (no indent)"


def test_a_level_may_be_written_as_people_say_it() -> None:
    """`level: Huyện` was "no level `Huyện` in the units file" (the units sheet may say it so)."""
    written = GOOD_TASKS.replace("level: province", "level: Tỉnh").replace(
        "level: district", "level: cấp huyện"
    )
    body = written + "reports:\n  - id: bc\n    title: Báo cáo\n    from: [Cơ sở, Huyện]\n"
    body += "    due: {before: 20/01/2021}\n    step: 3d\n"
    plan = compile_text(body)
    level = {uid: unit.level for uid, unit in plan.hierarchy.units.items()}
    assert sorted({level[i.unit] for i in plan.instances if i.task != "bc"}) == ["district", "province"]
    assert {level[i.unit] for i in plan.instances if i.task == "bc"} == {"district", "grassroots"}
    # "Xã" is the commune level, which these units (communes among the grassroots) have not
    xa = one(GOOD_TASKS.replace("level: district", "level: Xã"))
    assert (xa.key, xa.message) == ("tasks[1].level", "no level `commune` in the units file")
    assert xa.hint == "levels: `province` (Tỉnh), `district` (Huyện), `grassroots` (Cơ sở)"


def test_a_recipient_level_may_be_written_as_people_say_it() -> None:
    """`to: [level:Tỉnh]` was "not a recipient", where `level: Tỉnh` on the same task compiles."""
    escalate = "title: Hội nghị huyện\n    escalate: [{after: 1d, to: [self, 'level:%s']}]"
    by_id = compile_text(GOOD_TASKS.replace("title: Hội nghị huyện", escalate % "province"))
    for written in ("Tỉnh", "cấp tỉnh", " Cấp  Tỉnh"):
        plan = compile_text(GOOD_TASKS.replace("title: Hội nghị huyện", escalate % written))
        assert plan.tasks["hn-huyen"].notices == by_id.tasks["hn-huyen"].notices
        assert plan.tasks["hn-huyen"].notices.escalate[0].to == ("self", "level:province")
    xa = one(GOOD_TASKS.replace("title: Hội nghị huyện", escalate % "Xã"))
    assert (xa.key, xa.message) == ("tasks[1].escalate[0].to", "no level `commune` in the units file")


def test_recipients_may_be_written_as_the_plans_word_them() -> None:
    """`to: [đơn vị, cấp trên]` (the unit itself and its parent, as the plans say who is urged) was
    "not a recipient", and so was `cấp tỉnh` without `level:`; the hint named only the ids."""
    escalate = "title: Hội nghị huyện\n    escalate: [{after: 1d, to: [%s]}]"
    by_id = compile_text(
        GOOD_TASKS.replace("title: Hội nghị huyện", escalate % "self, parent, root, level:province")
    )
    for written in (
        "chính đơn vị, cấp trên, cấp cao nhất, cấp tỉnh",
        "Đơn vị, Cấp trên trực tiếp, Cấp cao nhất, Tỉnh",
        "don vi, cap tren, cap cao nhat, tinh",  # typed with the Vietnamese keyboard off
    ):
        plan = compile_text(GOOD_TASKS.replace("title: Hội nghị huyện", escalate % written))
        assert plan.tasks["hn-huyen"].notices.escalate[0].to == ("self", "parent", "root", "level:province")
        assert plan.tasks["hn-huyen"].notices == by_id.tasks["hn-huyen"].notices
    wrong = one(GOOD_TASKS.replace("title: Hội nghị huyện", escalate % "self, Tỉnh ủy"))
    assert (wrong.key, wrong.message) == ("tasks[1].escalate[0].to[1]", "`Tỉnh ủy` is not a recipient")
    assert wrong.hint == (
        "use self (the unit itself: đơn vị), parent (cấp trên), root (the top unit: cấp cao nhất), "
        "ancestor:N (N levels up) or level:L (the ancestor at level L: level:Tỉnh, or cấp tỉnh)"
    )


def test_month_first_date_gets_the_format_hint() -> None:
    problem = one(GOOD_TASKS.replace("before: 20/11/2020", "before: 11/20/2020"))
    assert (problem.line, problem.key) == (11, "tasks[0].due.before")
    assert "has no month 20; did you mean 20/11/2020?" in problem.message
    assert problem.hint is not None and "dates are dd/mm/yyyy" in problem.hint


def test_impossible_date_is_caught() -> None:
    problem = one(
        HEADER.replace("10/11/2020", "31/11/2020") and GOOD_TASKS,
        header=HEADER.replace("issued_on: 10/11/2020", "issued_on: 31/11/2020"),
    )
    assert (problem.line, problem.key) == (4, "campaign.issued_on")
    assert "month 11/2020 has 30 days" in problem.message


def test_cycle_in_opens_after_and_after() -> None:
    body = """\
    tasks:
      - {id: a, title: A, level: district, opens_after: {task: c}, due: {before: 20/11/2020}}
      - {id: b, title: B, level: district, due: {after: a, days: 3}}
      - {id: c, title: C, level: district, opens_after: {task: b, at: self}, due: {before: 30/11/2020}}
    """
    problem = one(body)
    assert problem.line == 8
    assert problem.key == "tasks[0].opens_after"
    assert problem.message == "tasks wait on each other in a circle: a → c → b → a"


def test_unknown_task_reference() -> None:
    problem = one(GOOD_TASKS.replace("task: hn-tinh", "task: hn-tnh"))
    assert (problem.line, problem.key) == (15, "tasks[1].opens_after.task")
    assert (problem.message, problem.hint) == ("no task `hn-tnh`", "did you mean `hn-tinh`?")


def test_a_rollup_over_a_task_taken_out_of_the_file_names_the_fix() -> None:
    """Taking the grassroots conference out of Hà Tĩnh's file left its report's `rollup` naming
    it five times, each "no task or report `hn-co-so`" with no hint at all."""
    report = """\
reports:
  - id: bc
    title: Báo cáo
    from: [district]
    due: {before: 10/01/2021}
    step: 3d
    rollup: [hn-co-so.attendees, hn-co-so.done]
"""
    found = problems(GOOD_TASKS + report)
    assert [(p.key, p.message) for p in found] == [
        ("reports[0].rollup[0]", "no task or report `hn-co-so`"),
        ("reports[0].rollup[1]", "no task or report `hn-co-so`"),
    ]
    assert found[0].hint == (
        "the tasks and reports: `hn-tinh`, `hn-huyen`, `bc`; a task taken out of the file goes out of "
        "`rollup` too"
    )
    typo = problems(GOOD_TASKS + report.replace("hn-co-so.done", "hn-huyn.done"))[1]
    assert typo.hint == "did you mean `hn-huyen`?"  # a near name: that, as before


def test_unknown_unit_and_level_and_tag_references() -> None:
    body = """\
    tasks:
      - id: a
        title: A
        level: distrct
        tags: [mass-orgs]
        exclude: [hu-bb]
        due: {before: 20/11/2020}
    """
    found = {(p.line, p.key): (p.message, p.hint) for p in problems(body)}
    assert found == {
        (10, "tasks[0].level"): ("no level `distrct` in the units file", "did you mean `district`?"),
        (11, "tasks[0].tags"): ("no unit carries the tag `mass-orgs`", "did you mean `mass-org`?"),
        (12, "tasks[0].exclude"): ("no unit `hu-bb` in the units file", "did you mean `hu-b`?"),
    }


def test_a_campaign_names_its_units_as_the_units_sheet_writes_them() -> None:
    """`units:`, `exclude:` and `exempt:` took ids only: a district whose units sheet has no id
    column (its ids made from the names, ids it never sees) wrote `units: [Chi bộ Trường THPT Càng
    Long]` and was told "`Chi bộ Trường THPT Càng Long` is not a valid id". A unit's name names it
    now, as the commands and the replies take it (capitals, spacing, or typed without its marks);
    a name two units share is told with their ids; a name none has, with the close one."""
    body = """\
    tasks:
      - id: a
        title: A
        level: district
        units: [Đảng ủy xã C]
        exclude: [ủy ban mttq  tỉnh]
        exempt: [Huyen uy E]
        due: {before: 20/11/2020}
    reports:
      - id: bc
        title: Báo cáo
        from: [district, grassroots]
        exclude: [Đảng ủy xã D]
        due: {before: 20/01/2021}
        step: 3d
    """
    plan = compile_text(body)
    assert [i.unit for i in plan.instances if i.task == "a"] == ["hu-b", "x-c"]
    assert list(plan.tasks["a"].exempt) == ["hu-e"]
    assert [i.unit for i in plan.instances if i.task == "bc"] == ["hu-b", "x-c", "hu-e", "x-f", "mttq"]

    twice = SMALL_UNITS.replace("name: Đảng ủy xã D", "name: Đảng ủy xã C")
    with pytest.raises(CampaignInvalid) as caught:
        compile_text(body.replace("[Đảng ủy xã D]", "[x-d]"), units_yaml=twice)
    assert [(p.line, p.key, p.message, p.hint) for p in caught.value.problems] == [
        (11, "tasks[0].units[0]", "2 units are named `Đảng ủy xã C` (`x-c`, `x-d`); name it by its id",
         "write one of these ids in its place"),
    ]  # fmt: skip
    [unknown] = problems(body.replace("[Đảng ủy xã C]", "[Đảng ủy xã G]"))
    assert (unknown.key, unknown.message) == ("tasks[0].units", "no unit `Đảng ủy xã G` in the units file")
    assert unknown.hint == "did you mean `Đảng ủy xã F`?"  # (the ids and the names are looked through)


def test_many_units_gone_from_the_units_file_are_each_refused_and_the_first_ten_hinted() -> None:
    """A level dropped from the units file, its ids still in a task's `exempt:` and a report's
    `exclude:`: each id was searched for a close one among all units (0.14 s an id for the
    nation's 66,844: 100 ids gone took 15.6 s to refuse, now 2.8 s). Every id is still named on
    its own line; close names are looked for once an id, for the first ten in the file."""
    gone = [f"hu-b{n}" for n in range(12)]
    body = GOOD_TASKS.replace("level: district\n", f"level: district\n    exempt: [{', '.join(gone[:8])}]\n")
    body += "reports:\n  - id: bc\n    title: Báo cáo\n    from: [district]\n"
    body += (
        f"    due: {{before: 20/01/2021}}\n    step: 3d\n    exclude: [{', '.join([*gone[6:], 'hu-b0'])}]\n"
    )
    found = problems(body)
    assert [(p.key, p.message) for p in found] == [
        *[("tasks[1].exempt", f"no unit `{unit}` in the units file") for unit in gone[:8]],
        *[("reports[0].exclude", f"no unit `{unit}` in the units file") for unit in [*gone[6:], "hu-b0"]],
    ]
    hinted = [p.hint for p in found]
    assert hinted[:8] == ["did you mean `hu-b`?"] * 8
    assert hinted[8:10] == ["did you mean `hu-b`?"] * 2  # the same ids again: hinted as before
    assert hinted[10:12] == ["did you mean `hu-b`?"] * 2  # the ninth and tenth
    assert hinted[12:14] == [None, None]  # past ten ids: named, not searched for
    assert hinted[14] == "did you mean `hu-b`?"  # hu-b0 again


def test_duplicate_task_ids() -> None:
    problem = one(GOOD_TASKS.replace("id: hn-huyen", "id: hn-tinh").replace("task: hn-tinh", "task: hn-tinh"))
    assert (problem.line, problem.key) == (12, "tasks[1].id")
    assert problem.message == "id `hn-tinh` is used twice"
    assert problem.hint is not None and "line 8" in problem.hint


def test_duplicate_yaml_key() -> None:
    problem = one(GOOD_TASKS.replace("    level: province\n", "    level: province\n    level: district\n"))
    assert (problem.line, problem.key) == (11, "tasks[0].level")
    assert "written twice" in problem.message


def test_yaml_syntax_error_names_the_line() -> None:
    problem = one(GOOD_TASKS.replace("due: {before: 20/11/2020}", "due: {before: 20/11/2020"))
    assert problem.file == "campaign.yaml"
    assert problem.line is not None and problem.line >= 11
    assert problem.message.startswith("not valid YAML")


def test_all_errors_are_reported_at_once() -> None:
    body = GOOD_TASKS.replace("min_window", "x").replace("before: 20/11/2020", "before: 31/11/2020")
    body = (
        body.replace("task: hn-tinh", "task: nope")
        + "  - {id: c, title: C, level: province, due: {bye: 1}}\n"
    )
    keys = sorted(p.key for p in problems(body))
    assert keys == ["tasks[0].due.before", "tasks[1].opens_after.task", "tasks[2].due.bye"]


def test_child_deadline_before_parent_is_a_warning() -> None:
    plan = compile_text(GOOD_TASKS.replace("before: 30/11/2020", "before: 15/11/2020"))
    [warning] = plan.warnings
    assert (warning.severity, warning.line, warning.key) == ("warning", 16, "tasks[1].due")
    assert "earlier than `hn-tinh` (19/11/2020)" in warning.message  # last days, as people read them


def test_waiting_for_a_units_own_task_without_at_self_is_told_how_to_write_it() -> None:
    """A task added to a running nation, `opens_after: {task: sh-quy}` (each cell after its own
    quarterly meeting), warned that 56,700 cells' parents have no `sh-quy` and hinted "target those
    units with `sh-quy`": they have it. `at:` is `parent` unless written; the hint says so."""
    essay = (
        "  - id: bai-viet\n    title: Bài viết\n    level: district\n"
        "    opens_after: {task: hn-huyen}\n    due: {before: 10/12/2020}\n"
    )
    [warning] = compile_text(GOOD_TASKS + essay).warnings
    assert warning.key == "bai-viet.opens_after" and "their parent has no `hn-huyen`" in warning.message
    assert warning.hint == (
        "they have `hn-huyen` themselves: to wait for their own, write "
        "`opens_after: {task: hn-huyen, at: self}`"
    )
    assert (
        compile_text(GOOD_TASKS + essay.replace("{task: hn-huyen}", "{task: hn-huyen, at: self}")).warnings
        == []
    )


def test_min_window_that_cannot_be_met_is_a_warning() -> None:
    plan = compile_text(
        GOOD_TASKS.replace(
            "    due: {before: 30/11/2020}", "    min_window: 14d\n    due: {before: 30/11/2020}"
        )
    )
    [warning] = plan.warnings
    assert warning.key == "tasks[1].min_window"
    assert "only 10d remain of the 14d min_window" in warning.message


def test_a_report_due_after_the_summary_is_a_warning() -> None:
    """A report due after `summary_date` was let through without a word, where a task so due is
    warned of: the summary goes out with every report still missing."""
    report = "reports:\n  - id: bc\n    title: Báo cáo\n    from: [district]\n    step: 3d\n    due: {DUE}\n"
    on_the_day = compile_text(GOOD_TASKS + report.replace("{DUE}", "{before: 20/01/2021}"))
    assert on_the_day.warnings == []
    late = compile_text(GOOD_TASKS + report.replace("{DUE}", "{by: 25/01/2021}"))
    [warning] = late.warnings
    assert (warning.severity, warning.line, warning.key) == ("warning", 22, "reports[0].due")
    assert warning.message == "last day 25/01/2021: the summary, on 20/01/2021, goes out before it has passed"


def test_relative_deadline_needs_its_source_at_the_same_unit() -> None:
    """The units are named by their names (they were ids, which a sheet without ids never shows),
    and the fix its operator meant is the first offered: a unit exempt from the conference (by
    its name) is exempt from the essay counted from it too."""
    body = GOOD_TASKS + "  - {id: ctr, title: CTr, units: [tu-a, hu-b], due: {after: hn-huyen, days: 0}}\n"
    problem = one(body)
    assert (problem.line, problem.key) == (17, "tasks[2].due.after")
    assert problem.message == "1 unit(s) have `ctr` but no `hn-huyen` to count from: Tỉnh ủy A"
    assert problem.hint == "exempt or exclude them from `ctr` too, or target them with `hn-huyen`"
    exempt = GOOD_TASKS.replace("level: district\n", "level: district\n    exempt: [Huyện ủy E]\n")
    essays = "  - {id: th, title: Thu hoạch, level: district, due: {after: hn-huyen, days: 7}}\n"
    [exempt_once] = problems(exempt + essays)
    assert exempt_once.message == "1 unit(s) have `th` but no `hn-huyen` to count from: Huyện ủy E"
    shared = SMALL_UNITS.replace("name: Huyện ủy E", "name: Huyện ủy B")  # a name two units share
    with pytest.raises(CampaignInvalid) as caught:
        compile_text(exempt.replace("[Huyện ủy E]", "[hu-e]") + essays, units_yaml=shared)
    assert caught.value.problems[0].message.endswith("to count from: Huyện ủy B (hu-e)")
    compile_text(exempt + essays.replace("due:", "exempt: [Huyện ủy E], due:"))  # (both: no error)


def test_formula_over_an_undeclared_field() -> None:
    body = GOOD_TASKS + (
        "  - id: hn-co-so\n"
        "    title: Hội nghị cơ sở\n"
        "    level: grassroots\n"
        "    due: {before: 15/01/2021}\n"
        "    fields:\n"
        "      attendees: {type: int}\n"
        "      members: {type: int}\n"
        '      rate: {formula: attendees / member, target: ">= 85%"}\n'
    )
    problem = one(body)
    assert (problem.line, problem.key) == (24, "tasks[2].fields.rate.formula")
    assert problem.message == "the formula uses `member`, which is not a field of this task"
    assert problem.hint == "did you mean `members`?"


CHECKED = GOOD_TASKS + (
    "  - id: hn-co-so\n"
    "    title: Hội nghị cơ sở\n"
    "    level: grassroots\n"
    "    due: {before: 15/01/2021}\n"
    "    fields:\n"
    "      attendees: {type: int}\n"
    "      members: {type: int}\n"
    "      place: {type: text}\n"
    "    check: CHECK\n"
)


COMPARE = "compare two figures or formulas: attendees <= members"
NOT_ONE = "is not one comparison, e.g. attendees <= members"


@pytest.mark.parametrize(
    ("check", "message", "hint"),
    [
        (
            "attendees <= member",
            "the check uses `member`, which is not a field of this task",
            "did you mean `members`?",
        ),
        ("place <= members", "the check uses `place`, which is not a number", None),
        ("attendees", f"`attendees` {NOT_ONE}", COMPARE),
        ("attendees <= members <= 5", f"`attendees <= members <= 5` {NOT_ONE}", COMPARE),
    ],
)
def test_a_check_between_figures_is_checked_when_compiled(check: str, message: str, hint: str | None) -> None:
    problem = one(CHECKED.replace("CHECK", check))
    assert problem.key.startswith("tasks[2].check") and problem.line == 25
    assert (problem.message, problem.hint) == (message, hint)


def test_a_check_may_be_one_or_a_list() -> None:
    one_check = compile_text(CHECKED.replace("CHECK", "attendees <= members"))
    assert one_check.tasks["hn-co-so"].checks == ("attendees <= members",)
    two = compile_text(CHECKED.replace("CHECK", "[attendees <= members, members - attendees >= 0]"))
    assert two.tasks["hn-co-so"].checks == ("attendees <= members", "members - attendees >= 0")


@pytest.mark.parametrize(
    ("replace", "key", "message"),
    [
        (
            ("before: 30/11/2020", "before: 30/11/2020, days: 3"),
            "tasks[1].due",
            "`days` only goes with `after`",
        ),
        (("before: 30/11/2020", "after: hn-tinh"), "tasks[1].due", "`after` needs exactly one of"),
        (("before: 30/11/2020", "within: 13/2020"), "tasks[1].due", "`13/2020` has no month 13"),
        (("level: district", "level: district\n    min_window: 3"), "tasks[1].min_window", "`3` has no unit"),
        (("at: parent", "at: grandparent"), "tasks[1].opens_after.at", "input should be 'parent' or 'self'"),
        (
            ("title: Hội nghị tỉnh", "title: Hội nghị tỉnh\n    escalate: [{after: 1d, to: [boss]}]"),
            "tasks[0].escalate[0].to[0]",
            "`boss` is not a recipient",
        ),
        (
            ("title: Hội nghị tỉnh", "title: Hội nghị tỉnh\n    escalate: [{after: 1d, to: [level:ward]}]"),
            "tasks[0].escalate[0].to",
            "no level `ward` in the units file",
        ),
        (
            ("title: Hội nghị tỉnh", "title: Hội nghị tỉnh\n    quiet_hours: 9pm-7am"),
            "tasks[0].quiet_hours",
            "`9pm-7am` is not a time window",
        ),
        (
            ("title: Hội nghị tỉnh", "title: Hội nghị tỉnh\n    fields: {n: {type: integer}}"),
            "tasks[0].fields.n.type",
            "input should be 'int', 'float', 'bool', 'text' or 'date'",
        ),
        (
            ("title: Hội nghị tỉnh", "title: Hội nghị tỉnh\n    fields: {n: {type: int, min: 5, max: 1}}"),
            "tasks[0].fields.n",
            "min 5 is above max 1",
        ),
        (
            ("title: Hội nghị tỉnh", "title: Hội nghị tỉnh\n    fields: {r: {formula: __import__('os')}}"),
            "tasks[0].fields.r.formula",
            "may only use field names",
        ),
        (
            ("title: Hội nghị tỉnh", "title: Hội nghị tỉnh\n    fields: {r: {type: int, target: 85%}}"),
            "tasks[0].fields.r.target",
            "`85%` is not a target",
        ),
        (("    level: province\n", ""), "tasks[0]", "task `hn-tinh` targets no units"),
    ],
)
def test_each_bad_value_is_named(replace: tuple[str, str], key: str, message: str) -> None:
    found = problems(GOOD_TASKS.replace(*replace, 1))
    assert any(p.key == key and message in p.message for p in found), [str(p) for p in found]
    assert all(p.line is not None for p in found)


def test_escalation_stages_must_increase() -> None:
    header = HEADER + "defaults:\n  escalate: [{after: 3d, to: [parent]}, {after: 1d, to: [root]}]\n"
    problem = one(GOOD_TASKS, header=header)
    assert (problem.line, problem.key) == (8, "defaults.escalate[1].after")


def test_missing_units_file_is_named_at_its_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cascade.compile.files import load_plan

    campaign = tmp_path / "c.yaml"
    campaign.write_text(HEADER.replace("units.yaml", "units/nope.yaml") + GOOD_TASKS, encoding="utf-8")
    with pytest.raises(CampaignInvalid) as caught:
        load_plan(campaign)
    [problem] = caught.value.problems
    assert (problem.line, problem.key) == (5, "campaign.units")
    assert "nope.yaml` not found" in problem.message


def test_a_units_path_written_as_windows_writes_it(tmp_path: Path) -> None:
    """`units: units\\don-vi.csv`, the path as the operator's Windows wrote it, was "not found" on
    the server; a path on the operator's own computer (`C:\\Users\\...`) was told only that paths
    are relative to the campaign file."""
    from cascade.compile.files import load_plan
    from tests.conftest import SMALL_UNITS

    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "don-vi.yaml").write_text(SMALL_UNITS, encoding="utf-8")
    campaign = tmp_path / "c.yaml"
    campaign.write_text(HEADER.replace("units.yaml", "units\\don-vi.yaml") + GOOD_TASKS, encoding="utf-8")
    assert len(load_plan(campaign).instances) == 1 + 3
    mine = HEADER.replace("units.yaml", "'C:\\Users\\vp\\Desktop\\don-vi.yaml'")
    campaign.write_text(mine + GOOD_TASKS, encoding="utf-8")
    with pytest.raises(CampaignInvalid) as caught:
        load_plan(campaign)
    [problem] = caught.value.problems
    assert problem.message == "units file `C:\\Users\\vp\\Desktop\\don-vi.yaml` not found"
    assert problem.hint == (
        "`C:\\Users\\vp\\Desktop\\don-vi.yaml` is a path on a Windows computer: put the units file "
        "beside the campaign file and write its name, `units: don-vi.yaml`"
    )


def test_a_units_path_in_other_capitals_or_without_its_extension_is_told_the_file(tmp_path: Path) -> None:
    """`units: Units/Don-Vi.yaml` (Windows does not tell capitals apart) and `units: units/don-vi`
    (Windows hides the extension) were "not found", with only "the path is relative to the campaign
    file", beside the file they meant."""
    from cascade.compile.files import load_plan
    from tests.conftest import SMALL_UNITS

    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "don-vi.yaml").write_text(SMALL_UNITS, encoding="utf-8")
    (tmp_path / "units" / "khac.csv").write_text("", encoding="utf-8")
    (tmp_path / "units" / "khac.xlsx").write_bytes(b"")
    campaign = tmp_path / "c.yaml"
    for written in ("Units/Don-Vi.yaml", "units/don-vi", "UNITS/DON-VI"):
        campaign.write_text(HEADER.replace("units.yaml", written) + GOOD_TASKS, encoding="utf-8")
        with pytest.raises(CampaignInvalid) as caught:
            load_plan(campaign)
        [problem] = caught.value.problems
        assert problem.message == f"units file `{tmp_path / written}` not found"
        assert problem.hint == (
            "the folder holds `units/don-vi.yaml`: write `units: units/don-vi.yaml` (on the server, "
            "capitals and the extension count)"
        ), written
    # two files it may mean (khac.csv, khac.xlsx), or none: only where the path is read from
    for written in ("units/khac", "units/nope.yaml"):
        campaign.write_text(HEADER.replace("units.yaml", written) + GOOD_TASKS, encoding="utf-8")
        with pytest.raises(CampaignInvalid) as caught:
            load_plan(campaign)
        assert caught.value.problems[0].hint == "the path is relative to the campaign file"


def test_a_good_campaign_has_no_warnings() -> None:
    plan: Plan = compile_text(GOOD_TASKS)
    assert plan.warnings == []
    assert len(plan.instances) == 1 + 3


def test_a_compiled_plan_is_not_left_to_the_young_collections() -> None:
    """A national plan is ~10^6 objects made while the cycle collector waits; left in the young
    generations, the first collections after the compile scanned them all again (half a second
    of `cascade validate` at 66,844 units). They go straight to the oldest generation."""
    import gc
    from pathlib import Path

    from cascade.compile.files import load_plan

    gc.collect()  # the generations' counters from zero: what follows does not depend on earlier tests
    before = len(gc.get_objects())
    plan = load_plan(Path(__file__).parent.parent / "campaigns" / "ha-tinh-xix-2020.yaml")
    made = len(gc.get_objects()) - before
    young = len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1))
    assert plan.instances and made > 1_000
    assert young < made / 10, (young, made)


def test_files_saved_as_unicode_by_notepad_are_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Notepad's "Unicode" (UTF-16 with its byte-order mark, the choice on older Windows that
    keeps Vietnamese) was "not UTF-8 text": the campaign, its units file and a signals CSV."""
    from pathlib import Path

    from cascade.compile.files import load_plan
    from cascade.compile.units import read_units_file
    from cascade.engine.signal_files import load_signals
    from tests.conftest import SMALL_UNITS

    root = Path(__file__).parent.parent
    campaign = (root / "campaigns" / "ha-tinh-xix-2020.yaml").read_text("utf-8")
    units = (root / "campaigns" / "units" / "ha-tinh.yaml").read_text("utf-8")
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "ha-tinh.yaml").write_text(units, encoding="utf-16")
    (tmp_path / "chien-dich.yaml").write_text(campaign, encoding="utf-16")
    plan = load_plan(tmp_path / "chien-dich.yaml")
    assert plan.hierarchy.units["tu-ha-tinh"].name == "Tỉnh ủy Hà Tĩnh"
    assert len(plan.instances) == len(load_plan(root / "campaigns" / "ha-tinh-xix-2020.yaml").instances)
    (tmp_path / "don-vi.yaml").write_text(SMALL_UNITS, encoding="utf-16-be")  # with its mark too
    (tmp_path / "don-vi.yaml").write_bytes(b"\xfe\xff" + (tmp_path / "don-vi.yaml").read_bytes())
    assert read_units_file(tmp_path / "don-vi.yaml", "don-vi.yaml").units["hu-b"].name == "Huyện ủy B"
    signals = tmp_path / "tin-bao.csv"
    signals.write_text("unit,task,at\nThành ủy Hà Tĩnh,hn-huyen,25/11/2020 08:00\n", encoding="utf-16")
    [signal] = load_signals(signals, "Asia/Ho_Chi_Minh")
    assert signal.unit == "Thành ủy Hà Tĩnh"


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("30/11/2020", "write `{by: 30/11/2020}` if 30/11/2020 is the last day that counts"),
        ("2020-11-30", "write `{by: 30/11/2020}` if 30/11/2020 is the last day that counts"),
        ("11/2020", "write `{within: 11/2020}`"),
        ("Q4/2020", "write `{within: Q4/2020}`"),
        ("29/11/2020..30/11/2020", "write `{on: 29/11/2020..30/11/2020}`"),
        ("7 ngày", "e.g. {by: 30/11/2020} or {after: hn-co-so, days: 7}"),
    ],
)
def test_a_deadline_written_bare_is_told_how_to_write_it(written: str, hint: str) -> None:
    """`due: 30/11/2020`, the way a new operator first writes it, was "should be a mapping (key:
    value), got '30/11/2020'", with no word of which key: `by` and `before` differ by a day."""
    problem = one(GOOD_TASKS.replace("due: {before: 30/11/2020}", f"due: {written}"))
    assert (problem.line, problem.key) == (16, "tasks[1].due")
    assert problem.message.startswith("a deadline is written as a mapping")
    assert problem.hint is not None and problem.hint.startswith(hint), problem.hint
    if hint.startswith("write `{by:"):
        assert "or `{before: 30/11/2020}` if it must be done before that day" in problem.hint


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("trước ngày 30/11/2020", "write `{before: 30/11/2020}`"),
        ("Hoàn thành trước ngày 30.11.2020", "write `{before: 30/11/2020}`"),
        ("chậm nhất ngày 29/11/2020", "write `{by: 29/11/2020}`"),
        ("hạn chót 29/11/2020", "write `{by: 29/11/2020}`"),
        ("trong quý IV/2020", "write `{within: IV/2020}`"),
        ("trong tháng 11/2020", "write `{within: 11/2020}`"),
        # the period alone, as a plan heads a column (they were told "e.g. {by: 30/11/2020} ...")
        ("quý IV/2020", "write `{within: quý IV/2020}`"),
        ("nửa đầu tháng 11/2020", "write `{within: nửa đầu tháng 11/2020}`"),
        ("cuối tháng 11/2020", "write `{within: cuối tháng 11/2020}`"),
    ],
)
def test_a_deadline_in_the_documents_words_is_told_the_expression_they_mean(written: str, hint: str) -> None:
    """`due: trước ngày 30/11/2020`, copied from the plan, was told "e.g. {by: 30/11/2020} or {after:
    hn-co-so, days: 7}": the one form of the two that is a day late for a "before"."""
    problem = one(GOOD_TASKS.replace("due: {before: 30/11/2020}", f"due: {written}"))
    assert (problem.line, problem.key) == (16, "tasks[1].due")
    assert problem.hint == hint
    with i18n.speaking("vi"):  # and the example's "or" in the operator's language
        assert written_out("sau hội nghị") == "ví dụ {by: 30/11/2020} hoặc {after: hn-co-so, days: 7}"


def test_a_deadline_keeps_the_documents_words_its_key_says() -> None:
    """`due: {by: chậm nhất ngày 30/11/2020}`, `{within: trong quý I/2021}`, `{on: vào các ngày 29
    và 30/11/2020}`: the plan's phrase copied whole into the key that says it was "not a date" or
    "not a period". The words the key says are passed over; another key's words are told."""
    same = {
        "{by: chậm nhất ngày 30/11/2020}": "{by: 30/11/2020}",
        "{by: Hết ngày 30/11/2020}": "{by: 30/11/2020}",
        "{before: trước ngày 01/12/2020}": "{before: 01/12/2020}",
        "{before: hoàn thành trước ngày 1/12/2020}": "{before: 01/12/2020}",
        "{within: trong tháng 11/2020}": "{within: 11/2020}",
        "{within: trong quý IV năm 2020}": "{within: Q4/2020}",
        "{on: vào các ngày 29 và 30/11/2020}": "{on: 29/11/2020..30/11/2020}",
        "{on: 29-30/11/2020}": "{on: 29/11/2020..30/11/2020}",
        "{on: từ ngày 29 đến ngày 30/11/2020}": "{on: 29/11/2020..30/11/2020}",
    }
    for written, meant in same.items():
        plan = compile_text(GOOD_TASKS.replace("due: {before: 30/11/2020}", f"due: {written}"))
        expected = compile_text(GOOD_TASKS.replace("due: {before: 30/11/2020}", f"due: {meant}"))
        deadlines = [(i.unit, i.schedule.deadline) for i in plan.instances if i.task == "hn-huyen"]
        assert deadlines == [
            (i.unit, i.schedule.deadline) for i in expected.instances if i.task == "hn-huyen"
        ]
    other = one(GOOD_TASKS.replace("due: {before: 30/11/2020}", "due: {by: trước ngày 30/11/2020}"))
    assert (other.key, other.message) == (
        "tasks[1].due.by",
        "`trước ngày 30/11/2020` words before the day (trước ngày); `by:` is the last day that counts "
        "(chậm nhất ngày)",
    )
    assert other.hint == "write `{before: 30/11/2020}`"
    period = one(GOOD_TASKS.replace("due: {before: 30/11/2020}", "due: {before: trong tháng 11/2020}"))
    assert period.hint == "write `{within: tháng 11/2020}`"


def test_a_missing_key_is_told_what_it_is_for() -> None:
    """A report without `due:` is told what the key is for and how it is written."""
    body = GOOD_TASKS + "reports:\n  - id: bc\n    title: Báo cáo\n    from: [district]\n"
    problem = one(body + "    step: 3d\n")
    assert (problem.key, problem.message) == ("reports[0].due", "`due` is required here")
    assert problem.hint == "the deadline, e.g. `due: {by: 30/11/2020}` (the last day that counts)"


def test_a_report_from_the_level_under_the_top_needs_no_step() -> None:
    """`from: [xã]` in a province of communes was "`step` is required here": a step is how much
    earlier each level further down reports, and no level of this report is further down."""
    body = GOOD_TASKS + "reports:\n  - id: bc\n    title: Báo cáo\n    from: [district]\n"
    plan = compile_text(body + "    due: {before: 20/01/2021}\n")
    reports = [i for i in plan.instances if i.task == "bc"]
    assert {i.unit for i in reports} == {"hu-b", "hu-e", "mttq"}
    assert {str(i.schedule.deadline) for i in reports} == {"2021-01-20 00:00:00+07:00"}
    # a level further down than `due` is for still needs it, and is told why
    problem = one(body.replace("[district]", "[Cơ sở, district]") + "    due: {before: 20/01/2021}\n")
    assert (problem.line, problem.key) == (18, "reports[0].step")
    assert problem.message == (
        "`due` is the deadline of the level just below the top, and `grassroots` (Cơ sở) reports from "
        "further down: how much earlier it reports is `step`"
    )
    assert problem.hint == (
        "each level further down reports this much earlier, e.g. `step: 3d` (`0d`: the same day)"
    )


@pytest.mark.parametrize(
    ("replace", "message", "hint"),
    [
        (
            ("    title: Hội nghị tỉnh", "\ttitle: Hội nghị tỉnh"),
            "not valid YAML: a tab in the indentation",
            "YAML indents with spaces only: put two spaces for each level where the tab is",
        ),
        (
            ("    title: Hội nghị tỉnh", "    title: Hội nghị: tỉnh"),
            "not valid YAML: a second `: ` on this line",
            'a value with ": " in it, a title such as «Học tập: Nghị quyết», goes in quotes: '
            'title: "Học tập: Nghị quyết"',
        ),
        (
            ("    title: Hội nghị tỉnh", '    title: "Hội nghị tỉnh'),
            "not valid YAML: the quote opened on this line is not closed",
            "close it with the same quote mark before the line ends",
        ),
        (  # (the parser gave up on the line after, in English: "expected ',' or '}', but got ':'")
            ("    title: Hội nghị tỉnh", "    title: {Hội nghị tỉnh"),
            "not valid YAML: the `{` opened on this line is not closed",
            "close it with `}` on the same line, e.g. due: {before: 20/11/2020}",
        ),
        (
            ("    title: Hội nghị tỉnh", "    title: [Hội nghị tỉnh"),
            "not valid YAML: the `[` opened on this line is not closed",
            "close it with `]` on the same line, e.g. remind: [7d, 1d]",
        ),
        (  # ("mapping values are not allowed here": it read as the title's rest, then a second colon)
            ("    level: province", "     level: province"),
            "not valid YAML: this line is indented further than the key above it",
            "line it up with the key above (the same number of spaces): it reads as the rest of that line",
        ),
        (  # ("expected <block end>, but found '<block mapping start>'")
            ("    level: province", "   level: province"),
            "not valid YAML: this line does not line up with the lines above it",
            "the keys of one item, and the `- ` of a list's items, start in the same column as those "
            "above: line it up with spaces",
        ),
        (  # ("could not find expected ':'", on the line after)
            ("    level: province", "    level province"),
            "not valid YAML: this line has no `:` after its key",
            "write the key, a colon and a space, then the value, e.g. level: district",
        ),
        (  # ("did not find expected hexdecimal number": `\U` of "C:\Users" read as an escape)
            ("    title: Hội nghị tỉnh", '    description: "C:\\Users\\vp\\ke-hoach.docx"'),
            "not valid YAML: a `\\` in double quotes starts an escape (such as `\\n`)",
            "write a path with `/` (units/don-vi.xlsx), or put it in single quotes: 'C:\\...'",
        ),
    ],
)
def test_the_yaml_mistakes_people_make_most_are_told_with_their_fix(
    replace: tuple[str, str], message: str, hint: str
) -> None:
    """A tab typed for the indentation and a title with `: ` in it were "not valid YAML: found a
    tab character that violates indentation" / "mapping values are not allowed in this context",
    with "check indentation, colons and quotes here": the parser's words, not the fix. So were a
    `{`, `[` or quote left open (on the line after, where the parser gave up), a line indented a
    space off either way and a key without its colon, in English."""
    problem = one(GOOD_TASKS.replace(*replace, 1))
    line = 10 if "level" in replace[0] else 9
    assert (problem.line, problem.message, problem.hint) == (line, message, hint)


def test_a_title_cut_short_by_a_hash_is_warned_of() -> None:
    """`title: Hội nghị #1 - đợt 1`: YAML reads ` #` as the start of a comment, so the title was
    "Hội nghị", silently, in every notice and in the summary. It is warned of, with the fix."""
    plan = compile_text(GOOD_TASKS.replace("title: Hội nghị tỉnh", "title: Hội nghị tỉnh #1 - đợt 1"))
    assert plan.tasks["hn-tinh"].title == "Hội nghị tỉnh"  # (what YAML reads)
    [warning] = plan.warnings
    assert (warning.severity, warning.line, warning.key) == ("warning", 9, "tasks[0].title")
    assert warning.message == "the title ends at ` #`, which starts a comment: it reads «Hội nghị tỉnh»"
    assert warning.hint == 'to keep what follows, put the title in quotes: title: "Hội nghị tỉnh #1 - đợt 1"'
    quoted = compile_text(GOOD_TASKS.replace("title: Hội nghị tỉnh", 'title: Hội nghị tỉnh #1 "đợt 1"'))
    assert (
        quoted.warnings[0].hint
        == "to keep what follows, put the title in quotes: title: 'Hội nghị tỉnh #1 \"đợt 1\"'"
    )
    commented = compile_text(
        GOOD_TASKS.replace("due: {before: 20/11/2020}", "due: {before: 20/11/2020}  # KH 01")
    )
    assert commented.warnings == []  # a comment after anything else is a comment


def test_a_unit_name_cut_short_by_a_hash_is_warned_of(tmp_path: Path) -> None:
    """The same in a units file (`name: Chi bộ #1`, a name offices write so): the warning was
    made and dropped, so the unit was "Chi bộ", silently, in every notice. `validate` of the
    units file and of its campaign tell it, naming the units file and its line."""
    import shutil

    from typer.testing import CliRunner

    from cascade.cli import app

    root = Path(__file__).parent.parent / "campaigns"
    folder = tmp_path / "c"
    shutil.copytree(root, folder)
    units = folder / "units" / "ha-tinh.yaml"
    text = units.read_text(encoding="utf-8")
    assert "name: Đảng ủy phường Bắc Hà\n" in text
    units.write_text(
        text.replace("name: Đảng ủy phường Bắc Hà\n", "name: Đảng ủy phường Bắc Hà #1\n"), "utf-8"
    )
    line = text[: text.index("name: Đảng ủy phường Bắc Hà\n")].count("\n") + 1
    runner = CliRunner()
    for target in (units, folder / "ha-tinh-xix-2020.yaml"):
        said = runner.invoke(app, ["validate", str(target)], env={"CASCADE_LANG": "en", "COLUMNS": "300"})
        assert said.exit_code == 0, said.output
        assert f"{units}:{line}: warning: " in said.stderr, said.stderr
        assert (
            "the name ends at ` #`, which starts a comment: it reads «Đảng ủy phường Bắc Hà»" in said.stderr
        )
        assert "1 warning" in said.stderr


CANONICAL = (
    "defaults:\n  notify: [head]\n  remind: [3d]\n  escalate:\n    - {after: 1d, to: [parent]}\n"
    + GOOD_TASKS.replace("level: district\n", "level: district\n    exclude: [mttq]\n").replace(
        "{task: hn-tinh, at: parent}", "{task: hn-tinh}"
    )
    + """\
  - id: hn-co-so
    title: Hội nghị cơ sở
    level: grassroots
    opens_after: {task: hn-huyen}
    due: {before: 15/01/2021}
    fields:
      attendees: {type: int}
      members: {type: int}
      rate: {formula: attendees / members, target: ">= 90%"}
  - id: thu-hoach
    title: Bài thu hoạch
    level: grassroots
    due: {after: hn-co-so, days: 7}
"""
)

# each pair: the form the format writes, the shorter one a first campaign file wrote
SHORT_FORMS = [
    ("notify: [head]", "notify: head"),
    ("exclude: [mttq]", "exclude: mttq"),
    ("remind: [3d]", "remind: 3 ngày"),
    ("escalate:\n    - {after: 1d, to: [parent]}", "escalate: {after: 1d, to: parent}"),
    ("opens_after: {task: hn-tinh}", "opens_after: hn-tinh"),
    ("days: 7}", "days: 7 ngày}"),
    ('target: ">= 90%"', 'target: "≥ 90%"'),
    ('target: ">= 90%"', 'target: ">= 90,0%"'),
]


def test_a_campaign_written_in_the_short_forms_people_write_compiles_as_the_long() -> None:
    """A first campaign file wrote `notify: head`, one stage for `escalate:`, `opens_after:
    hn-tinh`, `days: 7 ngày`, `target: "≥ 90%"`, `timezone: GMT+7` and `calendar: Việt Nam`: each
    was an error ("must be a list", "must be a mapping", "not a timezone"...) though it can mean
    one thing only. Each compiles as the format's own form, and the schema takes both."""
    import jsonschema
    import yaml

    from cascade.cli import SchemaKind, schema_of

    def compiled(plan: Plan) -> tuple[object, ...]:
        return (
            [(t.id, t.notices, t.rule, t.opens_after, t.fields) for t in plan.tasks.values()],
            [(i.key, i.schedule) for i in plan.instances],
            plan.campaign.timezone,
            plan.campaign.calendar.code,
        )

    canonical = compiled(compile_text(CANONICAL))
    schema = schema_of(SchemaKind.campaign)
    for long, short in SHORT_FORMS:
        assert long in CANONICAL, long
        body = CANONICAL.replace(long, short)
        assert compiled(compile_text(body)) == canonical, short
        jsonschema.validate(yaml.safe_load(HEADER + body), schema)
    header = HEADER + "  timezone: GMT+7\n  calendar: Việt Nam\n"
    assert compiled(compile_text(CANONICAL, header=header)) == canonical
    jsonschema.validate(yaml.safe_load(header + CANONICAL), schema)
    # what is still not one thing is still told
    for body in (
        CANONICAL.replace("days: 7}", "days: 7 tuần}"),
        CANONICAL.replace("opens_after: {task: hn-tinh}", "opens_after: [hn-tinh]"),
    ):
        assert problems(body), body
    assert one(CANONICAL, header=HEADER + "  timezone: GMT+8\n").key == "campaign.timezone"
