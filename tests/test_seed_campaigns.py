"""The example campaigns express their source documents (../shared/seeds) faithfully."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest

from cascade.compile.files import load_plan
from cascade.plan.model import OpensOn, Plan

CAMPAIGNS = Path(__file__).parent.parent / "campaigns"
TZ = "Asia/Ho_Chi_Minh"


def at(text: str) -> pendulum.DateTime:
    return pendulum.parse(text).in_timezone(TZ)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def ha_tinh() -> Plan:
    return load_plan(CAMPAIGNS / "ha-tinh-xix-2020.yaml")


@pytest.fixture(scope="module")
def ct01() -> Plan:
    return load_plan(CAMPAIGNS / "tra-vinh-ct01-2020.yaml")


@pytest.fixture(scope="module")
def hd42() -> Plan:
    return load_plan(CAMPAIGNS / "tra-vinh-hd42-2017.yaml")


def deadlines(plan: Plan, task: str) -> set[str]:
    return {i.schedule.deadline.isoformat() for i in plan.instances_of(task=task) if i.schedule.deadline}


def units_of(plan: Plan, task: str) -> set[str]:
    return {i.unit for i in plan.instances_of(task=task)}


def test_every_campaign_validates_and_points_editors_at_the_schema() -> None:
    for file in sorted(CAMPAIGNS.glob("*.yaml")):
        load_plan(file)
        assert file.read_text(encoding="utf-8").startswith(
            "# yaml-language-server: $schema=schema/campaign.schema.json"
        )


def test_ha_tinh_levels_and_dates(ha_tinh: Plan) -> None:
    assert ha_tinh.warnings == []
    assert ha_tinh.campaign.issued_at == at("2020-11-10T00:00:00+07:00")
    assert deadlines(ha_tinh, "hn-tinh") == {"2020-11-20T00:00:00+07:00"}
    assert deadlines(ha_tinh, "hn-huyen") == {"2020-11-30T00:00:00+07:00"}
    assert deadlines(ha_tinh, "hn-co-so") == {"2021-01-15T00:00:00+07:00"}
    assert deadlines(ha_tinh, "mttq") == {"2021-01-15T00:00:00+07:00"}
    # 13 huyện, thị, thành ủy and 5 đảng ủy trực thuộc hold the district-level conference
    assert len(units_of(ha_tinh, "hn-huyen")) == 18
    assert units_of(ha_tinh, "mttq") == {
        "mttq-tinh",
        "ldld-tinh",
        "hlhpn-tinh",
        "hnd-tinh",
        "tinh-doan",
        "hccb-tinh",
    }
    assert units_of(ha_tinh, "ctr-hanh-dong") == units_of(ha_tinh, "hn-huyen")


def test_ha_tinh_real_district_names(ha_tinh: Plan) -> None:
    districts = {u.name for u in ha_tinh.hierarchy.units.values() if "district-committee" in u.tags}
    assert districts == {
        "Thành ủy Hà Tĩnh",
        "Thị ủy Hồng Lĩnh",
        "Thị ủy Kỳ Anh",
        "Huyện ủy Nghi Xuân",
        "Huyện ủy Đức Thọ",
        "Huyện ủy Hương Sơn",
        "Huyện ủy Vũ Quang",
        "Huyện ủy Can Lộc",
        "Huyện ủy Lộc Hà",
        "Huyện ủy Thạch Hà",
        "Huyện ủy Cẩm Xuyên",
        "Huyện ủy Hương Khê",
        "Huyện ủy Kỳ Anh",
    }


def test_ha_tinh_cascade_and_notices(ha_tinh: Plan) -> None:
    [district] = ha_tinh.instances_of(unit="hu-can-loc", task="hn-huyen")
    assert (district.opening.on, district.opening.task, district.opening.unit) == (
        OpensOn.PREREQUISITE,
        "hn-tinh",
        "tu-ha-tinh",
    )
    # 7d/3d/1d before 30/11 00:00 fall in quiet hours: sent at 07:00
    assert [t.isoformat() for t in district.schedule.reminders] == [
        "2020-11-23T07:00:00+07:00",
        "2020-11-27T07:00:00+07:00",
        "2020-11-29T07:00:00+07:00",
    ]
    assert district.schedule.escalations[0] == at("2020-12-01T07:00:00+07:00")
    assert ha_tinh.recipients("hu-can-loc", ("self", "parent")) == ["hu-can-loc", "tu-ha-tinh"]
    [commune] = ha_tinh.instances_of(unit="x-thien-loc", task="hn-co-so")
    assert commune.opening.unit == "hu-can-loc"
    assert ha_tinh.recipients("x-thien-loc", ("parent", "ancestor:2")) == ["hu-can-loc", "tu-ha-tinh"]
    [essay_free] = ha_tinh.instances_of(unit="hu-can-loc", task="ctr-hanh-dong")
    assert essay_free.schedule.deadline is None and essay_free.opening.on is OpensOn.SOURCE_SIGNAL


def test_ha_tinh_reports_reach_the_province_before_20_01_2021(ha_tinh: Plan) -> None:
    by_level: dict[str, set[str]] = {}
    requests: dict[str, set[str]] = {}
    for instance in ha_tinh.instances_of(task="bc-tien-do"):
        level = ha_tinh.hierarchy.units[instance.unit].level
        assert instance.schedule.deadline is not None and instance.opening.at is not None
        by_level.setdefault(level, set()).add(instance.schedule.deadline.isoformat())
        requests.setdefault(level, set()).add(instance.opening.at.isoformat())
    assert by_level == {
        "district": {"2021-01-20T00:00:00+07:00"},
        "grassroots": {"2021-01-17T00:00:00+07:00"},
    }
    assert requests == {
        "district": {"2021-01-10T07:00:00+07:00"},
        "grassroots": {"2021-01-07T07:00:00+07:00"},
    }
    assert ha_tinh.campaign.summary_at == at("2021-01-20T00:00:00+07:00")
    assert "tu-ha-tinh" not in units_of(ha_tinh, "bc-tien-do")


def test_tra_vinh_ct01_dates(ct01: Plan) -> None:
    assert ct01.warnings == []
    for task in ("hoc-tap-tinh", "hoc-tap-huyen", "hoc-tap-co-so"):
        assert deadlines(ct01, task) == {"2021-01-01T00:00:00+07:00"}  # within 12/2020
    assert deadlines(ct01, "tuyen-truyen") == {"2021-04-01T00:00:00+07:00"}  # within Q1/2021
    assert units_of(ct01, "kh-kiem-tra") == {"tu-tra-vinh"}
    assert ct01.tasks["kh-kiem-tra"].notices.notify == ("inspection",)
    reports = {
        ct01.hierarchy.units[i.unit].level: i.schedule.deadline.isoformat()  # type: ignore[union-attr]
        for i in ct01.instances_of(task="bc-thu-hoach")
    }
    assert reports == {"district": "2021-01-15T00:00:00+07:00", "grassroots": "2021-01-10T00:00:00+07:00"}
    assert not units_of(ct01, "bc-thu-hoach") & {"mttq-tinh", "ldld-tinh"}


def test_tra_vinh_real_district_names(ct01: Plan) -> None:
    districts = {u.name for u in ct01.hierarchy.units.values() if "district-committee" in u.tags}
    assert districts == {
        "Thành ủy Trà Vinh",
        "Thị ủy Duyên Hải",
        "Huyện ủy Càng Long",
        "Huyện ủy Cầu Kè",
        "Huyện ủy Tiểu Cần",
        "Huyện ủy Châu Thành",
        "Huyện ủy Cầu Ngang",
        "Huyện ủy Trà Cú",
        "Huyện ủy Duyên Hải",
    }


def test_tra_vinh_hd42_dates(hd42: Plan) -> None:
    assert deadlines(hd42, "hn-tinh") == {"2017-12-01T00:00:00+07:00"}  # on 29 and 30/11/2017
    assert deadlines(hd42, "hn-huyen") == {"2017-12-16T00:00:00+07:00"}  # first half of 12/2017
    assert deadlines(hd42, "hn-co-so") == {"2018-01-01T00:00:00+07:00"}  # end of 12/2017
    assert deadlines(hd42, "sinh-hoat-chuyen-de") == {"2018-04-01T00:00:00+07:00"}  # Q1/2018
    assert deadlines(hd42, "tuyen-truyen") == {"2018-04-01T00:00:00+07:00"}  # I/2018
    essay = hd42.tasks["thu-hoach-tinh"]
    calendar = hd42.campaign.calendar
    # bridge-point attendees: 7 days after the conference, but before 08/12/2017
    assert essay.rule.instant_after(at("2017-11-30T17:00:00+07:00"), TZ, calendar) == at(
        "2017-12-08T00:00:00+07:00"
    )
    assert essay.rule.instant_after(at("2017-11-29T17:00:00+07:00"), TZ, calendar) == at(
        "2017-12-07T00:00:00+07:00"
    )
    district = hd42.tasks["thu-hoach-huyen"]
    assert district.rule.instant_after(at("2017-12-12T11:00:00+07:00"), TZ, calendar) == at(
        "2017-12-20T00:00:00+07:00"
    )
    assert hd42.tasks["thu-hoach-co-so"].fields["essay_rate"].formula == "essays / (attendees - exempt_709)"
    # the guidance lets propagation and thematic meetings run to the end of Q1/2018, past the summary
    assert sorted(w.key for w in hd42.warnings) == ["tasks[6].due", "tasks[7].due"]
