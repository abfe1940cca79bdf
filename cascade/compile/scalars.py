"""The scalar values of the file formats: dates, durations, names, recipients, quiet hours,
timezones and calendars, each a type that checks and reads what an operator wrote and says
how to write it when it cannot (`cascade.compile.format` builds the files' models from them).
Each one's JSON Schema is given beside it, for `cascade schema` and the editors that use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Annotated

import pendulum
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, PlainValidator, WithJsonSchema

from cascade.i18n import _
from cascade.plan.values import (
    LEVEL_WORDS,
    SLUG,
    UNMARKED_LEVEL_WORDS,
    invalid,
    level_hint,
    level_of_word,
    loose,
    unmarked,
)
from cascade.timing.deadlines import DateError, key_words, parse_date
from cascade.timing.durations import WORDS as DURATION_WORDS
from cascade.timing.durations import Duration, DurationError, parse_duration
from cascade.timing.quiet import CLOCK, QuietError, QuietHours, parse_quiet
from cascade.timing.workdays import known_calendar


def _date(value: object) -> date:
    try:
        return parse_date(value)
    except DateError as exc:
        raise invalid(str(exc), exc.hint) from None


# every form parse_date reads (tests/test_cli.py: the schema and the validator agree)
_DATE_FORMS = (
    r"((?:[Nn]gày\s+)?\d{1,2}([/.-])\d{1,2}\2\d{4}|\d{4}-\d{1,2}-\d{1,2}"
    r"|([Nn]gày\s+)?\d{1,2}\s+tháng\s+\d{1,2}\s+năm\s+\d{4})"
)


def _date_schema(words: str = "", said: str = "") -> WithJsonSchema:
    """A date's schema; `words`, a pattern of the document's words a deadline's key takes before
    it (`deadlines.in_its_words`: "chậm nhất ngày 30/11/2020" under `by:`)."""
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{words}{_DATE_FORMS}$",
            "description": "dd/mm/yyyy (or dd-mm-yyyy, dd.mm.yyyy, ngày dd/mm/yyyy, "
            f"ngày dd tháng mm năm yyyy{said}) or yyyy-mm-dd",
            "examples": ["20/11/2020"],
        }
    )


DateValue = Annotated[
    date, PlainValidator(_date), PlainSerializer(lambda d: d.strftime("%d/%m/%Y")), _date_schema()
]
# `before:` and `by:` (`Due`), with the words that say them
BeforeDate = Annotated[DateValue, _date_schema(f"(?:{key_words('before', capitals=True)})?", ", after trước")]
ByDate = Annotated[DateValue, _date_schema(f"(?:{key_words('by', capitals=True)})?", ", after chậm nhất")]


def _duration(value: object) -> Duration:
    if isinstance(value, Duration):
        return value
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise invalid(str(exc)) from None


# the duration words (`durations.WORDS`) as the schema's pattern takes them: as written, capitalised,
# in capitals (a JSON Schema pattern has no flag for "any case")
_DURATION_WORDS = "|".join(
    dict.fromkeys(
        form
        for word in sorted(DURATION_WORDS, key=len, reverse=True)
        for form in (word, word.capitalize(), word.title(), word.upper())
    )
)
DURATION_SCHEMA = {
    "type": "string",
    "pattern": rf"^(\d+(wd|w|d|h|m))+$|^P|^\s*(\d+\s*({_DURATION_WORDS})\s*)+$",
    "description": '7d, 12h, 2w, 30m, 5wd (working days), "7 ngày", "5 ngày làm việc", ISO P7D',
    "examples": ["7d", "5wd", "7 ngày"],
}
DurationValue = Annotated[
    Duration, PlainValidator(_duration), PlainSerializer(str), WithJsonSchema(DURATION_SCHEMA)
]


def _listify(value: object) -> object:
    return [value] if isinstance(value, str) else value


Names = Annotated[
    list[str],
    BeforeValidator(_listify),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


def _levels(value: object) -> object:
    listed = _listify(value)
    return (
        [level_of_word(v) if isinstance(v, str) else v for v in listed]
        if isinstance(listed, list)
        else listed
    )


# levels, by id or as people write them (`Huyện`, `cấp tỉnh`: `plan.values.LEVEL_WORDS`)
LevelNames = Annotated[
    list[str],
    BeforeValidator(_levels),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


def _level_id(value: object) -> object:
    """A units file's level, by its id or a word people write for it (`Xã`, `xa` are `commune`)."""
    if not isinstance(value, str):
        return value
    level = level_of_word(value)
    if not SLUG.match(level):
        raise invalid(_("`{value}` is not a level", value=value), level_hint())
    return level


