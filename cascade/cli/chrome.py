"""The command line's own words in the operator's language: the titles of the help panels,
"Show this message and exit.", and the parser's usage errors ("Missing argument 'file'.",
"No such command 'sttus'."), which Typer writes in English only: its panel titles are
constants made at import, its parser's messages f-strings.

Typer calls two functions of `typer.rich_utils` to print help and usage errors; `speak()`
wraps them and sets the titles in the language chosen, once that module is imported: Typer
imports it (38 ms, most of it Rich's Markdown) only to print help or an error, so a command
that prints neither does not pay for it (tests/test_cli.py checks `validate`). An error's
message is told again from what the exception holds (the missing parameter, the unknown
option and its near matches), or from the English Typer wrote where only the text says it (an
extra argument, a value not among the choices); anything not recognised stays as Typer wrote
it, and so does the usage line. Typer is pinned (pyproject.toml); tests/test_i18n.py fails if
an upgrade moves what this reaches.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import re
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

from typer._click import exceptions as click_errors

from cascade.i18n import _, language, num

RICH_UTILS = "typer.rich_utils"
_ORIGINAL: dict[str, Any] = {}


def speak() -> None:
    """Typer's own words, from now on, in the language `cascade.i18n` speaks."""
    if RICH_UTILS in sys.modules:
        _speak_in(sys.modules[RICH_UTILS])
    elif not any(isinstance(finder, _WhenImported) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WhenImported())


class _WhenImported(importlib.abc.MetaPathFinder):
    """Finds `typer.rich_utils` as Python would, and has it speak once it is loaded."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != RICH_UTILS:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            _speak_in(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _speak_in(rich_utils: Any) -> None:
    if not _ORIGINAL:
        _ORIGINAL.update(error=rich_utils.rich_format_error, help=rich_utils.rich_format_help)
    rich_utils.ARGUMENTS_PANEL_TITLE = _("Arguments")
    rich_utils.OPTIONS_PANEL_TITLE = _("Options")
    rich_utils.COMMANDS_PANEL_TITLE = _("Commands")
    rich_utils.ERRORS_PANEL_TITLE = _("Error")
    rich_utils.REQUIRED_LONG_STRING = _("[required]")
    rich_utils.DEFAULT_STRING = _("[default: {}]")
    rich_utils.ABORTED_TEXT = _("Aborted.")
    rich_utils.RICH_HELP = _("Try [blue]'{command_path} {help_option}'[/] for help.")
    rich_utils.rich_format_error = _format_error
    rich_utils.rich_format_help = _format_help


def _format_help(*, obj: Any, ctx: Any, markup_mode: Any) -> None:
    option = ctx.command.get_help_option(ctx)
    if option is not None:
        option.help = _("Show this message and exit.")
    _ORIGINAL["help"](obj=obj, ctx=ctx, markup_mode=markup_mode)


def _format_error(error: click_errors.ClickException) -> None:
    if language() != "en" or _names_no_campaign(error):
        said = told(error)
        error.format_message = lambda: said  # type: ignore[method-assign]
    _ORIGINAL["error"](error)


def _names_no_campaign(error: click_errors.ClickException) -> bool:
    """A command run without its campaign: told where to find the ones there are."""
    if not isinstance(error, click_errors.MissingParameter):
        return False
    return error.param is not None and error.param.name == "campaign"


_EXTRA = re.compile(r"^Got unexpected extra argument\(s\) \((?P<args>.*)\)$", re.S)
_COMMAND = re.compile(r"^No such command '(?P<name>.*?)'\.(?: Did you mean (?P<near>.*)\?)?$", re.S)
_NEEDS_VALUE = re.compile(r"^Option '(?P<option>.*)' requires (?:an argument|\d+ arguments)\.$")
_NO_VALUE = re.compile(r"^Option '(?P<option>.*)' does not take a value\.$")
_BOUND = re.compile(
    r"^Input should be (?P<relation>greater than or equal to|less than or equal to|greater than|less than) "
    r"(?P<bound>\S+)$"
)
_CHOICE = re.compile(r"^(?:Value error, )?(?P<value>'.*') is not one of (?P<choices>.*)\.$", re.S)


def told(error: click_errors.ClickException) -> str:
    """The error's message in the operator's language (Typer's English where not recognised)."""
    english = error.format_message()
    if isinstance(error, click_errors.MissingParameter):
        hint = _hint(error)
        kind = error.param_type or (error.param.param_type_name if error.param is not None else "")
        if kind == "argument" and _names_no_campaign(error):
            return _("Missing argument {name}.", name=hint) + " " + _("`cascade status` lists the campaigns.")
        if kind == "argument":
            return _("Missing argument {name}.", name=hint)
        if kind == "option":
            return _("Missing option {name}.", name=hint)
        return english
    if isinstance(error, click_errors.NoSuchOption):
        said = _("No such option: {option}", option=error.option_name)
        if error.possibilities:
            said += " " + _("(did you mean {options}?)", options=", ".join(sorted(error.possibilities)))
        return said
    if isinstance(error, click_errors.BadParameter):
        message = _value(error.message)
        hint = _hint(error)
        return _("Invalid value for {name}: {message}", name=hint, message=message) if hint else message
    if found := _EXTRA.match(english):
        return _("Unexpected extra argument(s): {args}", args=found["args"])
    if found := _NEEDS_VALUE.match(english):
        return _("Option '{option}' needs a value.", option=found["option"])
    if found := _NO_VALUE.match(english):
        return _("Option '{option}' takes no value.", option=found["option"])
    found = _COMMAND.match(english)
    if found:
        said = _("No such command '{name}'.", name=found["name"])
        return said + (" " + _("Did you mean {commands}?", commands=found["near"]) if found["near"] else "")
    if english == "Missing command.":
        return _("Missing command.")
    return english


def _hint(error: click_errors.BadParameter) -> str:
    if error.param_hint is not None:
        hint = error.param_hint
        return hint if isinstance(hint, str) else " / ".join(f"'{h}'" for h in hint)
    return error.param.get_error_hint() if error.param is not None else ""


def _value(message: str) -> str:
    """A value's fault as the type check wrote it, in words where it is a usual one."""
    found = _CHOICE.match(message)
    if found:
        return _("{value} is not one of {choices}.", value=found["value"], choices=found["choices"])
    if message.startswith("Input should be a valid integer"):
        return _("not a whole number")
    if message.startswith("Input should be a valid number"):
        return _("not a number")
    if found := _BOUND.match(message):
        words = {
            "greater than or equal to": _("at least {bound}", bound=found["bound"]),
            "less than or equal to": _("at most {bound}", bound=found["bound"]),
            "greater than": _("more than {bound}", bound=found["bound"]),
            "less than": _("less than {bound}", bound=found["bound"]),
        }
        return _("must be {bound}", bound=words[found["relation"]])
    return message.removeprefix("Value error, ")


def count_column(words: str | None = None) -> Any:
    """A progress bar's count as the operator's language groups it ("49.208", "12.000 dòng"; Rich
    writes 49208): `words` holds it as `{rows}`."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class Count(ProgressColumn):
        def render(self, task: Task) -> Text:
            count = num(int(task.completed))
            return Text(_(words, rows=count) if words else count)

    return Count()


def working(console: Any, message: str) -> Any:
    """A spinner saying `message` on `console` while long work runs (a nation's redeploy compares
    247,087 instances for 20 s, its first tick runs 80 s, in silence), on a terminal only."""
    from contextlib import nullcontext

    return console.status(message) if console.is_terminal else nullcontext()
