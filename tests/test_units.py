"""Units files (§2): YAML trees and CSV rows, and every rule they must keep."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from cascade.compile.units import read_units, read_units_file
from cascade.errors import CampaignInvalid
from cascade.plan.hierarchy import recipients
from cascade.plan.values import Contact
from tests.conftest import SMALL_UNITS, dedent, hierarchy


def problems_of(text: str, file: str = "units.yaml") -> list[str]:
    with pytest.raises(CampaignInvalid) as caught:
        read_units(dedent(text), file)
    return [str(p) for p in caught.value.problems]


def test_yaml_tree_becomes_a_hierarchy() -> None:
    units = hierarchy()
    assert units.levels == ["province", "district", "grassroots"]
    assert units.root.id == "tu-a"
    assert list(units.ancestors("x-c")) == ["hu-b", "tu-a"]
    assert recipients(units.path_of("x-c"), ["level:district"]) == ["hu-b"]
    assert units.children["hu-b"] == ["x-c", "x-d"]
    assert units.units["mttq"].tags == ("mass-org",)
    assert units.paths() == {unit: units.path_of(unit) for unit in units.units}
    assert units.paths()["x-c"] == "province:tu-a/district:hu-b/grassroots:x-c"


def test_channels_keep_the_written_order_and_numbers_keep_leading_zeros() -> None:
    assert Contact(role="head", zalo="84912000001", email="vp@example.vn").channels == ("zalo", "email")
    units = hierarchy()
    head = units.units["tu-a"].contacts[0]
    assert head.channels == ("email", "zalo")
    assert units.units["hu-b"].contacts[0].phone == "0912000002"
    text = SMALL_UNITS.replace(
        '{role: head, email: vp@example.vn, zalo: "84912000001"}',
        "{role: head, zalo: 84912000001, email: vp@example.vn, phone: 0912000003}",
    )
    head = hierarchy(text).units["tu-a"].contacts[0]
    assert head.channels == ("zalo", "email", "phone")
    assert head.phone == "0912000003"


CSV = """\
# levels: province, district, grassroots
id,name,level,parent,tags,role,email,zalo,phone
tu-a,Tỉnh ủy A,province,,,head,vp@example.vn,84912000001,
tu-a,,,,,propaganda,btg@example.vn,,
hu-b,Huyện ủy B,district,tu-a,district-committee;rural,head,hu.b@example.vn,,0912000002
x-c,"Đảng ủy xã C, huyện B",grassroots,hu-b,,head,,84912000003,0912000003
"""


def test_csv_rows_become_the_same_hierarchy() -> None:
    units = read_units(CSV, "units.csv")
    assert units.levels == ["province", "district", "grassroots"]
    assert [c.role for c in units.units["tu-a"].contacts] == ["head", "propaganda"]
    assert units.units["hu-b"].tags == ("district-committee", "rural")
    assert units.units["x-c"].name == "Đảng ủy xã C, huyện B"
    assert units.units["x-c"].contacts[0].channels == ("zalo", "phone")
    assert units.units["x-c"].line == 6


def test_a_levels_line_in_the_words_people_say_them() -> None:
    """`# levels: Tỉnh, Huyện, Cơ sở`, as the rows write their levels: `validate` stopped on
    "setting error: a setting: String should match pattern", naming neither file nor fix."""
    sheet = (
        "# levels: Tỉnh, Huyện?, Cơ sở\n"
        "id,name,level,parent,email\n"
        "tu-a,Tỉnh ủy A,Tỉnh,,a@example.vn\n"
        "hu-b,Huyện ủy B,Huyện,tu-a,b@example.vn\n"
        "x-c,Đảng ủy xã C,Cơ sở,hu-b,c@example.vn\n"
        "x-d,Đảng ủy xã D,Cơ sở,tu-a,d@example.vn\n"
    )
    units = read_units(sheet, "don-vi.csv")
    assert units.levels == ["province", "district", "grassroots"]
    assert units.parent_of("x-d") == "tu-a"  # `Huyện?`: an optional level, as `district?`
    said = problems_of(sheet.replace("Huyện?", "Quận huyện"), "don-vi.csv")
    assert said[0].splitlines() == [
        "don-vi.csv:1: error: levels: `Quận huyện` is not a level id",
        "    hint: write the level's id (province, district, commune, grassroots, ...) or one of Trung ương, "
        "Tỉnh, Huyện, Xã, Phường, Đặc khu, Thị trấn, Quận, Thị xã, Cơ sở, Chi bộ",
    ], said


def test_csv_levels_are_read_off_the_tree_without_a_levels_line() -> None:
    units = read_units(CSV.split("\n", 1)[1], "units.csv")
    assert units.levels == ["province", "district", "grassroots"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # duplicate id
            """\
            levels: [province, district]
            units:
              - id: tu-a
                name: A
                level: province
                children:
                  - {id: hu-b, name: B, level: district}
                  - {id: hu-b, name: B2, level: district}
            """,
            "units.yaml:8: error: hu-b: unit id `hu-b` is used twice\n    hint: the first is on line 7",
        ),
        (  # a level skipped
            """\
            levels: [province, district, grassroots]
            units:
              - id: tu-a
                name: A
                level: province
                children:
                  - {id: x-c, name: C, level: grassroots}
            """,
            "units.yaml:7: error: x-c.level: `x-c` is at level `grassroots` under `tu-a` (province)\n"
            "    hint: a unit sits one level below its parent: `district`; or, where units skip `district` "
            "(a level dropped), mark it optional, `{name: district, optional: true}` in `levels`, or take it "
            "out of the levels",
        ),
        (  # unknown level, with a suggestion
            """\
            levels: [province, district]
            units:
              - id: tu-a
                name: A
                level: province
                children:
                  - {id: hu-b, name: B, level: distric}
            """,
            "units.yaml:7: error: hu-b.level: `distric` is not a level\n    hint: did you mean `district`?",
        ),
        (  # contact without a channel
            """\
            levels: [province, district]
            units:
              - id: tu-a
                name: A
                level: province
                contacts: [{role: head, name: Văn phòng}]
            """,
            "units.yaml:6: error: units[0].contacts[0]: a contact needs at least one channel",
        ),
        (  # id not a slug
            """\
            levels: [province, district]
            units:
              - {id: Tinh Uy, name: A, level: province}
            """,
            "units.yaml:3: error: units[0].id: `Tinh Uy` is not an id",
        ),
        (  # two top units
            """\
            levels: [province, district]
            units:
              - {id: tu-a, name: A, level: province}
              - {id: tu-b, name: B, level: province}
            """,
            "units.yaml:4: error: tu-b: more than one top unit",
        ),
        (  # unknown key
            """\
            levels: [province, district]
            units:
              - {id: tu-a, name: A, level: province, chidren: []}
            """,
            "units.yaml:3: error: units[0].chidren: unknown key `chidren`\n"
            "    hint: did you mean `children`?",
        ),
        (  # a contact's unknown key
            """\
            levels: [province, district]
            units:
              - {id: tu-a, name: A, level: province, contacts: [{role: head, emial: vp@example.vn}]}
            """,
            "units.yaml:3: error: units[0].contacts[0].emial: unknown key `emial`\n"
            "    hint: did you mean `email`?",
        ),
        (  # a contact that is not a mapping
            """\
            levels: [province, district]
            units:
              - {id: tu-a, name: A, level: province, contacts: [vp@example.vn]}
            """,
            "units.yaml:3: error: units[0].contacts[0]: input should be a",
        ),
        (  # one level only
            """\
            levels: [province]
            units:
              - {id: tu-a, name: A, level: province}
            """,
            "units.yaml:1: error: levels: list should have at least 2 items after validation",
        ),
        (  # unquoted phone that is not a number
            """\
            levels: [province, district]
            units:
              - {id: tu-a, name: A, level: province, contacts: [{role: head, phone: 0912-000}]}
            """,
            "units.yaml:3: error: units[0].contacts[0]: phone `0912-000` is not a phone number",
        ),
    ],
)
def test_units_rules_are_enforced(text: str, expected: str) -> None:
    assert any(p.startswith(expected) for p in problems_of(text)), problems_of(text)


def test_optional_levels_may_be_skipped() -> None:
    text = """\
        levels: [province, {name: district, optional: true}, grassroots]
        units:
          - id: tu-a
            name: A
            level: province
            children:
              - {id: x-c, name: C, level: grassroots}
              - id: hu-b
                name: B
                level: district
                children: [{id: x-d, name: D, level: grassroots}]
        """
    units = read_units(dedent(text), "units.yaml")
    assert units.parent_of("x-c") == "tu-a"
    assert recipients(units.path_of("x-c"), ["level:district"]) == []
    assert units.paths()["x-d"] == "province:tu-a/district:hu-b/grassroots:x-d"


def test_a_yaml_levels_list_takes_the_optional_mark_a_spreadsheet_writes() -> None:
    """`district?` marks an optional level in a spreadsheet's `# levels:` line; written so in a
    YAML units file it was refused as "`district?` is not a valid id", with a hint on ids."""
    text = """\
        levels: [province, district?, grassroots]
        units:
          - id: tu-a
            name: A
            level: province
            children:
              - {id: x-c, name: C, level: grassroots}
              - {id: hu-b, name: B, level: district, children: [{id: x-d, name: D, level: grassroots}]}
        """
    units = read_units(dedent(text), "units.yaml")
    assert units.parent_of("x-c") == "tu-a" and units.parent_of("x-d") == "hu-b"
    refused = problems_of("levels: [province, district??]\nunits: [{id: tu-a, name: A, level: province}]\n")
    assert [p.splitlines()[0] for p in refused] == [
        "units.yaml:1: error: levels[1].name: `district?` is not a level"
    ]


def test_a_yaml_units_file_writes_its_levels_as_a_sheet_and_a_campaign_do() -> None:
    """`levels: [tỉnh, xã, chi bộ]` and `level: xã` in a YAML units file were refused on every unit
    ("`xã` is not an id"), though a units sheet and the campaign file take those words: the two-level
    province writes its levels so. They are the levels `province`, `commune` and `cell`."""
    text = """\
        levels: [Tỉnh, xã, chi bộ?]
        units:
          - id: tu-a
            name: Tỉnh ủy A
            level: tỉnh
            children:
              - id: x-b
                name: Đảng ủy xã B
                level: Xã
                children: [{id: cb-1, name: Chi bộ thôn 1, level: chi bộ}]
              - {id: ubnd, name: Đảng ủy UBND tỉnh, level: xã}
        """
    units = read_units(dedent(text), "units.yaml")
    assert units.levels == ["province", "commune", "cell"]
    assert {uid: unit.level for uid, unit in units.units.items()} == {
        "tu-a": "province",
        "x-b": "commune",
        "cb-1": "cell",
        "ubnd": "commune",
    }
    refused = problems_of("levels: [tỉnh, xã]\nunits: [{id: tu-a, name: A, level: Tỉnh ủy}]\n")
    assert [p.splitlines() for p in refused] == [
        [
            "units.yaml:2: error: units[0].level: `Tỉnh ủy` is not a level",
            "    hint: write the level's id (province, district, commune, grassroots, ...) or one of "
            "Trung ương, Tỉnh, Huyện, Xã, Phường, Đặc khu, Thị trấn, Quận, Thị xã, Cơ sở, Chi bộ",
        ]
    ]


def test_levels_typed_without_their_marks_are_the_levels_they_name() -> None:
    """`levels: [tinh, xa, chi bo]` (typed with the Vietnamese keyboard off) made two ids of their
    own and refused the third; `level: Tinh` on a unit was then "not a level". They are the levels
    `province`, `commune` and `cell` wherever a level is written, as their marked words are."""
    text = """\
        levels: [tinh, xa, chi bo]
        units:
          - id: tu-a
            name: Tỉnh ủy A
            level: Tinh
            children:
              - id: x-b
                name: Đảng ủy xã B
                level: xa
                children: [{id: cb-1, name: Chi bộ 1, level: Chi bo}]
        """
    units = read_units(dedent(text), "units.yaml")
    assert units.levels == ["province", "commune", "cell"]
    assert [unit.level for unit in units.units.values()] == ["province", "commune", "cell"]


def test_a_name_cut_by_a_comma_in_braces_is_told_to_be_quoted() -> None:
    """`{id: x-b, name: Đảng ủy Khối cơ quan, doanh nghiệp, level: xã}` was "unknown key `doanh
    nghiệp`"; a contact's `{name: Văn phòng, Ban Tuyên giáo}` likewise; and a name cut before a
    number (`Đảng ủy ấp 1, 2`, two hamlets' committee) was "keys should be strings, got 2"."""
    text = """\
        levels: [tỉnh, xã]
        units:
          - id: tu-a
            name: Tỉnh ủy A
            level: tỉnh
            contacts: [{role: head, name: Văn phòng, Ban Tuyên giáo, email: a@example.vn}]
            children:
              - {id: x-b, name: Đảng ủy Khối cơ quan, doanh nghiệp, level: xã}
              - {id: x-c, name: Đảng ủy ấp 1, 2, level: xã}
        """
    assert [p.splitlines()[1] for p in problems_of(text)] == [
        '    hint: to keep what follows, put the name in quotes: name: "Văn phòng, Ban Tuyên giáo"',
        '    hint: to keep what follows, put the name in quotes: name: "Đảng ủy Khối cơ quan, doanh nghiệp"',
        '    hint: to keep what follows, put the name in quotes: name: "Đảng ủy ấp 1, 2"',
    ]


def test_communes_moved_up_when_a_level_is_dropped_are_told_the_fix_that_keeps_them_there() -> None:
    """The 2025 reform dropped the district level and moved the communes under the province. The
    units file saying so, with its levels line left as it was, got 87 errors each hinting that a
    commune "sits one level below its parent: `district`", as if each should become a district.
    The hint names the other fix too, in the file's own writing, and that fix is accepted."""
    sheet = (
        "# levels: province, district, grassroots\n"
        "id,name,level,parent,tags,role,email,zalo,phone\n"
        "tu-a,Tỉnh ủy A,province,,,head,vp@example.vn,,\n"
        "x-c,Đảng ủy xã C,grassroots,tu-a,,head,c@example.vn,,\n"
        "x-d,Đảng ủy xã D,grassroots,tu-a,,head,d@example.vn,,\n"
    )
    problems = problems_of(sheet, "don-vi.csv")
    assert [p.split("\n")[0] for p in problems] == [
        "don-vi.csv:4: error: x-c.level: `x-c` is at level `grassroots` under `tu-a` (province)",
        "don-vi.csv:5: error: x-d.level: `x-d` is at level `grassroots` under `tu-a` (province)",
    ]
    assert problems[0].split("\n")[1] == (
        "    hint: a unit sits one level below its parent: `district`; or, where units skip `district` (a "
        "level dropped), mark it optional, `district?` in the `# levels:` line, or take it out of the levels"
    )
    for levels in ("# levels: province, district?, grassroots", "# levels: province, grassroots"):
        units = read_units(sheet.replace("# levels: province, district, grassroots", levels), "don-vi.csv")
        assert units.parent_of("x-d") == "tu-a", levels
    level_up = problems_of(
        sheet.replace("x-c,Đảng ủy xã C,grassroots", "x-c,Đảng ủy xã C,province"), "don-vi.csv"
    )
    assert level_up[0].endswith("hint: a unit sits one level below its parent: `district`")  # skips none


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "x-c,C,grassroots,hu-z,,head,c@example.vn,,\n",
            "units.csv:5: error: x-c.parent: parent `hu-z` is not a unit of this file",
        ),
        (
            "tu-a,Other name,,,,head,x@example.vn,,\n",
            "units.csv:5: error: tu-a.name: `Other name` differs from `Tỉnh ủy A` on line 3",
        ),
        (
            "x-c,C,grassroots,tu-a,,head,c@example.vn,,\n",
            "units.csv:5: error: x-c.level: `x-c` is at level `grassroots` under `tu-a` (province)",
        ),
        (
            "x-c,C,grassroots,hu-b,,head,,,\n",
            "units.csv:5: error: x-c.contacts[0]: a contact needs at least one channel",
        ),
        (  # a unit's further contact, on its own row
            "x-c,C,grassroots,hu-b,,head,c@example.vn,,\n,,,,,deputy,not-an-email,,\n",
            "units.csv:6: error: x-c.contacts[1]: `not-an-email` is not an email address",
        ),
        ("Xa C,C,grassroots,hu-b,,head,c@example.vn,,\n", "units.csv:5: error: [2].id: `Xa C` is not an id"),
    ],
)
def test_csv_rules_name_the_row(rows: str, expected: str) -> None:
    base = (
        "# levels: province, district, grassroots\n"
        "id,name,level,parent,tags,role,email,zalo,phone\n"
        "tu-a,Tỉnh ủy A,province,,,head,vp@example.vn,,\n"
        "hu-b,Huyện ủy B,district,tu-a,,head,b@example.vn,,\n"
    )
    problems = problems_of(base + rows, "units.csv")
    assert any(p.startswith(expected) for p in problems), problems


