"""The engine's words, read from its templates (`templates/`): the vocabulary in `words.j2`,
the summary's paragraph in `narrative.txt.j2`. One place for the wording, in Vietnamese."""

from __future__ import annotations

from typing import Any

import jinja2

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("cascade.engine", "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # plain text: the notice and document templates escape where they render
)
_VOCABULARY: Any = TEMPLATES.get_template("words.j2").module

STATE_WORDS: dict[str, str] = dict(_VOCABULARY.states)
LEVEL_WORDS: dict[str, str] = dict(_VOCABULARY.levels)
COUNTER_WORDS: dict[str, str] = dict(_VOCABULARY.counters)


def level_name(level: str) -> str:
    return LEVEL_WORDS.get(level, level)


def counter_label(counter: str, task: str) -> str:
    """A roll-up counter's label: "Số đơn vị đã hoàn thành «Hội nghị cấp xã»"."""
    return str(_VOCABULARY.counter_label(counter, task))


def render(template: str, **context: Any) -> str:
    return TEMPLATES.get_template(template).render(**context)
