"""The campaign summary as documents: Markdown, xlsx (one sheet per level) and docx (laid
out like an office report), with the completion chart as an image. Everything here reads
a `cascade.engine.summary.Summary`; nothing writes to the store.
"""

from __future__ import annotations

from pathlib import Path

from cascade.engine.summary import Summary

FORMATS = ("md", "xlsx", "docx")


def write(summary: Summary, fmt: str, out: Path) -> list[Path]:
    """Write the summary as `fmt` to `out`; the files written (a chart image beside md)."""
    if fmt == "md":
        from cascade.reports.markdown import write_markdown

        return write_markdown(summary, out)
    if fmt == "xlsx":
        from cascade.reports.xlsx import write_xlsx

        return [write_xlsx(summary, out)]
    if fmt == "docx":
        from cascade.reports.docx import write_docx

        return [write_docx(summary, out)]
    raise ValueError(f"unknown format `{fmt}`: one of {', '.join(FORMATS)}")
