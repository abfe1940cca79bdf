"""Words shared by whatever shows an instant to a person: pages, notices, documents, tables.

A deadline is stored as the instant from which work is late; people read it as the last day on
which the work still counts, the way the campaign's documents write it: an instant at midnight
01/07/2023 is "hết ngày 30/06/2023", one at 17:30 is "trước 17 giờ 30 ngày 30/06/2023".
"""

from __future__ import annotations

import pendulum

from cascade.timing.deadlines import last_day_of


def deadline_text(epoch: int, tz: str) -> str:
    """A deadline in words: "hết ngày 30/06/2023", or "trước 17 giờ 30 ngày 30/06/2023"."""
    t = pendulum.from_timestamp(epoch, tz=tz)
    if (t.hour, t.minute, t.second) == (0, 0, 0):
        return f"hết ngày {last_day_of(epoch, tz).strftime('%d/%m/%Y')}"
    hour = f"{t.hour:02d} giờ" + (f" {t.minute:02d}" if t.minute else "")
    return f"trước {hour} ngày {t.format('DD/MM/YYYY')}"


def deadline_short(epoch: int, tz: str) -> str:
    """A deadline in a table cell: "30/06/2023" (the last day), or "30/06/2023 trước 17:30"."""
    t = pendulum.from_timestamp(epoch, tz=tz)
    if (t.hour, t.minute, t.second) == (0, 0, 0):
        return last_day_of(epoch, tz).strftime("%d/%m/%Y")
    return f"{t.format('DD/MM/YYYY')} trước {t.format('HH:mm')}"
