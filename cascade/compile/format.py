"""The file formats: campaign and units files as typed models (§2 and §3 of the format).

These models check the shape of what an operator wrote, key by key: unknown keys,
wrong types, dates, durations, deadline expressions, recipients, targets. Whether the
parts fit together (references, cycles, levels) is the compiler's job. The JSON Schema
printed by `cascade schema` is generated from these models, so editors and the
validator never disagree.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from cascade.compile.scalars import (
    DURATION_SCHEMA,
    LEVEL_WORDS_WRITTEN,
    RECIPIENT,
    BeforeDate,
    ByDate,
    CalendarName,
    DateValue,
    DurationValue,
    LevelId,
    LevelNames,
    Names,
    QuietHoursValue,
    Recipient,
    Timezone,
)
from cascade.i18n import _
from cascade.plan.formulas import split_check
from cascade.plan.values import SLUG, Contact, FieldSpec, Model, Operator, Slug, invalid
from cascade.timing.deadlines import (
    DateError,
    DeadlineRule,
    Roll,
    in_its_words,
    parse_day_range,
    parse_period,
    written_out,
)
from cascade.timing.durations import parse_duration
from cascade.timing.quiet import parse_quiet

# ---- models ---------------------------------------------------------------------------

# A unit as `units:`, `exclude:` and `exempt:` name it: its id, or its name as the units file
# writes it (a sheet without ids makes ids its operator never sees); the checks put the id in
# its place (`unit_refs.name_units`, before `checks.check_references`).
UnitRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Level(Model):
    name: LevelId
    optional: bool = Field(False, description="units may skip this level")


def _level(value: object) -> object:
    """A level written as its name; `district?` is an optional one, as a spreadsheet's `# levels:`
    line writes it."""
    if not isinstance(value, str):
        return value
    return {"name": value[:-1], "optional": True} if value.endswith("?") else {"name": value}


LevelDecl = Annotated[
    Level,
    BeforeValidator(_level),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": SLUG.pattern.removesuffix("$") + r"\??$"},
                {"enum": [*LEVEL_WORDS_WRITTEN, *(f"{word}?" for word in LEVEL_WORDS_WRITTEN)]},
                {
                    "type": "object",
                    "properties": {
                        "name": {
                            "anyOf": [
                                {"type": "string", "pattern": SLUG.pattern},
                                {"enum": LEVEL_WORDS_WRITTEN},
                            ]
                        },
                        "optional": {"type": "boolean", "description": "units may skip this level"},
                    },
                    "required": ["name"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]


class Unit(Model):
    id: Slug
    name: str
    level: LevelId
    tags: Names = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    children: list[Unit] = Field(default_factory=list)


class UnitsFile(Model):
    """A units file: the levels top-down and the tree of units."""

    levels: list[LevelDecl] = Field(min_length=2, max_length=6)
    units: list[Unit] = Field(min_length=1)


# What a campaign file may write in a shorter form than the model's, as people write it: one
# value where a list goes (`notify: head`, `remind: 3d`, `to: parent`, `exclude: x-d`), one stage for
# `escalate:`, a task alone for `opens_after: hn-tinh` (at the parent), `days: 7 ngày`. Each
# model's validator takes it; the schema takes it too (an editor must not flag what `validate`
# takes), by this alternative beside the property's own.
_DAYS = re.compile(r"\s*(\d+)\s*(?:ngày|Ngày|days?)\s*")  # (no flag: a schema's pattern has none)
_ALSO: dict[str, dict[str, Any]] = {
    "notify": {"type": "string", "pattern": SLUG.pattern},
    "units": {"type": "string", "minLength": 1},
    "exclude": {"type": "string", "minLength": 1},
    "exempt": {"type": "string", "minLength": 1},
    "remind": DURATION_SCHEMA,
    "escalate": {},  # (its list's item: one stage)
    "to": {"type": "string", "pattern": RECIPIENT.pattern},
    "opens_after": {"type": "string", "pattern": SLUG.pattern},
    "days": {"type": "string", "pattern": f"^{_DAYS.pattern}$"},
    "working_days": {"type": "string", "pattern": f"^{_DAYS.pattern}$"},
}


def _also_the_short_forms(schema: dict[str, Any]) -> None:
    for name, prop in schema.get("properties", {}).items():
        if name not in _ALSO:
            continue
        if "anyOf" not in prop:  # (a required property: its own schema becomes the first choice)
            own = {k: prop.pop(k) for k in list(prop) if k not in ("title", "description", "default")}
            prop["anyOf"] = [own]
        also = _ALSO[name] or next(a["items"] for a in prop["anyOf"] if a.get("type") == "array")
        prop["anyOf"].insert(-1 if prop["anyOf"][-1] == {"type": "null"} else len(prop["anyOf"]), dict(also))


_LISTS = ("notify", "remind", "to", "units", "exclude", "exempt")


class _Forgiving(Model):
    model_config = ConfigDict(json_schema_extra=_also_the_short_forms)

    @field_validator(*_LISTS, mode="before", check_fields=False)
    @classmethod
    def _one_of_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("escalate", mode="before", check_fields=False)
    @classmethod
    def _one_stage(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value

    @field_validator("opens_after", mode="before", check_fields=False)
    @classmethod
    def _a_task_alone(cls, value: object) -> object:
        return {"task": value} if isinstance(value, str) else value

    @field_validator("days", "working_days", mode="before", check_fields=False)
    @classmethod
    def _days_in_words(cls, value: object) -> object:
        return int(m.group(1)) if isinstance(value, str) and (m := _DAYS.fullmatch(value)) else value


class Due(_Forgiving):
    """One deadline expression (§3.1); exactly one of before/by/on/within/after."""

    before: BeforeDate | None = None
    by: ByDate | None = None
    on: str | None = Field(None, description="dd/mm/yyyy..dd/mm/yyyy or one date")
    within: str | None = Field(None, description="12/2020, first-half 12/2017, end 12/2017, Q1/2021, I/2021")
    after: Slug | None = Field(None, description="a task id: relative to this unit's signal of it")
    days: int | None = Field(None, ge=0)
    working_days: int | None = Field(None, ge=0)
    latest: BeforeDate | None = Field(None, description="with after: never later than this date (as before)")
    roll: Roll | None = None

    @field_validator("before", "by", "on", "within", "latest", mode="before")
    @classmethod
    def _in_its_words(cls, value: object, info: ValidationInfo) -> object:
        """The document's words copied with the date (`by: chậm nhất ngày 30/11/2020`)."""
        try:
            return in_its_words("before" if info.field_name == "latest" else str(info.field_name), value)
        except DateError as exc:
            raise invalid(str(exc), exc.hint) from None

    @model_validator(mode="before")
    @classmethod
    def _written_as_a_mapping(cls, value: object) -> object:
        if isinstance(value, dict):
            return value
        raise invalid(
            _("a deadline is written as a mapping that names its kind, got {value!r}", value=value),
            written_out(value),
        )

    @model_validator(mode="after")
    def _one_form(self) -> Due:
        forms = [k for k in ("before", "by", "on", "within", "after") if getattr(self, k) is not None]
        if len(forms) != 1:
            found = _(" (found {forms})", forms=", ".join(forms)) if forms else ""
            raise invalid(
                _("a deadline needs exactly one of before, by, on, within, after{found}", found=found),
                "e.g. {before: 20/11/2020} or {after: hn-co-so, days: 7}",
            )
        relative = ("days", "working_days", "latest")
        if self.after is None:
            if extra := [k for k in relative if getattr(self, k) is not None]:
                raise invalid(_("`{extra}` only goes with `after`", extra=extra[0]))
        elif (self.days is None) == (self.working_days is None):
            raise invalid(_("`after` needs exactly one of `days` or `working_days`"), _("e.g. days: 7"))
        try:
            self.rule()
        except DateError as exc:
            raise invalid(str(exc), exc.hint) from None
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