def test_csv_levels_that_cannot_be_told_apart_ask_for_a_levels_line() -> None:
    text = "id,name,level,parent\ntu-a,A,province,\nhu-b,B,district,tu-a\nx-c,C,grassroots,tu-a\n"
    assert problems_of(text, "units.csv")[0].startswith(
        "units.csv:1: error: levels: cannot tell whether `district` or `grassroots` is the higher level"
    )


def test_csv_unknown_column_is_named() -> None:
    text = "id,name,level,parent,emial\ntu-a,A,province,,x@example.vn\nhu-b,B,district,tu-a,\n"
    assert problems_of(text, "units.csv")[0].startswith(
        "units.csv:1: error: header: unknown column `emial`\n    hint: did you mean `email`?"
    )


def test_a_sheet_as_an_office_types_it_capitals_and_level_words() -> None:
    """ "Email" was an unknown column ("did you mean `email`?") and "Huyện" no level."""
    text = (
        "Mã,Tên đơn vị,Cấp,Đơn vị cấp trên,Email,SĐT\n"
        "tu,Tỉnh ủy X,Tỉnh,,a@x.vn,0912000001\n"
        "hu,Huyện ủy Y,cấp huyện,tu,b@x.vn,\n"
        "xa,Đảng ủy xã Z,Cơ sở,hu,c@x.vn,\n"
    )
    units = read_units(text, "units.csv")
    assert units.levels == ["province", "district", "grassroots"]
    assert units.units["hu"].level == "district" and units.units["tu"].contacts[0].channels == (
        "email",
        "phone",
    )
    # "Xã" is the commune level; where communes are grassroots units among others, it says so
    communes = text.replace(",Cơ sở,", ",Xã,")
    assert read_units(communes, "units.csv").units["xa"].level == "commune"
    [problem] = problems_of(communes + "cq,Đảng ủy Cơ quan,Cơ sở,hu,d@x.vn,\n", "units.csv")
    assert problem.splitlines() == [
        "units.csv:1: error: levels: communes and wards (`Xã`, `Phường`) and grassroots units (`Cơ sở`) "
        "at the same depth of the tree",
        "    hint: where communes and wards are grassroots units like the others, write `Cơ sở` for them too",
    ]


