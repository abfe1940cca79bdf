"""Checking a part of a document against its model, reporting every error with its line.

Pydantic says *what* is wrong at which path; this module adds *where* (the line the
path was written on, from `Document.lines`) and *how to fix it* (the closest known key
for a misspelt one, the hint a custom validator attached).
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from cascade.compile.reading import Document, Path, dotted
from cascade.errors import Problem, did_you_mean, one_of
from cascade.plan.values import SLUG, SLUG_HINT

SLUG_PATTERN = SLUG.pattern

M = TypeVar("M", bound=BaseModel)


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


@functools.cache
def _adapter(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def problems_from(exc: ValidationError, model: type[BaseModel], doc: Document, at: Path) -> list[Problem]:
    out = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = (*at, *loc)
        kind = error["type"]
        hint = (error.get("ctx") or {}).get("hint")
        if kind == "extra_forbidden":
            allowed = keys_at(model, loc[:-1])
            message = f"unknown key `{loc[-1]}`"
            hint = did_you_mean(str(loc[-1]), allowed) or (
                f"known keys: {one_of(allowed)}" if allowed else None
            )
        elif kind == "missing":
            message = f"`{loc[-1]}` is required here"
        elif kind == "cascade":
            message = error["msg"]
        elif kind == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == SLUG_PATTERN:
            message, hint = f"`{error.get('input')}` is not an id", SLUG_HINT
        else:
            message = f"{_lower_first(error['msg'])}, got {_short(error.get('input'))}"
        out.append(Problem(doc.file, doc.line_of(path), dotted(path), message, hint))
    return out


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
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = _field(current, part)
        if field is None:
            return []
        current, expect_key = _inner(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _field(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
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
            inner, _ = _inner(args[1])
            return inner, True
        else:
            return annotation, False


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
