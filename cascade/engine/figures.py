"""A signal's figures, checked against the task's fields: each converted to its declared type
(Vietnamese number writing and spreadsheet cells included), within its bounds, the required
ones given, and the campaign's checks between figures (`check: attendees <= members`) kept."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from cascade.errors import did_you_mean
from cascade.i18n import _
from cascade.plan.formulas import check_holds, split_check
from cascade.plan.rules import TaskRules, with_formulas
from cascade.plan.values import title_key
from cascade.timing.deadlines import parse_date

_GROUPED = re.compile(r"[-+]?\d{1,3}(?:\.\d{3})+")  # 1.234 and 1.234.567, as Vietnamese write them
_SPACED = re.compile(r"[-+]?\d{1,3}(?:[ \u00a0\u202f]\d{3})+")  # 1 234, and Excel's no-break spaces
# 45,0 (a number cell with a decimal, as Vietnamese Excel saves it) and 45.0 or 45.00 (never 1.000,
# which is grouped: one thousand)
_NO_FRACTION = re.compile(r",0+$|(?<!\.\d{3})\.0{1,2}$")
_WHOLE = re.compile(r"[-+]?\d+")
# a count followed by what it counts, as a district's reply types it: "45 đ/c", "45 đồng chí",
# "45 đảng viên", "45 ĐV", "45 người"
_COUNTED = re.compile(r"(.*\d)\s*(?:đ/c|đồng chí|đảng viên|đv|người)\.?", re.IGNORECASE)


def _bounded(number: Any, text: str) -> Any:
    if abs(number) > LARGEST:
        raise ValueError(_("`{text}` is too large (at most {largest:,})", text=text[:40], largest=LARGEST))
    return number


def check_fields(
    rules: TaskRules,
    given: dict[str, Any],
    figures: Mapping[str, str] | None = None,
    named: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The values converted to their declared types, and what is wrong with them. A report
    also takes its roll-up `figures` (e.g. `hn-co-so.attendees`, with its type: `int` for a
    count or a sum of whole numbers), numbers that correct the computed ones; `named` gives the
    figure each of their titles names, by `title_key` ("số đảng viên dự": hn-co-so.attendees)."""
    figures = figures or {}
    errors, values = [], {}
    seen: dict[str, Any] = {}  # each figure given, by the field it names (its key, or its title)
    for written, raw in given.items():
        name = written
        if written not in rules.fields and written not in figures:
            name = (named or {}).get(title_key(written)) or _titled(rules, written)
        seen[name] = raw
        if name in figures:
            try:  # (a count's "1.234" is one thousand two hundred thirty-four, as a field's is)
                number = _convert(figures[name], raw)
            except ValueError as exc:
                errors.append(f"{name}: {exc}")
                continue
            if number is not None and number < 0:
                errors.append(_("{name}: {number:g} is below the minimum 0", name=name, number=number))
            elif number is not None:
                values[name] = int(number) if float(number).is_integer() else number
            continue
        spec = rules.fields.get(name)
        if spec is None or spec.formula is not None:
            hint = did_you_mean(name, [*rules.fields, *figures])
            known = [_side(rules, n) for n, s in rules.fields.items() if s.formula is None]
            known += [f"`{figure}`" for figure in figures]
            errors.append(
                _("`{id}` has no field `{name}`", id=rules.id, name=name)
                + (
                    f"; {hint}"
                    if hint
                    else _(" (fields: {fields})", fields=", ".join(known))
                    if known
                    else _(" (it takes no figures)")
                )
            )
            continue
        label = _side(rules, name)  # "Số đảng viên dự (attendees)": what the official reads, and the key
        try:
            values[name] = _convert(spec.type, raw)
        except ValueError as exc:
            errors.append(f"{label}: {exc}")
            continue
        value = values[name]
        if isinstance(value, int | float) and not isinstance(value, bool):
            if spec.min is not None and value < spec.min:
                errors.append(
                    _("{name}: {value} is below the minimum {min:g}", name=label, value=value, min=spec.min)
                )
            if spec.max is not None and value > spec.max:
                errors.append(
                    _("{name}: {value} is above the maximum {max:g}", name=label, value=value, max=spec.max)
                )
    for name, spec in rules.fields.items():
        if spec.required and seen.get(name) in (None, ""):
            errors.append(_("{name} is required for «{task}»", name=_side(rules, name), task=rules.title))
    if rules.checks and not errors:
        errors += _failed_checks(rules, values)
    return values, errors


