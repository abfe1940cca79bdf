"""The summary as Markdown, the chart beside it as a PNG file. Unit-by-unit tables stop at `ROWS`
rows, as the docx's do, and say how many they show (the xlsx has them all)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from cascade.engine.summary import Summary
from cascade.engine.words import number_text as thousands
from cascade.reports import tables, whole
from cascade.reports.charts import completion_png
from cascade.reports.tables import ROWS, Table
from cascade.reports.words import W, said


def write_markdown(summary: Summary, out: Path) -> list[Path]:
    chart = out.with_name(out.stem + "-chart.png")
    with whole(out) as text, whole(chart) as image:  # both made before either replaces its file
        image.write_bytes(completion_png(summary))
        text.write_text(markdown(summary, chart.name), encoding="utf-8")
    return [out, chart]


def markdown(s: Summary, chart: str | None = None) -> str:
    title, asof = tables.heading(s)
    lines = [f"# {escape(title)}", ""]
    if s.issued_by:
        lines.append(f"**{escape(s.issued_by)}** · {escape(s.root_name)}  ")
    lines += [escape(asof), "", f"## I. {W['overview']}", "", escape(s.narrative), ""]
    if chart:
        lines += [f"![{W['chart']}]({chart})", ""]
    for table in tables.totals(s):
        lines += _table(table)
    lines += [f"## II. {W['by_level']}", ""]
    for level in s.levels:
        if not s.units_at(level):
            continue
        lines += [f"### {s.level_name(level).capitalize()}", ""]
        lines += _table(tables.level_counts(s, level), 4)
        for table in tables.level_figures(s, level):
            lines += _table(table, 4)
        lines += _table(tables.unit_table(s, level, ROWS), 4, len(s.units_at(level)))
    lines += [f"## III. {W['missed']}", ""]
    lines += _table(tables.misses(s), total=len(s.misses)) if s.misses else [tables.all_met(s), ""]
    lines += [f"## IV. {W['owed']}", ""]
    lines += _table(tables.owed(s, ROWS), total=len(s.owed)) if s.owed else [W["nothing_owed"], ""]
    if s.corrections:
        lines += [f"## V. {W['corrected']}", ""]
        lines += _table(tables.corrections(s), total=len(s.corrections))
    return "\n".join(lines)


def _table(table: Table, depth: int = 3, total: int | None = None) -> list[str]:
    """The table, its first `ROWS` rows, and then, when `total` rows were more, how many it shows."""
    rows = table.rows[:ROWS]
    out = [f"{'#' * depth} {escape(table.title)}", ""]
    out.append("| " + " | ".join(_cell(h) for h in table.headers) + " |")
    out.append("|" + "|".join(" --- " for _ in table.headers) + "|")
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    if total is not None and total > len(rows):
        out += ["", f"*{escape(said('rows_shown', thousands(len(rows)), thousands(total)))}*"]
    return [*out, ""]


def _cell(value: Any) -> str:
    return escape(tables.text(value)).replace("|", "\\|").replace("\n", " ")


_MARKUP = re.compile(r"([\\`*_\[\]#!])")


def escape(text: str) -> str:
    """Names and titles as text, not markup: no HTML (a `<script>` in a unit's name), no
    Markdown links, images or emphasis."""
    return _MARKUP.sub(r"\\\1", html.escape(text, quote=False))
