"""The file formats: campaign and units files as typed models (§2 and §3 of the format).

These models check the shape of what an operator wrote, key by key: unknown keys,
wrong types, dates, durations, deadline expressions, recipients, targets. Whether the
parts fit together (references, cycles, levels) is the compiler's job. The JSON Schema
printed by `cascade schema` is generated from these models, so editors and the
validator never disagree.
"""

from __future__ import annotations

import ast
import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

import pendulum
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cascade.timing.deadlines import (
    DateError,
    DeadlineRule,
    Roll,
    parse_date,
    parse_day_range,
    parse_period,
)
from cascade.timing.durations import Duration, DurationError, parse_duration
from cascade.timing.workdays import Calendar, known_calendar


def _fail(message: str, hint: str | None = None) -> PydanticCustomError:
    return PydanticCustomError("cascade", message, {"hint": hint} if hint else None)


# ---- scalar types ---------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_HINT = "ids are lowercase ASCII letters, digits and single hyphens, e.g. hu-cang-long"

# Checked by pydantic's own pattern matcher (fast on 60,000 units); `cascade.compile.validate` turns
# its pattern error into "`X` is not an id" with SLUG_HINT.
Slug = Annotated[str, Field(pattern=_SLUG.pattern)]


def _date(value: object) -> date:
    try:
        return parse_date(value)
    except DateError as exc:
        raise _fail(str(exc), exc.hint) from None


DateValue = Annotated[
    date,
    PlainValidator(_date),
    PlainSerializer(lambda d: d.strftime("%d/%m/%Y")),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2})$",
            "description": "dd/mm/yyyy or yyyy-mm-dd",
            "examples": ["20/11/2020"],
        }
    ),
]


def _duration(value: object) -> Duration:
    if isinstance(value, Duration):
        return value
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise _fail(str(exc)) from None


DurationValue = Annotated[
    Duration,
    PlainValidator(_duration),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(\d+(wd|w|d|h|m))+$|^P",
            "description": "7d, 12h, 2w, 30m, 5wd (working days) or ISO-8601 P7D",
            "examples": ["7d", "5wd"],
        }
    ),
]


def _listify(value: object) -> object:
    return [value] if isinstance(value, str) else value


Names = Annotated[
    list[str],
    BeforeValidator(_listify),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]

_RECIPIENT = re.compile(r"^(self|parent|root|ancestor:[1-9][0-9]*|level:[A-Za-z0-9_-]+)$")


def _recipient(value: str) -> str:
    if not _RECIPIENT.match(value):
        raise _fail(
            f"`{value}` is not a recipient",
            "use self, parent, root, ancestor:N (N levels up) or level:L (the ancestor at L)",
        )
    return value


Recipient = Annotated[
    str, AfterValidator(_recipient), Field(json_schema_extra={"pattern": _RECIPIENT.pattern})
]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
_TARGET = re.compile(r"^(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)\s*(%?)$")


@dataclass(frozen=True, slots=True)
class Target:
    op: str
    value: float

    def met(self, actual: float) -> bool:
        return _OPS[self.op](actual, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def _target(value: object) -> Target:
    if isinstance(value, Target):
        return value
    m = _TARGET.match(str(value).strip())
    if not m:
        raise _fail(f"`{value}` is not a target", 'write a comparison, e.g. ">= 0.85" or ">= 85%"')
    number = float(m.group(2)) / (100 if m.group(3) else 1)
    return Target(m.group(1), number)


TargetValue = Annotated[
    Target,
    PlainValidator(_target),
    PlainSerializer(str),
    WithJsonSchema({"type": "string", "pattern": _TARGET.pattern, "examples": [">= 0.85"]}),
]

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)$")


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


MORNING = 7 * 60  # when notices held by a holiday go out, if there are no quiet hours to end


