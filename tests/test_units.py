"""Units files (§2): YAML trees and CSV rows, and every rule they must keep."""

from __future__ import annotations

import pytest

from cascade.compile.units import read_units
from cascade.errors import CampaignInvalid
from cascade.plan.hierarchy import recipients
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


def test_channels_keep_the_written_order_and_numbers_keep_leading_zeros() -> None:
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
            "    hint: a unit sits one level below its parent: `district`",
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
            "units.yaml:3: error: units[0].contacts[0]: phone `0912-000` is not a number",
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


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "x-c,C,grassroots,hu-z,,head,c@example.vn,,\n",
            "units.csv:5: error: x-c.parent: parent `hu-z` is not a unit listed before this one",
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
            "units.csv:5: error: [2].contacts[0]: a contact needs at least one channel",
        ),
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


def test_a_units_csv_without_rows_is_refused() -> None:
    assert problems_of("# levels: province, district\nid,name,level,parent\n", "units.csv") == [
        "units.csv: error: the units file lists no unit\n    hint: add at least the top unit"
    ]


def test_every_over_long_csv_row_is_reported() -> None:
    text = "id,name,level,parent\ntu-a,A,province,,x\nhu-b,B,district,tu-a\nhu-c,C,district,tu-a,y,z\n"
    assert [p.split(":")[1] for p in problems_of(text, "units.csv")] == ["2", "4"]
