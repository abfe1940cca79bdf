"""Running the web application: in the foreground (`cascade web`) or beside the scheduler
on a thread (`cascade serve`), with uvicorn; the access log keeps no query strings."""

from __future__ import annotations

import gc
import threading

import uvicorn

from cascade.engine.links import secret_from
from cascade.engine.store import open_store
from cascade.settings import Settings
from cascade.web.app import Announce, WebConfig, create_app
from cascade.web.security import quiet_access_log
from notifiers.watchdog import Watchdog


def make_server(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    tick_interval: int,
    announce: Announce | None = None,
    settings: Settings | None = None,
) -> uvicorn.Server:
    """The web application on `host:port`, over the store `settings` name. `tick_interval` is
    the scheduler's (seconds: when a campaign that stopped ticking is stalled); `announce`
    tells the scheduler of new signals."""
    settings = settings or Settings()
    engine = open_store(settings.store.url())
    secret = secret_from(settings.web.secret, settings.store.data_dir)
    config = WebConfig.of(settings.web, secret, tick_interval, announce)
    quiet_access_log()
    app = create_app(engine, config, clock=settings.scheduler.now)  # (a drill's clock, as the ticks')
    # the operator hears when a campaign stops ticking, from outside the scheduler it watches
    Watchdog(engine, config.tick_interval).start()
    # what is loaded by now lives as long as the server: keep it out of the collector's full
    # passes, whose pauses over a heap this size were the API's slowest answers
    gc.collect()
    gc.freeze()
    serving = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=True,
        timeout_graceful_shutdown=GRACE,
    )
    return uvicorn.Server(serving)


GRACE = 5  # seconds a request in progress has to finish when the server stops


class WebThread:
    """The web application served on a thread beside the scheduler (`cascade serve`).

    `stop` waits until the server has shut down: returning at once let the interpreter shut
    down under the server's event loop (uvloop), whose next timer then crashed the process
    (SIGSEGV) after the work was done."""

    def __init__(self, server: uvicorn.Server) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.run, name="cascade-web", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(GRACE + 5)
        if self.thread.is_alive():  # past the grace: drop the connections still open, and wait
            self.server.force_exit = True
            self.thread.join(5)
