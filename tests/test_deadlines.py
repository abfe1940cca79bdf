"""Deadline expressions: every row of §3.1, `roll`, and working days around Tết."""

from __future__ import annotations

from datetime import date

import pendulum
import pytest

from cascade.compile.format import Due
from cascade.timing.deadlines import DateError, parse_date, parse_period
from cascade.timing.workdays import Calendar

TZ = "Asia/Ho_Chi_Minh"
VN = Calendar("VN")


def at(text: str) -> pendulum.DateTime:
    return pendulum.parse(text).in_timezone(TZ)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("expression", "instant"),
    [
        ({"before": "20/11/2020"}, "2020-11-20T00:00:00+07:00"),
        ({"by": "30/11/2020"}, "2020-12-01T00:00:00+07:00"),
        ({"on": "29/11/2017..30/11/2017"}, "2017-12-01T00:00:00+07:00"),
        ({"on": "29/11/2017"}, "2017-11-30T00:00:00+07:00"),
        ({"within": "12/2020"}, "2021-01-01T00:00:00+07:00"),
        ({"within": "first-half 12/2017"}, "2017-12-16T00:00:00+07:00"),
        ({"within": "second-half 12/2017"}, "2018-01-01T00:00:00+07:00"),
        ({"within": "end 12/2017"}, "2018-01-01T00:00:00+07:00"),
        ({"within": "Q1/2021"}, "2021-04-01T00:00:00+07:00"),
        ({"within": "I/2021"}, "2021-04-01T00:00:00+07:00"),
        ({"within": "IV/2020"}, "2021-01-01T00:00:00+07:00"),
        ({"within": "Q3/2020"}, "2020-10-01T00:00:00+07:00"),
        # as the plans word them (a `within:` in Vietnamese was "not a period")
        ({"within": "tháng 12/2020"}, "2021-01-01T00:00:00+07:00"),
        ({"within": "Tháng 1 năm 2027"}, "2027-02-01T00:00:00+07:00"),
        ({"within": "nửa đầu tháng 12/2017"}, "2017-12-16T00:00:00+07:00"),
        ({"within": "nửa cuối tháng 12/2017"}, "2018-01-01T00:00:00+07:00"),
        ({"within": "cuối tháng 12/2017"}, "2018-01-01T00:00:00+07:00"),
        ({"within": "quý I/2021"}, "2021-04-01T00:00:00+07:00"),
        ({"within": "Quý IV năm 2020"}, "2021-01-01T00:00:00+07:00"),
        ({"within": "quý 2/2021"}, "2021-07-01T00:00:00+07:00"),
        ({"before": "2020-11-20"}, "2020-11-20T00:00:00+07:00"),
        ({"before": date(2020, 11, 20)}, "2020-11-20T00:00:00+07:00"),
    ],
)
def test_absolute_deadline_instants(expression: dict[str, object], instant: str) -> None:
    deadline = Due.model_validate(expression).rule().instant(TZ, VN)
    assert deadline == at(instant)
    assert deadline.isoformat() == instant


@pytest.mark.parametrize(
    ("expression", "signal", "instant"),
    [
        # "sau 07 ngày dự hội nghị": 7 days after the signal, end of that day
        ({"after": "hn", "days": 7}, "2017-12-10T15:30:00+07:00", "2017-12-18T00:00:00+07:00"),
        # "ngay sau khi học tập": the end of the signal's own day
        ({"after": "hn", "days": 0}, "2020-12-05T09:00:00+07:00", "2020-12-06T00:00:00+07:00"),
        # a signal at 23:30 counts on its local day
        ({"after": "hn", "days": 0}, "2020-12-05T23:30:00+07:00", "2020-12-06T00:00:00+07:00"),
        # a signal written in UTC counts on its local day: 18:30Z on 05/12 is 01:30 on 06/12
        ({"after": "hn", "days": 1}, "2020-12-05T18:30:00+00:00", "2020-12-08T00:00:00+07:00"),
        ({"after": "hn", "days": 1}, "2020-12-05T16:30:00+00:00", "2020-12-07T00:00:00+07:00"),
        # seed 004: bridge-point attendees, 7 days after 30/11 but before 08/12/2017
        (
            {"after": "hn", "days": 7, "latest": "08/12/2017"},
            "2017-11-30T17:00:00+07:00",
            "2017-12-08T00:00:00+07:00",
        ),
        (
            {"after": "hn", "days": 7, "latest": "08/12/2017"},
            "2017-11-29T17:00:00+07:00",
            "2017-12-07T00:00:00+07:00",
        ),
        # 5 working days from Friday 27/11/2020: Mon..Fri 30/11-04/12, end of 04/12
        ({"after": "hn", "working_days": 5}, "2020-11-27T10:00:00+07:00", "2020-12-05T00:00:00+07:00"),
    ],
)
def test_relative_deadline_instants(expression: dict[str, object], signal: str, instant: str) -> None:
    rule = Due.model_validate(expression).rule()
    assert rule.is_relative
    assert rule.instant_after(at(signal), TZ, VN) == at(instant)


