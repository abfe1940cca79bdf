"""Problems in an operator's input, as values.

Every check in the compiler reports a `Problem` naming the file, the line, the key at
fault and, where we can guess one, a fix. Checks collect problems instead of stopping
at the first, and `CampaignInvalid` carries all of them to the command line, which is
the only place that turns them into text and exit codes.
"""

from __future__ import annotations

import difflib
import errno
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from cascade.i18n import N_, _, num


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"

    @property
    def said(self) -> str:
        """The word the operator reads: "lỗi", "cảnh báo" (or "error", "warning")."""
        return _("error") if self is Severity.ERROR else _("warning")


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    key: str
    message: str
    hint: str | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        severity = self.severity.said
        text = (
            f"{where}: {severity}: {self.key}: {self.message}"
            if self.key
            else f"{where}: {severity}: {self.message}"
        )
        hint = _("hint")
        return f"{text}\n    {hint}: {self.hint}" if self.hint else text


class CampaignInvalid(Exception):
    """The input is wrong; `problems` says where and how to fix it."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=_reading_order)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]


def _reading_order(problem: Problem) -> tuple[str, int, str]:
    return (problem.file, problem.line or 0, problem.key)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest known word, or None when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return _("did you mean `{word}`?", word=close[0]) if close else None


class Suggestions:
    """`did_you_mean` for many unknown words among many choices: once a word, and for the first
    `most` words only (a search of a national campaign's 133,000 unit ids and names takes 0.3 s:
    a units file whose 9,450 communes named districts gone took ten minutes to refuse). The
    choices are made at the first search."""

    def __init__(self, choices: Callable[[], Iterable[str]], most: int = 10) -> None:
        self._choices = choices
        self._most = most
        self._made: list[str] | None = None
        self._said: dict[str, str | None] = {}

    def __call__(self, word: str) -> str | None:
        if word in self._said or len(self._said) >= self._most:
            return self._said.get(word)
        if self._made is None:
            self._made = list(self._choices())
        self._said[word] = did_you_mean(word, self._made)
        return self._said[word]


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(f"`{c}`" for c in choices)


def listed(items: list[str], most: int = 10) -> str:
    """The first `most` of `items`, and how many more there are."""
    shown = ", ".join(items[:most])
    return shown + (_(" and {more} more", more=num(len(items) - most)) if len(items) > most else "")


def several_named(name: str, ids: list[str]) -> str:
    """What is wrong with naming a unit by a name several units share: a signal, an option or
    a command names it by its id then (a name like "Chi bộ 1" is shared by many cells)."""
    return _(
        "{count} units are named `{name}` ({ids}); name it by its id",
        count=num(len(ids)),
        name=name,
        ids=listed([f"`{unit}`" for unit in sorted(ids)]),
    )


# what the system says of a file it could not read or write, in the operator's language
_OS_REASONS = {
    errno.ENOENT: N_("its folder does not exist"),
    errno.EISDIR: N_("it is a folder: name a file in it"),
    errno.ENOTDIR: N_("a part of its path is a file, not a folder"),
    errno.EACCES: N_("permission denied (this user may not use it)"),
    errno.EPERM: N_("permission denied (this user may not use it)"),
    errno.ENOSPC: N_("the disk is full"),
    errno.EDQUOT: N_("the disk quota is used up"),
    errno.EROFS: N_("the disk is read-only"),
    errno.ENAMETOOLONG: N_("the name is too long"),
}


def os_reason(error: OSError, writing: bool = False) -> str:
    """Why a file could not be read (or written), in words (the system's own where we have none)."""
    if error.errno == errno.ENOENT and not writing:
        return _("no such file")
    said = _OS_REASONS.get(error.errno or 0)
    return _(said) if said else str(error.strerror or error)