class Stage(_Forgiving):
    after: DurationValue = Field(description="time after the deadline")
    to: list[Recipient] = Field(min_length=1)
    repeat: DurationValue | None = Field(None, description="re-send this stage at this period")


class Notices(_Forgiving):
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


class OpensAfter(Model):
    task: Slug
    at: Literal["parent", "self"] = "parent"


def _slug_field(value: str) -> str:
    if not re.match(r"^[a-z][a-z0-9_]*$", value):
        raise invalid(
            _("`{value}` is not a field name", value=value),
            _("use lowercase letters, digits and _ (e.g. attendees)"),
        )
    return value


def _check(value: str) -> str:
    try:
        split_check(value)
    except ValueError as exc:
        raise invalid(str(exc), _("compare two figures or formulas: attendees <= members")) from None
    return value


def _one_or_more(value: object) -> object:
    return [value] if isinstance(value, str) else value


class _Targeted(Notices):
    id: Slug
    title: str
    description: str | None = None
    exclude: list[UnitRef] = Field([], description="units removed from the target (ids or names)")
    exempt: list[UnitRef] = Field(
        [], description="units excused (ids or names): no instance, counted as exempt"
    )
    fields: dict[Annotated[str, AfterValidator(_slug_field)], FieldSpec] = {}
    check: Annotated[
        list[Annotated[str, AfterValidator(_check)]],
        BeforeValidator(_one_or_more),
        WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
    ] = Field(
        [],
        description="comparisons the figures must keep, e.g. attendees <= members (one, or a list)",
    )


