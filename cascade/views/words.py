"""Words shared by whatever shows an instant to an official: pages, notices, documents."""

from __future__ import annotations

import pendulum


def deadline_text(epoch: int, tz: str) -> str:
    """A deadline as the documents write it: "trước 00 giờ ngày 20/11/2020"."""
    t = pendulum.from_timestamp(epoch, tz=tz)
    hour = f"{t.hour:02d} giờ" + (f" {t.minute:02d}" if t.minute else "")
    return f"trước {hour} ngày {t.format('DD/MM/YYYY')}"
