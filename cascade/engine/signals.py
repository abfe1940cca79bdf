"""Signals: the news that an instance is done, checked before anything is written.

A signal names a campaign, a unit and a task (or report), an instant and figures. It is
refused, with a message naming what is wrong, when the unit or task is unknown, the
unit has no such instance, a field is unknown, missing, of the wrong type or out of
range. The same signal twice is stored once. An import is all or nothing: every bad row
is listed and no row is stored. Signals are applied to instances by the next tick.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import pendulum
from sqlalchemy import Connection, Engine, func, select

from cascade.engine import bulk, deployed, store
from cascade.engine import lookups as batch_reads
from cascade.engine.deployed import Deployed
from cascade.engine.early import Early, early
from cascade.engine.figures import check_fields
from cascade.engine.lookups import Lookups, read_lookups
from cascade.engine.repeats import Finished, Unchanged, done_before, last_signal_id, unchanged_of
from cascade.engine.rollup import figure_names, figure_type, figures_of
from cascade.errors import CampaignInvalid, Problem, Suggestions, several_named
from cascade.i18n import _, speaking
from cascade.plan.rules import campaign_rules


class SignalRefused(CampaignInvalid):
    """The signal (or import) is wrong; nothing was stored."""


@dataclass
class Signal:
    unit: str
    task: str
    at: pendulum.DateTime
    fields: dict[str, Any] = field(default_factory=dict)
    line: int | None = None
    note: str | None = None  # how it was learnt: "báo qua điện thoại", "Công văn 45-CV/HU"


def digest(task: str, unit: str, at: int, fields: dict[str, Any]) -> str:
    key = orjson.dumps([task, unit, at, fields], option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(key).hexdigest()


class Recorded(tuple[int, int]):
    """What recording a batch did: (stored, already known), as a pair; and, when its caller asked
    (`Batch.tell`), what of the signals it stored the caller is told, read in the transaction that
    stored them (a tick committing in between would apply them, and a read after the commit
    would no longer see them waiting): `unchanged`, those for an instance an earlier signal had
    finished (the first signal counts), `early`, those dated before their work opened, and
    `rows`, the signals stored, as stored (unit and task by id, figures as read)."""

    unchanged: tuple[Unchanged, ...]
    early: tuple[Early, ...]
    rows: tuple[dict[str, Any], ...] = ()

    def __new__(
        cls, stored: int, known: int, unchanged: Iterable[Unchanged] = (), early: Iterable[Early] = ()
    ) -> Recorded:
        made = super().__new__(cls, (stored, known))
        made.unchanged, made.early = tuple(unchanged), tuple(early)
        return made


ANALYZED_FROM = 10_000  # signals stored at once, from which PostgreSQL reads them anew (`told`)


def told(
    conn: Connection,
    campaign_id: str,
    after_id: int,
    now: pendulum.DateTime,
    source: str,
    counts: tuple[int, int],
    finished: Sequence[Finished],
    early_too: bool = True,
) -> Recorded:
    """`counts` (stored, known), with what to tell of the signals `source` just stored at `now`
    after signal `after_id` (one caller's), read in the transaction that stores them; `finished`,
    those whose instance was done when they were checked (`repeats.done_before`)."""
    stored, known = counts
    if not stored:
        return Recorded(stored, known)
    if stored >= ANALYZED_FROM and conn.dialect.name == "postgresql":  # statistics with the new rows
        conn.exec_driver_sql("ANALYZE signals")  # (a nation's first import: minutes without)
    ahead = early(conn, campaign_id, after_id, int(now.timestamp()), source) if early_too else ()
    return Recorded(stored, known, unchanged_of(conn, campaign_id, finished), ahead)


def record(
    engine: Engine,
    campaign_id: str,
    batch: list[Signal],
    source: str,
    now: pendulum.DateTime,
    file: str = "signal",
    allow_future: bool = False,
    tell: bool = False,
    said_back: bool = False,
) -> Recorded:
    """Check every signal, then store all of them or none; returns (stored, already known), and
    what to tell of them when `tell` (see `Recorded`; with `said_back` too, the rows stored: one
    signal typed, not a simulation's 219,327). A signal dated before the campaign's issue
    is refused, and one more than a day after `now` unless `allow_future` (a simulation feeds its
    whole signals file at the start)."""
    request = Batch(campaign_id, batch, source, now, file, allow_future, tell=tell, said_back=said_back)
    [answer] = record_many(engine, [request])
    if isinstance(answer, SignalRefused):
        raise answer
    return answer


@dataclass
class Batch:
    """One caller's batch for `record_many`: stored all together or refused all together."""

    campaign_id: str
    batch: list[Signal]
    source: str
    now: pendulum.DateTime
    file: str = "signal"
    allow_future: bool = False  # signals dated more than a day after `now` (a simulation's)
    lang: str | None = None  # the language its problems are told in (None: the operator's)
    tell: bool = False  # read what its stored signals should tell (`Recorded.unchanged`, `.early`)
    tell_early: bool = True  # (with `tell`; a web form shows only what changes nothing)
    said_back: bool = False  # (with `tell`) keep the rows stored, to say them back (`Recorded.rows`)


def record_many(engine: Engine, requests: list[Batch]) -> list[Recorded | SignalRefused]:
    """Several callers' batches in one transaction (a web server's concurrent posts: one
    commit for all). Each is checked on its own, as `record` checks one, and stored whole
    or refused whole; the answers come in the requests' order: (stored, already known) or
    the refusal. Two requests carrying the same signal store it once (the first counts it)."""
    answers: list[Recorded | SignalRefused] = []
    accepted: list[tuple[int, list[dict[str, Any]]]] = []
    with engine.begin() as conn:
        campaigns: dict[str, Deployed | None] = {}
        lookups: dict[str, Lookups] = {}  # per campaign: every request's units in one read
        for request in requests:
            if request.campaign_id not in campaigns:
                campaigns[request.campaign_id] = deployed.read(conn, request.campaign_id)
        requests = [  # a task named by its title, by its id from here on
            replace(r, batch=by_task_id(c, r.batch)) if (c := campaigns[r.campaign_id]) else r
            for r in requests
        ]
        for campaign_id, campaign in campaigns.items():
            if campaign is not None:
                batches = [r.batch for r in requests if r.campaign_id == campaign_id]
                named, tasks = {s.unit for b in batches for s in b}, {s.task for b in batches for s in b}
                lookups[campaign_id] = read_lookups(conn, campaign_id, named, tasks)
        for n, request in enumerate(requests):
            campaign = campaigns[request.campaign_id]
            if campaign is None:
                answers.append(SignalRefused([no_campaign(request.file, request.campaign_id)]))
                continue
            with speaking(request.lang) if request.lang else nullcontext():
                rows, problems = checked_rows(
                    conn,
                    campaign,
                    request.batch,
                    request.file,
                    lookups[campaign.id],
                    int(request.now.timestamp()),
                    request.source,
                    request.allow_future,
                )
            if problems:
                answers.append(SignalRefused(problems))
                continue
            accepted.append((n, rows))
            answers.append(Recorded(0, 0))  # filled in below
        known = _known(conn, [row for _request, rows in accepted for row in rows])
        for n, rows in accepted:  # each request's signals stored apart, to be told apart by id
            fresh = [row for row in {r["digest"]: r for r in rows}.values() if row["digest"] not in known]
            known.update(row["digest"] for row in fresh)
            r, counts = requests[n], (len(fresh), len(rows) - len(fresh))
            before = last_signal_id(conn) if r.tell else 0
            bulk.insert_many(conn, store.signals, fresh)
            if r.tell:
                finished = done_before(fresh, lookups[r.campaign_id])
                answer = told(conn, r.campaign_id, before, r.now, r.source, counts, finished, r.tell_early)
                answer.rows = tuple(fresh) if r.said_back else ()
                answers[n] = answer
            else:
                answers[n] = Recorded(*counts)
    return answers


def no_campaign(file: str, campaign_id: str) -> Problem:
    return Problem(
        file,
        None,
        "campaign",
        _("no deployed campaign `{campaign}`", campaign=campaign_id),
        _("deploy it first: cascade deploy FILE"),
    )


def by_task_id(campaign: Deployed, batch: list[Signal]) -> list[Signal]:
    """The batch with a task named by its title (a district's own sheet) named by its id
    (`deployed.task_named`); any other name left as written, for the checks to refuse."""
    if all(signal.task in campaign.tasks for signal in batch):  # (by id: the rules left unparsed)
        return batch
    named = {task: deployed.task_named(campaign, task) for task in {s.task for s in batch}}
    return [replace(s, task=named[s.task] or s.task) for s in batch]


FUTURE_SLACK = 86_400  # a signal may be dated at most this far past its receipt (clocks, zones)


def _when_wrong(campaign: Deployed, signal: Signal, at: int, now: int, allow_future: bool) -> str | None:
    """Why a signal's instant cannot be right: before the campaign was issued (a typo of the
    year: 1900, 2002), or more than a day ahead of now (unless the caller means it). The first
    signal of an instance counts, so a wrong date would stick. `at`: the signal's instant in epoch seconds."""
    if campaign.issued_at <= at and (allow_future or at <= now + FUTURE_SLACK):
        return None  # (the usual case: no dates to format)
    tz = campaign.timezone
    shown = signal.at.in_timezone(tz).format("DD/MM/YYYY HH:mm")
    if at < campaign.issued_at:
        issued = pendulum.from_timestamp(campaign.issued_at, tz=tz).format("DD/MM/YYYY")
        return _(
            "dated {shown}, before the campaign was issued ({issued}): check the year",
            shown=shown,
            issued=issued,
        )
    if not allow_future and at > now + FUTURE_SLACK:
        today = pendulum.from_timestamp(now, tz=tz).format("DD/MM/YYYY HH:mm")
        return _(
            "dated {shown}, more than a day after now ({today}): check the date "
            "(`--allow-future` records it as given)",
            shown=shown,
            today=today,
        )
    return None


Said = str | tuple[str, str]  # why a signal is refused, and a hint


def checked_rows(
    conn: Connection,
    campaign: Deployed,
    batch: list[Signal],
    file: str,
    lookups: Lookups,
    now: int,
    source: str,
    allow_future: bool = False,
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The signals' rows for the store (received at `now` from `source`), and the problems of
    the ones refused."""
    rules = campaign_rules(campaign)
    u = store.units.c
    live = (u.campaign_id == campaign.id, u.archived.is_(False))
    units, states = lookups.units, lookups.states

    def every_unit() -> Iterator[str]:
        """The campaign's unit ids and names, read only for an unknown one's closest."""
        for uid, name in conn.execute(select(u.id, u.name).where(*live)):
            yield from (uid, name)

    unit_hint = Suggestions(every_unit)

    @functools.cache
    def gone() -> dict[str, tuple[str, str]]:
        """The units the units file left out, by id and by name (read once, for an unknown one)."""
        found: dict[str, tuple[str, str]] = {}
        taken = select(u.id, u.name).where(u.campaign_id == campaign.id, u.archived.is_(True))
        for uid, name in conn.execute(taken):
            found[uid] = (uid, name)
            found.setdefault(name, (uid, name))
        return found

    def unit_of(named: str) -> tuple[str | None, Said | None]:
        """The unit id a signal names (its id, or its exact name), or why there is none."""
        if named in units:
            return named, None
        ids = lookups.names.get(named, [])
        if len(ids) == 1:
            return ids[0], None
        if ids:
            return None, several_named(named, ids)
        if (was := gone().get(named)) is not None:  # the units file had it and left it out
            return None, (
                _(
                    "`{unit}` ({name}) is no longer in `{campaign}`: its units file left it out",
                    unit=was[0],
                    name=was[1],
                    campaign=campaign.id,
                ),
                _(
                    "take the row out (its work is archived with the unit), or put the unit back in the "
                    "units file and deploy the campaign again"
                ),
            )
        hint = unit_hint(named)
        return None, _("no unit `{unit}` in `{campaign}`", unit=named, campaign=campaign.id) + (
            _("; {hint}", hint=hint) if hint else ""
        )

    corrected: dict[str, tuple[dict[str, str], dict[str, str]]] = {}

    def figures(task: str) -> tuple[dict[str, str], dict[str, str]]:
        """The roll-up figures a report's signal may correct (not rates: they follow their sums),
        each with its type (`figure_type`), and the figure each title names (`figure_names`)."""
        if task not in corrected:
            given = [f for f in figures_of(rules[task], rules) if f.kind != "rate"]
            corrected[task] = ({f.key: figure_type(f, rules) for f in given}, figure_names(given, rules))
        return corrected[task]

    @functools.cache
    def task_hint(written: str) -> str | None:
        """The task a name not found is likely to mean: the one whose title it begins (a title cut
        short on the phone), else an id it is close to."""
        begun, _tasks = deployed.task_choices(campaign, written)
        return _("did you mean {choice}?", choice=begun) if begun else None

    rows, problems = [], []
    for signal in batch:
        errors: list[Said] = []
        unit, unknown = unit_of(signal.unit)
        if unknown is not None:
            errors.append(unknown)
        if signal.task not in rules:
            errors.append(
                _("no task or report `{task}` in `{campaign}`", task=signal.task, campaign=campaign.id)
                + (_("; {hint}", hint=hint) if (hint := task_hint(signal.task)) else "")
            )
        at = int(signal.at.timestamp())
        wrong = _when_wrong(campaign, signal, at, now, allow_future)
        if unit is not None and not errors:
            state = states.get((signal.task, unit))
            if state is None:
                errors.append(
                    _(
                        "`{unit}` has no `{task}` to complete (it is not targeted)",
                        unit=unit,
                        task=signal.task,
                    )
                )
            elif state == "exempt":
                errors.append(_("`{unit}` is exempt from `{task}`", unit=unit, task=signal.task))
            values, field_errors = check_fields(rules[signal.task], signal.fields, *figures(signal.task))
            errors += field_errors
        if wrong is not None:
            errors.append(wrong)
        if errors or unit is None:
            where = f"{signal.unit}/{signal.task}"
            said = [(e, None) if isinstance(e, str) else e for e in errors]
            problems += [Problem(file, signal.line, where, message, hint) for message, hint in said]
            continue
        rows.append(
            {
                "campaign_id": campaign.id,
                "task_id": signal.task,
                "unit_id": unit,
                "at": at,
                "fields": values,
                "digest": digest(signal.task, unit, at, values),
                "note": signal.note,
                "received_at": now,
                "source": source,
            }
        )
    return rows, problems


def _known(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """The digests among `rows` already stored (per campaign: a batch of more than
    WHOLE_CAMPAIGN signals, if the campaign stores no more than a few times as many, reads
    the campaign's digests once instead of 500 at a time: a simulation's whole file)."""
    s = store.signals
    known: set[str] = set()
    by_campaign: dict[str, list[str]] = {}
    for row in rows:
        by_campaign.setdefault(row["campaign_id"], []).append(row["digest"])
    for campaign, digests in by_campaign.items():
        of_campaign = s.c.campaign_id == campaign
        if len(digests) > batch_reads.WHOLE_CAMPAIGN:  # (the bound its units are read by, too)
            stored = conn.execute(select(func.count()).select_from(s).where(of_campaign)).scalar_one()
            if stored <= 4 * len(digests):
                every = conn.execute(select(s.c.digest).where(of_campaign)).scalars()
                known.update(set(every).intersection(digests))
                continue
        for start in range(0, len(digests), 500):
            query = select(s.c.digest).where(of_campaign, s.c.digest.in_(digests[start : start + 500]))
            known.update(conn.execute(query).scalars())
    return known
