"""The outbox: notices the ticks wrote, handed out as one digest per recipient and send time.

A tick writes one outbox row per notice and contact, each with a digest key
(campaign|unit|role|send_at). A dispatcher *claims* the rows whose send time has come
(status `sending`, its claim token, the wall-clock time), reads them back a page of
digests at a time, sends each digest, and records the outcome of each digest — the rows'
status and one delivery-log row per notice — in the same transaction. So:

- two dispatchers never send one digest twice: a claimed row belongs to its claim;
- a dispatcher killed mid-run loses nothing: its claimed rows stay `sending` and another
  dispatcher takes them over once the claim is older than the lease (a live dispatcher
  renews its claim); what it had sent but not yet recorded goes out again — at most the
  digests in flight at the moment of the kill;
- a notice already delivered is never sent again, even from another outbox row: each
  notice has an idempotency key (a hash of its campaign, recipient and content), and a
  claimed notice whose key the delivery log shows as sent is marked `duplicate`.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cascade.engine import bulk, store

LEASE_SECONDS = 300  # a claim not renewed for this long is a crashed dispatcher's
_O = store.outbox
_D = store.deliveries
_AVAILABLE = and_(
    _O.c.campaign_id == bindparam("campaign"),
    _O.c.send_at <= bindparam("now"),
    or_(
        _O.c.status == "pending",
        and_(_O.c.status == "sending", _O.c.claimed_at < bindparam("stale")),
    ),
)
_STALE_KEYS = (
    select(_O.c.digest_key)
    .distinct()
    .where(
        _O.c.campaign_id == bindparam("campaign"),
        _O.c.send_at <= bindparam("now"),
        _O.c.status == "sending",
        _O.c.claimed_at < bindparam("stale"),
    )
)
_CLAIM = (
    update(_O)
    .where(_AVAILABLE)
    .values(status="sending", claim=bindparam("token"), claimed_at=bindparam("wall"))
)
_RENEW = (
    update(_O)
    .where(_O.c.claim == bindparam("token"), _O.c.status == "sending")
    .values(claimed_at=bindparam("wall"))
)
_PAGE_KEYS = (
    select(_O.c.digest_key)
    .distinct()
    .where(_O.c.claim == bindparam("token"), _O.c.digest_key > bindparam("after"))
    .order_by(_O.c.digest_key)
    .limit(bindparam("limit"))
)
_PAGE_ROWS = (
    select(_O.c.id, _O.c.digest_key, _O.c.recipient_unit, _O.c.role, _O.c.channels, _O.c.payload)
    .where(
        _O.c.claim == bindparam("token"),
        _O.c.status == "sending",
        _O.c.digest_key.in_(bindparam("keys", expanding=True)),
    )
    .order_by(_O.c.digest_key, _O.c.id)
)
_SENT_KEYS = select(_D.c.key).where(_D.c.key.in_(bindparam("keys", expanding=True)), _D.c.result == "sent")
_MARK = (
    update(_O)
    .where(_O.c.id.in_(bindparam("ids", expanding=True)), _O.c.claim == bindparam("token"))
    .values(status=bindparam("status"), claim=None, claimed_at=None)
)
_UNCLAIM = (
    update(_O)
    .where(_O.c.claim == bindparam("token"), _O.c.status == "sending")
    .values(status="pending", claim=None, claimed_at=None)
)


def notice_key(campaign: str, unit: str, role: str, payload: dict[str, Any]) -> str:
    """The idempotency key of one notice to one contact: the same notice, the same key."""
    text = f"{campaign}|{unit}|{role}|".encode() + bulk.dumps(payload).encode()
    return hashlib.sha256(text).hexdigest()[:40]


@dataclass
class Digest:
    key: str  # campaign|unit|role|send_at
    unit: str
    role: str
    channels: list[list[str]]  # [[channel, address], ...] in fallback order
    notices: list[dict[str, Any]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # the notices' idempotency keys
    resent: bool = False  # a crashed dispatcher had claimed it: it may have gone out already

    @property
    def idempotency_key(self) -> str:
        """The message's key (sent along as a header or tracking id): the same notices, the same key."""
        return hashlib.sha256("|".join(sorted(self.keys)).encode()).hexdigest()[:32]


@dataclass
class Delivery:
    """What became of one digest. `status`: sent, failed (every channel refused it for good),
    pending (try again at the next dispatch), logged (written to a log, not sent)."""

    status: str
    channel: str | None = None
    address: str | None = None
    attempts: int = 0
    provider_id: str | None = None
    tries: list[dict[str, Any]] = field(default_factory=list)