def test_a_province_of_communes_writes_its_levels_as_it_says_them() -> None:
    """Since local government has two levels (07/2025) a province's sheet lists Tỉnh, Xã, Chi bộ:
    "Xã" was "not an id, `Xã` can be a grassroots unit or a commune: write which", on every
    commune's row, and a campaign's `level: xã` had no level to name."""
    sheet = (
        "Mã đơn vị,Tên đơn vị,Cấp,Đơn vị cấp trên,Email\n"
        "tu,Tỉnh ủy Quảng Trị,Tỉnh,,vp@tu.vn\n"
        "x1,Đảng ủy xã Số 1,Xã,tu,x1@tu.vn\n"
        "x1-cb1,Chi bộ thôn 1,Chi bộ,x1,cb1@tu.vn\n"
        "x2,Đảng ủy phường Số 2,Phường,tu,x2@tu.vn\n"
        "x3,Đảng ủy đặc khu Số 3,Đặc khu,tu,x3@tu.vn\n"
        "x4,Đảng ủy xã Số 4,cấp xã,tu,x4@tu.vn\n"
    )
    units = read_units(sheet, "don-vi.csv")
    assert units.levels == ["province", "commune", "cell"]
    assert {uid: unit.level for uid, unit in units.units.items()} == {
        "tu": "province",
        "x1": "commune",
        "x1-cb1": "cell",
        "x2": "commune",
        "x3": "commune",
        "x4": "commune",
    }


