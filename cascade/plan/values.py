"""The values a plan shares with the file format: ids, contacts, fields and their targets.

They are written in campaign and units files (so the format checks them, with these
validators and their hints) and read at run time (the tick checks a signal's figures
against a `FieldSpec`, the roll-up tests a `Target`, notices go to a `Contact`). Defined
once, here, so that neither the compiler nor the engine reaches into the other for them.
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pydantic_core import ArgsKwargs, PydanticCustomError

from cascade.errors import did_you_mean
from cascade.i18n import N_, _
from cascade.plan.formulas import formula_names


def invalid(message: str, hint: str | None = None) -> PydanticCustomError:
    """A format error with a hint; `cascade.compile.validate` turns it into a Problem."""
    return PydanticCustomError("cascade", message, {"hint": hint} if hint else None)


class Model(BaseModel):
    """A file model: unknown keys are errors, values never change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


# ---- ids ----------------------------------------------------------------------------------

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_HINT = N_("ids are lowercase ASCII letters, digits and single hyphens, e.g. hu-cang-long")

# Checked by pydantic's own pattern matcher (fast on 60,000 units); `cascade.compile.validate` turns
# its pattern error into "`X` is not an id" with SLUG_HINT.
Slug = Annotated[str, Field(pattern=SLUG.pattern)]

# ---- contacts -----------------------------------------------------------------------------

CHANNELS = ("email", "zalo", "phone")
# a channel as a person reads it: `phone` is Zalo's template message (ZNS) to that number, not a call
CHANNEL_NAMES = {"email": "email", "zalo": "Zalo OA", "phone": "Zalo ZNS"}


def channel_said(channel: str) -> str:
    """A channel's name as the operator and the alerts read it ("phone": "Zalo ZNS")."""
    return CHANNEL_NAMES.get(channel, channel)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ZALO_ID = re.compile(r"^[0-9]{6,20}$")  # a follower's id: 16 to 19 digits in practice
# a phone as Zalo's ZNS reaches it, a Vietnamese number: national (0912345678, 02393855123) or +84
_PHONE = re.compile(r"^(?:0|\+?84)[0-9]{9,10}$")
_PHONE_MARKS = str.maketrans("", "", " .-()\u00a0")
# how Excel writes a number it kept 15 digits of ("2.46846E+18" in a CSV, 2.46845883529611e18 read)
_ROUNDED = re.compile(r"^[0-9](?:[.,][0-9]+)?E\+?[0-9]+$", re.IGNORECASE)


def phone_number(written: str) -> str:
    """`written` in digits as ZNS takes it, or as written when it is no phone number: spaces,
    dots, dashes and brackets go ("0912 345 678", "(0239) 3855 123"), and a number of 9 or 10
    digits gets back the leading 0 that a spreadsheet's number cell (or YAML's) drops."""
    digits = written.translate(_PHONE_MARKS)
    if digits.isascii() and digits.isdigit() and len(digits) in (9, 10) and digits[0] != "0":
        digits = "0" + digits
    return digits if _PHONE.match(digits) else written


def zns_phone(phone: str) -> str:
    """A contact's phone as Zalo's ZNS API takes it: the country code and no plus (84912345678)."""
    if phone.startswith("+"):
        return phone[1:]
    return "84" + phone[1:] if phone.startswith("0") else phone


_VALUE_CONFIG = ConfigDict(extra="forbid", coerce_numbers_to_str=True)  # a `Model`'s, for a dataclass


