"""Completion by level over time, as a PNG (matplotlib, no display needed)."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt
from matplotlib.dates import DateFormatter
from matplotlib.ticker import PercentFormatter

from cascade.engine.summary import Summary
from cascade.reports.words import W


def completion_png(summary: Summary, dpi: int = 110) -> bytes:
    """One line per level: the share of its task instances done (on time or late) by each day."""
    figure, axes = plt.subplots(figsize=(7.0, 3.4), dpi=dpi)
    try:
        for level in summary.levels:
            series = summary.timeline.get(level)
            if not series:
                continue
            days: Any = [d for d, _ in series]  # matplotlib plots dates; its stubs say floats
            shares = [share for _, share in series]
            label = summary.level_name(level)
            axes.plot(days, shares, marker="o", markersize=2.5, linewidth=1.6, label=label)
        deadline: Any = summary.summary_date.date()
        axes.axvline(deadline, color="grey", linestyle="--", linewidth=0.8)
        axes.set_ylim(0, 1.02)
        axes.yaxis.set_major_formatter(PercentFormatter(1.0))
        axes.xaxis.set_major_formatter(DateFormatter("%d/%m/%Y"))  # type: ignore[no-untyped-call]
        axes.set_title(W["chart"], fontsize=11)
        axes.set_ylabel(W["chart_axis"])
        axes.grid(alpha=0.3)
        axes.legend(loc="upper left", fontsize=8)
        figure.autofmt_xdate()
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
