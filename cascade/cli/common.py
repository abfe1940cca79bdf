"""What the commands share: the application, its consoles, the store, problems and exits.

The only place that turns domain errors into messages and exit codes: `CampaignInvalid`
becomes every problem printed with its file, line and hint, and exit code 1. Anything
else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, NoReturn, TextIO

import pendulum
import typer
from rich.console import Console
from rich.markup import escape

from cascade import i18n
from cascade.cli import chrome
from cascade.compile.files import load_plan
from cascade.errors import CampaignInvalid, Problem, Severity, did_you_mean, one_of, os_reason
from cascade.i18n import _, _n, num
from cascade.plan.model import Plan

if TYPE_CHECKING:
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from sqlalchemy import Engine

    from cascade.engine.deployed import Deployed
    from cascade.views.status import Status

# the language comes first: the commands' help texts are made in it when their modules load
i18n.use(i18n.from_argv(sys.argv) or i18n.operator_language())
chrome.speak()

app = typer.Typer(
    help=_("Cascade: cascading deadlines for resolution campaigns, from province to grassroots."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _language(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help=_(
                "the language Cascade speaks to you: vi (Vietnamese) or en; default: CASCADE_LANG, else vi"
            ),
        ),
    ] = None,
) -> None:
    if lang is not None and lang not in i18n.LANGUAGES:
        raise typer.BadParameter(_("`{lang}` is not a language Cascade speaks: vi or en", lang=lang))
    i18n.use(lang or i18n.operator_language())
    chrome.speak()


out = Console(soft_wrap=True, emoji=False)  # ("units.yaml:100:" is no emoji code)
err = Console(stderr=True, soft_wrap=True, emoji=False)


# the most rows `plan`, `status` and `decisions` draw as a table (Rich lays a table out whole:
# ~1 ms a row here; a national campaign's 247,087 instances took 334 s and 4.3 GB, its 20,888
# overdue ones 15 s, its 57,600 extensions 46 s, for tables nobody reads); a province's, a
# thousand or two, stay whole
TABLE_ROWS = 2_000


def print_problems(problems: list[Problem]) -> None:
    """Each problem a line, its hint under it; a hint that several problems in a row share is
    printed once, under the last of them (87 communes moved up a level were 87 hints alike)."""
    shared = 0  # the problems in a row, up to this one, with its hint
    for n, problem in enumerate(problems):
        shared = shared + 1 if n and problems[n - 1].hint == problem.hint else 1
        colour = "red" if problem.severity is Severity.ERROR else "yellow"
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        key = _(" [bold]{key}[/bold]:", key=problem.key) if problem.key else ""
        said = problem.severity.said
        err.print(
            _(
                "{where}: [{colour}]{said}[/{colour}]:{key} {message}",
                where=where,
                colour=colour,
                said=said,
                key=key,
                message=problem.message,
            ),
            highlight=False,
        )
        if not problem.hint:
            continue
        if n + 1 < len(problems) and problems[n + 1].hint == problem.hint:
            continue  # said under the last of them
        hint = _("hint") if shared == 1 else _("hint for the {count} above", count=shared)
        err.print(f"    [dim]{hint}: {problem.hint}[/dim]", highlight=False)


def load(file: Path) -> Plan:
    """The plan, or every problem printed and exit 1."""
    try:
        with chrome.working(err, _("compiling {file}", file=file)):
            return load_plan(file)
    except CampaignInvalid as exc:
        print_problems(exc.problems)
        errors, warnings = len(exc.errors), len(exc.warnings)
        counted = [_n("{count} error", "{count} errors", errors)]
        if warnings:
            counted.append(_n("{count} warning", "{count} warnings", warnings))
        err.print(_("[red]✗[/red] {file}: ", file=file) + _(", ").join(counted))
        raise typer.Exit(1) from None


def open_engine(read_only: bool = False) -> Engine:
    """The store; `read_only` (status, report, events) writes nothing and works on a read-only copy."""
    from cascade.engine.store import open_store
    from cascade.settings import Settings

    return open_store(Settings().store.url(make_folder=not read_only), read_only=read_only)


def source_of(file: Path, plan: Plan) -> str:
    """The campaign and units files' fingerprint: it tells a re-deploy what changed. Their bytes,
    as each is (a workbook, UTF-16, the Windows code page: reading them again as UTF-8 text
    failed where the compiler had read them)."""
    import hashlib

    digest = hashlib.sha256(file.read_bytes())
    digest.update(b"\n---\n" + Path(plan.hierarchy.file).read_bytes())
    return digest.hexdigest()


def fail(problems: list[Problem]) -> NoReturn:
    print_problems(problems)
    raise typer.Exit(1)


@contextmanager
def whole_file(out_file: Path) -> Iterator[BinaryIO]:
    """`out_file` written whole or not at all: into a `.part` beside it, renamed over it at the
    end; a full disk or a failure on the way leaves no half-written file (and says so)."""
    from cascade.reports import whole

    _not_a_folder(out_file)  # found now, not once the work is done and it is to be renamed
    try:
        with whole(out_file) as part, part.open("wb") as handle:
            yield handle
    except OSError as exc:
        cannot_write(out_file, exc)


def csv_stdout() -> TextIO:
    """Standard output, for a CSV. Redirected to a file (`> ke-hoach.csv`), it starts with a
    byte-order mark: without one Excel reads the file in the Windows code page ("Huyá»‡n á»§y"
    for "Huyện ủy"). A terminal or a pipe to another program gets the CSV alone."""
    try:
        fd = sys.stdout.fileno()
        to_a_file = stat.S_ISREG(os.fstat(fd).st_mode) and os.lseek(fd, 0, os.SEEK_CUR) == 0
    except (OSError, ValueError):  # no descriptor (a test's captured output)
        to_a_file = False
    if to_a_file:
        sys.stdout.write("\ufeff")
    return sys.stdout


def writable(out_file: Path) -> None:
    """Refuse now an `out_file` that could not be written (a folder, no such folder, no
    permission): before the work that makes it, not after. Nothing is left there."""
    _not_a_folder(out_file)
    trial = out_file.with_name(f".{out_file.name}.part")
    try:
        trial.open("wb").close()
    except OSError as exc:
        cannot_write(out_file, exc)
    trial.unlink()


# the names of documents opened in another program: a spreadsheet's (besides .xlsx) and a word
# processor's (besides .docx); a summary (`report`) is written as .xlsx or .docx instead
SHEET_NAMES = ("xls", "xlsm", "xlsb", "ods", "csv")
PAGE_NAMES = ("doc", "docm", "odt", "rtf", "pdf")
# under which a JSON-lines log would not open, or would open as a column of braces
DOCUMENT_NAMES = frozenset(("xlsx", "docx", *SHEET_NAMES, *PAGE_NAMES))


def json_lines_named(out_file: Path) -> None:
    """Refuse an event log's --out named as a spreadsheet or a document, naming it .jsonl instead."""
    suffix = out_file.suffix.lower().lstrip(".")
    if suffix in DOCUMENT_NAMES:
        fail(
            [
                Problem(
                    str(out_file),
                    None,
                    "--out",
                    _(
                        "the event log is written as JSON lines (one event a line), not .{suffix}",
                        suffix=suffix,
                    ),
                    _("name it {instead}", instead=out_file.with_suffix(".jsonl")),
                )
            ]
        )