def test_a_committee_directly_under_its_parent_sits_at_its_siblings_level() -> None:
    """A province lists the party committees of its agencies as "Đảng ủy trực thuộc" in the level
    column, and its sheet keeps a "Ghi chú" column for people: each was refused ("`Đảng ủy trực
    thuộc` is not an id", "unknown column `Ghi chú`"). The committee sits at the level of its
    parent's other units (under a Tỉnh ủy of communes: Xã; of districts: Huyện); the notes are
    passed over."""
    sheet = (
        "STT,Mã,Tên đơn vị,Cấp,Đơn vị cấp trên,Email,Ghi chú\n"
        "1,tu,Tỉnh ủy Đồng Tháp,Tỉnh,,vp@tu.vn,\n"
        "2,x1,Đảng ủy xã Tân Hồng,Xã,tu,x1@tu.vn,sáp nhập 07/2025\n"
        "3,x2,Đảng ủy phường Mỹ Tho,Phường,Tỉnh ủy Đồng Tháp,x2@tu.vn,\n"
        "4,ccq,Đảng ủy các cơ quan Đảng tỉnh,Đảng ủy trực thuộc,Tỉnh ủy Đồng Tháp,ccq@tu.vn,\n"
        "5,ccq-cb1,Chi bộ Văn phòng,Chi bộ,ccq,cb1@tu.vn,\n"
        "6,x1-cb1,Chi bộ ấp 1,Chi bộ,x1,cb2@tu.vn,\n"
    )
    units = read_units(sheet, "don-vi.csv")
    assert units.levels == ["province", "commune", "cell"]
    assert (units.units["ccq"].level, units.units["ccq-cb1"].level) == ("commune", "cell")
    old_model = (  # before 07/2025: under the Tỉnh ủy, districts
        "# levels: province, district, grassroots\nid,name,level,parent,email\n"
        "tu,Tỉnh ủy Hà Tĩnh,province,,vp@tu.vn\n"
        "hu,Huyện ủy Can Lộc,Huyện,tu,hu@tu.vn\n"
        "ccq,Đảng ủy Khối các cơ quan tỉnh,Đảng bộ trực thuộc Tỉnh ủy,tu,ccq@tu.vn\n"
    )
    assert read_units(old_model, "units.csv").units["ccq"].level == "district"
    alone = "id,name,level,parent,email\ntu,Tỉnh ủy,Tỉnh,,vp@tu.vn\nccq,Khối,Đảng ủy trực thuộc,tu,c@tu.vn\n"
    [problem] = [p for p in problems_of(alone, "units.csv") if "ccq.level" in p]  # (no sibling)
    assert problem.startswith("units.csv:3: error: ccq.level: `Đảng ủy trực thuộc` is not a level"), problem
    assert "sits at the level of its parent's other units: write that level (e.g. Xã" in problem


def test_a_units_csv_without_rows_is_refused() -> None:
    assert problems_of("# levels: province, district\nid,name,level,parent\n", "units.csv") == [
        "units.csv: error: the units file lists no unit\n    hint: add at least the top unit"
    ]


def test_every_over_long_csv_row_is_reported() -> None:
    text = "id,name,level,parent\ntu-a,A,province,,x\nhu-b,B,district,tu-a\nhu-c,C,district,tu-a,y,z\n"
    assert [p.split(":")[1] for p in problems_of(text, "units.csv")] == ["2", "4"]


# ---- units from spreadsheets: any order, ids from names, Excel's files -------------------------

SORTED_BY_NAME = """\
# levels: province, district, grassroots
name,level,parent,role,email
Đảng ủy xã Long Định,grassroots,Huyện ủy Châu Thành,head,ld@example.vn
Đảng ủy xã Tân Lý Đông,grassroots,Huyện ủy Châu Thành,head,tld@example.vn
Huyện ủy Cái Bè,district,Tỉnh ủy Tiền Giang,head,cb@example.vn
Huyện ủy Châu Thành,district,Tỉnh ủy Tiền Giang,head,ct@example.vn
,,,propaganda,btg.ct@example.vn
Tỉnh ủy Tiền Giang,province,,head,vp@example.vn
"""


