"""Python's cycle collector held off during bulk work: compiling a national plan, a simulation,
a tick.

Both make millions of long-lived objects and no reference cycles (a simulation's ticks are held
to none: tests/test_resident.py). Left on, the collector rescans them all on every full pass,
finding nothing: a third of a national compile, a sixth of a national simulation's ticks.
Reference counting still frees at once everything that is not in a cycle.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The collector off, what exists frozen out of the scans of anything that collects
    explicitly meanwhile; at the end, what was made goes straight to the oldest generation
    (the first collections after do not scan it as young), the collector on again if it was.
    Nested, the inner one keeps what it made frozen for the outer one; a freeze made before
    (the web server's, of what it loaded) is kept."""
    was_enabled, frozen_before = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        gc.freeze()  # what was made meanwhile
        if not frozen_before:
            gc.unfreeze()  # all of it into the oldest generation
        if was_enabled:
            gc.enable()


@contextmanager
def held() -> Iterator[None]:
    """The collector off for a short piece of work that makes no cycles (a live tick), and on
    again after it if it was: what the work made stays young, for the passes after it. Cheap
    (no freeze, which `paused` counts by walking the frozen objects), so a simulation's
    thousands of ticks, already inside `paused`, lose nothing; and nothing is frozen in a
    long-lived process (`cascade serve`), where the web server's freeze would keep it so."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
