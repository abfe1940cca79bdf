"""Deadline expressions (§3.1 of the campaign format) and the instants they denote.

Every deadline is midnight at the start of some day in the campaign's timezone: "trước
ngày 20/11/2020" is 20/11 00:00, "chậm nhất ngày 30/11/2020" is 01/12 00:00. A rule
therefore reduces to a *cutoff day*; the last day on which the work still counts is the
day before it. `roll` moves that last day off a non-working day. Relative rules
(`after: TASK`) have no cutoff until the unit signals TASK; `instant_after` resolves
them then.

Dates are always day-first (`dd/mm/yyyy`, or `dd-mm-yyyy`, `dd.mm.yyyy`) or ISO
(`yyyy-mm-dd`), parsed with explicit formats: `pendulum.parse` would read `05/12/2017` as
12 May.
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import pendulum

from cascade.i18n import N_, _
from cascade.timing.workdays import Calendar

DATE_HINT = N_("dates are dd/mm/yyyy (e.g. 20/11/2020) or yyyy-mm-dd, never mm/dd")
# 20/11/2020, 20-11-2020, 20.11.2020, and as the documents write it: "trước ngày 20/11/2020"
_DMY = re.compile(r"^(?:ngày\s+)?(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$", re.IGNORECASE)
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# as a document dates itself ("Hà Tĩnh, ngày 07 tháng 12 năm 2020"): `instants` reads it in a time too
IN_WORDS = r"(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})"
_WORDS = re.compile(rf"^(?:ngày\s+)?{IN_WORDS}$", re.IGNORECASE)
_MONTH = re.compile(r"^(?:(first-half|second-half|end)\s+)?(\d{1,2})/(\d{4})$")
_QUARTER = re.compile(r"^(?:Q([1-4])|(I{1,3}|IV))/(\d{4})$", re.IGNORECASE)
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
# the same, as the plans word them: "tháng 12/2020", "nửa đầu tháng 12/2017", "cuối tháng 12/2017",
# "quý I/2021", "quý IV năm 2020"
_MONTH_WORDS = re.compile(
    r"^(?:(nửa đầu|nửa cuối|nửa sau|cuối)\s+)?tháng\s+(\d{1,2})(?:/|\s+năm\s+)(\d{4})$", re.IGNORECASE
)
_QUARTER_WORDS = re.compile(r"^quý\s+(?:([1-4])|(I{1,3}|IV))(?:/|\s+năm\s+)(\d{4})$", re.IGNORECASE)
_PART_WORDS = {"nửa đầu": "first-half", "nửa cuối": "second-half", "nửa sau": "second-half", "cuối": "end"}


class DateError(ValueError):
    """Not a date or period; the message says why and how to write one."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint if hint is not None else _(DATE_HINT)


class Roll(StrEnum):
    PREVIOUS = "previous-working-day"
    NEXT = "next-working-day"