# the words a units file may write for a level, as its schema takes them
def _as_written(words: Iterable[str]) -> list[str]:
    """Each word as a file may write it: with a capital, and without its marks ("Chi bo")."""
    return sorted(
        {w for word in words for bare in (word, unmarked(word)) for w in (bare, bare[:1].upper() + bare[1:])}
    )


LEVEL_WORDS_WRITTEN = _as_written(LEVEL_WORDS)
LevelId = Annotated[
    str,
    BeforeValidator(_level_id),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": SLUG.pattern}, {"enum": LEVEL_WORDS_WRITTEN}]}),
]

# `level:L` takes L as `level:` does (`level:Tỉnh`); whether the units file has L is checked later
_RECIPIENT = re.compile(r"^(self|parent|root|ancestor:[1-9][0-9]*|level:\S.*)$")
# who is urged, as the plans word it: the unit itself, its parent, the top unit (a level's word
# alone, `cấp tỉnh`, is the ancestor at that level)
RECIPIENT_WORDS = {
    **dict.fromkeys(("đơn vị", "chính đơn vị", "bản thân đơn vị", "đơn vị đó"), "self"),
    **dict.fromkeys(("cấp trên", "cấp trên trực tiếp", "đơn vị cấp trên"), "parent"),
    **dict.fromkeys(("cấp cao nhất", "đơn vị cao nhất"), "root"),
}
_UNMARKED_RECIPIENT_WORDS = {unmarked(word): who for word, who in RECIPIENT_WORDS.items()}
# what a file may write, for the schema (an editor flags none of what `validate` takes)
RECIPIENT = re.compile(
    _RECIPIENT.pattern.removesuffix(")$")
    + "".join(f"|{re.escape(word)}" for word in _as_written((*RECIPIENT_WORDS, *LEVEL_WORDS)))
    + ")$"
)


def _recipient(value: str) -> str:
    kind, colon, level = value.partition(":")
    if kind == "level" and colon and level.strip():
        value = f"level:{level_of_word(level.strip())}"
    elif (said := unmarked(loose(value))) in _UNMARKED_RECIPIENT_WORDS:  # (`cap tren`: marks aside)
        value = _UNMARKED_RECIPIENT_WORDS[said]
    elif said in UNMARKED_LEVEL_WORDS:
        value = f"level:{UNMARKED_LEVEL_WORDS[said]}"
    if not _RECIPIENT.match(value):
        raise invalid(
            _("`{value}` is not a recipient", value=value),
            _(
                "use self (the unit itself: đơn vị), parent (cấp trên), root (the top unit: cấp cao nhất), "
                "ancestor:N (N levels up) or level:L (the ancestor at level L: level:Tỉnh, or cấp tỉnh)"
            ),
        )
    return value


Recipient = Annotated[
    str, AfterValidator(_recipient), Field(json_schema_extra={"pattern": RECIPIENT.pattern})
]


def _quiet(value: object) -> QuietHours:
    try:
        return parse_quiet(value)
    except QuietError as exc:
        raise invalid(str(exc), exc.hint) from None


QuietHoursValue = Annotated[
    QuietHours,
    PlainValidator(_quiet),
    PlainSerializer(str),
    WithJsonSchema({"type": "string", "pattern": CLOCK.pattern, "examples": ["21:00-07:00"]}),
]


# Vietnam's time as people write it: the campaign's timezone is Asia/Ho_Chi_Minh
_VIETNAM_TIME = re.compile(
    r"(gmt|utc)\s*\+\s*0?7(:00)?|\+07:?00|ict|giờ việt nam|vietnam|việt nam", re.IGNORECASE
)


def _timezone(value: str) -> str:
    if _VIETNAM_TIME.fullmatch(value.strip()):
        return "Asia/Ho_Chi_Minh"
    try:
        pendulum.timezone(value)
    except Exception:
        raise invalid(
            _("`{value}` is not a timezone", value=value), _("use an IANA name such as Asia/Ho_Chi_Minh")
        ) from None
    return value


def _calendar(value: str) -> str:
    if loose(value) in ("việt nam", "viet nam", "vietnam"):
        return "VN"
    if not known_calendar(value):
        raise invalid(
            _("`{value}` is not a known holiday calendar", value=value),
            _("use a country code such as VN, or none"),
        )
    return value


Timezone = Annotated[str, AfterValidator(_timezone)]
CalendarName = Annotated[str, AfterValidator(_calendar)]