# A pydantic dataclass, not a `Model`: the same checks and schema, but a national units file's
# 66,844 contacts are made in two fifths less time (0.22 -> 0.13 s; validating the whole
# campaign: 1.47 -> 1.39 s, medians of seven). (The docstring is the JSON Schema's description.)
@pydantic_dataclass(frozen=True, slots=True, config=_VALUE_CONFIG)
class Contact:
    """One person or office to notify; channels are tried in the order written."""

    role: Annotated[Slug, Field(description="what this contact is for, e.g. head, propaganda")]
    name: str | None = None
    email: str | None = None
    zalo: Annotated[str | None, Field(description="Zalo Official Account follower id")] = None
    phone: Annotated[str | None, Field(description="phone number for Zalo ZNS template messages")] = None
    channels: Annotated[
        tuple[Literal["email", "zalo", "phone"], ...],
        Field(description="fallback order; defaults to the order the channels are written"),
    ] = ()

    @model_validator(mode="before")
    @classmethod
    def _written_order(cls, data: Any) -> Any:
        if isinstance(data, ArgsKwargs) and not data.args:  # Contact(role=..., email=...)
            data = data.kwargs or {}
        if isinstance(data, dict):
            if "channels" not in data:
                data = {**data, "channels": tuple(k for k in data if k in CHANNELS and data[k])}
            phone = data.get("phone")  # as written, in digits from 0 (most): as it is; else in digits
            if phone is not None and not (type(phone) is str and phone[:1] == "0" and phone.isdigit()):
                data = {**data, "phone": phone_number(str(phone)) if isinstance(phone, str | int) else phone}
        return data

    @model_validator(mode="after")
    def _check(self) -> Contact:
        if not self.channels:
            raise invalid(_("a contact needs at least one channel"), _("add email, zalo or phone"))
        for channel in self.channels:
            if not getattr(self, channel):
                raise invalid(_("channel `{channel}` is listed but has no address", channel=channel))
        if self.email and not _EMAIL.match(self.email):
            raise invalid(_("`{email}` is not an email address", email=self.email))
        if self.zalo and phone_not_follower(self.zalo):
            raise invalid(
                _("zalo `{value}` is a phone number, not a Zalo follower id", value=self.zalo),
                _(
                    "the Official Account writes to a follower by the id its follower list shows (16 to "
                    "19 digits), never to a phone: write the number under phone (a ZNS message), and the "
                    "office's follower id under zalo"
                ),
            )
        if self.zalo and not _ZALO_ID.match(self.zalo):
            raise _rounded("zalo", self.zalo) or invalid(
                _("zalo `{value}` is not a follower id", value=self.zalo),
                _("a Zalo follower id is digits only, as the Official Account lists it"),
            )
        if self.phone and not _PHONE.match(self.phone):
            raise _rounded("phone", self.phone) or invalid(
                _("phone `{value}` is not a phone number", value=self.phone),
                _("write it as 0912 345 678 or +84 912 345 678 (ZNS reaches Vietnamese numbers)"),
            )
        return self


def phone_not_follower(zalo: str) -> bool:
    """Whether `zalo` is a phone number written where a follower id goes, as offices say "số
    Zalo" for the phone their account is on: from 0 (`0912 345 678`), with +84, or a number cell
    that dropped the 0. Digits from 84 are let be, as spec §2 writes a follower id so."""
    if zalo.isdigit() and zalo.startswith("84"):
        return False
    return bool(_PHONE.match(phone_number(zalo)))


def _rounded(channel: str, value: str) -> PydanticCustomError | None:
    """The error for a number Excel rounded to 15 digits, if `value` is one."""
    if not _ROUNDED.match(value):
        return None
    return invalid(
        _(
            "{channel} `{value}`: Excel kept only the first 15 digits of this number",
            channel=channel,
            value=value,
        ),
        _("format the column as Text in Excel (Format Cells, Text) and type it again"),
    )


@pydantic_dataclass(frozen=True, slots=True, config=_VALUE_CONFIG)
class Operator(Contact):
    """Who hears about a broken channel (bad SMTP credentials, an expired Zalo token)."""

    role: Slug = "operator"


# ---- targets ------------------------------------------------------------------------------

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
# (`≥ 90%` and `85,5%` as a document writes them, too)
_TARGET = re.compile(r"^(>=|<=|==|>|<|≥|≤)\s*(-?\d+(?:[.,]\d+)?)\s*(%?)$")


@dataclass(frozen=True, slots=True)
class Target:
    op: str
    value: float
    percent: bool = False  # written as a percentage (">= 85%"): shown as one to people

    def met(self, actual: float) -> bool:
        return _OPS[self.op](actual, self.value)

    def __str__(self) -> str:  # as written, and read back by `parse`
        if self.percent:
            return f"{self.op} {round(self.value * 100, 6):g}%"
        return f"{self.op} {self.value:g}"

    @staticmethod
    def parse(text: object) -> Target:
        return _target(text)


def _target(value: object) -> Target:
    if isinstance(value, Target):
        return value
    m = _TARGET.match(str(value).strip())
    if not m:
        raise invalid(
            _("`{value}` is not a target", value=value), _('write a comparison, e.g. ">= 0.85" or ">= 85%"')
        )
    number = float(m.group(2).replace(",", ".")) / (100 if m.group(3) else 1)
    return Target({"≥": ">=", "≤": "<="}.get(m.group(1), m.group(1)), number, bool(m.group(3)))


TargetValue = Annotated[
    Target,
    PlainValidator(_target),
    PlainSerializer(str),
    WithJsonSchema({"type": "string", "pattern": _TARGET.pattern, "examples": [">= 0.85"]}),
]

# ---- fields -------------------------------------------------------------------------------


def _formula(value: str) -> str:
    try:
        formula_names(value)
    except ValueError as exc:
        raise invalid(str(exc), _("e.g. attendees / members")) from None
    return value


