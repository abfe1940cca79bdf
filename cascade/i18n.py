"""The operator's language: Vietnamese unless English is asked for (`--lang en`, `CASCADE_LANG=en`).

Messages are written in English in the code, marked `_("no unit `{unit}`", unit=...)` with named
placeholders, and translated in the gettext catalogue `cascade/locale/vi/LC_MESSAGES/cascade.po`
(Babel's format: `scripts/catalogue.sh` extracts the marked messages and updates it;
`scripts/setup.sh` compiles it to `cascade.mo` at install). Without a compiled `.mo`, or with
one older than the `.po`, the `.po` itself is read (slower, same words). `tests/test_i18n.py`
holds every entry translated and every placeholder kept.

The officials' own texts (notices, forms, documents) are Vietnamese templates, whatever the
operator's language.
"""

from __future__ import annotations

import gettext
import os
import string
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
LOCALE = Path(__file__).parent / "locale"
DOMAIN = "cascade"

_active: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"
_catalogues: dict[str, gettext.NullTranslations] = {}
# a language for the code running in this context only (`speaking`): what an official reads
_speaking: ContextVar[tuple[str, gettext.NullTranslations] | None] = ContextVar("speaking", default=None)


def catalogue(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language`, else its .po read as one (English: none)."""
    if language == "en":
        return gettext.NullTranslations()
    po = LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        return _from_po(po)  # not compiled yet, or edited since
    return gettext.translation(DOMAIN, LOCALE, [language], fallback=True)


def _from_po(po: Path) -> gettext.NullTranslations:
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        messages = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, messages)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _loaded(language: str) -> gettext.NullTranslations:
    if language not in _catalogues:
        _catalogues[language] = catalogue(language)
    return _catalogues[language]


def use(language: str | None) -> None:
    """Speak `language` (vi or en; None: the default) from now on in this process."""
    global _active, _language
    chosen = language if language in LANGUAGES else DEFAULT
    if chosen != _language:
        _active, _language = _loaded(chosen), chosen


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Speak `language` in this context (this thread, this task) whatever the operator's: the
    messages an official reads on a form are Vietnamese even where the operator reads English."""
    token = _speaking.set((language, _loaded(language)))
    try:
        yield
    finally:
        _speaking.reset(token)


def _now() -> tuple[str, gettext.NullTranslations]:
    spoken = _speaking.get()
    return spoken if spoken is not None else (_language, _active)


def language() -> str:
    return _now()[0]


def _(message: str, /, **values: Any) -> str:
    """`message` in the operator's language, with `values` put in its `{placeholders}`; a
    number placed with `{count:,}` is grouped as the language groups it (60.000 in Vietnamese)."""
    language, catalogue = _now()
    text = catalogue.gettext(message)
    if not values:
        return text
    if language == "vi" and ":," in text:
        return _VI_GROUPING.format(text, **values)
    return text.format(**values)


class _Grouping(string.Formatter):
    """`{n:,}` as Vietnamese writes it: 60.000 and 0,85 (the separators of English swapped)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        text = format(value, format_spec)
        if "," in format_spec and isinstance(value, int | float):
            return text.translate(_SWAP)
        return text


_SWAP = str.maketrans(",.", ".,")
_VI_GROUPING = _Grouping()


def _n(singular: str, plural: str, count: int, /, **values: Any) -> str:
    """The message for `count` things ("1 report", "5 tasks"; Vietnamese has one form), with
    `count` and `values` put in its placeholders."""
    return _now()[1].ngettext(singular, plural, count).format(count=num(count), **values)


def num(value: int) -> str:
    """A whole number as the operator's language groups it: 60.000 (vi), 60,000 (en)."""
    grouped = f"{value:,}"
    return grouped.replace(",", ".") if language() == "vi" else grouped


def N_(message: str) -> str:
    """Mark `message` for the catalogue without translating it now (a constant made at import,
    translated where it is used: `_(HINT)`)."""
    return message


def operator_language() -> str:
    """CASCADE_LANG (`ui.lang` of the settings, whose reading this is: the name in any case), or
    the default when it is unset or names no language Cascade speaks (`cascade doctor` reports
    that). Read here, not through the settings, so that a command starts without loading them."""
    for name, value in os.environ.items():
        if name.upper() == "CASCADE_LANG":
            return value if value in LANGUAGES else DEFAULT
    return DEFAULT


def from_argv(argv: list[str]) -> str | None:
    """The `--lang X` / `--lang=X` of a command line, if any (read before the commands' help
    texts are made, so that `--help` speaks it too)."""
    for n, arg in enumerate(argv):
        if arg == "--lang" and n + 1 < len(argv):
            return argv[n + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


use(DEFAULT)
