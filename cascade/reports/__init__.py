"""The campaign summary as documents: Markdown, xlsx (one sheet per level) and docx (laid
out like an office report), with the completion chart as an image. Everything here reads
a `cascade.engine.summary.Summary`; nothing writes to the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


@contextmanager
def whole(out: Path) -> Iterator[Path]:
    """A path to write `out` to, renamed over `out` once written: a full disk or a failure on
    the way leaves the earlier file as it was, and nothing half-written beside it."""
    part = out.with_name(f".{out.name}.part")
    try:
        yield part
        part.replace(out)
    finally:
        with suppress(OSError):  # never made (its folder missing, or a file), or renamed
            part.unlink()
