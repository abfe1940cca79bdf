"""Quiet hours: the daily window in which notices wait, and the holidays they wait out.

A campaign's `quiet_hours: "21:00-07:00"` (§3) becomes a `QuietHours`; every reminder and
escalation instant passes through `release`, which moves it to the end of the window and,
with `quiet_days: holidays`, past the calendar's public holidays to the next working morning.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pendulum

from cascade.i18n import _
from cascade.timing.workdays import Calendar

# a time of day as written: 21:00, or as Vietnamese write the hours, 21h, 21h30, 21 giờ
_TIME = r"([01]?\d|2[0-3])(?::([0-5]\d)|\s*(?:h|giờ)\s*([0-5]\d)?)"
CLOCK = re.compile(rf"^{_TIME}\s*-\s*{_TIME}$")
MORNING = 7 * 60  # when notices held by a holiday go out, if there are no quiet hours to end


class QuietError(ValueError):
    """Not a time window; `hint` says how to write one."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (minutes after midnight) in which notices wait; may wrap midnight. With
    `holidays` (a calendar code: `quiet_days: holidays`), a notice falling on one of that
    calendar's public holidays (Tết) waits for the next working morning as well."""

    start: int
    end: int
    holidays: str | None = None

    @property
    def active(self) -> bool:
        return self.start != self.end

    def contains(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def release(self, t: pendulum.DateTime) -> pendulum.DateTime:
        """`t`, or the end of the quiet period `t` falls in (same timezone as `t`); then, off
        the calendar's holidays, to the morning of the first day that is not one."""
        if self.active and self.contains(t.hour * 60 + t.minute):
            end = t.set(hour=self.end // 60, minute=self.end % 60, second=0, microsecond=0)
            t = end if end > t else end.add(days=1)
        if self.holidays is None:
            return t
        calendar = _holiday_calendar(self.holidays)
        if calendar.holiday_name(t.date()) is None:
            return t
        morning = self.end if self.active else MORNING
        while calendar.holiday_name(t.date()) is not None:
            t = t.add(days=1).set(hour=morning // 60, minute=morning % 60, second=0, microsecond=0)
        return t

    def __str__(self) -> str:
        if not self.active:
            return "none"
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


QUIET_NONE = QuietHours(0, 0)


@functools.lru_cache(maxsize=16)
def _holiday_calendar(code: str) -> Calendar:
    return Calendar(code)


def parse_quiet(value: object) -> QuietHours:
    """ "HH:MM-HH:MM" (may wrap midnight; "21h-7h" as Vietnamese write it) or "none"; raises QuietError."""
    if isinstance(value, QuietHours):
        return value
    if str(value).strip().lower() == "none":
        return QUIET_NONE
    m = CLOCK.match(str(value).strip())
    if not m:
        raise QuietError(
            _("`{value}` is not a time window", value=value),
            _('write "HH:MM-HH:MM", e.g. "21:00-07:00" (or "21h-7h"), or "none"'),
        )
    start_h, start_m, start_hm, end_h, end_m, end_hm = m.groups()  # (minutes after `:`, or after `h`)
    h1, m1 = int(start_h), int(start_m or start_hm or 0)
    h2, m2 = int(end_h), int(end_m or end_hm or 0)
    if (h1, m1) == (h2, m2):
        raise QuietError(
            _("`{value}` starts and ends at the same time", value=value), _('write "none" for no quiet hours')
        )
    return QuietHours(h1 * 60 + m1, h2 * 60 + m2)
