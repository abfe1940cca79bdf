"""Durations as campaign files write them: `7d`, `12h`, `2w`, `30m`, `5wd`, ISO `P7D`, or in
words as offices write them: "7 ngày", "5 ngày làm việc", "2 tuần", "12 giờ", "30 phút".

A duration is either calendar time (a timedelta) or a count of working days, which only
makes sense against a calendar (see `cascade.timing.workdays`). The two never mix in one value:
"5 working days and 3 hours" is not something the source documents ever say.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

import pendulum

from cascade.i18n import N_, _, _n

_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_SHORT = re.compile(r"^(?:(\d+)(wd|w|d|h|m))+$")
_PART = re.compile(r"(\d+)(wd|w|d|h|m)")
# as offices write them ("trong 7 ngày", "5 ngày làm việc"): each word, its short unit
WORDS = {"ngày làm việc": "wd", "ngày": "d", "tuần": "w", "giờ": "h", "tiếng": "h", "phút": "m"}
_WORD = "|".join(sorted(WORDS, key=len, reverse=True))
_IN_WORDS = re.compile(rf"^\s*(?:\d+\s*(?:{_WORD})\s*)+$")
_WORD_PART = re.compile(rf"(\d+)\s*({_WORD})")


class DurationError(ValueError):
    """Not a duration; the message says what one looks like."""


@dataclass(frozen=True, slots=True)
class Duration:
    calendar: timedelta = timedelta(0)
    working_days: int = 0
    text: str = field(default="", compare=False)  # as the operator wrote it

    @property
    def is_working(self) -> bool:
        return self.working_days != 0

    def __str__(self) -> str:
        if self.text:
            return self.text
        if self.is_working:
            return f"{self.working_days}wd"
        seconds = int(self.calendar.total_seconds())
        for suffix, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
            if seconds and seconds % size == 0:
                return f"{seconds // size}{suffix}"
        return f"{seconds}s"

    def words(self) -> str:
        """The duration as a person reads it: "7 ngày", "5 ngày làm việc", "2 tuần", "12 giờ", in
        the unit the file wrote (`14d` is "14 ngày"), else the largest that divides it."""
        if self.is_working:
            return _n("{count} working day", "{count} working days", self.working_days)
        seconds = int(self.calendar.total_seconds())
        written = _PART.fullmatch(self.text)  # "14d" reads "14 ngày", not "2 tuần"
        if written and written[2] == "d":
            return _n("{count} day", "{count} days", int(written[1]))
        if written and written[2] == "h":
            return _n("{count} hour", "{count} hours", int(written[1]))
        if seconds and seconds % 604800 == 0:
            return _n("{count} week", "{count} weeks", seconds // 604800)
        if seconds and seconds % 86400 == 0:
            return _n("{count} day", "{count} days", seconds // 86400)
        if seconds and seconds % 3600 == 0:
            return _n("{count} hour", "{count} hours", seconds // 3600)
        if seconds % 60 == 0:
            return _n("{count} minute", "{count} minutes", seconds // 60)
        return _n("{count} second", "{count} seconds", seconds)


HINT = N_(
    'write a number and a unit: 7d, 12h, 2w, 30m, 5wd (working days), in words ("7 ngày", "5 ngày làm '
    'việc", "2 tuần", "12 giờ") or ISO P7D'
)


def parse_duration(value: object) -> Duration:
    """Parse one duration; raises DurationError with a fix hint."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DurationError(_("expected a duration such as 7d, got {value}", value=value))
    if isinstance(value, int):
        raise DurationError(_("`{value}` has no unit; {hint}", value=value, hint=_(HINT)))
    text = value.strip()
    if text.upper().startswith("P"):
        return _iso(text)
    compact = text.replace(" ", "").lower()
    if _IN_WORDS.match(words := unicodedata.normalize("NFC", text.lower())):
        compact = "".join(f"{n}{WORDS[word]}" for n, word in _WORD_PART.findall(words))
    if not _SHORT.match(compact):
        raise DurationError(_("`{value}` is not a duration; {hint}", value=value, hint=_(HINT)))
    parts = _PART.findall(compact)
    if any(unit == "wd" for _count, unit in parts):
        if len(parts) != 1:
            raise DurationError(_("`{value}` mixes working days with calendar time; use one", value=value))
        return Duration(working_days=int(parts[0][0]), text=compact)
    return Duration(calendar=sum((int(n) * _UNITS[u] for n, u in parts), timedelta(0)), text=compact)


def _iso(text: str) -> Duration:
    try:
        parsed = pendulum.parse(text)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        raise DurationError(
            _("`{text}` is not an ISO-8601 duration; {hint}", text=text, hint=_(HINT))
        ) from None
    if not isinstance(parsed, pendulum.Duration):
        raise DurationError(_("`{text}` is not an ISO-8601 duration; {hint}", text=text, hint=_(HINT)))
    if parsed.years or parsed.months:
        raise DurationError(_("`{text}` uses years or months, whose length varies; write days", text=text))
    return Duration(calendar=timedelta(seconds=parsed.total_seconds()), text=text)