def test_working_days_skip_tet_2021() -> None:
    # Tết Tân Sửu: 10/02 (29 Tết) to 16/02/2021 are holidays; 13 and 14 are the weekend.
    rule = Due.model_validate({"after": "hn", "working_days": 1}).rule()
    assert rule.instant_after(at("2021-02-09T10:00:00+07:00"), TZ, VN) == at("2021-02-18T00:00:00+07:00")
    assert VN.add_working_days(date(2021, 2, 9), 1) == date(2021, 2, 17)
    assert VN.add_working_days(date(2021, 2, 5), 3) == date(2021, 2, 17)
    assert VN.add_working_days(date(2021, 2, 17), -1) == date(2021, 2, 9)
    assert [VN.is_working_day(date(2021, 2, d)) for d in range(8, 19)] == [
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
    ]


def test_make_up_saturday_is_a_working_day() -> None:
    # Saturday 05/01/2019 was worked in exchange for Monday 31/12/2018 (substituted day off).
    assert VN.is_working_day(date(2019, 1, 5))
    assert not VN.is_working_day(date(2018, 12, 31))
    assert VN.add_working_days(date(2019, 1, 4), 1) == date(2019, 1, 5)


@pytest.mark.parametrize(
    ("expression", "instant"),
    [
        # 28/11/2020 is a Saturday: roll back to Friday 27, forward to Monday 30
        ({"by": "28/11/2020", "roll": "previous-working-day"}, "2020-11-28T00:00:00+07:00"),
        ({"by": "28/11/2020", "roll": "next-working-day"}, "2020-12-01T00:00:00+07:00"),
        # before 30/11 (Monday) means by Sunday 29: previous working day is Friday 27
        ({"before": "30/11/2020", "roll": "previous-working-day"}, "2020-11-28T00:00:00+07:00"),
        # a working last day does not move
        ({"by": "27/11/2020", "roll": "next-working-day"}, "2020-11-28T00:00:00+07:00"),
        # by 12/02/2021, the first day of Tết: the next working day is Wednesday 17/02
        ({"by": "12/02/2021", "roll": "next-working-day"}, "2021-02-18T00:00:00+07:00"),
        ({"by": "12/02/2021", "roll": "previous-working-day"}, "2021-02-10T00:00:00+07:00"),
    ],
)
def test_roll_moves_the_last_day_off_non_working_days(expression: dict[str, object], instant: str) -> None:
    assert Due.model_validate(expression).rule().instant(TZ, VN) == at(instant)


def test_roll_applies_to_relative_deadlines() -> None:
    rule = Due.model_validate({"after": "hn", "days": 1, "roll": "next-working-day"}).rule()
    # signal Friday 27/11/2020 + 1 day = Saturday 28 -> Monday 30, end of day
    assert rule.instant_after(at("2020-11-27T10:00:00+07:00"), TZ, VN) == at("2020-12-01T00:00:00+07:00")


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("31/11/2020", "is not a date: month 11/2020 has 30 days", "check the day"),
        ("29/02/2021", "month 2/2021 has 28 days", "check the day"),
        ("11/20/2020", "has no month 20; did you mean 20/11/2020?", "never mm/dd"),
        ("2020/11/20", "is not a date", "dd/mm/yyyy"),
        ("20-11/2020", "is not a date", "dd/mm/yyyy"),
    ],
)
def test_bad_dates_say_why(text: str, message: str, hint: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_date(text)
    assert message in str(caught.value)
    assert hint in caught.value.hint


def test_day_first_is_never_read_month_first() -> None:
    assert parse_date("05/12/2017") == date(2017, 12, 5)
    assert parse_date("15/12/2017") == date(2017, 12, 15)
    # as offices also write it (`cascade extend --to 20-12-2020` was refused)
    assert parse_date("05-12-2017") == parse_date("05.12.2017") == date(2017, 12, 5)


@pytest.mark.parametrize(
    "text",
    [
        "13/2020",
        "Q5/2021",
        "V/2021",
        "half 12/2020",
        "12-2020",
        "tháng 13/2020",
        "quý V/2021",
        "đầu tháng 12/2020",
    ],
)
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(DateError):
        parse_period(text)


@pytest.mark.parametrize(
    "expression",
    [
        {},
        {"before": "20/11/2020", "by": "21/11/2020"},
        {"after": "hn"},
        {"after": "hn", "days": 1, "working_days": 1},
        {"before": "20/11/2020", "days": 3},
        {"on": "30/11/2017..29/11/2017"},
        {"after": "hn", "days": -1},
    ],
)
def test_malformed_expressions_are_refused(expression: dict[str, object]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Due.model_validate(expression)
