"""Instants as operators and offices write them: a signal's time, `--at`, `--since`, `--until`.

The day always comes first (`27/11/2020`, `27-11-2020`, `27.11.2020`, "ngày 27/11/2020", "ngày 27
tháng 11 năm 2020" as a document dates itself), with
the time of day after it or before it as Vietnamese documents write it (`15:30`, `15h30`,
`8g05`, "15 giờ 30 phút", "lúc 15 giờ 30 ngày 27/11/2020"), or ISO with or without an offset;
in the campaign's timezone unless an offset says otherwise. A two-digit year is not guessed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime, timedelta

import pendulum

from cascade.i18n import _
from cascade.timing.deadlines import IN_WORDS, parse_date

_IN_WORDS = IN_WORDS.replace("(", "(?:")  # (as a day's text, its parts unnamed)
# A time as Vietnamese offices write it in a spreadsheet: the day first (27/11/2020, 27-11-2020,
# 27.11.2020, "ngày 27/11/2020", "ngày 27 tháng 11 năm 2020"), the time of day after it or before
# it (15:30, 15:30:00, 15h30, 15h, 15g30, "15 giờ 30 phút", "lúc 15 giờ 30 ngày 27/11/2020")
_DAY = rf"(?:ngày\s*)?(?P<day>\d{{1,2}}(?P<sep>[/.-])\d{{1,2}}(?P=sep)\d{{4}}|{_IN_WORDS})"
# the parts of the day a time may say ("8 giờ sáng"), each with an hour of it for an example
_PART_HOURS = {"sáng": "8h", "trưa": "12h", "chiều": "2h", "tối": "7h"}
_PARTS = "|".join(_PART_HOURS)
# (minutes after `8h` are not the start of the day that follows: "8h 20/12/2020" is 8:00 on the 20th;
# Excel in the Vietnamese locale writes 12-hour times "8:30 SA" (sáng) and "2:30 CH" (chiều))
_TIME = (
    r"(?:(?:vào\s+)?lúc\s*)?(?P<h>\d{1,2})\s*"
    r"(?::(?P<mi>\d{2})(?::(?P<s>\d{2}))?|(?:h|g|giờ)\s*(?:(?P<m2>\d{1,2})(?![\d/.-])\s*(?:phút)?)?)"
    r"(?:\s*(?P<half>SA|CH|AM|PM)\b)?"
    rf"(?:\s*(?P<part>{_PARTS})\b)?"  # "8 giờ sáng", "2 giờ chiều", "7h tối"
)
_AFTERNOON = {"trưa": 11, "chiều": 12, "tối": 12}  # below this hour, the part of the day adds 12
# the part of the day said without its hour ("sáng 06/12/2026", "06/12/2026 buổi chiều"): refused,
# with an hour of that part for the example (a signal's hour is not made up)
_PART_ALONE = re.compile(rf"^(?:buổi\s+)?(?P<part>{_PARTS})\s*,?\s*(?P<day>.+)$", re.IGNORECASE)
_PART_AFTER = re.compile(rf"^(?P<day>.+?)\s*,?\s*(?:buổi\s+)?(?P<part>{_PARTS})$", re.IGNORECASE)
_DAY_TIME = re.compile(rf"^{_DAY}(?:\s*[,T]?\s*{_TIME})?$", re.IGNORECASE)
_TIME_DAY = re.compile(rf"^{_TIME}\s*,?\s*{_DAY}$", re.IGNORECASE)
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# a day without its year, as a reply typed in a hurry dates it: 15/12, 15/12 8:30, ngày 15/12 lúc 8h
_NO_YEAR = re.compile(
    rf"^(?:ngày\s*)?(?P<d>\d{{1,2}})(?P<sep>[/.-])(?P<mo>\d{{1,2}})(?:\s*[,T]?\s*{_TIME})?$", re.IGNORECASE
)


Span = tuple[date | None, date | None]  # the first and last day a day written without its year may be


def parse_instant(
    value: object, tz: str, today: date | None = None, span: Span | None = None
) -> pendulum.DateTime:
    """`2020-11-18 10:00`, ISO with or without offset, or the day first as offices write it
    (`18/11/2020 10:00`, `18-11-2020 10h30`, `10 giờ 30 ngày 18/11/2020`); in `tz` unless offset.
    Given `today` (an option typed at the command line: the command's clock), also a day said as
    an operator says it after a phone call, "hôm qua 15:30", "15h hôm nay", or a time alone
    (`15:30`: today); in a file a time has its day. A day without its year (`15/12 8:30`) is
    the latest such day in `span` (a signal's: from the campaign's issue to today), or with
    `today` alone the latest not after tomorrow; else it is refused, the year asked for."""
    if isinstance(value, datetime):
        return pendulum.instance(value, tz=tz) if value.tzinfo is None else pendulum.instance(value)
    text = str(value).strip()
    if today is not None and (said := _said_day(text)) is not None:
        back, clock = said
        day = today - timedelta(days=back)
        h, mi, sec = _clock(clock, text) if clock else (0, 0, 0)
        return pendulum.datetime(day.year, day.month, day.day, h, mi, sec, tz=tz)
    if (m := _NO_YEAR.match(text)) is not None:
        if span is None and today is not None:
            span = (None, today + timedelta(days=1))
        day = _in_span(m, text, span)
        h, mi, sec = _clock(m, text)
        return pendulum.datetime(day.year, day.month, day.day, h, mi, sec, tz=tz)
    return _instant_of_text(text, tz)


def _in_span(m: re.Match[str], text: str, span: Span | None) -> date:
    """The day `m` (a day and month) names: the latest in `span` (with no last day, the first)."""
    first, last = span or (None, None)
    d, mo = int(m["d"]), int(m["mo"])
    if not (1 <= d <= 31 and 1 <= mo <= 12):
        raise ValueError(_("`{text}` is not a time; write 2020-11-18 10:00 or 18/11/2020 10:00", text=text))
    shown = f"{d:02d}/{mo:02d}"
    if first is None and last is None:
        raise ValueError(
            _(
                "`{text}` has no year: write it, e.g. {day}/{year}",
                text=text,
                day=shown,
                year=date.today().year,
            )
        )
    ends = [end for end in (last, first) if end is not None]
    years = range(ends[0].year, ends[0].year - 2, -1) if last else range(ends[0].year, ends[0].year + 2)
    for year in years:
        try:
            day = date(year, mo, d)
        except ValueError:
            continue  # (29/02 of a year without it)
        if (first is None or first <= day) and (last is None or day <= last):
            return day
    between = (
        _(
            "no {day} has come since the campaign was issued ({first})",
            day=shown,
            first=first.strftime("%d/%m/%Y"),
        )
        if first is not None
        else _("no such day is near")
    )
    message = _("`{text}` has no year, and {between}: write its year, e.g. {day}/{year}", text=text,
                between=between, day=shown, year=ends[0].year)  # fmt: skip
    raise ValueError(message)


# the days an operator names by their distance from today, and a time alone (`15:30`) is today's
_DAYS_BACK = {"hôm nay": 0, "today": 0, "hôm qua": 1, "yesterday": 1, "hôm kia": 2}
_TIME_ALONE = re.compile(rf"^{_TIME}$", re.IGNORECASE)


def _said_day(text: str) -> tuple[int, re.Match[str] | None] | None:
    """(days back from today, the time of day) of "hôm qua 15:30", "15h hôm nay", `15:30`; None."""
    folded = unicodedata.normalize("NFC", text).casefold()
    back, rest = 0, folded
    for word, days in _DAYS_BACK.items():
        if folded.startswith(word) or folded.endswith(word):
            back, rest = days, folded.removeprefix(word).removesuffix(word)
            break
    rest = rest.strip(" ,")
    if not rest:
        return (back, None) if rest != folded else None
    return (back, m) if (m := _TIME_ALONE.match(rest)) else None


def _clock(m: re.Match[str], text: str) -> tuple[int, int, int]:
    """The hour, minute and second a match of `_TIME` holds (12-hour ones made 24-hour)."""
    h, mi, sec = int(m["h"] or 0), int(m["mi"] or m["m2"] or 0), int(m["s"] or 0)
    if m["half"]:  # 12-hour: 12:15 SA is 00:15, 12:15 CH 12:15, 2:30 CH 14:30
        if not 1 <= h <= 12:
            raise ValueError(_("`{text}` has no such time of day; write 15:30 or 15h30", text=text))
        h = h % 12 + (12 if m["half"].upper() in ("CH", "PM") else 0)
    if part := m["part"]:  # "2 giờ chiều" is 14:00, "14 giờ chiều" too; "12 giờ trưa" noon
        if (h > 12 and part.lower() == "sáng") or h > 23:
            raise ValueError(_("`{text}` has no such time of day; write 15:30 or 15h30", text=text))
        if h < _AFTERNOON.get(part.lower(), 0):
            h += 12
    if h > 23 or mi > 59 or sec > 59:
        raise ValueError(_("`{text}` has no such time of day; write 15:30 or 15h30", text=text))
    return h, mi, sec


def names_a_day(value: str) -> bool:
    """Whether `value` is a day with no time of day (27/11/2020, ngày 27/11/2020, 2020-11-27,
    "hôm qua")."""
    text = value.strip()
    m = _DAY_TIME.match(text)
    said = _said_day(text)
    return bool(m and m["h"] is None) or bool(_ISO_DAY.match(text)) or (said is not None and said[1] is None)


@functools.lru_cache(maxsize=1 << 16)
def _instant_of_text(text: str, tz: str) -> pendulum.DateTime:
    """A file's times repeat (a day's half-hour marks, a report's morning): each is parsed once.
    Not cached: a refusal (lru_cache keeps no exception)."""
    if m := _DAY_TIME.match(text) or _TIME_DAY.match(text):
        day = parse_date(m["day"])
        h, mi, sec = _clock(m, text)
        return pendulum.datetime(day.year, day.month, day.day, h, mi, sec, tz=tz)
    if _TIME_ALONE.match(text):  # (pendulum reads it as the machine's today, whatever the clock)
        raise ValueError(_("`{text}` has no day; write 18/11/2020 {text}", text=text))
    try:
        parsed = pendulum.parse(text.replace(" ", "T", 1), tz=tz, strict=True)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        if (m := _PART_ALONE.match(text) or _PART_AFTER.match(text)) and names_a_day(m["day"]):
            message = _(
                "`{text}` gives the part of the day but not its hour: write the hour, e.g. {example}, "
                "or the day alone, {day}",
                text=text,
                example=f"{_PART_HOURS[m['part'].lower()]} {m['part'].lower()} {m['day']}",
                day=m["day"],
            )
            raise ValueError(message) from None
        raise ValueError(
            _("`{text}` is not a time; write 2020-11-18 10:00 or 18/11/2020 10:00", text=text)
        ) from None
    if not isinstance(parsed, pendulum.DateTime):
        raise ValueError(_("`{text}` is not a time of day; write 2020-11-18 10:00", text=text))
    return parsed
