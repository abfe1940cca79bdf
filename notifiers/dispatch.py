"""The dispatcher: a campaign's due digests to the officials' channels, nothing lost, nothing twice.

One run (`Dispatcher(...).run(now)`, called by the campaign flow after each tick and by
`cascade dispatch`):

1. claims the due digests (`cascade.engine.outbox.Claim`: two dispatchers never share one);
2. sends them on `concurrency` threads, each digest to its contact's channels in the
   written order: a transient failure (no connection, a 4xx or 5xx, Zalo's rate limit) is
   retried with exponential backoff up to `attempts` times, then the next channel is
   tried; a refused address goes straight to the next channel;
3. records each digest's outcome — its notices' status and delivery log (channel,
   attempts, result, provider message id, every try) — as the digests complete, so a
   killed dispatcher re-sends at most the digests in flight;
4. a channel that fails `breaker` sends in a row, or answers that it is broken (bad SMTP
   credentials, an expired Zalo token), is skipped for the rest of the run: its digests
   fall back to the contact's next channel or wait for the next run (status `pending`,
   never dropped). Such a channel raises one alert to the campaign's operator (on their
   other channels) and one `channel.failed` event; the alert is not repeated while the
   channel stays broken, and `channel.recovered` is logged when it works again.

A digest every one of whose channels refused it for good (unknown addresses) is `failed`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from cascade.engine import deployed, store
from cascade.engine.links import answer_maker, link_maker
from cascade.engine.outbox import LEASE_SECONDS, Claim, Delivery, Digest
from cascade.i18n import N_, _, num
from cascade.settings import DispatchSettings
from notifiers import channels
from notifiers.channels import ChannelConfig, Result
from notifiers.render import WORDS, Message, Renderer

log = logging.getLogger("cascade.dispatch")
RECORD_SECONDS = 0.05  # the longest a sent digest waits to be recorded while others are sending
Send = Callable[[str, str, Message, ChannelConfig, str | None], Result]


@dataclass(frozen=True)
class Policy:
    attempts: int = 3  # sends per channel and digest while the failure is transient
    backoff: float = 2.0  # seconds before the second attempt, doubling after each
    max_backoff: float = 60.0
    breaker: int = 5  # transient failures in a row that take a channel out of this run
    concurrency: int = 8  # sends in flight
    page: int = 200  # digests read from the store at a time
    lease: float = LEASE_SECONDS

    @classmethod
    def of(cls, dispatch: DispatchSettings) -> Policy:
        """The policy `dispatch` sets (CASCADE_DISPATCH_{ATTEMPTS,BACKOFF,BREAKER,CONCURRENCY,LEASE})."""
        return cls(
            attempts=dispatch.attempts,
            backoff=dispatch.backoff,
            breaker=dispatch.breaker,
            concurrency=dispatch.concurrency,
            lease=dispatch.lease,
        )


@dataclass
class Alert:
    channel: str
    detail: str
    held: int  # digests that this channel could not deliver in the run
    new: bool  # the channel broke in this run (False: it was broken before)
    delivered: Result | None = None  # how the alert went out in this run (None: not in this run)
    told_before: bool = False  # an earlier run delivered it (the channel is still broken)


@dataclass
class Outcome:
    digests: Counter[str] = field(default_factory=Counter)  # by status
    sends: Counter[str] = field(default_factory=Counter)  # "email sent", "zalo transient", ...
    resent: int = 0  # digests a killed dispatcher had claimed
    alerts: list[Alert] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # written to the store's event log

    def digests_in_words(self) -> list[tuple[str, str]]:
        """(status, number) per status, in the operator's language: ("đã gửi", "1.639")."""
        return [(_(DIGESTS.get(k, k)), num(v)) for k, v in sorted(self.digests.items())]

    def in_words(self) -> str:
        """The run in a line, in the operator's language: digests by status, then sends by channel
        and result ("digests: sent 131; sends: email sent 131")."""
        digests = _(", ").join(
            _("{what} {number}", what=what, number=n) for what, n in self.digests_in_words()
        )
        said = []
        for key, n in sorted(self.sends.items()):  # "email sent": the channel, then the result
            channel, _space, result = key.partition(" ")
            what = _(SENDS.get(result, result))
            said.append(_("{channel} {what} {number}", channel=channel, what=what, number=num(n)))
        sends = _(", ").join(said)
        return _("digests: {digests}; sends: {sends}", digests=digests or _("none"), sends=sends or _("none"))


