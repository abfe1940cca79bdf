"""Formulas (`rules.compile_formula`, which `rules.evaluate` and the roll-ups use) answer
as Python's own float arithmetic does on the same expression, and None when a figure is
missing or None or a division is by zero."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cascade.plan.formulas import compile_formula, evaluate

NAMES = ("a", "b", "c")
leaves = st.one_of(st.sampled_from(NAMES), st.integers(0, 100).map(str))
formulas = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from("+-*/"), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda f: f"-{f}"),
    ),
    max_leaves=8,
)
values = st.fixed_dictionaries(
    {}, optional={name: st.one_of(st.none(), st.integers(-50, 50), st.floats(-1e6, 1e6)) for name in NAMES}
)


def reference(formula: str, figures: dict[str, Any]) -> float | None:
    """The same expression in Python, every number a float (as the compiled formula reads them)."""
    used = set(re.findall(r"[a-z]", formula))
    if any(figures.get(name) is None for name in used):
        return None
    floats = {name: float(value) for name, value in figures.items() if value is not None}
    try:
        result: float = eval(re.sub(r"\d+", r"\g<0>.0", formula), {"__builtins__": {}}, floats)
    except ZeroDivisionError:
        return None
    return result


@given(formulas, values)
def test_a_compiled_formula_answers_as_python_does(formula: str, figures: dict[str, Any]) -> None:
    assert compile_formula(formula)(figures) == reference(formula, figures)
    assert evaluate(formula, figures) == reference(formula, figures)