def _quiet(value: object) -> QuietHours:
    if isinstance(value, QuietHours):
        return value
    if str(value).strip().lower() == "none":
        return QUIET_NONE
    m = _CLOCK.match(str(value).strip())
    if not m:
        raise _fail(f"`{value}` is not a time window", 'write "HH:MM-HH:MM", e.g. "21:00-07:00", or "none"')
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if (h1, m1) == (h2, m2):
        raise _fail(f"`{value}` starts and ends at the same time", 'write "none" for no quiet hours')
    return QuietHours(h1 * 60 + m1, h2 * 60 + m2)


QuietHoursValue = Annotated[
    QuietHours,
    PlainValidator(_quiet),
    PlainSerializer(str),
    WithJsonSchema({"type": "string", "pattern": _CLOCK.pattern, "examples": ["21:00-07:00"]}),
]


def _timezone(value: str) -> str:
    try:
        pendulum.timezone(value)
    except Exception:
        raise _fail(f"`{value}` is not a timezone", "use an IANA name such as Asia/Ho_Chi_Minh") from None
    return value


def _calendar(value: str) -> str:
    if not known_calendar(value):
        raise _fail(f"`{value}` is not a known holiday calendar", "use a country code such as VN, or none")
    return value


# ---- formulas -------------------------------------------------------------------------

_FORMULA_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.USub,
    ast.UAdd,
)


