"""A units file as rows: CSV (however Excel saved it) or one sheet of an Excel workbook.

One row a unit, or a further contact of the unit above it (its unit columns blank or equal).
Rows may come in any order (a sheet sorted by name lists children before their parents): each
unit is placed after its parent. A unit's `id` may be left out, then it is made from its name
("Đảng ủy xã Thiên Lộc" -> `dang-uy-xa-thien-loc`; `unit_ids`), and `parent` may name the
parent by its id or its exact name. A name that units under other parents share ("Chi bộ ấp 1"
of every commune) makes each one's id with its parent's name, told once as a warning: the id is
the unit's name and place, not a number that would change the day another one is added. Two
different names that make the same id (Tân Thành, Tân Thạnh) are an error naming both rows,
with ids to write for them: ids are what the store keys on.

The levels come from a first comment line, `# levels: province, district, grassroots` (an
optional level ends in `?`), else they are read off the tree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cascade.compile.format import Level, Unit
from cascade.compile.reading import Document
from cascade.compile.sheets import Table, header_key, is_total, rows_of, tables, text
from cascade.compile.unit_ids import Row, give_ids
from cascade.compile.unit_tree import levels_of, parents_first, parents_of
from cascade.compile.validate import all_valid, checked_all
from cascade.errors import CampaignInvalid, Problem, Severity, did_you_mean, one_of
from cascade.i18n import _
from cascade.plan.hierarchy import UnitRecord
from cascade.plan.values import CHANNELS, SLUG, Contact, level_of_word, loose, phone_not_follower, unmarked

ZALO_PHONE = "zalo phone"  # a "Số Zalo" column's key, read as the contact's `phone`
COLUMNS = ("id", "name", "level", "parent", "tags", "role", "contact_name", *CHANNELS)
ALIASES = {
    **{column: column for column in COLUMNS},  # a header in any case: "Email", "ID", "Zalo"
    "e-mail": "email",
    "sđt": "phone",
    "mã": "id",
    "mã đơn vị": "id",
    "tên": "name",
    "tên đơn vị": "name",
    # as a Party office heads its list of party organisations
    **{words: "name" for words in ("tên tổ chức đảng", "tổ chức đảng", "tên tổ chức cơ sở đảng")},
    "đơn vị": "name",
    "cấp": "level",
    "cấp trên": "parent",
    "đơn vị cấp trên": "parent",
    "trực thuộc": "parent",  # "Chi bộ ấp 1 | Trực thuộc: Đảng ủy xã Long Đức", as lists write it
    "thuộc": "parent",
    "đơn vị chủ quản": "parent",
    "nhãn": "tags",
    "vai trò": "role",
    "người liên hệ": "contact_name",
    "người phụ trách": "contact_name",
    "họ và tên": "contact_name",
    "họ tên": "contact_name",
    "thư điện tử": "email",
    "địa chỉ email": "email",
    # the phone a contact's Zalo is on (as offices say it), where ZNS reaches it: `phone`, but
    # before another phone column ("Điện thoại", a landline) when both are filled
    **{words: ZALO_PHONE for words in ("số zalo", "sđt zalo", "số điện thoại zalo", "điện thoại zalo")},
    "điện thoại": "phone",
    "số điện thoại": "phone",
    "di động": "phone",
    **{note: "" for note in ("ghi chú", "chú thích", "note", "notes")},  # for people: passed over
}
ALIASES |= {unmarked(word): key for word, key in ALIASES.items()}  # "Ten don vi", "Cap tren"
# the columns as a Vietnamese sheet heads them, for the hint of a header missing one
_WORDED = ("Tên đơn vị (name)", "Cấp (level)", "Cấp trên (parent)")
_WORDED_MORE = ("Mã (id)", "Nhãn (tags)", "Vai trò (role)", "Người liên hệ (contact_name)", "Email", "Zalo")


@dataclass
class Read:
    """What the rows make: the levels and the unit records (parents first), for the hierarchy."""

    file: str
    levels: list[Level]
    records: list[UnitRecord]
    problems: list[Problem]
    refused: frozenset[str] = frozenset()  # the units whose rows are refused, left out of `records`


def read_text_rows(text_: str, file: str) -> Read:
    """A CSV units file's text."""
    import io

    return _read(iter([rows_of(io.StringIO(text_, newline=""), file)]), file)


