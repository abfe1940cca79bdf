"""The campaign flow: one engine tick, then its announcements and its digests.

A run of `cascade-campaign` is one tick of one campaign:

    tick          one database transaction holding the campaign's lock: the due signals, then
                  each level top-down (open what waits on a completion, advance what is due),
                  then instances, events and outbox written; committed
    (events)      Prefect events for what the tick did, after the commit
    dispatch      due digests to the officials (notifiers.dispatch)

The Prefect API is never called while the campaign's lock is held: the tick is one task whose
body touches only the store (Prefect records the task's start before and its end after it;
what each level did is logged after the commit). So a slow Prefect API never makes another
worker's run of the same campaign wait, and a run that must wait says so (cascade.engine.locks):
who holds the campaign, since when, and — after CASCADE_LOCK_WAIT seconds — that it gives up,
since the holder's tick does the same work and the next run catches up.

Every step is set-based (a handful of statements over all the units of a level), never one
task run per unit. The engine's logic stays in `cascade.engine.tick`; this module only calls it,
logs its counts and emits Prefect events for what happened, after the commit, so that
nothing is announced for a tick that did not happen.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pendulum
from prefect import flow, get_run_logger, runtime, task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from sqlalchemy import Engine

from cascade import collector, i18n
from cascade.engine import locks
from cascade.engine import tick as core
from cascade.engine.machine import Event, counts_text
from cascade.engine.store import open_store
from cascade.engine.words import LEVEL_WORDS
from cascade.i18n import _, _n, num
from cascade.settings import Settings
from notifiers import channels
from notifiers.channels import ChannelConfig, logging_channel
from notifiers.dispatch import Dispatcher, Policy

EVENT_PREFIX = "cascade."
Notify = Literal["send", "log"]


def _store() -> Engine:
    return _engine_for(Settings().store.url())


@functools.lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    """One engine per store URL and process (opening one checks the schema's revision)."""
    return open_store(url)


def clock() -> pendulum.DateTime:
    """The instant a scheduled run ticks at: the wall clock, shifted by CASCADE_CLOCK_SHIFT
    seconds in a drill (0 in production)."""
    return Settings().scheduler.now()


def campaign_resource(campaign: str) -> dict[str, str]:
    return {"prefect.resource.id": f"cascade.campaign.{campaign}", "prefect.resource.name": campaign}


@dataclass
class TickReport:
    """What one run's tick did: counts per phase and level, and its engine events."""

    ticked: bool = False  # False: nothing was due, or another run held the campaign
    busy: str | None = None  # why it gave up waiting for the campaign's lock
    now: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    phases: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    tz: str = "UTC"


@task(name="tick", cache_policy=NO_CACHE)
def tick_task(campaign_id: str, now_iso: str) -> TickReport:
    """One tick in one transaction holding the campaign's lock; no Prefect call inside it."""
    log = get_run_logger()
    i18n.use(Settings().ui.lang)
    at = pendulum.parse(now_iso)
    assert isinstance(at, pendulum.DateTime)
    me = locks.me(_("flow run {name} ({id})", name=runtime.flow_run.name, id=runtime.flow_run.id))
    wait = Settings().store.lock_wait

    def waiting(holder: locks.Holder | None) -> None:  # we do not hold the lock while waiting
        log.warning(locks.waiting(campaign_id, holder, wait))

    report = TickReport()
    started = time.monotonic()
    try:
        with locks.ticking(_store(), campaign_id, me, wait, waiting) as conn:
            locked = time.monotonic()
            with collector.held():  # as `cascade tick` holds it off (engine.tick.tick_in)
                t = core.begin_tick(conn, campaign_id, at)
                if t is not None:
                    report.phases.append((_("signals"), _counted(t, core.apply_signals)))
                    for level in t.campaign.levels:
                        phase = _level(level)
                        report.phases.append((phase, _counted(t, core.open_and_advance, level)))
                    report.phases.append((_("write"), _counted(t, core.finish_tick)))
                    report.ticked, report.now, report.tz = True, t.now.isoformat(), t.tz
                    report.counts, report.events = dict(t.counts), t.events
    except locks.Busy as busy:
        log.warning(_("{busy}; this run skips its tick (the holder's tick does the work)", busy=busy))
        return TickReport(busy=str(busy))
    done = time.monotonic()
    for name, counts in report.phases:
        log.info(_("{phase}: {counts}", phase=name, counts=counts_text(counts)))
    waited, held = f"{locked - started:.1f}", f"{done - locked:.1f}"
    log.info(_("lock waited {waited} s, held {held} s (released)", waited=waited, held=held))
    return report


def _level(level: str) -> str:
    """A level in a run's log: "level district"; in Vietnamese "cấp huyện" (its usual name) or
    "cấp <id>"."""
    if i18n.language() == "vi" and level in LEVEL_WORDS:
        return LEVEL_WORDS[level]
    return _("level {level}", level=level)


def _counted(t: core.Tick, phase: Callable[..., object], *args: Any) -> dict[str, int]:
    """Run one phase on the open tick; what it counted (opened, reminded, escalated, ...)."""
    before = Counter(t.counts)
    phase(t, *args)
    return {k: v - before.get(k, 0) for k, v in t.counts.items() if v != before.get(k, 0)}


def channel_config(settings: Settings) -> ChannelConfig:
    """The channels as `settings` configure them; the SMTP URL from the Prefect Secret block
    named by CASCADE_SMTP_SECRET when that is set (e.g. `prefect block create secret`)."""
    block = settings.smtp.secret
    return ChannelConfig.of(settings, smtp_url=smtp_url_in(block) if block else None)


def smtp_url_in(block: str) -> str:
    """The SMTP URL the Prefect Secret block `block` holds (`cascade doctor` reads it too)."""
    secret = Secret.load(block)  # sync: the block itself, not a coroutine
    assert isinstance(secret, Secret)
    return str(secret.get())


@task(name="dispatch", cache_policy=NO_CACHE)
def dispatch_phase(campaign_id: str, now_s: int, notify: Notify | None = None) -> dict[str, int]:
    """The due digests through the dispatcher: sent (`notify="send"`), or written to the run's
    log (`"log"`: the same dispatcher, rendering and recording; drills and demos); default
    CASCADE_NOTIFY."""
    logger = get_run_logger()
    settings = Settings()
    i18n.use(settings.ui.lang)
    policy = Policy.of(settings.dispatch)
    drill = (notify or settings.dispatch.mode) == "log"
    if drill:  # no channel settings (no Secret block) needed
        config, send = ChannelConfig(), logging_channel(logger)
    else:
        config, send = channel_config(settings), channels.send
    outcome = Dispatcher(_store(), campaign_id, config, policy, send=send, drill=drill).run(now_s)
    logger.info(outcome.in_words())
    if outcome.resent:
        logger.warning(
            _n(
                "{count} digest re-sent: an earlier dispatcher stopped before recording it",
                "{count} digests re-sent: an earlier dispatcher stopped before recording them",
                outcome.resent,
            )
        )
    for alert in outcome.alerts:
        told = (
            _("alerted")
            if alert.delivered
            else (_("alerted earlier") if alert.told_before else _("NOT reached yet"))
        )
        logger.error(
            _(
                "channel {channel} failed this dispatch: {detail} ({held} digests wait; operator {told})",
                channel=alert.channel,
                detail=alert.detail,
                held=num(alert.held),
                told=told,
            )
        )
    for event in outcome.events:
        emit_event(
            event=EVENT_PREFIX + event["kind"],
            resource=campaign_resource(campaign_id),
            payload={k: v for k, v in event.items() if k != "kind"},
        )
    return dict(outcome.digests)


@flow(name="cascade-campaign", flow_run_name="{campaign_id}", retries=2, retry_delay_seconds=10)
def campaign_flow(
    campaign_id: str, now: str | None = None, max_events: int = 1000, notify: Notify | None = None
) -> dict[str, int]:
    """One tick of `campaign_id` at `now` (ISO 8601; default: the scheduler's clock, see
    `clock`), its digests sent or logged as `notify` says (default: CASCADE_NOTIFY). A failed
    run is retried (a tick is one transaction: a failure left nothing behind).

    `max_events` bounds the Prefect events emitted per run (one per engine event: a national
    deadline can produce tens of thousands; the store's event log keeps all of them)."""
    log = get_run_logger()
    i18n.use(Settings().ui.lang)  # the run's log in the operator's language (CASCADE_LANG)
    at = pendulum.parse(now) if now else clock()
    assert isinstance(at, pendulum.DateTime), f"`now` is not an instant: {now}"
    report = tick_task(campaign_id, at.isoformat())
    counts: dict[str, int] = {}
    if report.busy:
        counts = {"skipped_busy": 1}
    elif not report.ticked:
        log.info(_("{campaign}: nothing due at {at}", campaign=campaign_id, at=at.isoformat()))
    else:
        counts = dict(report.counts)
        log.info(
            _(
                "{campaign} tick at {at}: {counts}",
                campaign=campaign_id,
                at=report.now,
                counts=counts_text(counts),
            )
        )
        _emit(campaign_id, report, max_events)
    # also when the tick is idle: digests held back by quiet hours fall due without any tick work
    dispatched = dispatch_phase(campaign_id, int(at.timestamp()), notify)
    return counts | {f"digests_{k}": v for k, v in dispatched.items()}


def _emit(campaign: str, report: TickReport, limit: int) -> None:
    """Prefect events for the tick's engine events (the campaign and unit as resources), then
    one `cascade.tick.completed` with the counts."""
    for cid, _tick, at, kind, task_id, unit, data in report.events[:limit]:
        emit_event(
            event=EVENT_PREFIX + kind,
            resource={
                "prefect.resource.id": f"cascade.unit.{cid}.{unit}",
                "prefect.resource.name": str(unit),
                "cascade.task": str(task_id or ""),
            },
            related=[{**campaign_resource(campaign), "prefect.resource.role": "campaign"}],
            # occurred = when announced; the engine's instant (past, after a catch-up) is `at`
            payload={"at": pendulum.from_timestamp(at, tz=report.tz).isoformat(), **_without_none(data)},
        )
    emit_event(
        event=EVENT_PREFIX + "tick.completed",
        resource=campaign_resource(campaign),
        payload={"now": report.now, "counts": report.counts, "events": len(report.events)},
    )


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}
