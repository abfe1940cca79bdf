"""Working days: Monday to Friday, minus the country's public holidays, plus make-up days.

The calendar comes from the `holidays` package (Vietnam: Tết with its observed and
substituted days, and the Saturdays the government declares working days in exchange),
never from a hand-made list, so that a new year's decree arrives with a package update.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays
import pendulum

from cascade.timing.durations import Duration


class UnknownCalendar(ValueError):
    pass


@lru_cache(maxsize=16)
def _holidays(code: str) -> Any:
    if code.lower() == "none":
        return None
    try:
        return holidays.country_holidays(code.upper())
    except NotImplementedError:
        raise UnknownCalendar(code) from None


class Calendar:
    """A country's working-day calendar (`none`: every weekday works, no holidays)."""

    def __init__(self, code: str = "VN") -> None:
        self.code = code
        self._days = _holidays(code)

    def is_working_day(self, day: date) -> bool:
        if self._days is None:
            return day.weekday() < 5
        return bool(self._days.is_working_day(day))

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (before it for negative n); n=0 gives `day`."""
        step = timedelta(days=1 if n >= 0 else -1)
        for _ in range(abs(n)):
            day += step
            while not self.is_working_day(day):
                day += step
        return day

    def roll(self, day: date, direction: int) -> date:
        """`day` if it works, else the nearest working day in `direction` (+1 or -1)."""
        while not self.is_working_day(day):
            day += timedelta(days=direction)
        return day

    def shift(self, t: pendulum.DateTime, duration: Duration, sign: int = 1) -> pendulum.DateTime:
        """`t` moved by `duration` (sign -1: back); working days keep the time of day."""
        if duration.is_working:
            day = self.add_working_days(t.date(), sign * duration.working_days)
            return t.set(year=day.year, month=day.month, day=day.day)
        return t + duration.calendar if sign > 0 else t - duration.calendar

    def holiday_name(self, day: date) -> str | None:
        return None if self._days is None else self._days.get(day)


def known_calendar(code: str) -> bool:
    try:
        _holidays(code)
    except UnknownCalendar:
        return False
    return True
