"""The summary's heading and signature as a Party document has them (Hướng dẫn 36-HD/VPTW), from
the campaign's `document` block, with the defaults an office would expect where it is silent."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cascade.engine.summary import Summary
from cascade.reports.words import W, said

# the organ words a top unit's name starts with: "Tỉnh ủy Hà Tĩnh" is in Hà Tĩnh
_ORGAN = re.compile(
    r"^(?:Ban Thường vụ |Ban Chấp hành )?(?:Đảng bộ|Tỉnh ủy|Thành ủy|Huyện ủy|Thị ủy|Quận ủy|Đảng ủy)\s+"
    r"(?:tỉnh |thành phố |huyện |thị xã |quận )?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Heading:
    superior: str | None  # above the issuer, top left
    issuer: str  # bold, top left
    number: str  # "Số 125-BC/BTGTU"
    dated: str  # "Hà Tĩnh, ngày 20 tháng 01 năm 2021"
    recipients: list[str]  # "Nơi nhận", one line each, the last one "Lưu ..."
    on_behalf: str | None
    title: str | None
    name: str | None


def heading(s: Summary) -> Heading:
    doc = s.document
    issuer = doc.get("issuer") or s.issued_by or s.root_name
    superior = doc.get("superior")
    written = doc.get("number")
    number = (
        said("number", written)
        if written and not written.startswith("-")
        else W["number_blank"] + (written or "")
    )
    place = doc.get("place") or _ORGAN.sub("", s.root_name).strip() or None
    recipients = list(
        doc.get("recipients") or ([said("to_report", s.root_name)] if issuer != s.root_name else [])
    )
    if not any(line.startswith("Lưu") for line in recipients):
        recipients.append(W["filed"])
    signer = doc.get("signer") or {}
    return Heading(
        superior,
        issuer,
        number,
        said("dated", place, s.at),
        recipients,
        signer.get("on_behalf"),
        signer.get("title"),
        signer.get("name"),
    )
