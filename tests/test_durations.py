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