def read_file_rows(path: Path, shown: str) -> Read:
    """A CSV units file or an Excel workbook (its units on one sheet)."""
    return _read(tables(path, shown), shown)


def _read(found: Iterator[Table], file: str) -> Read:
    chosen: Table | None = None
    problems: list[Problem] = []
    rows: list[Row] = []
    header: list[str] = []
    passed: list[tuple[Table, list[str]]] = []  # sheets beside the list holding no units (a summary)
    for table in found:
        keys = [header_key(cell, ALIASES) for cell in table.header]
        if table.sheet and "name" not in keys:  # (a units sheet names its units)
            passed.append((table, keys))
            continue
        if chosen is not None:
            where = _(
                "units are read from one sheet: `{first}` and `{second}` both have rows",
                first=chosen.file,
                second=table.file,
            )
            hint = _("keep the units on one sheet; hide the other (right-click its tab: Hide) or delete it")
            raise CampaignInvalid([Problem(file, None, "", where, hint)])
        chosen, header = table, keys
        _check_columns(table, header)
        _check_header(header, table, problems)
        zalo_phone = ZALO_PHONE in header
        too_long = []
        for line, cells in table.rows:
            if len(cells) > len(header) and any(text(c) for c in cells[len(header) :]):
                message = _(
                    "this row has {cells} cells but the header names {names}",
                    cells=len(cells),
                    names=len(header),
                )
                too_long.append(
                    Problem(table.file, line, "", message, _("quote cells that contain the separator"))
                )
                continue
            if table.composed:  # a CSV's: text, composed as it was read
                row = Row(line, {h: c.strip() for h, c in zip(header, cells, strict=False) if h})
            else:
                row = Row(line, {h: _cell(c) for h, c in zip(header, cells, strict=False) if h})
            if zalo_phone:
                _zalo_number(row.values)
            if not is_total(row.values.get("name")):  # ("Tổng cộng: 7 đơn vị", under the list)
                rows.append(row)
        if too_long:
            raise CampaignInvalid(too_long)
    if chosen is None and passed:  # no sheet has the columns: what the first one lacks
        _check_columns(*passed[0])
    if chosen is None:
        hint = _("the first row names the columns: {columns}", columns=",".join(COLUMNS))
        raise CampaignInvalid([Problem(file, None, "", _("the file has no header row"), hint)])
    for table, _keys in passed:
        said = _("no Tên đơn vị (name) column: not the list of units, passed over")
        problems.append(Problem(table.file, table.header_line, "header", said, severity=Severity.WARNING))
    if "parent" not in header:
        _parents_by_order(chosen, rows, problems)
    return _units(chosen, header, rows, problems)


# the levels top-down, for a sheet whose order says the tree (communes and grassroots units are
# one depth: a campaign has the one or the other)
_RANKS = {"central": 0, "province": 1, "district": 2, "commune": 3, "grassroots": 3, "cell": 4}


