"""A deployed campaign as the store keeps it: its row of `campaigns`, as a typed record; and
its units as an operator names them (`units_named`: by id, or by exact name)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import Connection, Row, bindparam, select

from cascade.engine import bulk, store
from cascade.errors import did_you_mean, listed, several_named
from cascade.i18n import _
from cascade.plan.hierarchy import loosely_named
from cascade.plan.values import loose, unmarked


@dataclass(frozen=True, slots=True)
class Deployed:
    """What the tick, the roll-ups and the signal checks read of a deployed campaign. Instants
    are epoch seconds; `tasks` holds each task's rules as JSON (`cascade.plan.rules.TaskRules`)."""

    id: str
    title: str
    timezone: str
    calendar: str
    issued_at: int
    summary_at: int
    summary_sent_at: int | None
    levels: list[str]
    tasks: dict[str, Any]
    source_file: str
    plan_hash: str
    deployed_at: int
    archived_at: int | None
    rescan: bool
    operator: dict[str, Any] | None
    issued_by: str | None
    ticked_at: int | None
    tick_interval: int | None
    stalled_alert_at: int | None
    document: dict[str, Any] | None  # the summary's heading (None: deployed before it was kept)
    checked_at: int | None = None  # the last tick's instant, idle or not (None: not ticked since 0015)

    @classmethod
    def of(cls, row: Row[Any]) -> Deployed:
        """A row of `select(store.campaigns)` (every tick reads one: positional, checked below)."""
        return cls(*row)


# the record's fields are the table's columns, in the table's order (what `of` relies on)
_COLUMNS = tuple(c.name for c in store.campaigns.columns)
if tuple(f.name for f in fields(Deployed)) != _COLUMNS:
    raise RuntimeError(f"Deployed's fields must be the campaigns table's columns, in order: {_COLUMNS}")


_CAMPAIGN = select(store.campaigns).where(store.campaigns.c.id == bindparam("campaign"))
_CAMPAIGN_FOR_UPDATE = _CAMPAIGN.with_for_update()  # SQLite: no-op; its writers are serialized anyway


def read(conn: Connection, campaign_id: str, for_update: bool = False) -> Deployed | None:
    """The campaign `campaign_id`, or None; `for_update` locks its row (PostgreSQL) until commit."""
    statement = _CAMPAIGN_FOR_UPDATE if for_update else _CAMPAIGN
    row = conn.execute(statement, {"campaign": campaign_id}).first()
    return None if row is None else Deployed.of(row)


def campaign_ids(conn: Connection) -> list[str]:
    """The ids of the campaigns deployed and not stopped, in order."""
    c = store.campaigns.c
    return list(conn.execute(select(c.id).where(c.archived_at.is_(None)).order_by(c.id)).scalars())


def campaigns_named(conn: Connection, written: str) -> list[str]:
    """The campaigns `written` names, stopped ones too: its id, else every campaign whose title
    it is as notices and documents show it (capitals, spacing and the way its marks are coded
    aside); none when it names none."""
    c = store.campaigns.c
    if conn.execute(select(c.id).where(c.id == written)).first():
        return [written]
    wanted = loose(written)
    titles = conn.execute(select(c.id, c.title).order_by(c.id)).all()
    by_title = [cid for cid, title in titles if loose(title) == wanted]
    return by_title or [cid for cid, _title in titles if cid == wanted]  # (an id in capitals)


def campaigns_begun(conn: Connection, written: str) -> list[tuple[str, str]]:
    """The running campaigns whose title begins as `written` does (capitals and spacing aside),
    as (id, title): what an operator who knows a campaign by its title most likely meant."""
    c = store.campaigns.c
    wanted = loose(written)
    titles = conn.execute(select(c.id, c.title).where(c.archived_at.is_(None)).order_by(c.id))
    return [(cid, title) for cid, title in titles if wanted and loose(title).startswith(wanted)]


