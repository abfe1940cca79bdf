"""Formula fields (`attendance_rate: attendees / members`): checked once, compiled once.

A formula is plain arithmetic over a task's figures: names, numbers, + - * / and brackets.
`formula_names` checks one and says what it reads (the format and the compiler's
reference checks use it); `compile_formula` turns it into a function of the figures, called
for every signal and every unit of a roll-up.
"""

from __future__ import annotations

import ast
import functools
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from cascade.i18n import _

_NODES = (
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
_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
Formula = Callable[[Mapping[str, Any]], float | None]


def formula_names(text: str) -> list[str]:
    """The field names a formula reads; raises ValueError if it is not plain arithmetic."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ValueError(_("`{text}` is not a formula", text=text)) from None
    names = []
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise ValueError(_("`{text}` may only use field names, numbers, + - * / and brackets", text=text))
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ValueError(_("`{text}` may only use field names, numbers, + - * / and brackets", text=text))
        if isinstance(node, ast.Name):
            names.append(node.id)
    return names


@functools.lru_cache(maxsize=512)
def compile_formula(formula: str) -> Formula:
    """A formula (the check above allows numbers, names, + - * /, brackets) as a function of
    the figures: None when one is missing or None, or it divides by zero."""

    def build(node: ast.AST) -> Callable[[Mapping[str, Any]], float]:
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            constant = float(node.value)
            return lambda _: constant
        if isinstance(node, ast.Name):
            name = node.id
            return lambda values: float(values[name])
        if isinstance(node, ast.UnaryOp):
            inner = build(node.operand)
            return (lambda values: -inner(values)) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            op, left, right = _BINARY[type(node.op)], build(node.left), build(node.right)
            return lambda values: op(left(values), right(values))
        raise ValueError(f"unexpected {type(node).__name__} in `{formula}`")  # formula_names forbids it

    body = build(ast.parse(formula, mode="eval"))

    def run(values: Mapping[str, Any]) -> float | None:
        try:
            return body(values)
        except (KeyError, TypeError, ZeroDivisionError):  # missing, None, x / 0
            return None

    return run


def evaluate(formula: str, values: Mapping[str, Any]) -> float | None:
    """A formula's value over the given fields; None if a field is missing or it divides by zero."""
    return compile_formula(formula)(values)


# ---- checks between figures (`check: attendees <= members`) ----------------------------------

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
    "==": operator.eq,
    "!=": operator.ne,
}
_SPLIT = re.compile(r"(<=|>=|==|!=|<|>)")


@functools.lru_cache(maxsize=256)
def split_check(text: str) -> tuple[str, str, str]:
    """A check's (left formula, comparison, right formula); raises ValueError if it is not one
    comparison between two formulas ("attendees <= members", "essays + exempt <= attendees")."""
    parts = _SPLIT.split(text)
    if len(parts) != 3 or not parts[0].strip() or not parts[2].strip():
        raise ValueError(_("`{text}` is not one comparison, e.g. attendees <= members", text=text))
    left, op, right = (part.strip() for part in parts)
    formula_names(left)
    formula_names(right)
    return left, op, right


def check_holds(text: str, values: Mapping[str, Any]) -> tuple[bool, float | None, float | None]:
    """Whether the check holds for the figures, with both sides' values; a side that cannot be
    computed (a figure not given) lets it hold."""
    left, op, right = split_check(text)
    a, b = evaluate(left, values), evaluate(right, values)
    if a is None or b is None:
        return True, a, b
    return _COMPARISONS[op](a, b), a, b