FieldType = Literal["int", "float", "bool", "text", "date"]


class FieldSpec(Model):
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
            raise invalid(
                _("a field needs a `type` or a `formula`"), _("types: int, float, bool, text, date")
            )
        if self.formula is not None and self.type not in (None, "float", "int"):
            raise invalid(_("a formula computes a number; `type: {type}` cannot hold it", type=self.type))
        if self.formula is not None and self.required:
            raise invalid(_("a formula field is computed, so it cannot be `required`"))
        numeric = self.formula is not None or self.type in ("int", "float")
        if not numeric and (self.min is not None or self.max is not None or self.target is not None):
            raise invalid(_("min, max and target need a number, not `type: {type}`", type=self.type))
        if self.min is not None and self.max is not None and self.min > self.max:
            raise invalid(_("min {min:g} is above max {max:g}", min=self.min, max=self.max))
        return self


# A report's roll-up counts a task's instances by state under these names (`task.done`, ...).
COUNTERS = ("done", "late", "missing", "exempt", "total")


# a level written as people say it ("Tỉnh", "cấp huyện", a unit's kind: "Phường", "Quận"). "Xã"
# is the commune level (with its wards, "Phường", and special zones, "Đặc khu"): the level
# under the province since local government has two levels (07/2025), and under the district
# in the five-level nation; where communes are grassroots units among others (the 2020
# campaigns), the units file writes "Cơ sở" for them, and a sheet writing both at one depth is
# told so (`compile.unit_tree`).
LEVEL_WORDS = {
    "trung ương": "central",
    "tỉnh": "province",
    "cấp tỉnh": "province",
    "huyện": "district",
    "cấp huyện": "district",
    "xã": "commune",
    "cấp xã": "commune",
    "phường": "commune",  # (the commune level holds communes, wards and special zones alike)
    "đặc khu": "commune",
    "thị trấn": "commune",
    "quận": "district",
    "thị xã": "district",
    "cơ sở": "grassroots",
    "cấp cơ sở": "grassroots",
    "chi bộ": "cell",
}


def unmarked(text: str) -> str:
    """`text` in lower case without its marks, as typed with the Vietnamese keyboard off:
    "Chi bộ Đông" -> "chi bo dong"."""
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in plain if not unicodedata.combining(c)).lower()


# the level words typed without their marks ("chi bo", "Xa"): none is another's unmarked
UNMARKED_LEVEL_WORDS = {unmarked(word): level for word, level in LEVEL_WORDS.items()}


@functools.lru_cache(maxsize=256)  # a units sheet writes the same few levels on every row
def level_of_word(written: str) -> str:
    """The level id a written level names (`Huyện` -> district; `chi bo`, `xa` -> cell, commune:
    typed without marks, wherever a level is written, so a units file and its campaigns agree),
    else the text as written."""
    said = loose(written)
    return LEVEL_WORDS.get(said) or UNMARKED_LEVEL_WORDS.get(unmarked(said)) or written


def level_word(level: str) -> str | None:
    """The word a units sheet writes for a level's id (`commune`: "Xã"), or None."""
    word = next((w for w, named in LEVEL_WORDS.items() if named == level and not w.startswith("cấp ")), None)
    return f"{word[0].upper()}{word[1:]}" if word else None


def level_with_word(level: str) -> str:
    """A level's id with the word a units sheet writes for it: "`commune` (Xã)"."""
    return f"`{level}` ({word})" if (word := level_word(level)) else f"`{level}`"


def level_hint() -> str:
    """The hint for a level written as neither an id nor a word for one."""
    words = ", ".join(dict.fromkeys(word.capitalize() for word in LEVEL_WORDS if not word.startswith("cấp ")))
    return _(
        "write the level's id (province, district, commune, grassroots, ...) or one of {words}",
        words=words,
    )


def levels_hint(written: str, levels: Iterable[str]) -> str:
    """The hint for a level the units file has not: the one meant, else every level with its word."""
    levels = list(levels)
    words = ", ".join(map(level_with_word, levels))
    return did_you_mean(written, levels) or _("levels: {levels}", levels=words)


def title_key(title: str) -> str:
    """A figure's title as it is matched when written by hand: loosely (`loose`), the abbreviation
    Party documents use spelled out ("Số ĐV dự" is "số đảng viên dự")."""
    return re.sub(r"\bđv\b", "đảng viên", loose(title))


def loose(text: str) -> str:
    """`text` as a name is matched when it is not found as written: capitals, spacing and the
    way its marks are coded aside ("Huyện Ủy  Can Lộc" is "Huyện ủy Can Lộc", and so is the
    same typed with combining marks, Unikey's "Unicode tổ hợp")."""
    return " ".join(unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold()).split())