def running_beside(conn: Connection, title: str, file: str) -> list[tuple[str, bool, bool]]:
    """The running campaigns a new campaign of `title` deployed from `file` would run beside
    unnoticed: those deployed from the same file, or under the same title as a person reads it;
    each as (its id, from the same file, under the same title)."""
    c = store.campaigns.c
    here, wanted = Path(file).resolve(), loose(title)
    found = []
    for cid, their_title, their_file in conn.execute(
        select(c.id, c.title, c.source_file).where(c.archived_at.is_(None)).order_by(c.id)
    ):
        same_file, same_title = Path(their_file).resolve() == here, loose(their_title) == wanted
        if same_file or same_title:
            found.append((cid, same_file, same_title))
    return found


def must_read(conn: Connection, campaign_id: str, for_update: bool = False) -> Deployed:
    """The campaign `campaign_id`; raises LookupError when it is not deployed."""
    found = read(conn, campaign_id, for_update)
    if found is None:
        raise LookupError(f"campaign `{campaign_id}` is not deployed")
    return found


class Named(NamedTuple):
    """A live unit as an operator named it: its id, and its name to show."""

    id: str
    name: str


def decider(conn: Connection, campaign_id: str) -> str:
    """Who an operator's decision is told as coming from when they name nobody (`--by`): the
    campaign's operator, else the body that issued it, else its top unit (never the shell's
    login: the officials' notices read "(root quyết định)")."""
    row = must_read(conn, campaign_id)
    if row.operator and row.operator.get("name"):
        return str(row.operator["name"])
    if row.issued_by:
        return row.issued_by
    top = top_unit(conn, campaign_id, row.levels)
    return top.name if top is not None else campaign_id


def top_unit(conn: Connection, campaign_id: str, levels: list[str]) -> Named | None:
    """The campaign's unit at its first level (`levels`, as stored): who the summary goes to,
    and who hears of the system itself when the campaign names no operator."""
    u = store.units.c
    top = select(u.id, u.name).where(u.campaign_id == campaign_id, u.level == levels[0]).order_by(u.id)
    found = conn.execute(top).first()
    return None if found is None else Named(found.id, found.name)


def unit_names(conn: Connection, campaign_id: str, ids: Iterable[str]) -> dict[str, str]:
    """The names of the units `ids` (those the units file left out too), by id."""
    u = store.units.c
    names: dict[str, str] = {}
    for chunk in bulk.chunked(sorted(set(ids))):
        found = select(u.id, u.name).where(u.campaign_id == campaign_id, u.id.in_(chunk))
        names.update((uid, name) for uid, name in conn.execute(found))
    return names


def units_named(
    conn: Connection, campaign_id: str, named: Iterable[str]
) -> tuple[dict[str, Named], list[str]]:
    """The live unit each of `named` names, by its id or its name (exact, else but for capitals
    and spacing) as a signal names its unit (what was named -> the unit); and what is wrong with
    those that name none, or several."""
    u = store.units.c
    live = (u.campaign_id == campaign_id, ~u.archived)
    wanted = sorted(set(named))
    resolved: dict[str, Named] = {}
    for chunk in bulk.chunked(wanted):  # ids first: what scripts and lists write
        for uid, name in conn.execute(select(u.id, u.name).where(*live, u.id.in_(chunk))):
            resolved[uid] = Named(uid, name)
    called: dict[str, list[str]] = {}  # a name -> the ids so called
    for chunk in bulk.chunked([each for each in wanted if each not in resolved]):
        for uid, name in conn.execute(select(u.id, u.name).where(*live, u.name.in_(chunk))):
            called.setdefault(name, []).append(uid)
    unknown = [each for each in wanted if each not in resolved and each not in called]
    everyone = conn.execute(select(u.id, u.name).where(*live)).all() if unknown else []
    if unknown:  # (rare) a name but for capitals and spacing: the campaign's names, read once
        for each, found in loosely_named(unknown, everyone).items():
            called[each] = [uid for uid, _name in found]
            if len(found) == 1:
                resolved[each] = Named(*found[0])
        unknown = [each for each in unknown if each not in called]
    problems: list[str] = []
    for name, ids in called.items():
        if name in resolved:
            continue
        if len(ids) == 1:
            resolved[name] = Named(ids[0], name)
        else:
            problems.append(several_named(name, ids))
    if len(unknown) == 1:  # the campaign's ids and names, for a hint
        hint = did_you_mean(unknown[0], [text for pair in everyone for text in pair])
        problems.append(
            _("no unit `{unit}` in `{campaign}`", unit=unknown[0], campaign=campaign_id)
            + (_("; {hint}", hint=hint) if hint else "")
        )
    elif unknown:
        problems.append(
            _(
                "no units {units} in {campaign} (each an id or exact name, as in its units file)",
                units=listed(unknown),
                campaign=campaign_id,
            )
        )
    return resolved, problems


