"""Column widths for the document's tables, from the width of their words.

A column is never narrower than the longest word of its header, nor than its longest cell (a
number, a state) or the longest word of a text cell; a table whose columns do not fit the page
is split into parts, each repeating its leading columns (the unit's id and name). Widths are
measured with DejaVu Serif, which matplotlib ships and LibreOffice falls back to here: it is
wider than Times New Roman, so a width that fits it fits the office's font too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import ImageFont

HEADER_PT, CELL_PT = 9, 10  # the sizes docx.py writes headers and cells in
PADDING_CM = 0.5  # a cell's left and right margins (0.19 cm each by default) and some air
LEAD_CM = 6.0  # at most, for a leading text column (a unit's or a task's name wraps past it)
COMFORT_CM, HEADER_LINES = 3.0, 4  # a figure's column, up to 3 cm, keeps its header to 4 lines
_SCALE = 100  # fonts loaded at 100 times the size, for a precise measure


@functools.cache
def _font(bold: bool) -> Any:
    import matplotlib

    name = "DejaVuSerif-Bold.ttf" if bold else "DejaVuSerif.ttf"
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    return ImageFont.truetype(str(path), 72 * _SCALE)  # 72 px = 72 pt: lengths in points x SCALE


def text_cm(text: str, points: float, bold: bool = False) -> float:
    """How wide `text` is on one line, in centimetres."""
    return float(_font(bold).getlength(text)) / _SCALE / 72 * points / 72 * 2.54


def longest_word_cm(text: str, points: float, bold: bool = False) -> float:
    return max((text_cm(word, points, bold) for word in text.split()), default=0.0)


@dataclass(frozen=True)
class Part:
    """One table of a split: which columns (the leading ones first) and how wide each is (cm)."""

    columns: list[int]
    widths: list[float]


def layout(headers: list[str], rows: list[list[str]], lead: int, page_cm: float) -> list[Part]:
    """The parts a table is printed in, to fit `page_cm`: its `lead` columns in every part."""
    need, comfort, desire = [], [], []
    for n, header in enumerate(headers):
        cells = [row[n] for row in rows if n < len(row)]
        words = max((longest_word_cm(c, CELL_PT) for c in cells), default=0.0)
        unbroken = max((text_cm(c, CELL_PT) for c in cells if _is_figure(c)), default=0.0)
        least = max(longest_word_cm(header, HEADER_PT, bold=True), words, unbroken) + PADDING_CM
        need.append(least)
        # packed at a comfortable width: a header in at most HEADER_LINES lines, up to COMFORT_CM
        header_lines = text_cm(header, HEADER_PT, bold=True) / HEADER_LINES + PADDING_CM
        comfort.append(max(least, min(COMFORT_CM, header_lines)))
        # and given more, if the page has room, up to one line for its longest cell
        longest = max((text_cm(c, CELL_PT) for c in cells), default=0.0) + PADDING_CM
        desire.append(max(comfort[-1], longest))
    # a unit's name on one line if it can be (rows stay one line high), up to LEAD_CM
    leads = [max(comfort[n], min(LEAD_CM, desire[n])) for n in range(lead)]
    room = page_cm - sum(leads)
    parts: list[list[int]] = []
    for n in range(lead, len(headers)):
        if parts and sum(comfort[c] for c in parts[-1]) + comfort[n] <= room:
            parts[-1].append(n)
        else:
            parts.append([n])
    groups = [[*range(lead), *cols] for cols in parts] or [list(range(lead))]
    start = [*leads, *comfort[lead:]]
    return [
        Part(cols, _fill([start[c] for c in cols], [desire[c] for c in cols], page_cm)) for cols in groups
    ]


def _fill(widths: list[float], desire: list[float], page_cm: float) -> list[float]:
    """Spread what is left of the page over the columns that want more (a name, a task's title
    that would wrap), in proportion to what each lacks; what is still left, over all of them."""
    widths = list(widths)
    spare = page_cm - sum(widths)
    lacking = [max(0.0, d - w) for w, d in zip(widths, desire, strict=True)]
    total = sum(lacking)
    if spare > 0 and total > 0:
        share = min(1.0, spare / total)
        widths = [w + lack * share for w, lack in zip(widths, lacking, strict=True)]
        spare = page_cm - sum(widths)
    if spare > 0.01:
        widths = [w + spare / len(widths) for w in widths]
    return widths


def _is_figure(cell: str) -> bool:
    """A cell that should stay on one line: a number ("1.234", "84,4%") or a short state
    ("quá hạn", "đúng hạn"); longer text wraps between its words."""
    return len(cell) <= 8 or all(c.isdigit() or c in ".,%-" for c in cell)