def test_a_commune_sheet_headed_and_typed_as_its_office_does_is_read() -> None:
    """A commune's list of its cells, headed "Trực thuộc" (what each unit belongs to) and "Người
    phụ trách", was "missing column `parent`" with the English keys as its only hint, and the header
    not understood went unnamed; its levels typed with the Vietnamese keyboard off ("chi bo") were
    "`chi bo` is not a level" on every row."""
    sheet = (
        "STT,Tên đơn vị,Cấp,Trực thuộc,Người phụ trách,Email\n"
        "1,Đảng ủy xã Long Đức,Xã,,Văn phòng Đảng ủy,vp@ld.vn\n"
        "2,Chi bộ ấp Long Bình,chi bo,Đảng ủy xã Long Đức,Bí thư chi bộ,cb1@ld.vn\n"
        "3,Chi bộ ấp Long Trị,Chi bộ,Đảng ủy xã Long Đức,,cb2@ld.vn\n"
    )
    units = read_units(sheet, "long-duc.csv")
    assert units.levels == ["commune", "cell"]
    assert {u.id: (u.level, u.parent) for u in units.units.values()} == {
        "dang-uy-xa-long-duc": ("commune", None),
        "chi-bo-ap-long-binh": ("cell", "dang-uy-xa-long-duc"),
        "chi-bo-ap-long-tri": ("cell", "dang-uy-xa-long-duc"),
    }
    assert units.units["chi-bo-ap-long-binh"].contacts[0].name == "Bí thư chi bộ"
    unmarked = "Ten don vi,Cap,Cap tren,Email\nĐảng ủy xã A,Xa,,a@x.vn\nChi bộ 1,Chi bo,Đảng ủy xã A,c@x.vn\n"
    assert [u.level for u in read_units(unmarked, "a.csv").units.values()] == ["commune", "cell"]

    other = sheet.replace(",Cấp,", ",Loại,")  # a header not understood: named with the column missing
    hint = (
        "    hint: the first row names the columns: Tên đơn vị (name), Cấp (level), Cấp trên (parent), "
        "then any of Mã (id), Nhãn (tags), Vai trò (role), Người liên hệ (contact_name), Email, Zalo, "
        "Số điện thoại (phone)"
    )
    assert [p.splitlines() for p in problems_of(other, "long-duc.csv")] == [
        ["long-duc.csv:1: error: header: missing column(s) `level`", hint],
        ["long-duc.csv:1: error: header: unknown column `Loại`", hint],
    ]


def test_a_sheet_with_no_parent_column_places_each_unit_under_the_one_above_it() -> None:
    """ "Danh sách các chi bộ trực thuộc": the commune on the first row, its cells below it, no column
    naming a parent (every cell's would be the same). It was "missing column `parent`". Each unit
    is placed under the unit last listed above it at a higher level, which a warning says once;
    a level that is not one of the words tells no order, and the column is asked for."""
    sheet = (
        "DANH SÁCH CÁC ĐƠN VỊ\n"
        "STT,Tên đơn vị,Cấp,Email\n"
        ",Đảng ủy xã A,Xã,a@x.vn\n"
        "1,Chi bộ ấp 1,Chi bộ,c1@x.vn\n"
        "2,Chi bộ ấp 2,Chi bộ,c2@x.vn\n"
        ",Đảng ủy xã B,Xã,b@x.vn\n"
        "1,Chi bộ ấp 1,Chi bộ,b1@x.vn\n"
    )
    top = "STT,Tên đơn vị,Cấp,Email\n,Đảng ủy huyện H,Huyện,h@x.vn\n" + sheet.split("\n", 2)[2]
    units = read_units(top, "h.csv")
    assert {u.name + " / " + u.id: u.parent for u in units.units.values()} == {
        "Đảng ủy huyện H / dang-uy-huyen-h": None,
        "Đảng ủy xã A / dang-uy-xa-a": "dang-uy-huyen-h",
        "Chi bộ ấp 1 / chi-bo-ap-1-dang-uy-xa-a": "dang-uy-xa-a",
        "Chi bộ ấp 2 / chi-bo-ap-2": "dang-uy-xa-a",
        "Đảng ủy xã B / dang-uy-xa-b": "dang-uy-huyen-h",
        "Chi bộ ấp 1 / chi-bo-ap-1-dang-uy-xa-b": "dang-uy-xa-b",
    }
    assert [str(w).splitlines()[0] for w in units.warnings if "Cấp trên" in str(w)] == [
        "h.csv:1: warning: header: no Cấp trên (parent) column: each unit is placed under the unit listed "
        "last above it at a higher level"
    ]
    one_commune = sheet[: sheet.index(",Đảng ủy xã B")]
    titled = read_units(one_commune, "x.csv")  # below the sheet's title, the header is its line 2
    assert [w.line for w in titled.warnings] == [2]
    assert [u.parent for u in titled.units.values()] == [None, "dang-uy-xa-a", "dang-uy-xa-a"]
    two_contacts = one_commune.replace(
        ",Đảng ủy xã A,Xã,a@x.vn\n", ",Đảng ủy xã A,Xã,a@x.vn\n,Đảng ủy xã A,Xã,a2@x.vn\n"
    )
    units = read_units(two_contacts, "x.csv").units  # a unit's second row: one more contact
    assert [c.email for c in units["dang-uy-xa-a"].contacts] == ["a@x.vn", "a2@x.vn"]
    assert [u.parent for u in units.values()] == [None, "dang-uy-xa-a", "dang-uy-xa-a"]
    [refused] = problems_of(top.replace("Chi bộ ấp 2,Chi bộ", "Chi bộ ấp 2,Tổ đảng"), "h.csv")
    assert refused.startswith("h.csv:1: error: header: missing column(s) `parent`"), refused
    assert "line 5 writes `Tổ đảng`" in refused