def _titled(rules: TaskRules, written: str) -> str:
    """The field a figure's title names, as the official reads it (`--field "Số đảng viên dự=45"`),
    matched by `title_key`; else the name as written."""
    wanted = title_key(written)
    return next((k for k, s in rules.fields.items() if s.title and title_key(s.title) == wanted), written)


def _failed_checks(rules: TaskRules, values: dict[str, Any]) -> list[str]:
    """The campaign's checks between figures (`attendees <= members`) the values break."""
    computed = with_formulas(rules, values)
    failed = []
    for check in rules.checks:
        holds, left, right = check_holds(check, computed)
        if not holds:
            a, op, b = split_check(check)
            sides = {
                "left_side": _side(rules, a),
                "left": left,
                "right_side": _side(rules, b),
                "right": right,
            }
            failed.append(_BROKEN[op](sides))  # (`split_check` knows these six comparisons)
    return failed


# a broken check in words, by its comparison (the campaign file's `attendees <= members` is ids)
_BROKEN: dict[str, Callable[[dict[str, Any]], str]] = {
    "<=": lambda s: _("{left_side} cannot be more than {right_side}: {left:g} against {right:g}", **s),
    ">=": lambda s: _("{left_side} cannot be less than {right_side}: {left:g} against {right:g}", **s),
    "<": lambda s: _("{left_side} must be less than {right_side}: {left:g} against {right:g}", **s),
    ">": lambda s: _("{left_side} must be more than {right_side}: {left:g} against {right:g}", **s),
    "==": lambda s: _("{left_side} must equal {right_side}: {left:g} against {right:g}", **s),
    "!=": lambda s: _("{left_side} must differ from {right_side}: both are {left:g}", **s),
}


def _side(rules: TaskRules, formula: str) -> str:
    spec = rules.fields.get(formula)
    return f"{spec.title} ({formula})" if spec is not None and spec.title else f"`{formula}`"


# The largest figure a signal may carry: the largest integer every JSON reader (and the store's
# JSON columns) keeps exactly. Beyond it a figure is a typo, not a count.
LARGEST = 2**53 - 1


def _convert(kind: str | None, raw: Any) -> Any:
    if raw is None or raw == "":
        return None
    if kind in ("int", "float") and isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a spreadsheet's number cell: 40.0 is 40
    text = str(raw).strip()
    if kind == "int":
        if not text.isdecimal():  # (digits alone, the usual, need none of these)
            written = text
            text = _NO_FRACTION.sub("", counted[1] if (counted := _COUNTED.fullmatch(text)) else text)
            if _SPACED.fullmatch(text):
                text = re.sub(r"[ \u00a0\u202f]", "", text)
            if _GROUPED.fullmatch(text):
                text = text.replace(".", "")  # 1.234: Vietnamese thousands grouping
            if isinstance(raw, bool) or not _WHOLE.fullmatch(text):
                raise ValueError(_("`{text}` is not a whole number", text=written[:40]))
        if len(text.lstrip("+-")) > len(str(LARGEST)):
            raise ValueError(
                _("`{text}` is too large (at most {largest:,})", text=text[:40], largest=LARGEST)
            )
        return _bounded(int(text), text)
    if kind == "float":
        if "," in text and _GROUPED.fullmatch(text.split(",", 1)[0]):
            text = text.replace(".", "")  # 1.234,5: grouped, with a decimal comma
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise ValueError(_("`{text}` is not a number", text=text[:40])) from None
        if not math.isfinite(number):
            raise ValueError(_("`{text}` is not a number", text=text[:40]))
        return _bounded(number, text)
    if kind == "bool":
        lowered = text.lower()
        if lowered in ("true", "yes", "có", "1", "x"):
            return True
        if lowered in ("false", "no", "không", "0"):
            return False
        raise ValueError(_("`{text}` is not yes/no", text=text))
    if kind == "date":
        try:
            return parse_date(raw).isoformat()
        except ValueError as exc:
            raise ValueError(str(exc)) from None
    return text
