"""The engine's words, read from its templates (`templates/`): the vocabulary in `words.j2`,
the summary's paragraph in `narrative.txt.j2`. One place for the wording, in Vietnamese.

A deadline is stored as the instant from which work is late; people read it as the last day on
which the work still counts, the way the campaign's documents write it: an instant at midnight
01/07/2023 is "hết ngày 30/06/2023", one at 17:30 is "trước 17 giờ 30 ngày 30/06/2023"."""

from __future__ import annotations

from typing import Any

import jinja2

from cascade.plan.values import Target, level_of_word, loose
from cascade.timing.deadlines import last_moment

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


def level_named(written: str, levels: list[str]) -> str | None:
    """The one of `levels` that `written` names: its id, a word people write for it (`Huyện`,
    `Chi bộ`), or its name as the tables show it (`cấp xã`), capitals and spacing aside; None."""
    if written in levels:
        return written
    if (word := level_of_word(written)) in levels:
        return word
    shown = {loose(level_name(level)): level for level in levels}
    # "xã" for "cấp xã": a word a campaign's own levels make one (not in LEVEL_WORDS, where a
    # commune is a grassroots unit in one campaign and a level of its own in another)
    return shown.get(loose(written)) or shown.get(loose(f"cấp {written}"))


def level_choices(levels: list[str]) -> list[str]:
    """Each level as the tables show it, with its id: "cấp xã (commune)"."""
    return [level if level_name(level) == level else f"{level_name(level)} ({level})" for level in levels]


def counter_label(counter: str, task: str) -> str:
    """A roll-up counter's label: "Số đơn vị đã hoàn thành «Hội nghị cấp xã»"."""
    return str(_VOCABULARY.counter_label(counter, task))


def deadline_text(epoch: int, tz: str) -> str:
    """A deadline in words: "hết ngày 30/06/2023", or "trước 17 giờ 30 ngày 30/06/2023"."""
    day, hour = last_moment(epoch, tz)
    if hour is None:
        return f"hết ngày {day.strftime('%d/%m/%Y')}"
    said = f"{hour.hour:02d} giờ" + (f" {hour.minute:02d}" if hour.minute else "")
    return f"trước {said} ngày {day.strftime('%d/%m/%Y')}"


def deadline_short(epoch: int, tz: str) -> str:
    """A deadline in a table cell: "30/06/2023" (the last day), or "30/06/2023 trước 17:30"."""
    day, hour = last_moment(epoch, tz)
    return day.strftime("%d/%m/%Y") + ("" if hour is None else f" trước {hour.strftime('%H:%M')}")


def number_text(value: float) -> str:
    """1234567 -> 1.234.567, 0.75 -> 0,75: Vietnamese grouping and decimal comma."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{int(value):,}".replace(",", ".")


def percent_text(share: float) -> str:
    """0.77 -> 77%, 0.8444 -> 84,4%."""
    return f"{share * 100:.1f}".removesuffix(".0").replace(".", ",") + "%"


def target_text(target: str | Target) -> str:
    """A target as people read it: ">= 85%" -> "85%", "<= 0.05" -> "không quá 0,05"."""
    t = Target.parse(target)
    shown = percent_text(t.value) if t.percent else number_text(t.value)
    return f"{_VOCABULARY.target_ops[t.op]}{shown}"


def measured_text(value: float, target: str | Target) -> str:
    """A figure in the target's unit: 0.77 against ">= 85%" is "77%"."""
    return percent_text(value) if Target.parse(target).percent else number_text(value)


def below_target(figure: str, value: float, target: str | Target) -> str:
    """ "Tỷ lệ đảng viên tham dự 77%, chưa đạt chỉ tiêu 85%"."""
    return str(_VOCABULARY.below_target(figure, measured_text(value, target), target_text(target)))


def event_text(
    kind: str,
    stage: int | None = None,
    late: bool = False,
    withdrawn: bool = False,
    lifted: bool = False,
    unextended: bool = False,
) -> str:
    """An event of the log in words: "Đôn đốc lần 2", "Hoàn thành (muộn)"; a `task.amended` that
    took a completion back (`cascade withdraw`) is "Rút lại hoàn thành", one that lifted an
    exemption (`cascade exempt --lift`) "Thôi miễn thực hiện", one that took an extension back
    (`cascade extend --lift`) "Thôi gia hạn"."""
    amended = kind == "task.amended"
    shown = kind
    if amended and (withdrawn or lifted or unextended):
        shown = "task.withdrawn" if withdrawn else "task.lifted" if lifted else "task.unextended"
    return str(_VOCABULARY.event_text(shown, stage, late))


def render(template: str, **context: Any) -> str:
    return TEMPLATES.get_template(template).render(**context)