def _not_a_folder(out_file: Path) -> None:
    if out_file.is_dir():
        cannot_write(out_file, IsADirectoryError(errno.EISDIR, "Is a directory"))


def cannot_write(out_file: Path, exc: OSError) -> NoReturn:
    reason = os_reason(exc, writing=True)
    fail([Problem(str(out_file), None, "", _("cannot write: {reason}", reason=reason))])


def instant_of(
    engine: Engine, campaign: str, value: str | None, command: str, option: str
) -> pendulum.DateTime:
    """`value` (an option's text) as an instant in the campaign's timezone; now if not given."""
    from cascade.settings import Settings
    from cascade.timing.instants import parse_instant

    tz = campaign_tz(engine, campaign)
    now = Settings().scheduler.now().in_timezone(tz)
    try:
        return parse_instant(value, tz, now.date()) if value else now
    except ValueError as exc:
        fail([Problem(command, None, option, str(exc))])


def campaign_tz(engine: Engine, campaign: str) -> str:
    row = campaign_row(engine, campaign)
    return str(row.timezone)


def campaign_row(engine: Engine, campaign: str) -> Deployed:
    """The deployed campaign `campaign` names (its id), or exit 1 with the ones there are."""
    from cascade.engine import deployed

    with engine.connect() as conn:
        row = deployed.read(conn, campaign)
    if row is None:
        _no_campaign(engine, campaign)
    return row