def test_a_districts_list_of_party_organisations_is_read_as_its_office_heads_it(tmp_path: Path) -> None:
    """A district's list of the party organisations under it, headed "Tên tổ chức đảng" and "Số
    Zalo" below its title: it was "missing column `name`", named on line 1 (the title's) rather than
    the header's; the phones under "Số Zalo" (the number a contact's Zalo is on) were "a phone number,
    not a Zalo follower id" on every row; and the party cells directly under the district, beside
    its communes ("Chi bộ cơ sở": a school's, the police's), were "not a level"."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["DANH SÁCH CÁC TỔ CHỨC ĐẢNG TRỰC THUỘC HUYỆN ỦY"])
    sheet.append([])
    sheet.append(["STT", "Tên tổ chức đảng", "Cấp", "Trực thuộc", "Email", "Điện thoại", "Số Zalo"])
    for row in (
        (1, "Huyện ủy Càng Long", "Huyện", None, "hu@cl.vn", "0294 3882 123", "0912 000 001"),
        (2, "Đảng ủy xã An Trường", "Xã", "Huyện ủy Càng Long", "at@cl.vn", "0913000002", None),
        (3, "Chi bộ ấp 1", "Chi bộ", "Đảng ủy xã An Trường", None, None, 913000011),  # a number cell
        (4, "Chi bộ ấp 2", "Chi bộ", "Đảng ủy xã An Trường", None, None, "1234567890123456789"),
        (5, "Chi bộ Trường THPT Càng Long", "Chi bộ cơ sở", "Huyện ủy Càng Long", "thpt@cl.vn", None, None),
        (6, "Đảng bộ Công an huyện", "Dang bo co so", "Huyện ủy Càng Long", "ca@cl.vn", None, None),
    ):
        sheet.append(list(row))
    path = tmp_path / "to-chuc-dang.xlsx"
    book.save(path)
    units = read_units_file(path, path.name).units
    assert {u.name: u.level for u in units.values()} == {
        "Huyện ủy Càng Long": "district",
        "Đảng ủy xã An Trường": "commune",
        "Chi bộ ấp 1": "cell",
        "Chi bộ ấp 2": "cell",
        "Chi bộ Trường THPT Càng Long": "commune",  # at the level of the district's other units
        "Đảng bộ Công an huyện": "commune",
    }
    contact = {u.name: u.contacts[0] for u in units.values()}
    # "Số Zalo" is the phone ZNS reaches, before a landline's "Điện thoại" (and its column's place)
    assert (contact["Huyện ủy Càng Long"].phone, contact["Huyện ủy Càng Long"].channels) == (
        "0912000001",
        ("email", "phone"),
    )
    assert contact["Đảng ủy xã An Trường"].phone == "0913000002"  # no Zalo number: the other phone
    assert contact["Chi bộ ấp 1"].phone == "0913000011"
    assert (contact["Chi bộ ấp 2"].zalo, contact["Chi bộ ấp 2"].phone) == ("1234567890123456789", None)

    sheet["B3"] = "Tên gọi"  # a header not understood, named on its own line, below the title
    book.save(path)
    with pytest.raises(CampaignInvalid) as refused:
        read_units_file(path, path.name)
    assert [(p.line, p.message) for p in refused.value.problems] == [
        (3, "missing column(s) `name`"),
        (3, "unknown column `Tên gọi`"),
    ]


def test_a_sheet_sorted_by_name_lists_children_first_and_is_accepted() -> None:
    units = read_units(SORTED_BY_NAME, "units.csv")
    assert units.root.id == "tinh-uy-tien-giang"  # ids made from the names
    assert units.children["tinh-uy-tien-giang"] == ["huyen-uy-cai-be", "huyen-uy-chau-thanh"]
    assert units.children["huyen-uy-chau-thanh"] == ["dang-uy-xa-long-dinh", "dang-uy-xa-tan-ly-dong"]
    assert units.units["dang-uy-xa-long-dinh"].line == 3  # the line as written, not as placed
    # a row with no unit columns is a further contact of the unit above it
    assert [c.role for c in units.units["huyen-uy-chau-thanh"].contacts] == ["head", "propaganda"]


def test_two_names_that_make_one_id_are_an_error_naming_both_rows() -> None:
    text = (
        "# levels: province, district, grassroots\n"
        "name,level,parent,email\n"
        "Tỉnh ủy Tiền Giang,province,,vp@example.vn\n"
        "Huyện ủy Cai Lậy,district,Tỉnh ủy Tiền Giang,cl@example.vn\n"
        "Huyện ủy Chợ Gạo,district,Tỉnh ủy Tiền Giang,cg@example.vn\n"
        "Tân Thành,grassroots,Huyện ủy Cai Lậy,tt@example.vn\n"
        "Tân Thạnh,grassroots,Huyện ủy Chợ Gạo,tth@example.vn\n"
    )
    assert problems_of(text, "units.csv") == [
        "units.csv:7: error: id: `Tân Thạnh` makes the id `tan-thanh`, as `Tân Thành` on line 6 does\n"
        "    hint: give these units ids in an `id` column, e.g. `tan-thanh-huyen-uy-cai-lay` for `Tân Thành`"
        " and `tan-thanh-huyen-uy-cho-gao` for `Tân Thạnh`"
    ]
    with_ids = text.replace("name,level", "id,name,level").replace("\nT", "\n,T").replace("\nH", "\n,H")
    with_ids = with_ids.replace(",Tân Thạnh,", "x-tan-thanh-cg,Tân Thạnh,")
    assert read_units(with_ids, "units.csv").units["x-tan-thanh-cg"].name == "Tân Thạnh"


def test_a_name_every_commune_has_makes_each_ones_id_with_its_parents() -> None:
    """A sheet without ids lists the cells of every commune by the names they have: "Chi bộ ấp
    1" under Xã Cái Bè and under Xã Tân Hồng. Each row after the first was "`Chi bộ ấp 1` makes
    the id `chi-bo-ap-1`, as ... does", the operator to type an id for every such cell (a
    province: thousands). Each such unit's id is made with its parent's name, told once; its
    further contact rows stay its own."""
    text = (
        "# levels: province, commune, cell\n"
        "name,level,parent,role,email\n"
        "Tỉnh ủy Đồng Tháp,province,,head,vp@example.vn\n"
        "Đảng ủy xã Cái Bè,commune,Tỉnh ủy Đồng Tháp,head,cb@example.vn\n"
        "Chi bộ ấp 1,cell,Đảng ủy xã Cái Bè,head,cb1@example.vn\n"
        ",,,propaganda,cb1.tg@example.vn\n"
        "Chi bộ ấp 2,cell,Đảng ủy xã Cái Bè,head,cb2@example.vn\n"
        "Đảng ủy xã Tân Hồng,commune,Tỉnh ủy Đồng Tháp,head,th@example.vn\n"
        "Chi bộ ấp 1,cell,Đảng ủy xã Tân Hồng,head,th1@example.vn\n"
    )
    units = read_units(text, "units.csv")
    assert [(uid, u.parent) for uid, u in units.units.items() if u.level == "cell"] == [
        ("chi-bo-ap-1-dang-uy-xa-cai-be", "dang-uy-xa-cai-be"),
        ("chi-bo-ap-2", "dang-uy-xa-cai-be"),  # (a name no other unit has: as before)
        ("chi-bo-ap-1-dang-uy-xa-tan-hong", "dang-uy-xa-tan-hong"),
    ]
    assert [c.role for c in units.units["chi-bo-ap-1-dang-uy-xa-cai-be"].contacts] == ["head", "propaganda"]
    [told] = units.warnings
    assert str(told) == (
        "units.csv: warning: id: 2 units share their names with units under other parents: each one's id "
        "is made with its parent's name (`chi-bo-ap-1-dang-uy-xa-cai-be`)\n    hint: to keep the ids when "
        "the sheet changes (a unit moved, a name given once more), write them in an `id` column: `cascade "
        "plan --format csv` lists them"
    )
    again = text + "Chi bộ ấp 1,cell,Đảng ủy xã Tân Hồng,propaganda,th9@example.vn\n"  # (its name and parent:
    assert [
        c.email for c in read_units(again, "units.csv").units["chi-bo-ap-1-dang-uy-xa-tan-hong"].contacts
    ] == [
        "th1@example.vn",
        "th9@example.vn",
    ]  # a further contact of that unit, as before)


def test_a_circle_of_parents_is_named() -> None:
    text = (
        "# levels: province, district\nid,name,level,parent\ntu,T,province,\na,A,district,b\nb,B,district,a\n"
    )
    assert problems_of(text, "units.csv") == [
        "units.csv:4: error: a.parent: parents go round in a circle: a -> b -> a\n"
        "    hint: one of them belongs under another parent"
    ]


def test_units_from_a_semicolon_csv_with_a_bom_and_from_a_workbook(tmp_path: Path) -> None:
    semicolon = tmp_path / "don-vi.csv"
    text = SORTED_BY_NAME.replace(",", ";").replace("name;level;parent", "Tên đơn vị;Cấp;Đơn vị cấp trên")
    semicolon.write_bytes(("\ufeff" + text).encode("utf-8"))
    from_csv = read_units_file(semicolon, str(semicolon))
    assert from_csv.units.keys() == read_units(SORTED_BY_NAME, "units.csv").units.keys()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Đơn vị"
    sheet.append(["# levels: province, district, grassroots"])
    sheet.append(["Mã (id)", "Tên đơn vị (name)", "Cấp (level)", "Cấp trên (parent)", "Zalo (zalo)"])
    sheet.append(["x-long-dinh", "Đảng ủy xã Long Định", "grassroots", "hu-chau-thanh", 84912000003])
    sheet.append(["hu-chau-thanh", "Huyện ủy Châu Thành", "district", "tu-tien-giang", 84912000002])
    sheet.append(["tu-tien-giang", "Tỉnh ủy Tiền Giang", "province", None, 84912000001])
    path = tmp_path / "don-vi.xlsx"
    book.save(path)
    units = read_units_file(path, str(path))
    assert list(units.ancestors("x-long-dinh")) == ["hu-chau-thanh", "tu-tien-giang"]
    assert units.units["x-long-dinh"].contacts[0].zalo == "84912000003"  # a number cell, as digits
    sheet2 = book.create_sheet("Thêm")
    sheet2.append(["Tên đơn vị", "Cấp", "Cấp trên"])
    sheet2.append(["Đảng ủy xã Bình Đức", "grassroots", "hu-chau-thanh"])
    book.save(path)
    with pytest.raises(CampaignInvalid) as refused:
        read_units_file(path, str(path))
    [two] = refused.value.problems
    assert "units are read from one sheet" in two.message
    assert two.hint == "keep the units on one sheet; hide the other (right-click its tab: Hide) or delete it"


def test_a_summary_sheet_beside_the_list_of_units_is_passed_over(tmp_path: Path) -> None:
    """A district's workbook keeps a count of its units by level on a sheet beside the list
    ("Tổng hợp": Cấp, Số đơn vị): the whole file was refused, "units are read from one sheet",
    with "keep the units on one sheet" as its only hint. A sheet with no name column is not the
    list: it is passed over, which a warning says, before the list or after it; with no list at
    all, the first sheet's missing columns are told."""
    book = openpyxl.Workbook()
    summary = book.active
    summary.title = "Tổng hợp"
    summary.append(["Cấp", "Số đơn vị"])
    summary.append(["Xã", 1])
    listed = book.create_sheet("Danh sách")
    listed.append(["Tên đơn vị", "Cấp", "Cấp trên"])
    listed.append(["Huyện ủy Càng Long", "Huyện", None])
    listed.append(["Đảng ủy xã An Trường", "Xã", "Huyện ủy Càng Long"])
    path = tmp_path / "don-vi.xlsx"
    book.save(path)
    read = read_units_file(path, path.name)
    assert [u.name for u in read.units.values()] == ["Huyện ủy Càng Long", "Đảng ủy xã An Trường"]
    assert [(w.file, w.line, w.message) for w in read.warnings] == [
        ("don-vi.xlsx, sheet Tổng hợp", 1, "no Tên đơn vị (name) column: not the list of units, passed over")
    ]
    del book["Danh sách"]
    book.save(path)
    with pytest.raises(CampaignInvalid) as refused:
        read_units_file(path, path.name)
    assert refused.value.problems[0].message == "missing column(s) `name`, `parent`"