def _parents_by_order(table: Table, rows: list[Row], problems: list[Problem]) -> None:
    """A sheet with no parent column ("Danh sách các chi bộ trực thuộc", the commune at the top and
    its cells below it) lists its units under their parents: each unit's parent is the unit last
    listed above it at a higher level. Said once, as a warning; where a level is not one of the
    words (`Cấp`: Tỉnh, Xã, Chi bộ …), the order tells nothing, and the column is missing."""
    above: dict[int, Row] = {}  # a rank -> the unit last listed at it
    last = ""
    header = rows[0].line - 1 if rows else 1  # (below a title, the header is not line 1)
    for row in rows:
        values = row.values
        if not (name := values.get("name", "")) or name == last:
            continue  # a further contact of the unit above (`give_ids` gives it the unit's id)
        last = name
        rank = _RANKS.get(level_of_word(values.get("level", "")))
        if rank is None:
            message = _("missing column(s) {missing}", missing=one_of(["parent"]))
            hint = _(
                "add a column Cấp trên (parent) naming each unit's parent; without one, each unit is "
                "placed under the unit above it one level up, which needs every row's level written as "
                "Tỉnh, Huyện, Xã, Chi bộ …: line {line} writes `{level}`",
                line=row.line,
                level=values.get("level", ""),
            )
            raise CampaignInvalid([Problem(table.file, header, "header", message, hint)])
        higher = [r for r in above if r < rank]
        if higher:
            parent = above[max(higher)].values
            values["parent"] = parent.get("id") or parent.get("name", "")
        for r in [r for r in above if r >= rank]:
            del above[r]
        above[rank] = row
    message = _(
        "no Cấp trên (parent) column: each unit is placed under the unit listed last above it at a "
        "higher level"
    )
    hint = _("add a column Cấp trên naming each unit's parent if the rows are in another order")
    problems.append(Problem(table.file, header, "header", message, hint, Severity.WARNING))


def _cell(value: Any) -> str:
    if type(value) is str:
        return value.strip() if value.isascii() else text(value)
    if isinstance(value, float) and value.is_integer():
        if abs(value) >= 1e15:  # Excel kept 15 digits of it: shown as Excel shows it, and refused
            return f"{value:.15G}"  # as a contact's address ("2.46845883529611E+18")
        value = int(value)  # a number cell: 84912000001.0 is 84912000001
    return text(value)


def _columns_hint() -> str:
    return _(
        "the first row names the columns: {needed}, then any of {more}, Số điện thoại (phone)",
        needed=", ".join(_WORDED),
        more=", ".join(_WORDED_MORE),
    )


def _check_columns(table: Table, header: list[str]) -> None:
    """Refuses a header missing a column the units need, naming the headers not understood."""
    by_order = "parent" not in header and "name" in header and "level" in header
    if missing := [c for c in ("name", "level", "parent") if c not in header and not by_order]:
        message = _("missing column(s) {missing}", missing=one_of(missing))
        unknown: list[Problem] = []  # the headers not understood: likely the columns missing
        _check_header(header, table, unknown)
        problem = Problem(table.file, table.header_line, "header", message, _columns_hint())
        raise CampaignInvalid([problem, *unknown])


def _check_header(header: list[str], table: Table, problems: list[Problem]) -> None:
    for column in header:
        if column and column not in COLUMNS and column != ZALO_PHONE:
            problems.append(
                Problem(
                    table.file,
                    table.header_line,
                    "header",
                    _("unknown column `{column}`", column=column),
                    did_you_mean(column, COLUMNS) or _columns_hint(),
                )
            )


def _units(table: Table, header: list[str], rows: list[Row], problems: list[Problem]) -> Read:
    file = table.file
    give_ids(rows, file, problems)
    # the written order is the fallback order; a "Số Zalo" column's number is a phone (or an id)
    written = (c for h in header for c in (("phone", "zalo") if h == ZALO_PHONE else (h,)))
    channels = list(dict.fromkeys(c for c in written if c in CHANNELS))
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        if uid := row.values.get("id"):
            grouped.setdefault(uid, []).append(row)
    _levels_directly_under(grouped)
    records = _records(grouped, channels, file, problems)
    written_of = {record.id: grouped[record.id][0].values.get("parent", "") for record in records}
    parents = parents_of(records, written_of, file, problems)
    ordered = parents_first(records, parents, file, problems)
    levels = levels_of(table.comments, ordered, parents, file, problems)
    for record in ordered:
        record.parent = parents[record.id]
    return Read(file, levels, ordered, problems, frozenset(grouped) - {r.id for r in records})


