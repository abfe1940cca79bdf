"""The campaign flow: one engine tick, shown in Prefect as a fan-out from the top level down.

A run of `cascade-campaign` is one tick of one campaign, in one database transaction:

    signals                      the due signals, campaign-wide, in time order
    level <province>             subflow: open what waits on a completion, advance what is due
    level <district>             ... one subflow per level, top-down
    level <grassroots>
    write                        instances, events, outbox; then the transaction commits
    dispatch                     due digests to the notifiers (a logging channel until then)

Every task is set-based (a handful of statements over all the units of a level), never
one task run per unit. The engine's logic stays in `cascade.engine`; this module only
calls its phases, logs their counts and emits Prefect events for what happened, after
the commit, so that nothing is announced for a tick that did not happen.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pendulum
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from sqlalchemy import Engine

from cascade import engine as core
from cascade.outbox import Digest, dispatch
from cascade.settings import Settings
from cascade.store import open_store

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


def log_channel(logger: Any) -> Callable[[Digest], str]:
    """Until the notifiers are wired in: each digest goes to the run's log (DEBUG: a national
    deadline makes tens of thousands), marked `logged`."""

    def send(digest: Digest) -> str:
        if logger.isEnabledFor(logging.DEBUG):
            kinds = Counter(n.get("kind", "?") for n in digest.notices)
            logger.debug(
                "digest for %s (%s) via %s: %s",
                digest.unit,
                digest.role,
                ", ".join(c[0] for c in digest.channels),
                _describe(dict(kinds)),
            )
        return "logged"

    return send


@task(name="dispatch", cache_policy=NO_CACHE)
def dispatch_phase(campaign_id: str, now_s: int) -> dict[str, int]:
    logger = get_run_logger()
    outcome = dispatch(_store(), campaign_id, now_s, log_channel(logger))
    logger.info("digests: %s", _describe(outcome))
    return outcome


@flow(name="cascade-campaign", flow_run_name="{campaign_id}", retries=2, retry_delay_seconds=10)
def campaign_flow(campaign_id: str, now: str | None = None, max_events: int = 1000) -> dict[str, int]:
    """One tick of `campaign_id` at `now` (ISO 8601; default: the current time). A failed run is
    retried (a tick is one transaction: a failure left nothing behind).

    `max_events` bounds the Prefect events emitted per run (one per engine event: a national
    deadline can produce tens of thousands; the store's event log keeps all of them)."""
    log = get_run_logger()
    at = pendulum.parse(now) if now else pendulum.now("UTC")
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
