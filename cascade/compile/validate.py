"""Checking a part of a document against its model, reporting every error with its line.

Pydantic says *what* is wrong at which path; this module adds *where* (the line the
path was written on, from `Document.lines`) and *how to fix it* (the closest known key
for a misspelt one, the hint a custom validator attached).
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from cascade.compile.reading import Document, Path, dotted, yaml_quoted
from cascade.errors import Problem, did_you_mean, one_of
from cascade.i18n import N_, _, language
from cascade.plan.values import SLUG, SLUG_HINT

SLUG_PATTERN = SLUG.pattern

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T", bound=Hashable)  # a model or a pydantic dataclass (frozen)


def checked(model: type[M], data: Any, doc: Document, at: Path, problems: list[Problem]) -> M | None:
    """`model` validated from `data` (found at path `at` in `doc`), or None with problems added."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from(exc, model, doc, at))
        return None


def checked_all(
    model: type[M], items: list[Any], doc: Document, at: Path, problems: list[Problem]
) -> list[M]:
    """The items that validate as `model`, in one pass; problems for the rest (items at `(*at, i)`)."""
    try:
        return _adapter(model).validate_python(items)
    except ValidationError:
        pass  # rare: find which items failed, keeping the others
    valid = []
    for i, item in enumerate(items):
        one = checked(model, item, doc, (*at, i), problems)
        if one is not None:
            valid.append(one)
    return valid


def all_valid(model: type[T], items: list[Any]) -> list[T] | None:
    """The items validated as `model` in one call, or None if any of them is not valid (the
    caller then checks them one by one, for their problems)."""
    try:
        return _adapter(model).validate_python(items)
    except ValidationError:
        return None


@functools.cache
def _adapter(model: Any) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])


# a key the model does not have; `invalid_key`, one not text (`{name: Chi bộ ấp 1, 2}`: the key 2)
_A_KEY_NOT_KNOWN = frozenset({"extra_forbidden", "unexpected_keyword_argument", "invalid_key"})


def problems_from(exc: ValidationError, model: type[BaseModel], doc: Document, at: Path) -> list[Problem]:
    out = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = (*at, *loc)
        kind = error["type"]
        hint = (error.get("ctx") or {}).get("hint")
        if kind in _A_KEY_NOT_KNOWN and path in doc.commas:
            if (cut := doc.commas[path]) is None:
                continue  # (the rest of a title already told)
            key, whole = cut[0], ", ".join(cut[1:])
            message = _(
                "the {key} ends at a comma, which ends a value inside `{{...}}`: it reads «{value}»",
                key=key,
                value=cut[1],
            )
            hint = _(
                "to keep what follows, put the {key} in quotes: {key}: {quoted}",
                key=key,
                quoted=yaml_quoted(whole),
            )
        elif kind in ("extra_forbidden", "unexpected_keyword_argument"):  # (a model's, a dataclass's)
            allowed = keys_at(model, loc[:-1])
            message = _("unknown key `{key}`", key=loc[-1])
            hint = _meant(str(loc[-1]), allowed) or (
                _("known keys: {keys}", keys=one_of(allowed)) if allowed else None
            )
        elif kind == "missing":
            message = _("`{key}` is required here", key=loc[-1])
            hint = _(_MISSING[loc[-1]]) if loc[-1] in _MISSING else None
        elif kind == "cascade":
            message = error["msg"]
        elif kind == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == SLUG_PATTERN:
            message, hint = _("`{value}` is not an id", value=error.get("input")), _(SLUG_HINT)
        else:
            message = _said(error)
        out.append(Problem(doc.file, doc.line_of(path), dotted(path), message, hint))
    return out


# keys written by what they mean, in the operator's words or another product's: the key meant
KEY_WORDS = {
    **dict.fromkeys(("deadline", "due date", "hạn", "thời hạn", "hạn chót", "hạn hoàn thành"), "due"),
    **dict.fromkeys(("reminder", "reminders", "nhắc", "nhắc hạn"), "remind"),
    **dict.fromkeys(("escalation", "escalations", "đôn đốc"), "escalate"),
    **dict.fromkeys(("name", "tên"), "title"),
    **dict.fromkeys(("after", "depends on", "mở sau"), "opens_after"),
    **dict.fromkeys(("cấp",), "level"),
    **dict.fromkeys(("báo cáo", "reports from"), "from"),
}


