"""The documents' wording, read from `templates/words.j2`: `W[key]` for a fixed word or
heading, `said(macro, ...)` for a sentence with figures in it."""

from __future__ import annotations

from typing import Any

import jinja2

_MODULE: Any = (
    jinja2.Environment(
        loader=jinja2.PackageLoader("cascade.reports", "templates"), undefined=jinja2.StrictUndefined
    )
    .get_template("words.j2")
    .module
)
W: dict[str, str] = dict(_MODULE.words)
COUNT_HEADERS: list[str] = list(_MODULE.count_headers)


def said(sentence: str, *values: Any) -> str:
    """The sentence `sentence` (a macro of words.j2) with `values` in it."""
    return str(getattr(_MODULE, sentence)(*values))