DIGESTS = {"sent": N_("sent"), "pending": N_("pending"), "failed": N_("failed")}  # a digest's status
SENDS = {  # one send's result (`Result.failure`, or sent)
    "sent": N_("sent"),
    "address": N_("address refused"),
    "transient": N_("to be retried"),
    "channel": N_("channel broken"),
}


class _Breaker:
    """Per-channel health within one run, shared by the sending threads."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.lock = threading.Lock()
        self.in_a_row: Counter[str] = Counter()
        self.ok: Counter[str] = Counter()
        self.broken: dict[str, str] = {}
        self.held: Counter[str] = Counter()

    def is_broken(self, channel: str) -> bool:
        return channel in self.broken

    def record(self, result: Result) -> None:
        with self.lock:
            channel = result.channel
            if result.ok:
                self.ok[channel] += 1
                self.in_a_row[channel] = 0
            elif result.failure == "channel":
                self.broken.setdefault(channel, result.detail)
            elif result.failure == "transient":
                self.in_a_row[channel] += 1
                if self.in_a_row[channel] >= self.threshold:
                    self.broken.setdefault(channel, result.detail)

    def hold(self, channel: str) -> None:
        with self.lock:
            self.held[channel] += 1


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        campaign_id: str,
        config: ChannelConfig | None = None,
        policy: Policy | None = None,
        send: Send = channels.send,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        drill: bool = False,
    ) -> None:
        self.engine, self.campaign_id = engine, campaign_id
        # hears each digest sent, its channel, address and message (a drill's listing sets it,
        # once the dispatcher has read the units' names it orders them by)
        self.observe: Callable[[Digest, str, str, Message], None] | None = None
        # a drill (CASCADE_NOTIFY=log) sends through no channel: it leaves their health as it was
        # (a broken channel's alert neither told nor recovered by it)
        self.drill = drill
        self.config = channels.with_tokens(ChannelConfig.of() if config is None else config, engine)
        self.policy = Policy() if policy is None else policy
        self.send, self.sleep, self.clock = send, sleep, clock
        c = store.campaigns.c
        with engine.connect() as conn:
            row = conn.execute(select(c.title, c.timezone).where(c.id == campaign_id)).one_or_none()
            if row is None:
                raise LookupError(f"no campaign `{campaign_id}` in the store: deploy it first")
            u = store.units.c
            names = conn.execute(select(u.id, u.name).where(u.campaign_id == campaign_id).order_by(u.path))
            self.names: dict[str, str] = {unit: name for unit, name in names}
        self.title = row.title
        place = {unit: n for n, unit in enumerate(self.names)}  # (read in the tree's order)
        self.renderer = Renderer(row.timezone, link_maker(campaign_id), answer_maker(campaign_id), place)
        self.progress: Callable[[int], None] | None = None

    def run(self, now: int, progress: Callable[[int], None] | None = None) -> Outcome:
        """Send every digest due at `now` (engine time, epoch seconds); `progress` hears how many
        digests each recorded batch held."""
        outcome = Outcome()
        self.progress = progress
        breaker = _Breaker(self.policy.breaker)
        claim = Claim(self.engine, self.campaign_id, now, self.policy.lease, self.clock)
        if claim.take():
            try:
                self._send_all(claim, breaker, now, outcome)
            finally:
                claim.release()  # only what an exception left unsent
        if not self.drill:
            self._alerts(breaker, now, outcome)
        return outcome

    def _send_all(self, claim: Claim, breaker: _Breaker, now: int, outcome: Outcome) -> None:
        """At most `2 x concurrency` digests between claim and record: sending, or sent and
        waiting to be recorded. Finished digests are recorded together (one transaction) once
        `concurrency` of them wait or `RECORD_SECONDS` passed, so a kill re-sends at most that
        window while the store sees a commit per batch, not per message."""
        digests: Iterator[Digest] = chain.from_iterable(claim.pages(self.policy.page))
        window, batch = 2 * self.policy.concurrency, self.policy.concurrency
        with ThreadPoolExecutor(self.policy.concurrency, thread_name_prefix="cascade-send") as pool:
            running: set[Future[tuple[Digest, Delivery]]] = set()
            finished: list[Future[tuple[Digest, Delivery]]] = []
            recorded = time.monotonic()
            more = True
            while more or running or finished:
                while more and len(running) + len(finished) < window:
                    digest = next(digests, None)
                    if digest is None:
                        more = False
                    else:
                        running.add(pool.submit(self._deliver, digest, breaker, now))
                if running:
                    done, running = wait(running, timeout=RECORD_SECONDS, return_when=FIRST_COMPLETED)
                    finished += done
                due = time.monotonic() - recorded >= RECORD_SECONDS
                if finished and (len(finished) >= batch or due or not running):
                    self._record(claim, finished, outcome)
                    finished, recorded = [], time.monotonic()

    def _record(self, claim: Claim, done: list[Future[tuple[Digest, Delivery]]], outcome: Outcome) -> None:
        results = [f.result() for f in done]
        claim.record(results)
        claim.renew()
        if self.progress:
            self.progress(len(results))
        for digest, delivery in results:
            outcome.digests[delivery.status] += 1
            outcome.resent += digest.resent
            for t in delivery.tries:
                outcome.sends[f"{t['channel']} {'sent' if t['ok'] else t['error']}"] += 1

    def _deliver(self, digest: Digest, breaker: _Breaker, now: int) -> tuple[Digest, Delivery]:
        message: Message | None = None
        tries: list[dict[str, Any]] = []
        attempts, waiting = 0, set()  # channels that may work later
        last: tuple[str | None, str | None] = (None, None)
        for channel, address in digest.channels:
            last = (channel, address)
            if breaker.is_broken(channel):
                tries.append(
                    _try(channel, address, 0, False, "channel", "skipped: the channel failed in this run")
                )
                waiting.add(channel)
                continue
            if message is None:
                name = self.names.get(digest.unit, digest.unit)
                message = self.renderer.render(digest.notices, name, self.names, self.title, now, digest.unit)
            result, n = self._attempt(channel, address, message, digest.idempotency_key, breaker)
            attempts += n
            tries.append(_try(channel, address, n, result.ok, result.failure, result.detail))
            if result.ok:
                if self.observe is not None:
                    self.observe(digest, channel, address, message)
                return digest, Delivery("sent", channel, address, attempts, result.provider_id, tries)
            if result.failure != "address":
                waiting.add(channel)
        for channel in waiting:
            breaker.hold(channel)
        status = "pending" if waiting else "failed"
        return digest, Delivery(status, last[0], last[1], attempts, None, tries)

    def _attempt(
        self, channel: str, address: str, message: Message, key: str, breaker: _Breaker
    ) -> tuple[Result, int]:
        """Send on one channel, retrying transient failures with backoff: the last result, attempts."""
        n = 0
        while True:
            n += 1
            result = self.send(channel, address, message, self.config, key)
            breaker.record(result)
            if result.ok or result.failure != "transient" or n >= self.policy.attempts:
                return result, n
            if breaker.is_broken(channel):
                return result, n
            self.sleep(min(self.policy.backoff * 2 ** (n - 1), self.policy.max_backoff))

    # -- alerts --------------------------------------------------------------------------

    def _alerts(self, breaker: _Breaker, now: int, outcome: Outcome) -> None:
        """A broken channel is recorded once (`channel.failed`) and its alert is a notice of its
        own: tried on the operator's channels at every dispatch until one takes it. `new` says
        the channel broke in this run; `delivered` how the alert went out in this run, if it did."""
        a = store.channel_alerts
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(a.c.channel, a.c.detail, a.c.delivered_at).where(a.c.campaign_id == self.campaign_id)
            ).all()
        open_alerts = {row.channel: row for row in rows}
        for channel, detail in sorted(breaker.broken.items()):
            alert = Alert(channel, detail, breaker.held[channel], new=channel not in open_alerts)
            outcome.alerts.append(alert)
            if alert.new:
                self._event(now, "channel.failed", channel, outcome, detail=detail, held=alert.held)
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(a).values(
                            campaign_id=self.campaign_id,
                            channel=channel,
                            since=int(self.clock()),
                            detail=detail,
                            tries=0,
                        )
                    )
            elif open_alerts[channel].delivered_at is not None:
                alert.told_before = True
            log.warning(
                "%s: channel %s failed this dispatch (%s); %d digests wait",
                self.campaign_id,
                channel,
                detail,
                alert.held,
            )
        for channel in sorted(open_alerts):
            if breaker.ok[channel] and channel not in breaker.broken:
                outcome.recovered.append(channel)
                self._event(now, "channel.recovered", channel, outcome)
                with self.engine.begin() as conn:
                    conn.execute(delete(a).where(a.c.campaign_id == self.campaign_id, a.c.channel == channel))
        # every alert not yet delivered (this run's, and earlier ones nobody could be told of)
        with self.engine.connect() as conn:
            untold = conn.execute(
                select(a.c.channel, a.c.detail).where(
                    a.c.campaign_id == self.campaign_id, a.c.delivered_at.is_(None)
                )
            ).all()
        by_channel = {alert.channel: alert for alert in outcome.alerts}
        for channel, detail in untold:
            alert = by_channel.get(channel) or Alert(channel, detail, 0, new=False)
            if channel not in by_channel:
                outcome.alerts.append(alert)
            alert.delivered = self._tell_operator(alert, breaker, now)
            done = alert.delivered
            values: dict[str, Any] = {"tries": a.c.tries + 1}
            if done is not None:
                values.update(delivered_at=int(self.clock()), delivered_by=f"{done.channel}:{done.address}")
            else:
                values["last_error"] = "no channel of the operator took it (or none is set: `operator:`)"
            with self.engine.begin() as conn:
                conn.execute(
                    update(a)
                    .where(a.c.campaign_id == self.campaign_id, a.c.channel == channel)
                    .values(**values)
                )

    def _tell_operator(self, alert: Alert, breaker: _Breaker, now: int) -> Result | None:
        """The alert on the operator's first channel that is not broken (None: no way to tell them)."""
        name, targets = self._operator()
        message = self.renderer.alert(alert.channel, alert.detail, alert.held, name, self.title, now)
        key = f"alert-{self.campaign_id}-{alert.channel}-{now}"
        for channel, address in targets:
            if breaker.is_broken(channel):
                continue
            result, _attempts = self._attempt(channel, address, message, key, breaker)
            if result.ok:
                return result
        log.error("%s: could not tell the operator that %s is failing", self.campaign_id, alert.channel)
        return None

    def _operator(self) -> tuple[str, list[list[str]]]:
        return operator_of(self.engine, self.campaign_id)

    def _event(self, now: int, kind: str, channel: str, outcome: Outcome, **data: Any) -> None:
        """An event in the store's log (the campaign flow also announces it to Prefect)."""
        t = store.ticks.c
        event = {"channel": channel, **data}
        with self.engine.begin() as conn:
            tick = conn.execute(select(func.max(t.id)).where(t.campaign_id == self.campaign_id)).scalar() or 0
            conn.execute(
                insert(store.events).values(
                    campaign_id=self.campaign_id,
                    tick=tick,
                    at=now,
                    kind=kind,
                    task_id=None,
                    unit_id=None,
                    data=event,
                )
            )
        outcome.events.append({"kind": kind, **event})


def operator_of(engine: Engine, campaign_id: str) -> tuple[str, list[list[str]]]:
    """Who hears about the system itself (broken channels, a campaign that stopped ticking): the
    campaign's `operator` (name, channels), else the top unit's first contact; ("", []) if none."""
    c, k = store.campaigns.c, store.contacts.c
    with engine.connect() as conn:
        row = conn.execute(select(c.operator, c.levels).where(c.id == campaign_id)).one_or_none()
        if row is None:
            return "", []
        if row.operator:
            return row.operator.get("name") or str(WORDS.operator()), row.operator["channels"]
        root = deployed.top_unit(conn, campaign_id, row.levels)
        if root is None:
            return "", []
        contact = conn.execute(
            select(k.name, k.channels)
            .where(k.campaign_id == campaign_id, k.unit_id == root.id)
            .order_by(k.id)
        ).first()
    if contact is None:
        return "", []
    return contact.name or root.name, contact.channels


def _try(
    channel: str, address: str, attempts: int, ok: bool, error: str | None, detail: str
) -> dict[str, Any]:
    return {
        "channel": channel,
        "address": address,
        "attempts": attempts,
        "ok": ok,
        "error": error,
        "detail": detail,
    }
