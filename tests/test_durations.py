"""Durations: calendar time or working days, never both."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cascade.timing.durations import Duration, DurationError, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", Duration(timedelta(days=7))),
        ("12h", Duration(timedelta(hours=12))),
        ("2w", Duration(timedelta(weeks=2))),
        ("30m", Duration(timedelta(minutes=30))),
        ("1d12h", Duration(timedelta(days=1, hours=12))),
        ("5wd", Duration(working_days=5)),
        ("P7D", Duration(timedelta(days=7))),
        ("PT12H", Duration(timedelta(hours=12))),
        ("P1W", Duration(timedelta(weeks=1))),
    ],
)
def test_durations_parse(text: str, expected: Duration) -> None:
    parsed = parse_duration(text)
    assert parsed == expected
    assert str(parsed) == text.lower() or text.startswith("P")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (7, "has no unit"),
        ("7 days", "is not a duration"),
        ("5wd2h", "mixes working days"),
        ("P1M", "uses years or months"),
        ("Pxyz", "not an ISO-8601 duration"),
        (None, "expected a duration"),
    ],
)
def test_bad_durations_say_how_to_write_one(value: object, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_duration(value)


@pytest.mark.parametrize(
    ("text", "expected", "compact", "words"),
    [
        ("7 ngày", Duration(timedelta(days=7)), "7d", "7 ngày"),
        ("14 ngày", Duration(timedelta(days=14)), "14d", "14 ngày"),
        ("5 ngày làm việc", Duration(working_days=5), "5wd", "5 ngày làm việc"),
        ("2 tuần", Duration(timedelta(weeks=2)), "2w", "2 tuần"),
        ("12 giờ", Duration(timedelta(hours=12)), "12h", "12 giờ"),
        ("12 tiếng", Duration(timedelta(hours=12)), "12h", "12 giờ"),
        ("30 phút", Duration(timedelta(minutes=30)), "30m", "30 phút"),
        ("1 ngày 12 giờ", Duration(timedelta(days=1, hours=12)), "1d12h", "36 giờ"),
        ("3 Ngày", Duration(timedelta(days=3)), "3d", "3 ngày"),
    ],
)
def test_durations_are_taken_as_offices_write_them(
    text: str, expected: Duration, compact: str, words: str
) -> None:
    """ "7 ngày" (the seeds' "trong 7 ngày") was "not a duration; write 7d": an operator who does
    not program writes the words. They mean what the short form means, and read back the same."""
    from cascade.i18n import speaking

    parsed = parse_duration(text)
    assert parsed == expected and str(parsed) == compact
    with speaking("vi"):
        assert parsed.words() == words


def test_a_duration_in_words_that_mixes_working_days_is_refused() -> None:
    with pytest.raises(DurationError, match="mixes working days"):
        parse_duration("5 ngày làm việc 2 giờ")
    with pytest.raises(DurationError, match="is not a duration"):
        parse_duration("7 hôm")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("21:00-07:00", 21 * 60, 7 * 60),
        ("21h-7h", 21 * 60, 7 * 60),
        ("21h00 - 7h00", 21 * 60, 7 * 60),
        ("21h30-6h", 21 * 60 + 30, 6 * 60),
        ("21 giờ - 7 giờ", 21 * 60, 7 * 60),
        ("12h-13h30", 12 * 60, 13 * 60 + 30),
    ],
)
def test_quiet_hours_are_taken_as_offices_write_them(text: str, start: int, end: int) -> None:
    """`quiet_hours: "21h-7h"`, as Vietnamese write the hours, was "not a time window"."""
    from cascade.timing.quiet import QuietHours, parse_quiet

    assert parse_quiet(text) == QuietHours(start, end)


@pytest.mark.parametrize("text", ["21-7", "25h-7h", "21h60-7h", "9pm-7am", "21h-21h"])
def test_what_is_not_a_time_window_is_refused(text: str) -> None:
    from cascade.timing.quiet import QuietError, parse_quiet

    with pytest.raises(QuietError):
        parse_quiet(text)