def formula_names(text: str) -> list[str]:
    """The field names a formula reads; raises ValueError if it is not plain arithmetic."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ValueError(f"`{text}` is not a formula") from None
    names = []
    for node in ast.walk(tree):
        if not isinstance(node, _FORMULA_NODES):
            raise ValueError(f"`{text}` may only use field names, numbers, + - * / and brackets")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ValueError(f"`{text}` may only use field names, numbers, + - * / and brackets")
        if isinstance(node, ast.Name):
            names.append(node.id)
    return names


def _formula(value: str) -> str:
    try:
        formula_names(value)
    except ValueError as exc:
        raise _fail(str(exc), "e.g. attendees / members") from None
    return value


# ---- models ---------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


CHANNELS = ("email", "zalo", "phone")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIGITS = re.compile(r"^\+?[0-9]{6,15}$")


class Contact(_Model):
    """One person or office to notify; channels are tried in the order written."""

    role: Slug = Field(description="what this contact is for, e.g. head, propaganda")
    name: str | None = None
    email: str | None = None
    zalo: str | None = Field(None, description="Zalo Official Account follower id")
    phone: str | None = Field(None, description="phone number for Zalo ZNS template messages")
    channels: tuple[Literal["email", "zalo", "phone"], ...] = Field(
        (), description="fallback order; defaults to the order the channels are written"
    )

    @model_validator(mode="before")
    @classmethod
    def _written_order(cls, data: Any) -> Any:
        if isinstance(data, dict) and "channels" not in data:
            data = {**data, "channels": tuple(k for k in data if k in CHANNELS and data[k])}
        return data

    @model_validator(mode="after")
    def _check(self) -> Contact:
        if not self.channels:
            raise _fail("a contact needs at least one channel", "add email, zalo or phone")
        for channel in self.channels:
            if not getattr(self, channel):
                raise _fail(f"channel `{channel}` is listed but has no address")
        if self.email and not _EMAIL.match(self.email):
            raise _fail(f"`{self.email}` is not an email address")
        for channel in ("zalo", "phone"):
            value = getattr(self, channel)
            if value and not _DIGITS.match(value):
                raise _fail(f"{channel} `{value}` is not a number", 'quote it: "0912000002"')
        return self


class Operator(Contact):
    """Who hears about a broken channel (bad SMTP credentials, an expired Zalo token)."""

    role: Slug = "operator"


class Level(_Model):
    name: Slug
    optional: bool = Field(False, description="units may skip this level")


def _level(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


LevelDecl = Annotated[
    Level,
    BeforeValidator(_level),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _SLUG.pattern},
                {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "pattern": _SLUG.pattern},
                        "optional": {"type": "boolean", "description": "units may skip this level"},
                    },
                    "required": ["name"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]


class Unit(_Model):
    id: Slug
    name: str
    level: Slug
    tags: Names = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    children: list[Unit] = Field(default_factory=list)


class UnitsFile(_Model):
    """A units file: the levels top-down and the tree of units."""

    levels: list[LevelDecl] = Field(min_length=2, max_length=6)
    units: list[Unit] = Field(min_length=1)


class Due(_Model):
    """One deadline expression (§3.1); exactly one of before/by/on/within/after."""

    before: DateValue | None = None
    by: DateValue | None = None
    on: str | None = Field(None, description="dd/mm/yyyy..dd/mm/yyyy or one date")
    within: str | None = Field(None, description="12/2020, first-half 12/2017, end 12/2017, Q1/2021, I/2021")
    after: Slug | None = Field(None, description="a task id: relative to this unit's signal of it")
    days: int | None = Field(None, ge=0)
    working_days: int | None = Field(None, ge=0)
    latest: DateValue | None = Field(None, description="with after: never later than this date (as before)")
    roll: Roll | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Due:
        forms = [k for k in ("before", "by", "on", "within", "after") if getattr(self, k) is not None]
        if len(forms) != 1:
            found = f" (found {', '.join(forms)})" if forms else ""
            raise _fail(
                f"a deadline needs exactly one of before, by, on, within, after{found}",
                "e.g. {before: 20/11/2020} or {after: hn-co-so, days: 7}",
            )
        relative = ("days", "working_days", "latest")
        if self.after is None:
            if extra := [k for k in relative if getattr(self, k) is not None]:
                raise _fail(f"`{extra[0]}` only goes with `after`")
        elif (self.days is None) == (self.working_days is None):
            raise _fail("`after` needs exactly one of `days` or `working_days`", "e.g. days: 7")
        try:
            self.rule()
        except DateError as exc:
            raise _fail(str(exc), exc.hint) from None
        return self

    def rule(self) -> DeadlineRule:
        roll = self.roll
        if self.before is not None:
            return DeadlineRule(f"before {_dmy(self.before)}", cutoff=self.before, roll=roll)
        if self.by is not None:
            return DeadlineRule(f"by {_dmy(self.by)}", cutoff=_next_day(self.by), roll=roll)
        if self.on is not None:
            first, last = parse_day_range(self.on)
            text = f"on {_dmy(first)}" + (f"..{_dmy(last)}" if last != first else "")
            return DeadlineRule(text, cutoff=_next_day(last), roll=roll)
        if self.within is not None:
            cutoff, text = parse_period(self.within)
            return DeadlineRule(f"within {text}", cutoff=cutoff, roll=roll)
        count = f"{self.days} days" if self.days is not None else f"{self.working_days} working days"
        text = f"{count} after {self.after}" + (f", latest before {_dmy(self.latest)}" if self.latest else "")
        return DeadlineRule(
            text,
            after=self.after,
            days=self.days,
            working_days=self.working_days,
            latest=self.latest,
            roll=roll,
        )


def _dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _next_day(day: date) -> date:
    return date.fromordinal(day.toordinal() + 1)


FieldType = Literal["int", "float", "bool", "text", "date"]


class FieldSpec(_Model):
    """A figure a unit reports with its signal, or a formula computed from them."""

    type: FieldType | None = None
    title: str | None = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    formula: Annotated[str, AfterValidator(_formula)] | None = None
    target: TargetValue | None = None

    @model_validator(mode="after")
    def _check(self) -> FieldSpec:
        if self.formula is None and self.type is None:
            raise _fail("a field needs a `type` or a `formula`", "types: int, float, bool, text, date")
        if self.formula is not None and self.type not in (None, "float", "int"):
            raise _fail(f"a formula computes a number; `type: {self.type}` cannot hold it")
        if self.formula is not None and self.required:
            raise _fail("a formula field is computed, so it cannot be `required`")
        numeric = self.formula is not None or self.type in ("int", "float")
        if not numeric and (self.min is not None or self.max is not None or self.target is not None):
            raise _fail(f"min, max and target need a number, not `type: {self.type}`")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _fail(f"min {self.min:g} is above max {self.max:g}")
        return self


class Stage(_Model):
    after: DurationValue = Field(description="time after the deadline")
    to: list[Recipient] = Field(min_length=1)
    repeat: DurationValue | None = Field(None, description="re-send this stage at this period")


class Notices(_Model):
    """Who is told, when and how; on `defaults` and, to override, on a task or report."""

    notify: list[Slug] | None = Field(None, description="contact roles that receive a unit's notices")
    remind: list[DurationValue] | None = Field(None, description="reminders before each deadline")
    quiet_hours: QuietHoursValue | None = None
    quiet_days: Literal["holidays", "none"] | None = Field(
        None,
        description="`holidays`: notices falling on the calendar's public holidays (Tết) wait for "
        "the next working morning (the default when the campaign has a calendar); `none`: they do not",
    )
    escalate: list[Stage] | None = None


class Defaults(Notices):
    pass


class OpensAfter(_Model):
    task: Slug
    at: Literal["parent", "self"] = "parent"


def _slug_field(value: str) -> str:
    if not re.match(r"^[a-z][a-z0-9_]*$", value):
        raise _fail(f"`{value}` is not a field name", "use lowercase letters, digits and _ (e.g. attendees)")
    return value


class _Targeted(Notices):
    id: Slug
    title: str
    description: str | None = None
    exclude: list[Slug] = Field([], description="unit ids removed from the target")
    exempt: list[Slug] = Field([], description="unit ids excused: no instance, counted as exempt")
    fields: dict[Annotated[str, AfterValidator(_slug_field)], FieldSpec] = {}


class Task(_Targeted):
    level: Names = Field([], description="every unit of this level (or levels)")
    tags: Names = Field([], description="every unit carrying one of these tags")
    units: list[Slug] = Field([], description="these units")
    opens_after: OpensAfter | None = None
    min_window: DurationValue | None = None
    due: Due


class Report(_Targeted):
    from_: Names = Field(alias="from", min_length=1, description="levels that report to their parent")
    due: Due = Field(description="deadline of the level just below the top")
    step: DurationValue = Field(description="each level further down reports this much earlier")
    opens: DurationValue = Field(parse_duration("7d"), description="requests go out this long before")
    rollup: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+\.[a-z][a-z0-9_]*$")]] = []


class CampaignHeader(_Model):
    id: Slug
    title: str
    issued_by: str | None = None
    issued_on: DateValue
    timezone: Annotated[str, AfterValidator(_timezone)] = "Asia/Ho_Chi_Minh"
    calendar: Annotated[str, AfterValidator(_calendar)] = "VN"
    units: str = Field(description="units file (YAML or CSV), relative to the campaign file")
    summary_date: DateValue
    operator: Operator | None = Field(
        None,
        description="contact for delivery alerts; default: the top unit's contacts with the `notify` roles",
    )


class CampaignFile(_Model):
    """A campaign: a resolution to study, propagate and implement, with its deadlines."""

    campaign: CampaignHeader
    defaults: Defaults = Defaults()
    tasks: list[Task] = Field(min_length=1)
    reports: list[Report] = []


BUILTIN_DEFAULTS = Defaults(
    notify=["head"],
    remind=[parse_duration(d) for d in ("7d", "3d", "1d")],
    quiet_hours=_quiet("21:00-07:00"),
    quiet_days="holidays",
    escalate=[
        Stage(after=parse_duration("1d"), to=["self", "parent"]),
        Stage(after=parse_duration("3d"), to=["parent", "ancestor:2"]),
        Stage(after=parse_duration("7d"), to=["root"], repeat=parse_duration("7d")),
    ],
)
