"""The campaign flow: one engine tick, shown in Prefect as a fan-out from the top level down.

A run of `cascade-campaign` is one tick of one campaign, in one database transaction:

    signals                      the due signals, campaign-wide, in time order
    level <province>             subflow: open what waits on a completion, advance what is due
    level <district>             ... one subflow per level, top-down
    level <grassroots>
    write                        instances, events, outbox; then the transaction commits
    dispatch                     due digests to the officials (notifiers.dispatch), after the commit

Every task is set-based (a handful of statements over all the units of a level), never
one task run per unit. The engine's logic stays in `cascade.engine`; this module only
calls its phases, logs their counts and emits Prefect events for what happened, after
the commit, so that nothing is announced for a tick that did not happen.
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pendulum
from prefect import flow, get_run_logger, task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from sqlalchemy import Engine

from cascade import engine as core
from cascade.outbox import Delivery, Digest, dispatch
from cascade.settings import Settings
from cascade.store import open_store
from notifiers.channels import ChannelConfig
from notifiers.dispatch import Dispatcher, Policy

# The open tick of a running flow, handed to its tasks in process (a tick holds a live
# database transaction, which is not a parameter Prefect could store or hash).
_OPEN: dict[str, core.Tick] = {}

EVENT_PREFIX = "cascade."


def _store() -> Engine:
    return _engine_for(Settings().store_url())


@functools.lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    """One engine per store URL and process (opening one checks the schema's revision)."""
    return open_store(url)


def clock() -> pendulum.DateTime:
    """The instant a scheduled run ticks at: the wall clock, shifted by CASCADE_CLOCK_SHIFT
    seconds in a drill (0 in production)."""
    return pendulum.now("UTC").add(seconds=Settings().clock_shift)


def campaign_resource(campaign: str) -> dict[str, str]:
    return {"prefect.resource.id": f"cascade.campaign.{campaign}", "prefect.resource.name": campaign}


def _phase(key: str, run: Callable[[core.Tick], object]) -> dict[str, int]:
    """Run one phase on the open tick; what it counted (opened, reminded, escalated, ...)."""
    t = _OPEN[key]
    before = Counter(t.counts)
    run(t)
    return {k: v - before.get(k, 0) for k, v in t.counts.items() if v != before.get(k, 0)}


@task(name="signals", cache_policy=NO_CACHE)
def signals_phase(key: str) -> dict[str, int]:
    return _phase(key, core.apply_signals)


@task(name="open-and-advance", cache_policy=NO_CACHE)
def level_phase(key: str, level: str) -> dict[str, int]:
    return _phase(key, lambda t: core.open_and_advance(t, level))


@flow(name="cascade-level", flow_run_name="{level}")
def level_flow(key: str, level: str) -> dict[str, int]:
    """One level of the fan-out: its units' openings, reminders, overdue marks, escalations."""
    counts = level_phase(key, level)
    get_run_logger().info("%s: %s", level, _describe(counts))
    return counts


@task(name="write", cache_policy=NO_CACHE)
def write_phase(key: str) -> dict[str, int]:
    return _phase(key, core.finish_tick)


def log_channel(logger: Any) -> Callable[[Digest], Delivery]:
    """With CASCADE_NOTIFY=log (demos, tests): each digest goes to the run's log (DEBUG: a
    national deadline makes tens of thousands) instead of the officials, marked `logged`."""

    def send(digest: Digest) -> Delivery:
        if logger.isEnabledFor(logging.DEBUG):
            kinds = Counter(n.get("kind", "?") for n in digest.notices)
            logger.debug(
                "digest for %s (%s) via %s: %s",
                digest.unit,
                digest.role,
                ", ".join(c[0] for c in digest.channels),
                _describe(dict(kinds)),
            )
        return Delivery("logged")

    return send


def channel_config() -> ChannelConfig:
    """The channels' settings from the environment; the SMTP URL from the Prefect Secret block
    named by CASCADE_SMTP_SECRET when that is set (e.g. `prefect block create secret`)."""
    block = os.environ.get("CASCADE_SMTP_SECRET")
    smtp_url = None
    if block:
        secret = Secret.load(block)  # a sync task: the block itself, not a coroutine
        assert isinstance(secret, Secret)
        smtp_url = str(secret.get())
    return ChannelConfig.from_env(smtp_url=smtp_url)


@task(name="dispatch", cache_policy=NO_CACHE)
def dispatch_phase(campaign_id: str, now_s: int) -> dict[str, int]:
    logger = get_run_logger()
    if os.environ.get("CASCADE_NOTIFY", "send") == "log":
        counts = dispatch(_store(), campaign_id, now_s, log_channel(logger))
        logger.info("digests: %s", _describe(counts))
        return counts
    outcome = Dispatcher(_store(), campaign_id, channel_config(), Policy.from_env()).run(now_s)
    logger.info("digests: %s; sends: %s", _describe(dict(outcome.digests)), _describe(dict(outcome.sends)))
    if outcome.resent:
        logger.warning(
            "%d digests re-sent: an earlier dispatcher stopped before recording them", outcome.resent
        )
    for alert in outcome.alerts:
        logger.error(
            "channel %s failed this dispatch: %s (%d digests wait; operator %s)",
            alert.channel,
            alert.detail,
            alert.held,
            "alerted" if alert.delivered else ("alerted earlier" if not alert.new else "NOT reachable"),
        )
    for event in outcome.events:
        emit_event(
            event=EVENT_PREFIX + event["kind"],
            resource=campaign_resource(campaign_id),
            payload={k: v for k, v in event.items() if k != "kind"},
        )
    return dict(outcome.digests)


@flow(name="cascade-campaign", flow_run_name="{campaign_id}", retries=2, retry_delay_seconds=10)
def campaign_flow(campaign_id: str, now: str | None = None, max_events: int = 1000) -> dict[str, int]:
    """One tick of `campaign_id` at `now` (ISO 8601; default: the current time). A failed run is
    retried (a tick is one transaction: a failure left nothing behind).

    `max_events` bounds the Prefect events emitted per run (one per engine event: a national
    deadline can produce tens of thousands; the store's event log keeps all of them)."""
    log = get_run_logger()
    at = pendulum.parse(now) if now else clock()
    assert isinstance(at, pendulum.DateTime), f"`now` is not an instant: {now}"
    key = uuid.uuid4().hex
    with _store().begin() as conn:
        t = core.begin_tick(conn, campaign_id, at)
        if t is not None:
            _OPEN[key] = t
            try:
                signals_phase(key)
                for level in t.campaign.levels:
                    level_flow(key, level)
                write_phase(key)
            finally:
                del _OPEN[key]
    counts: dict[str, int] = {}
    if t is None:
        log.info("%s: nothing due at %s", campaign_id, at.isoformat())
    else:
        counts = dict(t.counts)
        log.info("%s tick at %s: %s", campaign_id, t.now.isoformat(), _describe(counts))
        _emit(t, max_events)
    # also when the tick is idle: digests held back by quiet hours fall due without any tick work
    dispatched = dispatch_phase(campaign_id, int(at.timestamp()))
    return counts | {f"digests_{k}": v for k, v in dispatched.items()}


def _emit(t: core.Tick, limit: int) -> None:
    """Prefect events for the tick's engine events (the campaign and unit as resources), then
    one `cascade.tick.completed` with the counts."""
    campaign = t.campaign.id
    for cid, _tick, at, kind, task_id, unit, data in t.events[:limit]:
        emit_event(
            event=EVENT_PREFIX + kind,
            resource={
                "prefect.resource.id": f"cascade.unit.{cid}.{unit}",
                "prefect.resource.name": str(unit),
                "cascade.task": str(task_id or ""),
            },
            related=[{**campaign_resource(campaign), "prefect.resource.role": "campaign"}],
            # occurred = when announced; the engine's instant (past, after a catch-up) is `at`
            payload={"at": pendulum.from_timestamp(at, tz=t.tz).isoformat(), **_without_none(data)},
        )
    emit_event(
        event=EVENT_PREFIX + "tick.completed",
        resource=campaign_resource(campaign),
        payload={"now": t.now.isoformat(), "counts": dict(t.counts), "events": len(t.events)},
    )


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing"
