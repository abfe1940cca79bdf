"""The watchdog: the operator hears when a deployed campaign stops ticking.

A scheduler that stops must never be silent. The web application (`cascade web`, and the one
`cascade serve` starts) checks every minute whether each deployed campaign has ticked within
three of its intervals (cascade.engine.health). For a campaign that has not, it tells the campaign's
operator once, on their first channel that takes the message; the status page and `/healthz`
show it too. When the campaign ticks again the alert is cleared (and would be sent again if
it stalls again). An alert no channel would take is tried again at the next check.

The watchdog runs outside Prefect on purpose: what it watches for is Prefect's scheduler,
its workers or its flow runs not running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from cascade.engine import health
from notifiers import channels
from notifiers.channels import ChannelConfig, Result, with_tokens
from notifiers.dispatch import operator_of
from notifiers.render import Message, Renderer

log = logging.getLogger("cascade.watchdog")
Send = Callable[..., Result]


@dataclass
class Told:
    campaign: str
    result: Result | None  # how the alert went out (None: no channel took it; tried again)


def check(
    engine: Engine,
    default_interval: int,
    wall: int | None = None,
    config: ChannelConfig | None = None,
    send: Send = channels.send,
) -> list[Told]:
    """One look at every deployed campaign; alerts sent for the newly stalled ones."""
    wall = int(time.time()) if wall is None else wall
    told = []
    for h in health.read(engine, wall, default_interval):
        if not h.stalled:
            if h.alerted_at is not None:
                health.clear_alert(engine, h.campaign)
                log.warning("%s ticks again (last tick %d s ago)", h.campaign, h.age)
            continue
        if h.alerted_at is not None or not health.claim_alert(engine, h.campaign, wall):
            continue
        log.error(
            "%s has not ticked for %d s (interval %d s): telling the operator", h.campaign, h.age, h.interval
        )
        result = _tell(engine, h, wall, config, send)
        if result is None:
            health.clear_alert(engine, h.campaign)  # nobody was told: try again at the next check
            log.error("%s: no channel of the operator took the alert; trying again next check", h.campaign)
        told.append(Told(h.campaign, result))
    return told


def _tell(
    engine: Engine, h: health.Health, wall: int, config: ChannelConfig | None, send: Send
) -> Result | None:
    name, targets = operator_of(engine, h.campaign)
    message = stalled_message(h, name)
    for channel, address in targets:
        fresh = with_tokens(config or ChannelConfig.of(), engine)  # (a refreshed Zalo token)
        result = send(channel, address, message, fresh, f"stalled-{h.campaign}-{wall}")
        if result.ok:
            return result
        log.error("%s: the stall alert was not sent on %s: %s", h.campaign, channel, result.detail)
    return None


def stalled_message(h: health.Health, recipient: str) -> Message:
    """The alert, worded in `notifiers/templates/stalled.*.j2`."""
    return Renderer(h.timezone).stalled(h, recipient)


class Watchdog:
    """`check` every `every` seconds on a daemon thread, until `stop`."""

    def __init__(self, engine: Engine, default_interval: int, every: float = 60.0) -> None:
        self.engine, self.default_interval, self.every = engine, default_interval, every
        self._stop = threading.Event()
        self._zalo_again = 0.0  # (monotonic) after Zalo refused a renewal, not before this
        self._thread = threading.Thread(target=self._loop, name="cascade-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                check(self.engine, self.default_interval)
            except Exception:  # the watchdog must outlive a bad check (a store briefly away)
                log.exception("watchdog check failed; trying again in %.0f s", self.every)
            if time.monotonic() < self._zalo_again:
                continue
            try:
                keep_zalo_alive(self.engine)
            except Exception:  # Zalo refused (the next send fails too, and the operator is told)
                log.exception("renewing the Zalo tokens failed; trying again in an hour")
                self._zalo_again = time.monotonic() + 3600


def keep_zalo_alive(engine: Engine) -> None:
    """Renew the Zalo OA's token pair when it is old, though nothing was sent (`Tokens.keep_alive`);
    raises TokenRefused when Zalo refuses."""
    tokens = with_tokens(ChannelConfig(), engine).tokens
    if tokens is not None and tokens.keep_alive():  # (None: no OA app set, a fixed token or no Zalo)
        log.info("the Zalo tokens were renewed: nothing was sent on Zalo for 30 days")