def campaign_id(engine: Engine, written: str) -> str:
    """The id of the deployed campaign `written` names: its id, or its title as the notices and
    documents show it (capitals and spacing aside); else exit 1 with the ones there are."""
    from cascade.engine import deployed

    with engine.connect() as conn:
        found = deployed.campaigns_named(conn, written)
    if len(found) > 1:
        message = _("{count} campaigns have the title «{title}»", count=len(found), title=written)
        fail([Problem(_("store"), None, "", message, _("name it by its id: {ids}", ids=one_of(found)))])
    if not found:
        _no_campaign(engine, written)
    return found[0]


def _no_campaign(engine: Engine, written: str) -> NoReturn:
    from cascade.engine import deployed

    with engine.connect() as conn:
        others = deployed.campaign_ids(conn)
        begun = deployed.campaigns_begun(conn, written)
    message = _("no deployed campaign `{campaign}`", campaign=written)
    if len(begun) == 1:  # the beginning of its title
        hint = _("did you mean `{campaign}` («{title}»)?", campaign=begun[0][0], title=begun[0][1])
    else:
        hint = _campaign_hint(written, others)
    fail([Problem(_("store"), None, "", message, hint)])


def not_among(command: str, option: str, message: str, choices: Iterable[str]) -> Problem:
    """An option's value that is none of `choices`, with them as the hint."""
    return Problem(command, None, option, message, _("one of: {choices}", choices=", ".join(choices)))


def stopped_since(row: Deployed) -> str | None:
    """When an undeployed campaign stopped, as the operator reads it; None while it runs."""
    if row.archived_at is None:
        return None
    return str(pendulum.from_timestamp(row.archived_at, tz=row.timezone).format("DD/MM/YYYY HH:mm"))


def task_of(engine: Engine, campaign: str, written: str) -> str:
    """The task or report `written` names in a deployed campaign: its id, or its title as the
    operator reads it on every page and notice (capitals and spacing aside); else `written` as it
    is, for the command to refuse with the campaign's tasks."""
    from cascade.engine.deployed import task_named

    return task_named(campaign_row(engine, campaign), written) or written


def checked_filters(
    engine: Engine, row: Any, level: str | None, task: str | None, under: str | None, command: str
) -> tuple[str | None, str | None, str | None]:
    """Every filter that names nothing refused at once; the level --level names (its id, or as
    people write or the tables show it), the task --task names (its id or title) and the unit
    --under names (by its id or its exact name), as their ids."""
    from cascade.engine.deployed import task_choices, task_named
    from cascade.engine.words import level_choices, level_named

    problems = []
    level_id = level_named(level, row.levels) if level is not None else None
    if level is not None and level_id is None:
        no_level = _("no level `{level}`", level=level)
        problems.append(not_among(command, "--level", no_level, level_choices(row.levels)))
    if task is not None:
        task = task_named(row, task) or task  # (or its title)
    if task is not None and task not in row.tasks:
        begun, tasks = task_choices(row, task)
        hint = _("did you mean {choice}?", choice=begun) if begun else _("one of: {choices}", choices=tasks)
        problems.append(Problem(command, None, "--task", _("no task `{task}`", task=task), hint))
    if under is not None:
        from cascade.engine.deployed import units_named

        with engine.connect() as conn:
            found, wrong = units_named(conn, row.id, [under])
        problems += [Problem(command, None, "--under", p) for p in wrong]
        under = found[under].id if under in found else None
    if problems:
        fail(problems)
    return level_id, task, under


def _campaign_hint(campaign: str, deployed_ids: list[str]) -> str:
    """The deployed campaign meant (one whose id starts so, or the closest), the ones there are,
    or, with none, to deploy first."""
    if not deployed_ids:
        return _("deploy it first: cascade deploy FILE")
    starting = [c for c in deployed_ids if c.startswith(campaign)]
    if len(starting) == 1:
        return _("did you mean `{word}`?", word=starting[0])
    return did_you_mean(campaign, deployed_ids) or _(
        "the deployed campaigns: {campaigns}", campaigns=one_of(deployed_ids)
    )


