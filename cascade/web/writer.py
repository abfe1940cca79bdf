"""Group commit for the web's signals: concurrent posts share one transaction.

Every form or API post hands its batch to one writer thread and waits for its answer.
The writer takes whatever has queued up (up to `MAX_GROUP` posts), checks each batch on
its own and stores the accepted ones in one transaction (`cascade.engine.signals.record_many`):
one commit for many requests, and on SQLite no writers racing for the lock. A refused
batch is refused alone; when the group's transaction fails, each post is tried again on its
own, so that one post the store cannot take fails alone and the others are stored.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

from sqlalchemy import Engine

from cascade.engine.signals import Batch, Recorded, SignalRefused, record_many

MAX_GROUP = 256


class SignalWriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.queue: queue.Queue[tuple[Batch, Future[Recorded]]] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="cascade-signal-writer", daemon=True)
        self.thread.start()

    def submit(self, request: Batch) -> Future[Recorded]:
        """A future of (stored, already known), or of SignalRefused, as `cascade.engine.signals.record`
        answers (an async caller awaits it with `asyncio.wrap_future`)."""
        future: Future[Recorded] = Future()
        self.queue.put((request, future))
        return future

    def record(self, request: Batch, timeout: float = 60.0) -> Recorded:
        return self.submit(request).result(timeout)

    def _run(self) -> None:
        while True:
            group = [self.queue.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                answers: list[Recorded | SignalRefused | Exception] = list(
                    record_many(self.engine, [request for request, _ in group])
                )
            except Exception:  # nothing of the group was stored: each post again on its own,
                answers = [self._alone(request) for request, _ in group]  # so one fails alone
            for (_, future), answer in zip(group, answers, strict=True):
                if isinstance(answer, Exception):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)

    def _alone(self, request: Batch) -> Recorded | SignalRefused | Exception:
        try:
            return record_many(self.engine, [request])[0]
        except Exception as exc:  # the store failed for this post (or for every post)
            return exc