# kinds of unit written where a level goes, each at the level of its parent's other units: the
# grassroots cells and committees directly under a district ("Chi bộ cơ sở" of a school, beside
# its communes) or under a committee of agencies
_GRASSROOTS_KINDS = frozenset({"chi bộ cơ sở", "đảng bộ cơ sở", "tổ chức cơ sở đảng"})
_GRASSROOTS_KINDS |= {unmarked(kind) for kind in _GRASSROOTS_KINDS}


@functools.lru_cache(maxsize=256)
def directly_under(level: str) -> bool:
    """Whether a level cell names a kind of unit rather than a level: one directly under its
    parent ("Đảng ủy trực thuộc", as a province lists the party committees of its agencies; a
    "Chi bộ cơ sở"), typed with its marks or without them."""
    said = loose(level)
    return "trực thuộc" in said or "truc thuoc" in said or said in _GRASSROOTS_KINDS


def _levels_directly_under(grouped: dict[str, list[Row]]) -> None:
    """A unit whose level is written as `directly_under` takes the level that its parent's other
    units have, if they all have one (under a Tỉnh ủy of communes: Xã; of districts: Huyện);
    else its level stays as written, and is refused with the hint to write one."""
    under = [rows[0].values for rows in grouped.values() if directly_under(rows[0].values.get("level", ""))]
    if not under:
        return
    named: dict[str, list[str]] = {}
    for uid, rows in grouped.items():
        named.setdefault(rows[0].values.get("name", ""), []).append(uid)

    def parent(values: dict[str, str]) -> str | None:  # as `unit_tree.parents_of` reads it
        written = values.get("parent", "")
        if written in grouped:
            return written
        return ids[0] if len(ids := named.get(written, [])) == 1 else None

    levels: dict[str, set[str]] = {}  # a unit -> the levels of its children
    for rows in grouped.values():
        values = rows[0].values
        level = values.get("level", "")
        if level and not directly_under(level) and (above := parent(values)) is not None:
            levels.setdefault(above, set()).add(level_of_word(level))
    for values in under:
        if (above := parent(values)) is not None and len(found := levels.get(above, ())) == 1:
            values["level"] = next(iter(found))


def _records(
    grouped: dict[str, list[Row]], channels: list[str], file: str, problems: list[Problem]
) -> list[UnitRecord]:
    """A record a unit, in the file's order, checked as the units file's model (`format.Unit`)
    checks a unit: its id and level are ids, its contacts `Contact`s. The contacts are checked
    by the model in one call for all of them (66,844 units, one by one through `Unit`, were a
    quarter of validating a national campaign); a file with any error is checked unit by unit
    through `Unit`, so that its problems read as the model says them and the valid units stay."""
    records: list[UnitRecord] = []
    written: list[list[tuple[int, dict[str, object]]]] = []  # a unit's contacts, with their lines
    for uid, unit_rows in grouped.items():
        first = unit_rows[0]
        values = first.values
        if len(unit_rows) == 1:  # the usual: a unit and its one contact on one row
            contact = _contact(values, channels)
            written.append([] if contact is None else [(first.line, contact)])
        else:
            _check_repeats(uid, unit_rows, file, problems)
            contacts = ((row.line, _contact(row.values, channels)) for row in unit_rows)
            written.append([(line, c) for line, c in contacts if c is not None])
        tags = tuple(_split_tags(written_tags)) if (written_tags := values.get("tags")) else ()
        name, level = values.get("name", ""), values.get("level", "")
        level = level_of_word(level)
        records.append(UnitRecord(uid, name, level, -1, None, tags, (), first.line))
    ids_valid = all(_ID(r.id) and _ID(r.level) for r in records)
    checked = all_valid(Contact, [c for each in written for _line, c in each]) if ids_valid else None
    if checked is None:
        return _records_by_model(records, written, file, problems)
    at = 0
    for record, each in zip(records, written, strict=True):
        record.contacts = tuple(checked[at : at + len(each)])
        at += len(each)
    return records