class Task(_Targeted):
    level: LevelNames = Field([], description="every unit of this level (or levels)")
    tags: Names = Field([], description="every unit carrying one of these tags")
    units: list[UnitRef] = Field([], description="these units (ids or names)")
    opens_after: OpensAfter | None = None
    min_window: DurationValue | None = None
    due: Due


class Report(_Targeted):
    from_: LevelNames = Field(alias="from", min_length=1, description="levels that report to their parent")
    due: Due = Field(description="deadline of the level just below the top")
    step: DurationValue | None = Field(
        None, description="each level further down reports this much earlier (needed when one does)"
    )
    opens: DurationValue = Field(parse_duration("7d"), description="requests go out this long before")
    rollup: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+\.[a-z][a-z0-9_]*$")]] = []


class Signer(Model):
    """Who signs the summary, as its signature block reads (Hướng dẫn 36-HD/VPTW)."""

    on_behalf: str | None = Field(None, description='"T/M BAN THƯỜNG VỤ", "K/T TRƯỞNG BAN"')
    title: str | None = Field(None, description='the signer\'s office: "PHÓ BÍ THƯ", "PHÓ TRƯỞNG BAN"')
    name: str | None = None


class DocumentSpec(Model):
    """The summary as a Party document files it: heading, place and date, recipients, signature;
    and how its prose names levels and groups of units. Every key is optional."""

    issuer: str | None = Field(
        None, description="the body issuing the summary (default: its issued_by, else the top unit)"
    )
    superior: str | None = Field(None, description="the issuer's superior, above it at the top left")
    number: str | None = Field(None, description='the document number after "Số ", e.g. 125-BC/BTGTU')
    place: str | None = Field(
        None, description='"Tiền Giang" in "Tiền Giang, ngày ..."; default: the top unit\'s'
    )
    recipients: list[str] = Field([], description='"Nơi nhận", one line each: "Ban Tuyên giáo Trung ương"')
    signer: Signer = Signer()
    levels: dict[Slug, str] = Field({}, description='a level\'s name in the prose: {district: "cấp huyện"}')
    groups: dict[Slug, str] = Field(
        {}, description='units with a tag, by this name in the tables: {mass-org: "Mặt trận, đoàn thể"}'
    )


class CampaignHeader(Model):
    id: Slug
    title: str
    issued_by: str | None = None
    issued_on: DateValue
    timezone: Timezone = "Asia/Ho_Chi_Minh"
    calendar: CalendarName = "VN"
    units: str = Field(description="units file (YAML or CSV), relative to the campaign file")
    summary_date: DateValue
    operator: Operator | None = Field(
        None,
        description="contact for delivery alerts; default: the top unit's contacts with the `notify` roles",
    )
    document: DocumentSpec = DocumentSpec()


class CampaignFile(Model):
    """A campaign: a resolution to study, propagate and implement, with its deadlines."""

    campaign: CampaignHeader
    defaults: Defaults = Defaults()
    tasks: list[Task] = Field(min_length=1)
    reports: list[Report] = []


BUILTIN_DEFAULTS = Defaults(
    notify=["head"],
    remind=[parse_duration(d) for d in ("7d", "3d", "1d")],
    quiet_hours=parse_quiet("21:00-07:00"),
    quiet_days="holidays",
    escalate=[
        Stage(after=parse_duration("1d"), to=["self", "parent"]),
        Stage(after=parse_duration("3d"), to=["parent", "ancestor:2"]),
        Stage(after=parse_duration("7d"), to=["root"], repeat=parse_duration("7d")),
    ],
)
