"""Roll-up formulas: compiled once, they answer as `rules.evaluate` does, on any arithmetic."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cascade.rollup import compile_formula
from cascade.rules import evaluate

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


@given(formulas, values)
def test_a_compiled_formula_agrees_with_evaluate(formula: str, figures: dict[str, object]) -> None:
    assert compile_formula(formula)(figures) == evaluate(formula, figures)
