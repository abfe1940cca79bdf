"""What went wrong with the store, in the operator's words: a full disk, a read-only or
locked file, a damaged store, a PostgreSQL that does not answer. `StoreFault` names the
store (its file, or its URL without the password) and says what to do."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from cascade.i18n import N_, _


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///") or ":memory:" in url:
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def shown(url: str) -> str:
    """The store as an operator knows it: its file, or the URL without its password."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


class StoreFault(Exception):
    """The store cannot be used: one message that names it and says what to do. `full`: its
    disk is full."""

    full = False

    @classmethod
    def of(cls, error: BaseException, url: str) -> StoreFault:
        where, text = shown(url), str(getattr(error, "orig", None) or error).lower()
        if "disk i/o error" in text:  # SQLite's words when a full disk refuses its log (WAL, -shm)
            full = _no_room(url)
            fault = cls(f"{where}: {_(_FULL if full else _IO)}")
            fault.full = full
            return fault
        for needle, what in _FAULTS:
            if needle in text:
                fault = cls(f"{where}: {_(what)}")
                fault.full = what is _FULL
                return fault
        said = str(getattr(error, "orig", None) or error).strip()
        return cls(f"{where}: " + _("the store failed ({error})", error=said))


def is_full(error: BaseException) -> bool:
    """Whether `error` is a full disk: a store's fault (`StoreFault.of` read the driver's words)
    or the system's."""
    if isinstance(error, StoreFault):
        return error.full
    return isinstance(error, OSError) and error.errno == errno.ENOSPC


_FULL = N_("the disk is full; nothing was written. Free space on its disk, then run the command again")
_IO = N_(
    "the disk failed to read or write the store (disk I/O error); nothing was written. Check the "
    "disk (its free space, the system log), then run the command again"
)
ROOM = 1 << 20  # less free space than this beside a store is a full disk


def _no_room(url: str) -> bool:
    """Whether the disk of a SQLite store has (next to) no free space left."""
    path = sqlite_path(url)
    if path is None:
        return False
    try:
        return shutil.disk_usage(path.parent).free < ROOM
    except OSError:
        return False


_NO_ANSWER = N_("PostgreSQL does not answer: check that it runs and CASCADE_DATABASE_URL")
# what the driver says (lower case) -> what to tell the operator, in the operator's language
_FAULTS = (
    ("disk is full", _FULL),
    ("no space left", _FULL),
    (
        "readonly database",
        N_(
            "the store is read-only (its file or folder is not writable by this user); fix the "
            "permissions, or use a read-only command (status, report, events)"
        ),
    ),
    (
        "database is locked",
        N_(
            "the store is locked by another process (a tick, or a long-running command); try again in "
            "a minute"
        ),
    ),
    (
        "not a database",
        N_(
            "the file is not a Cascade store, or it is damaged: restore it from a backup "
            "(`cascade doctor` checks a store)"
        ),
    ),
    (
        "malformed",
        N_(
            "the store is damaged (its integrity check fails): stop the scheduler and restore it from a "
            "backup; `cascade doctor` says more"
        ),
    ),
    (
        "unable to open database file",
        N_("the file cannot be opened: check that its folder exists and is readable"),
    ),
    ("could not connect", _NO_ANSWER),
    ("connection refused", _NO_ANSWER),
    ("password authentication failed", N_("PostgreSQL refused the login: check CASCADE_DATABASE_URL")),
)