_ID = SLUG.fullmatch  # what `Slug` checks (pydantic's own pattern, anchored at both ends)


def _records_by_model(
    records: list[UnitRecord],
    written: list[list[tuple[int, dict[str, object]]]],
    file: str,
    problems: list[Problem],
) -> list[UnitRecord]:
    """The records that `format.Unit` accepts, and a problem for each thing wrong with the others."""
    doc = Document(file, None)
    raw: list[dict[str, object]] = []
    for i, (record, each) in enumerate(zip(records, written, strict=True)):
        doc.lines[(i,)] = record.line or 0
        doc.lines.update({(i, "contacts", n): line for n, (line, _c) in enumerate(each)})
        raw.append(
            {
                "id": record.id,
                "name": record.name,
                "level": record.level,
                "tags": list(record.tags),
                "contacts": [c for _line, c in each],
            }
        )
    before = len(problems)
    units = {u.id: u for u in checked_all(Unit, raw, doc, (), problems)}
    for n in range(before, len(problems)):
        problem = problems[n]
        if problem.key.endswith("].level"):  # (the model's hint names the words a sheet may use)
            level = records[int(problem.key[1 : problem.key.index("]")])].level
            if directly_under(level):
                problem = replace(problem, hint=_under_hint())
        index = re.match(r"\[(\d+)\]", problem.key)
        if index is not None and _ID(uid := records[int(index[1])].id):  # a row's unit by its id
            problem = replace(problem, key=uid + problem.key[index.end() :])
        problems[n] = problem
    kept = []
    for record in records:
        if (u := units.get(record.id)) is not None:
            record.contacts = tuple(u.contacts)
        elif not (_ID(record.id) and _ID(record.level)):
            continue
        # else its contacts are wrong, and said so: it stays in the tree, so that its children
        # and the levels are not reported wrong as well
        kept.append(record)
    return kept


def _under_hint() -> str:
    return _(
        "a unit directly under its parent sits at the level of its parent's other units: write that "
        "level (e.g. Xã under a Tỉnh ủy of communes and wards); its parent's units have none, or several"
    )


def _contact(values: dict[str, str], channels: list[str]) -> dict[str, object] | None:
    contact = {c: values[c] for c in channels if values.get(c)}
    if not contact and not values.get("role"):
        return None
    role = values.get("role") or "head"  # a unit's one contact, with no role written: its office
    out: dict[str, object] = {"role": role, **contact, "channels": tuple(contact)}
    if values.get("contact_name"):
        out["name"] = values["contact_name"]
    return out


def _zalo_number(values: dict[str, str]) -> None:
    """A "Số Zalo" cell in its place: the phone the contact's Zalo is on, its `phone` (before
    another phone column's, a landline's), or digits a follower id's, its `zalo`."""
    if written := values.pop(ZALO_PHONE, ""):
        values["phone" if phone_not_follower(written) else "zalo"] = written


def _split_tags(text_: str) -> list[str]:
    return [t for t in text_.replace(";", " ").replace("|", " ").replace(",", " ").split() if t]


def _check_repeats(uid: str, rows: list[Row], file: str, problems: list[Problem]) -> None:
    """Rows after a unit's first add contacts; their unit columns must be blank or equal."""
    first = rows[0].values
    for row in rows[1:]:
        for column in ("name", "level", "parent", "tags"):
            value = row.values.get(column, "")
            if value and value != first.get(column, ""):
                problems.append(
                    Problem(
                        file,
                        row.line,
                        f"{uid}.{column}",
                        _(
                            "`{value}` differs from `{first}` on line {line}",
                            value=value,
                            first=first.get(column, ""),
                            line=rows[0].line,
                        ),
                        _("rows after a unit's first only add contacts; leave these columns blank"),
                    )
                )