def main() -> None:
    """The `cascade` command: a store that fails (disk full, read-only, locked, damaged, a
    database that does not answer) is one message naming it and what to do, not a traceback."""
    _utf8_streams()
    sys.argv[1:] = _language_first(sys.argv[1:])
    try:
        app()
    except Exception as error:
        said = _said(error)
        if said is None:
            raise  # a bug: its traceback
        for line in said:
            err.print(line, highlight=False)
        sys.exit(1)


def _language_first(args: list[str]) -> list[str]:
    """`--lang` put before the command, wherever it was typed: `cascade validate f.yaml --lang
    vi` was "No such option: --lang", the option being the whole program's."""
    for n, arg in enumerate(args[: args.index("--") if "--" in args else len(args)]):
        if arg.startswith("--lang="):
            return [arg, *args[:n], *args[n + 1 :]]
        if arg == "--lang" and n + 1 < len(args):
            return [arg, args[n + 1], *args[:n], *args[n + 2 :]]
    return args


def _utf8_streams() -> None:
    """Standard output and error in UTF-8 whatever code page the locale names, as Python's UTF-8
    mode has them: one that cannot hold Vietnamese (a redirect on a Vietnamese Windows uses
    cp1258, which has no "ệ"; a Latin-1 locale) stopped a command half-way with a traceback."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if not encoding.startswith("utf8") and isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")


def _said(error: Exception) -> list[str] | None:
    """What the operator reads for a failure that is not a bug, or None. The store's modules are
    looked up, not imported: a command that never opened the store (validate, plan) does not
    load them, and cannot have failed in them."""
    from pydantic import ValidationError

    from cascade.engine.faults import StoreFault
    from cascade.settings import GROUPS, Settings, unreadable

    if isinstance(error, StoreFault):
        return ["[red]" + _("store error") + f"[/red]: {escape(str(error))}"]
    # a CASCADE_* setting that cannot be read (another model's refusal escaping is a bug: it was
    # said as "setting error: a setting", naming neither the file nor the fix)
    settings = {Settings.__name__, *(group.__name__ for group in GROUPS)}
    if isinstance(error, ValidationError) and error.title in settings:
        return [
            _("[red]setting error[/red]: {name}: {message}", name=name, message=escape(message))
            for name, message in unreadable(error)
        ]
    db = sys.modules.get("sqlalchemy.exc")
    if db is not None and isinstance(error, db.DatabaseError):  # OperationalError is one
        found = StoreFault.of(error, Settings().store.url(make_folder=False))
        return ["[red]" + _("store error") + f"[/red]: {escape(str(found))}"]
    return None


def status_table(status: Status) -> Table:
    """Progress per level and task: a column a state, or, narrower than 110 columns (an
    80-column terminal, a file), the states in words in one column, so the titles keep room."""
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    from cascade.views.status import STATES
    from cascade.views.tables import operator_level

    table = Table(title=escape(status.title), title_justify="left")
    states = [_("on time"), _("late"), _("overdue"), _("open"), _("held"), _("exempt")]
    narrow = out.width < 110
    headers = [_("level"), _("task"), _("progress"), *([_("state")] if narrow else states)]
    for n, column in enumerate(headers):
        table.add_column(column, justify="left" if n < 3 or narrow else "right")
    for p in status.progress:
        c = p.counts
        if narrow:
            done: ProgressBar | str = f"{num(p.finished)}/{num(p.owed)}"
            said = (f"{word} {num(c[s])}" for word, s in zip(states, STATES, strict=True) if c.get(s))
            counts = [", ".join(said)]
        else:
            done = ProgressBar(total=max(p.owed, 1), completed=p.finished, width=20)
            counts = [num(c[s]) if c.get(s) else "" for s in STATES]
        table.add_row(escape(operator_level(p.level)), escape(p.title), done, *counts)
    return table


def ago(seconds: int) -> str:
    """A span of seconds as an operator reads it: 90 s, 45 min, 3 h 5 min."""
    if seconds < 120:
        return _("{seconds} s", seconds=seconds)
    if seconds < 7200:
        return _("{minutes} min", minutes=seconds // 60)
    return _("{hours} h {minutes} min", hours=seconds // 3600, minutes=seconds % 3600 // 60)