class Claim:
    """One dispatcher run's hold on a campaign's due digests."""

    def __init__(
        self,
        engine: Engine,
        campaign: str,
        now: int,
        lease: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine, self.campaign, self.now, self.lease, self.clock = engine, campaign, now, lease, clock
        self.token = uuid.uuid4().hex
        self.stale: set[str] = set()
        self.renewed = 0.0

    def take(self) -> int:
        """Claim every due digest that is free (pending, or held by a claim past its lease);
        how many notices were claimed."""
        wall = self.clock()
        args = {"campaign": self.campaign, "now": self.now, "stale": int(wall - self.lease)}
        with self.engine.begin() as conn:
            self.stale = set(conn.execute(_STALE_KEYS, args).scalars())
            claimed = conn.execute(_CLAIM, args | {"token": self.token, "wall": int(wall)}).rowcount
        self.renewed = wall
        return claimed

    def renew(self, every: float | None = None) -> None:
        """Keep the claim alive (at most every `every` seconds; default a third of the lease)."""
        wall = self.clock()
        if wall - self.renewed < (self.lease / 3 if every is None else every):
            return
        with self.engine.begin() as conn:
            conn.execute(_RENEW, {"token": self.token, "wall": int(wall)})
        self.renewed = wall

    def pages(self, size: int = 200) -> Iterator[list[Digest]]:
        """The claimed digests, `size` at a time, in digest-key order. Notices the delivery log
        already shows as sent are marked `duplicate` and left out."""
        after = ""
        while True:
            with self.engine.begin() as conn:
                keys = list(
                    conn.execute(_PAGE_KEYS, {"token": self.token, "after": after, "limit": size}).scalars()
                )
                if not keys:
                    return
                after = keys[-1]
                page = self._digests(conn, keys)
            if page:
                yield page

    def _digests(self, conn: Connection, keys: list[str]) -> list[Digest]:
        digests: dict[str, Digest] = {}
        for row in conn.execute(_PAGE_ROWS, {"token": self.token, "keys": keys}):
            d = digests.get(row.digest_key)
            if d is None:
                d = digests[row.digest_key] = Digest(
                    row.digest_key,
                    row.recipient_unit,
                    row.role,
                    row.channels,
                    resent=row.digest_key in self.stale,
                )
            d.notices.append(row.payload)
            d.ids.append(row.id)
            d.keys.append(notice_key(self.campaign, row.recipient_unit, row.role, row.payload))
        keys = [k for d in digests.values() for k in d.keys]
        sent: set[str] = set()
        for keys_chunk in bulk.chunked(keys):
            sent.update(conn.execute(_SENT_KEYS, {"keys": keys_chunk}).scalars())
        settled = _settled(conn, self.campaign, digests.values())
        if not sent and not settled and len(set(keys)) == len(keys):
            return list(digests.values())
        dropped: dict[str, list[int]] = {"duplicate": [], "settled": []}
        out = []
        for d in digests.values():
            keep = []
            for i, k in enumerate(d.keys):
                if k in sent:  # delivered before, or earlier in this page (the same notice written twice)
                    dropped["duplicate"].append(d.ids[i])
                elif d.ids[i] in settled:
                    dropped["settled"].append(d.ids[i])
                else:
                    keep.append(i)
                    sent.add(k)
            if keep:
                d.notices = [d.notices[i] for i in keep]
                d.ids = [d.ids[i] for i in keep]
                d.keys = [d.keys[i] for i in keep]
                out.append(d)
        for status, dropped_ids in dropped.items():
            for ids in bulk.chunked(dropped_ids):
                conn.execute(_MARK, {"ids": ids, "token": self.token, "status": status})
        return out

    def record(self, done: list[tuple[Digest, Delivery]]) -> None:
        """The outcome of each digest, its rows' status and delivery log, in one transaction."""
        if not done:
            return
        wall = int(self.clock())
        with self.engine.begin() as conn:
            log = []
            for digest, delivery in done:
                status = delivery.status
                for ids in bulk.chunked(digest.ids):
                    conn.execute(_MARK, {"ids": ids, "token": self.token, "status": status})
                if delivery.attempts:
                    log += [
                        {
                            "outbox_id": oid,
                            "campaign_id": self.campaign,
                            "key": key,
                            "channel": delivery.channel,
                            "address": delivery.address,
                            "attempts": delivery.attempts,
                            "result": status,
                            "provider_id": delivery.provider_id,
                            "tries": delivery.tries,
                            "at": wall,
                        }
                        for oid, key in zip(digest.ids, digest.keys, strict=True)
                    ]
            if log:
                _upsert_deliveries(conn, log)

    def release(self) -> None:
        """Give back what this run claimed and did not finish (it stops early, cleanly)."""
        with self.engine.begin() as conn:
            conn.execute(_UNCLAIM, {"token": self.token})


# Notices about an instance that lose their point once it is finished or exempt, or (but for
# the amendment itself) once its deadline is no longer the one they name.
SETTLEABLE = ("task.opened", "reminder.sent", "escalation.sent", "task.at_risk", "report.requested")
_FINISHED = ("done", "done_late", "exempt")
_INSTANCES = select(store.instances.c.unit_id, store.instances.c.state, store.instances.c.deadline).where(
    store.instances.c.campaign_id == bindparam("campaign"),
    store.instances.c.task_id == bindparam("task"),
    store.instances.c.unit_id.in_(bindparam("units", expanding=True)),
)


def _settled(conn: Connection, campaign: str, digests: Any) -> set[int]:
    """The outbox ids of notices settled by the time they go out (spec §7): the instance they
    are about was finished or exempted meanwhile, or its deadline moved since."""
    about: dict[str, dict[str, list[tuple[int, dict[str, Any]]]]] = {}
    for d in digests:
        for oid, n in zip(d.ids, d.notices, strict=True):
            if n.get("kind") in (*SETTLEABLE, "task.amended") and n.get("task") and n.get("unit"):
                about.setdefault(n["task"], {}).setdefault(n["unit"], []).append((oid, n))
    settled: set[int] = set()
    for task, units in about.items():
        for chunk in bulk.chunked(sorted(units)):
            for unit, state, deadline in conn.execute(
                _INSTANCES, {"campaign": campaign, "task": task, "units": chunk}
            ):
                for oid, n in units[unit]:
                    if n["kind"] == "task.amended":
                        told = n.get("state")  # a re-judgement tells of the finished instance
                        stale = state in _FINISHED and told not in _FINISHED
                    else:
                        stale = state in _FINISHED or n.get("deadline") != deadline
                    if stale:
                        settled.add(oid)
    return settled


def _upsert_deliveries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert the log rows; a notice tried before keeps one row, its attempts added up. A
    notice another row of the outbox has logged already (the same notice written twice, held
    by two dispatchers at once) keeps that row: the log has one row a notice."""
    logged: dict[str, int] = {}
    for chunk in bulk.chunked(sorted({r["key"] for r in rows})):
        for key, outbox_id in conn.execute(select(_D.c.key, _D.c.outbox_id).where(_D.c.key.in_(chunk))):
            logged[key] = outbox_id
    kept: list[dict[str, Any]] = []
    for row in rows:
        if logged.setdefault(row["key"], row["outbox_id"]) == row["outbox_id"]:
            kept.append(row)
    rows = kept
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_D)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_D.c.outbox_id],
        set_={
            "channel": stmt.excluded.channel,
            "address": stmt.excluded.address,
            "attempts": _D.c.attempts + stmt.excluded.attempts,
            "result": stmt.excluded.result,
            "provider_id": stmt.excluded.provider_id,
            "tries": stmt.excluded.tries,
            "at": stmt.excluded.at,
        },
    )
    conn.execute(stmt, rows)


def due_digests(engine: Engine, campaign: str, now: int) -> list[Digest]:
    """The digests a dispatcher would send at `now`, without claiming them (for status and tests)."""
    digests: dict[str, Digest] = {}
    query = (
        select(_O.c.id, _O.c.digest_key, _O.c.recipient_unit, _O.c.role, _O.c.channels, _O.c.payload)
        .where(_AVAILABLE)
        .order_by(_O.c.digest_key, _O.c.id)
    )
    with engine.connect() as conn:
        for row in conn.execute(
            query, {"campaign": campaign, "now": now, "stale": int(time.time() - LEASE_SECONDS)}
        ):
            d = digests.get(row.digest_key)
            if d is None:
                d = digests[row.digest_key] = Digest(
                    row.digest_key, row.recipient_unit, row.role, row.channels
                )
            d.notices.append(row.payload)
            d.ids.append(row.id)
    return list(digests.values())


def dispatch(
    engine: Engine, campaign: str, now: int, send: Callable[[Digest], Delivery], batch: int = 500
) -> dict[str, int]:
    """Claim the due digests and hand each once to `send`, one at a time; the outcomes of each
    `batch` of digests are recorded in one transaction. How many digests ended in each status.
    (notifiers.dispatch sends concurrently, with retries and fallback, on the same claims.)"""
    claim = Claim(engine, campaign, now)
    outcome: dict[str, int] = {}
    if not claim.take():
        return outcome
    try:
        for page in claim.pages(batch):
            done = [(digest, send(digest)) for digest in page]
            claim.record(done)
            for _, delivery in done:
                outcome[delivery.status] = outcome.get(delivery.status, 0) + 1
            claim.renew()
    finally:
        claim.release()
    return outcome


def waiting(engine: Engine, campaign: str, now: int) -> tuple[int, int | None]:
    """The notices pending whose send time is after `now` (held by the quiet hours or a holiday),
    and the first of those times: what a dispatch that found nothing due says."""
    query = select(func.count(), func.min(_O.c.send_at)).where(
        _O.c.campaign_id == campaign, _O.c.status == "pending", _O.c.send_at > now
    )
    with engine.connect() as conn:
        count, first = conn.execute(query).one()
    return int(count), first