def _meant(key: str, allowed: list[str]) -> str | None:
    """The hint for an unknown key: the known key it is close to, or the one it means."""
    meant = KEY_WORDS.get(" ".join(key.casefold().replace("_", " ").split()))
    if meant in allowed:
        return _("did you mean `{word}`?", word=meant)
    return did_you_mean(key, allowed)


def keys_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the model accepts at `loc` (a path of keys and list indexes)."""
    current: Any = model
    expect_key = False
    for part in loc:
        if isinstance(part, int):
            continue
        if expect_key:
            expect_key = False
            continue
        field = _field(_fields(current), part)
        if field is None:
            return []
        current, expect_key = _inner(field.annotation)
    return [f.alias or name for name, f in _fields(current).items()]


def _fields(model: Any) -> dict[str, FieldInfo]:
    """A model's fields, or a pydantic dataclass's (`Contact`); none for anything else."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_fields
    return getattr(model, "__pydantic_fields__", {}) if isinstance(model, type) else {}


def _field(fields: dict[str, FieldInfo], key: str) -> FieldInfo | None:
    for name, field in fields.items():
        if key in (name, field.alias):
            return field
    return None


def _inner(annotation: Any) -> tuple[Any, bool]:
    """The model inside Optional/list/dict/Annotated, and whether a dict key comes next."""
    while True:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in args if a is not type(None))
        elif origin in (list, tuple):
            annotation = args[0]
        elif origin is dict:
            inner, _key = _inner(args[1])
            return inner, True
        else:
            return annotation, False


# what a required key is for, and how it is written, for the error that it is missing
_MISSING = {
    "step": N_("each level further down reports this much earlier, e.g. `step: 3d` (`0d`: the same day)"),
    "due": N_("the deadline, e.g. `due: {by: 30/11/2020}` (the last day that counts)"),
    "title": N_("the title people read in notices and reports"),
    "issued_on": N_("the day the document was issued, e.g. `issued_on: 10/11/2020`"),
    "summary_date": N_(
        "the day the top unit must have everything summarised, e.g. `summary_date: 20/01/2021`"
    ),
    "units": N_("the units file, relative to this file, e.g. `units: units/ha-tinh.yaml`"),
    "id": SLUG_HINT,
    "after": N_("how long after the deadline, e.g. `after: 1d`"),
    "to": N_("who is told, e.g. `to: [self, parent]`"),
}

# pydantic's own checks, in the operator's language: its error type -> the message (English keeps
# pydantic's words, which name the expected values)
_SAID = {
    "literal_error": N_("should be {expected}, got {value}"),
    "enum": N_("should be {expected}, got {value}"),
    "int_parsing": N_("should be a whole number, got {value}"),
    "int_type": N_("should be a whole number, got {value}"),
    "int_from_float": N_("should be a whole number, got {value}"),
    "float_parsing": N_("should be a number, got {value}"),
    "float_type": N_("should be a number, got {value}"),
    "bool_parsing": N_("should be true or false, got {value}"),
    "bool_type": N_("should be true or false, got {value}"),
    "string_type": N_("should be text, got {value}"),
    "list_type": N_("should be a list, got {value}"),
    "dict_type": N_("should be a mapping (key: value), got {value}"),
    "model_type": N_("should be a mapping (key: value), got {value}"),
    "dataclass_type": N_("should be a mapping (key: value), got {value}"),
    "model_attributes_type": N_("should be a mapping (key: value), got {value}"),
    "greater_than_equal": N_("should be at least {ge}, got {value}"),
    "greater_than": N_("should be more than {gt}, got {value}"),
    "less_than_equal": N_("should be at most {le}, got {value}"),
    "too_short": N_("should have at least {min_length} item(s), got {value}"),
    "too_long": N_("should have at most {max_length} item(s), got {value}"),
}


def _said(error: Any) -> str:
    template = _SAID.get(error["type"])
    if template is None or language() == "en":
        return f"{_lower_first(error['msg'])}, got {_short(error.get('input'))}"
    context = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    expected = context.get("expected", "").replace(" or ", _(" or "))
    return _(template, **{**context, "expected": expected, "value": _short(error.get("input"))})


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