def test_zalo_ids_and_phones_as_offices_have_them(tmp_path: Path) -> None:
    """A Zalo follower id is 16 to 19 digits ("2468458835296117922"): it was refused as "not a
    number" (the phone's 15-digit bound). A phone written as people write it ("0912 345 678",
    "091.234.5678", "+84 912 345 678", "(0239) 3855 123") was refused, and one whose leading 0 an
    Excel number cell dropped (912345678) was taken as written, a number ZNS cannot reach."""
    rows = [
        ("tu-a", "Tỉnh ủy A", "province", "", "2468458835296117922", "0912 345 678"),
        ("hu-b", "Huyện ủy B", "district", "tu-a", "", "091.234.5679"),
        ("hu-c", "Huyện ủy C", "district", "tu-a", "", "+84 912 345 670"),
        ("hu-d", "Huyện ủy D", "district", "tu-a", "", "(0239) 3855 123"),
        ("hu-e", "Huyện ủy E", "district", "tu-a", "", 912345671),
    ]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "name", "level", "parent", "zalo", "phone"])
    for row in rows:
        sheet.append(list(row))
    path = tmp_path / "don-vi.xlsx"
    book.save(path)
    csv = "# levels: province, district\nid,name,level,parent,zalo,phone\n"
    csv += "".join(",".join(f'"{cell}"' for cell in row) + "\n" for row in rows)
    expected = {
        "tu-a": ("2468458835296117922", "0912345678"),
        "hu-b": (None, "0912345679"),
        "hu-c": (None, "+84912345670"),
        "hu-d": (None, "02393855123"),
        "hu-e": (None, "0912345671"),
    }
    for units in (read_units_file(path, str(path)), read_units(csv, "units.csv")):
        assert {u: (x.contacts[0].zalo, x.contacts[0].phone) for u, x in units.units.items()} == expected
    yaml_phone = SMALL_UNITS.replace('phone: "0912000002"', "phone: 912000002")  # YAML's number
    assert hierarchy(yaml_phone).units["hu-b"].contacts[0].phone == "0912000002"
    short = problems_of(
        """\
        levels: [province, district]
        units:
          - {id: tu-a, name: A, level: province, contacts: [{role: head, phone: 0912 000}]}
        """
    )
    expected = "units.yaml:3: error: units[0].contacts[0]: phone `0912 000` is not a phone number"
    assert short[0].startswith(expected)
    assert "0912 345 678" in short[0]