def parse_date(value: object) -> date:
    """A calendar date from `dd/mm/yyyy` (or `dd-mm-yyyy`, `dd.mm.yyyy`; "ngày dd/mm/yyyy" as it
    is copied from a document), `yyyy-mm-dd`, "ngày dd tháng mm năm yyyy" or a YAML date."""
    if isinstance(value, datetime):
        raise DateError(_("`{value}` has a time of day; a deadline date is a day", value=value))
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise DateError(_("expected a date such as 20/11/2020, got {value}", value=value))
    text = value.strip()
    if m := _DMY.match(text):
        day, month, year = int(m[1]), int(m[3]), int(m[4])
    elif m := _WORDS.match(text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    elif m := _YMD.match(text):
        year, month, day = (int(g) for g in m.groups())
    else:
        raise DateError(_("`{text}` is not a date", text=text))
    return _checked_date(text, year, month, day)


_DAY_MONTH = re.compile(r"^(?:ngày\s+)?(\d{1,2})[/.-](\d{1,2})$", re.IGNORECASE)


def parse_day_ahead(value: str, today: date) -> date:
    """A new last day as an operator says it after a phone call: a date, or a day and month
    without the year (`15/1`), which is the next such day from `today` (said in December,
    January's is the next year's)."""
    if m := _DAY_MONTH.match(value.strip()):
        day, month = int(m[1]), int(m[2])
        for year in (today.year, today.year + 1):
            with contextlib.suppress(ValueError):
                if (found := date(year, month, day)) >= today:
                    return found
        return _checked_date(value.strip(), today.year + 1, month, day)  # (what is wrong with it)
    return parse_date(value)


def _checked_date(text: str, year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12:
        swapped = (
            _("; did you mean {month:02d}/{day:02d}/{year}?", month=month, day=day, year=year)
            if 1 <= day <= 12
            else ""
        )
        raise DateError(_("`{text}` has no month {month}{swapped}", text=text, month=month, swapped=swapped))
    try:
        return date(year, month, day)
    except ValueError:
        last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
        raise DateError(
            _(
                "`{text}` is not a date: month {month}/{year} has {last} days",
                text=text,
                month=month,
                year=year,
                last=last,
            ),
            _("check the day; {hint}", hint=_(DATE_HINT)),
        ) from None


# "29 và 30/11/2017", "29, 30/11/2017", "29-30/11/2017", "từ 29 đến 30/11/2017": the days of one month
_DAYS_OF_A_MONTH = re.compile(
    r"^(?:từ\s+)?(?:(?:các\s+)?ngày\s+)?(?:từ\s+)?(\d{1,2})\s*(?:và|,|-|–|đến)\s*"
    r"(?:ngày\s+)?(\d{1,2})([/.-])(\d{1,2})\3(\d{4})$",
    re.IGNORECASE,
)


def parse_day_range(value: object) -> tuple[date, date]:
    """`29/11/2017..30/11/2017` (or one date; or the days of one month as a plan writes them,
    "29 và 30/11/2017") -> first and last day."""
    if isinstance(value, str) and (m := _DAYS_OF_A_MONTH.match(value.strip())):
        month_year = f"{m[3]}{m[4]}{m[3]}{m[5]}"
        value = f"{m[1]}{month_year}..{m[2]}{month_year}"
    if isinstance(value, str) and ".." in value:
        first_text, _sep, last_text = value.partition("..")
        first, last = parse_date(first_text), parse_date(last_text)
        if last < first:
            raise DateError(_("`{value}` ends before it starts", value=value), _("write first..last"))
        return first, last
    day = parse_date(value)
    return day, day


@dataclass(frozen=True)
class Period:
    """A `within:` period as written: a month ("12/2020", maybe "first-half", "second-half" or
    "end" of it) or a quarter ("Q1/2021", "I/2021")."""

    year: int
    month: int | None = None
    month_written: str = ""  # "12/2020", as the file writes it
    part: str | None = None  # first-half, second-half, end
    quarter: int | None = None


def read_period(text: str) -> Period | None:
    """The parts of a period (the grammar `parse_period` and the words for people share), or None."""
    if m := _MONTH.match(text):
        return Period(int(m.group(3)), int(m.group(2)), f"{m.group(2)}/{m.group(3)}", part=m.group(1))
    if m := _MONTH_WORDS.match(text):
        part = _PART_WORDS[" ".join(m.group(1).lower().split())] if m.group(1) else None
        return Period(int(m.group(3)), int(m.group(2)), f"{m.group(2)}/{m.group(3)}", part=part)
    if m := _QUARTER.match(text) or _QUARTER_WORDS.match(text):
        quarter = int(m.group(1)) if m.group(1) else _ROMAN[m.group(2).upper()]
        return Period(int(m.group(3)), quarter=quarter)
    return None


def parse_period(value: object) -> tuple[date, str]:
    """A `within:` period -> its cutoff day and a canonical spelling."""
    text = str(value).strip()
    period = read_period(text)
    if period is None:
        raise DateError(_("`{text}` is not a period", text=text), _(_PERIOD_HINT))
    if period.quarter is not None:
        return _first_of_next_month(period.year, period.quarter * 3), text
    month = period.month or 0
    if not 1 <= month <= 12:
        raise DateError(_("`{text}` has no month {month}", text=text, month=month), _(_PERIOD_HINT))
    if period.part == "first-half":
        return date(period.year, month, 16), text
    return _first_of_next_month(period.year, month), text


_PERIOD_HINT = N_(
    "write a month `12/2020`, `first-half 12/2017`, `second-half 12/2017`, "
    "`end 12/2017`, or a quarter `Q1/2021` / `I/2021` (or as a plan words them: `tháng 12/2020`, "
    "`nửa đầu tháng 12/2017`, `cuối tháng 12/2017`, `quý I/2021`)"
)


# the words before a date that say `before` ("hoàn thành trước ngày 20/11/2020") and `by` ("chậm
# nhất là ngày 30/11/2020"): here, and in the campaign schema's patterns (`compile.scalars`)
_KEY_DATE_WORDS = {
    "before": (("hoàn thành", "xong"), ("trước",), ()),  # (words before them, the words, after)
    "by": ((), ("chậm nhất", "muộn nhất", "hạn chót", "đến hết", "hết"), ("là", "vào")),
}


def key_words(kind: str, capitals: bool = False) -> str:
    """The pattern of the words that say `kind` (`before`, `by`) ahead of its date, each word's
    first letter in either case where `capitals` (a JSON Schema pattern has no flag for it)."""

    def either(words: tuple[str, ...]) -> str:
        return "|".join(f"[{w[0].upper()}{w[0]}]{w[1:]}" if capitals else w for w in words)

    ahead, words, after = _KEY_DATE_WORDS[kind]
    return (
        (rf"(?:(?:{either(ahead)})\s+)?" if ahead else "")
        + rf"(?:{either(words)})\s+"
        + (rf"(?:(?:{either(after)})\s+)?" if after else "")
    )


# a deadline as the documents word it, copied whole into `due:` ("trước ngày 20/11/2020")
_IN_WORDS = (
    (re.compile(rf"^{key_words('before')}(.+)$", re.IGNORECASE), "before"),
    (re.compile(rf"^{key_words('by')}(.+)$", re.IGNORECASE), "by"),
    (re.compile(r"^trong\s+(?:tháng\s+|quý\s+)?(.+)$", re.IGNORECASE), "within"),
)


# the same words copied with their date into the key that says them (`by: chậm nhất ngày
# 30/11/2020`, `within: trong quý I/2021`, `on: vào các ngày 29 và 30/11/2017`)
_KEY_WORDS = (
    *_IN_WORDS[:2],
    (re.compile(r"^trong\s+(.+)$", re.IGNORECASE), "within"),
    (re.compile(r"^vào\s+(?:các\s+)?(.+)$", re.IGNORECASE), "on"),
)
_KIND_SAID = {
    "before": N_("before the day (trước ngày)"),
    "by": N_("the last day that counts (chậm nhất ngày)"),
    "within": N_("a period (trong tháng, trong quý)"),
    "on": N_("the days it is held on (vào các ngày)"),
}


def in_its_words(kind: str, value: object) -> object:
    """A deadline key's value less the document's words that say the key's own kind ("chậm nhất
    ngày 30/11/2020" under `by:` is 30/11/2020); the words of another kind under it are an error
    naming the expression they mean (`by: trước ngày 20/11/2020`: a day early, or not)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    for words, said in _KEY_WORDS:
        if m := words.match(text):
            if said == kind:
                return m.group(1).strip()
            meant = _meant(said, m.group(1).strip())
            hint = _("write `{expression}`", expression=meant) if meant else None
            raise DateError(
                _(
                    "`{text}` words {said}; `{kind}:` is {kind_said}",
                    text=text,
                    said=_(_KIND_SAID[said]),
                    kind=kind,
                    kind_said=_(_KIND_SAID[kind]),
                ),
                hint,
            )
    return value


def written_out(value: object) -> str:
    """How to write a deadline given bare (`due: 30/11/2020`): the expression it most likely means.
    A day is `by` or `before`, which differ by a day, so both are offered, each with its words;
    the document's own words ("trước ngày 20/11/2020", "chậm nhất ngày 19/11/2020", "trong quý
    I/2021") name the one they mean."""
    text = str(value).strip()
    for words, kind in _IN_WORDS:
        if (m := words.match(text)) and (meant := _meant(kind, m.group(1).strip())):
            return _("write `{expression}`", expression=meant)
    try:
        first, last = parse_day_range(value)
    except DateError:
        if _MONTH.match(text) or _QUARTER.match(text):
            return _('write `{expression}` ("trong {text}")', expression=f"{{within: {text}}}", text=text)
        if read_period(text) is not None:  # (in the plan's own words)
            return _("write `{expression}`", expression=f"{{within: {text}}}")
        return _("e.g. {by} or {after}", by="{by: 30/11/2020}", after="{after: hn-co-so, days: 7}")
    day = first.strftime("%d/%m/%Y")
    if first != last:
        days = f"{day}..{last.strftime('%d/%m/%Y')}"
        return _('write `{expression}` ("vào các ngày {days}")', expression=f"{{on: {days}}}", days=days)
    return _(
        'write `{by}` if {day} is the last day that counts ("chậm nhất ngày {day}"), or `{before}` if '
        'it must be done before that day ("trước ngày {day}")',
        by=f"{{by: {day}}}",
        before=f"{{before: {day}}}",
        day=day,
    )


def _meant(kind: str, rest: str) -> str | None:
    """`{kind: D}` for the day or period `rest` names (the rest of the document's words), or None."""
    if kind == "within":
        return f"{{within: {rest}}}" if read_period(rest) is not None else None
    try:
        return f"{{{kind}: {parse_date(rest).strftime('%d/%m/%Y')}}}"
    except DateError:
        return None


def _first_of_next_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """A compiled `due:`. Absolute rules carry `cutoff`; relative ones name `after`."""

    text: str
    cutoff: date | None = None
    after: str | None = None
    days: int | None = None
    working_days: int | None = None
    latest: date | None = None
    roll: Roll | None = None

    @property
    def is_relative(self) -> bool:
        return self.after is not None

    def instant(self, tz: str, calendar: Calendar) -> pendulum.DateTime:
        """The deadline instant of an absolute rule."""
        if self.cutoff is None:
            raise ValueError(f"{self.text} is relative to {self.after}")
        return midnight(rolled(self.cutoff, self.roll, calendar), tz)

    def instant_after(self, signal_at: pendulum.DateTime, tz: str, calendar: Calendar) -> pendulum.DateTime:
        """The deadline of a relative rule once its source was signalled at `signal_at`."""
        day = signal_at.in_timezone(tz).date()
        if self.working_days is not None:
            last = calendar.add_working_days(day, self.working_days)
        else:
            last = day + timedelta(days=self.days or 0)
        cutoff = rolled(last + timedelta(days=1), self.roll, calendar)
        if self.latest is not None:
            cutoff = min(cutoff, self.latest)
        return midnight(cutoff, tz)


def rolled(cutoff: date, roll: Roll | None, calendar: Calendar) -> date:
    """Move the last allowed day (the day before `cutoff`) off a non-working day."""
    if roll is None:
        return cutoff
    last = cutoff - timedelta(days=1)
    direction = -1 if roll is Roll.PREVIOUS else 1
    return calendar.roll(last, direction) + timedelta(days=1)


def days_late(deadline: int, now: int, tz: str) -> int:
    """How many days late work due at `deadline` is at `now`, as people count them: the days
    since its last day, by the calendar (last day 05/12: one day late all of 06/12, two on 07/12;
    0 on the last day itself, when a deadline at an hour has passed)."""
    return max((_local_day(now, tz) - last_day_of(deadline, tz)).days, 0)


@functools.lru_cache(maxsize=64)
def _local_day(now: int, tz: str) -> pendulum.Date:
    """The day `now` falls on in `tz`: made once for a listing's rows (`cascade status` of every
    overdue unit) or a digest's lines, which share their `now`."""
    return pendulum.from_timestamp(now, tz=zone(tz)).date()


def midnight(day: date, tz: str) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, tz=tz)


def last_day_of(epoch: int, tz: str) -> pendulum.Date:
    """The last day that counts for a deadline instant: the day before a midnight deadline
    (00:00 of 21/12 -> 20/12), else the instant's own day."""
    return last_moment(epoch, tz)[0]


@functools.cache
def zone(name: str) -> pendulum.Timezone:
    """The timezone `name`, read once. Given a name, pendulum reads the zone's file anew for every
    instant it makes (35 µs an instant, against 7 µs given the zone): listing a nation's 57,600
    decisions took 13.7 s, 7.8 s with the zone read once. Per-row code makes its instants with this."""
    return pendulum.Timezone(name)


@functools.lru_cache(maxsize=1 << 14)
def last_moment(epoch: int, tz: str) -> tuple[pendulum.Date, pendulum.Time | None]:
    """A deadline as people read it: the last day that counts, and the hour before which the
    work is due on it (None for a midnight deadline: that whole day counts). Made once a
    deadline: a campaign's thousands of instances share a few of them (pendulum's values are
    immutable)."""
    t = pendulum.from_timestamp(epoch, tz=zone(tz))
    if (t.hour, t.minute, t.second) == (0, 0, 0):
        return t.subtract(days=1).date(), None
    return t.date(), t.time()