def task_named(campaign: Deployed, written: str) -> str | None:
    """The task or report `written` names: its id, or the title of one of them, capitals and
    spacing aside (a district's own sheet writes "Hội nghị toàn thể đảng viên cấp cơ sở"); None."""
    from cascade.plan.rules import campaign_rules

    if written in campaign.tasks:
        return written
    wanted = loose(written)
    ids = [task.id for task in campaign_rules(campaign).values() if loose(task.title) == wanted]
    if not ids and wanted in campaign.tasks:  # its id in capitals
        return wanted
    if not ids and written.isascii():  # a title typed without its marks, as `loosely_named` reads names
        ids = [task.id for task in campaign_rules(campaign).values() if unmarked(loose(task.title)) == wanted]
    return ids[0] if len(ids) == 1 else None


def task_choices(campaign: Deployed, written: str) -> tuple[str | None, str]:
    """For a task `written` names none of, of the campaign's tasks: the one whose title (or id)
    it begins, if one alone, and all of them, each as "`id` («title»)" (an operator knows a task
    by its title)."""
    from cascade.plan.rules import campaign_rules

    titles = {task.id: task.title for task in campaign_rules(campaign).values()}
    wanted = loose(written)
    begun = [
        t
        for t, title in titles.items()
        if wanted and (loose(title).startswith(wanted) or t.startswith(wanted))
    ]
    if len(begun) != 1:  # else an id mistyped (hn-co-sp)
        begun = difflib.get_close_matches(written, list(titles), n=1, cutoff=0.75)
    shown = {t: f"`{t}` («{title}»)" for t, title in sorted(titles.items())}
    return (shown[begun[0]] if begun else None), ", ".join(shown.values())


def unit_ever(conn: Connection, campaign_id: str, named: str) -> tuple[str | None, list[str]]:
    """The unit `named` names in a campaign's history: an id it has had (a unit since removed
    keeps its events), or a live unit's exact name; else None and what is wrong."""
    u = store.units.c
    if conn.execute(select(u.id).where(u.campaign_id == campaign_id, u.id == named)).first():
        return named, []
    found, wrong = units_named(conn, campaign_id, [named])
    return (found[named].id, []) if named in found else (None, wrong)


T = TypeVar("T")


class PerDeploy(Generic[T]):
    """A value kept in the process per campaign for as long as its deploy stands: what only a
    deploy changes (its units, their contacts) is read once, not once per tick. A deploy sets
    `deployed_at` and `plan_hash` (which covers the units file), so a campaign row carrying
    others is another deploy's: the value is made again."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[tuple[int, str], T]] = {}

    def get(self, campaign: Deployed, make: Callable[[], T]) -> T:
        key = (campaign.deployed_at, campaign.plan_hash)
        kept = self._kept.get(campaign.id)
        if kept is None or kept[0] != key:
            kept = self._kept[campaign.id] = (key, make())
        return kept[1]