def test_a_long_number_excel_rounded_is_refused_with_the_way_out(tmp_path: Path) -> None:
    """Excel keeps 15 digits of a number: a Zalo id typed into a number cell became
    2468458835296110000 (from a workbook) or "2.46846E+18" (its CSV), and the first was taken:
    every message to that official would go to nobody."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "name", "level", "parent", "zalo"])
    sheet.append(["tu-a", "Tỉnh ủy A", "province", None, 2.46845883529611e18])
    sheet.append(["hu-b", "Huyện ủy B", "district", "tu-a", "84912000002"])
    path = tmp_path / "don-vi.xlsx"
    book.save(path)
    csv = path.with_suffix(".csv")
    csv.write_text("id,name,level,parent,zalo\ntu-a,Tỉnh ủy A,province,,2.46846E+18\n", "utf-8")
    csv.write_text(csv.read_text("utf-8") + "hu-b,Huyện ủy B,district,tu-a,84912000002\n", "utf-8")
    for file in (path, csv):
        with pytest.raises(CampaignInvalid) as refused:
            read_units_file(file, file.name)
        [problem] = refused.value.problems
        assert (problem.line, problem.key) == (2, "tu-a.contacts[0]"), str(problem)
        assert "Excel kept only the first 15 digits" in problem.message
        assert problem.hint is not None and "Text" in problem.hint


def test_a_phone_number_in_the_zalo_column_is_refused_with_where_it_goes(tmp_path: Path) -> None:
    """Offices say "số Zalo" for the phone their Zalo account is on, and write it in the Zalo
    column: `0912345678`, `0912 345 678`, `+84 912 345 678`, or 912345678 from a number cell. The
    first was taken as a follower id, so every message the Official Account sent there went to
    nobody; the others were refused as "not a follower id", with no word of the phone column."""
    rows = [
        ("tu-a", "Tỉnh ủy A", "province", "", "0912345678"),
        ("hu-b", "Huyện ủy B", "district", "tu-a", "0912 345 679"),
        ("hu-c", "Huyện ủy C", "district", "tu-a", "+84 912 345 670"),
        ("hu-d", "Huyện ủy D", "district", "tu-a", 912345671),
        ("hu-e", "Huyện ủy E", "district", "tu-a", "2468458835296117922"),  # a follower id
        ("hu-f", "Huyện ủy F", "district", "tu-a", "84912000006"),  # as spec §2 writes one
    ]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "name", "level", "parent", "zalo"])
    for row in rows:
        sheet.append(list(row))
    path = tmp_path / "don-vi.xlsx"
    book.save(path)
    with pytest.raises(CampaignInvalid) as refused:
        read_units_file(path, str(path))
    said = {(p.line, p.message): p.hint for p in refused.value.problems}
    assert sorted(said) == [
        (2, "zalo `0912345678` is a phone number, not a Zalo follower id"),
        (3, "zalo `0912 345 679` is a phone number, not a Zalo follower id"),
        (4, "zalo `+84 912 345 670` is a phone number, not a Zalo follower id"),
        (5, "zalo `912345671` is a phone number, not a Zalo follower id"),
    ], said
    for hint in said.values():
        assert hint is not None and "phone" in hint and "follower" in hint, hint
    kept = [row for row in rows if row[0] in ("tu-a", "hu-e", "hu-f")]
    text = "id,name,level,parent,zalo\n" + "".join(",".join(map(str, row)) + "\n" for row in kept)
    units = read_units(text.replace(",0912345678", ",2468458835296117920"), "don-vi.csv")
    zalo = [units.units[u].contacts[0].zalo for u in ("hu-e", "hu-f")]
    assert zalo == ["2468458835296117922", "84912000006"]
    [problem] = problems_of(
        """\
        levels: [province, district]
        units:
          - {id: tu-a, name: A, level: province, contacts: [{role: head, zalo: "0912 345 678"}]}
        """
    )
    assert problem.startswith(
        "units.yaml:3: error: units[0].contacts[0]: zalo `0912 345 678` is a phone number, not a Zalo "
        "follower id\n    hint: "
    ), problem


def test_units_under_a_refused_row_are_not_refused_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The district rows deleted from a national units file, the communes' parent column left as
    it was: 9,450 communes named a parent gone, and each of their 56,700 cells was refused too,
    "parent `xa-00-0-00` is not a unit of this file", though that commune stood on the line
    above. A unit whose parent is unknown is still placed, so that its children are checked
    against it; one whose level is unknown is left out with its children, its error theirs."""
    sheet = (
        "# levels: province, district, commune\n"
        "id,name,level,parent,email\n"
        "t,Tỉnh ủy T,province,,t@example.vn\n"
        "x1,Đảng ủy xã 1,district,h-gone,x1@example.vn\n"
        "c1,Chi bộ 1,commune,x1,c1@example.vn\n"
        "c2,Chi bộ 2,commune,x1,c2@example.vn\n"
        "x2,Đảng ủy xã 2,Khối,t,x2@example.vn\n"
        "c3,Chi bộ 3,commune,x2,c3@example.vn\n"
        "x3,Đảng ủy xã 3,district,t,x3@example.vn\n"
        "c4,Chi bộ 4,district,x3,c4@example.vn\n"
    )
    said = problems_of(sheet, "don-vi.csv")
    assert [p.split(": error: ")[1].split("\n")[0] for p in said] == [
        "x1.parent: parent `h-gone` is not a unit of this file",
        "x2.level: `Khối` is not a level",
        "c4.level: `c4` is at level `district` under `x3` (district)",
    ], said
    # close names are looked for once a name, for the first ten: placed, the 9,450 communes made
    # each search one of 66,000 ids (validate took ten minutes to refuse the file)
    looked: list[str] = []
    monkeypatch.setattr("cascade.errors.did_you_mean", lambda word, choices: looked.append(word))
    rows = "".join(f"x{n},Đảng ủy xã {n},district,h{n % 15},x{n}@example.vn\n" for n in range(60))
    said = problems_of(sheet.split("x1,")[0] + rows, "don-vi.csv")
    assert len(said) == 60 and looked == [f"h{n}" for n in range(10)], looked
