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
    app = create_app(engine, config)
    # the operator hears when a campaign stops ticking, from outside the scheduler it watches
    Watchdog(engine, config.tick_interval).start()
    # what is loaded by now lives as long as the server: keep it out of the collector's full
    # passes, whose pauses over a heap this size were the API's slowest answers
    gc.collect()
    gc.freeze()
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info", access_log=True))


def start_in_thread(server: uvicorn.Server) -> threading.Thread:
    """Serve on a daemon thread; `server.should_exit = True` stops it."""
    thread = threading.Thread(target=server.run, name="cascade-web", daemon=True)
    thread.start()
    return thread
