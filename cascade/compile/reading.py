"""Reading YAML and CSV text into plain data that remembers where each key was written.

PyYAML follows YAML 1.1, whose implicit types bite campaign files: the deadline key
`on:` becomes the boolean True, `yes`/`no` become booleans, `21:00` becomes the integer
1260 and a phone number `0912000002` loses its leading zero. The loader here resolves
plain scalars the YAML 1.2 way instead (only true/false are booleans, only decimal
numbers without a leading zero are numbers; dates stay dates), refuses duplicate keys,
and records the line of every key and list item under its path, so that a validation
error at `("tasks", 2, "due")` can name the line the operator wrote.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import yaml

from cascade.errors import CampaignInvalid, Problem, Severity, os_reason
from cascade.i18n import _

Path = tuple[str | int, ...]

# libyaml's parser (CSafeLoader) composes a 60,000-unit file several times faster.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_OVERRIDDEN = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader with YAML 1.2 core-schema booleans and numbers."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _OVERRIDDEN]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


@dataclass
class Document:
    """Parsed data plus the line of every path in it."""

    file: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)  # found in reading it (`_cut_by_a_comment`)
    # a title cut by a comma inside `{...}`: the first key made of its rest -> [the title's key, its
    # parts]; the further keys made of it -> None (`_cut_by_a_comma`)
    commas: dict[Path, list[str] | None] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the longest prefix of `path` that was written in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def problem(self, path: Sequence[str | int], message: str, hint: str | None = None) -> Problem:
        return Problem(self.file, self.line_of(path), dotted(path), message, hint)


def dotted(path: Sequence[str | int]) -> str:
    """`("tasks", 2, "due")` -> `tasks[2].due`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def read_yaml(text: str, file: str) -> Document:
    """Parse YAML text; syntax errors, unknown tags and duplicate keys raise CampaignInvalid."""
    doc = Document(file, None)
    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=_Loader)
        if root is None:
            raise CampaignInvalid([Problem(file, 1, "", _("the file is empty"))])
        words: list[tuple[Any, Path, str]] = []  # the values `_cut_by_a_comment` looks at
        doc.data = _build(root, (), doc, problems, _Loader(""), [_node_budget(text)], words)
        if words:
            lines = text.splitlines()
            for node, path, value in words:
                _cut_by_a_comment(lines, node, path, value, doc)
    except (RecursionError, _TooLarge):
        raise CampaignInvalid(
            [
                Problem(
                    file,
                    None,
                    "",
                    _("the file nests or repeats (through & and * aliases) too deeply"),
                    _("write the data out plainly"),
                )
            ]
        ) from None
    except yaml.MarkedYAMLError as exc:
        message, hint, mark = _yaml_said(exc, text)
        line = mark.line + 1 if mark else None
        raise CampaignInvalid([Problem(file, line, "", message, hint)]) from None
    except yaml.YAMLError as exc:
        raise CampaignInvalid([Problem(file, None, "", _("not valid YAML: {error}", error=exc))]) from None
    if problems:
        raise CampaignInvalid(problems)
    return doc


def _yaml_said(exc: yaml.MarkedYAMLError, text: str) -> tuple[str, str, yaml.Mark | None]:
    """A YAML syntax error in words, with the fix for the mistakes people make most, and the line
    to show: a tab in the indentation (Notepad's Tab key), a value with `: ` in it left unquoted
    (a title), a line indented one space off, a `{`, `[` or quote left open (shown on the line it
    opened on, not the line where the parser gave up), a key without its colon."""
    problem, context = str(exc.problem or exc.context), str(exc.context or "")
    mark = exc.problem_mark or exc.context_mark
    opened = exc.context_mark or mark
    message = _("not valid YAML: {context}", context=problem)
    if "constructor" in problem:
        return message, _("campaign files use plain YAML: no !! tags"), mark
    if "tab" in problem:
        return (
            _("not valid YAML: a tab in the indentation"),
            _("YAML indents with spaces only: put two spaces for each level where the tab is"),
            mark,
        )
    for flow, (left, right, example) in _FLOWS.items():
        if context.startswith(flow):
            return (
                _("not valid YAML: the `{left}` opened on this line is not closed", left=left),
                _("close it with `{right}` on the same line, e.g. {example}", right=right, example=example),
                opened,
            )
    if context.startswith("while scanning a quoted scalar"):
        return (
            _("not valid YAML: the quote opened on this line is not closed"),
            _("close it with the same quote mark before the line ends"),
            opened,
        )
    if "quoted scalar" in context and ("escape" in problem or "hexdecimal" in problem):
        # a Windows path in double quotes, "C:\Users\...": `\U` reads as an escape
        return (
            _("not valid YAML: a `\\` in double quotes starts an escape (such as `\\n`)"),
            _("write a path with `/` (units/don-vi.xlsx), or put it in single quotes: 'C:\\...'"),
            mark,
        )
    if context.startswith("while scanning a simple key"):
        return (
            _("not valid YAML: this line has no `:` after its key"),
            _("write the key, a colon and a space, then the value, e.g. level: district"),
            opened,
        )
    if problem.startswith("expected <block end>") or problem in _OFF_COLUMN:
        return (
            _("not valid YAML: this line does not line up with the lines above it"),
            _(
                "the keys of one item, and the `- ` of a list's items, start in the same column as those "
                "above: line it up with spaces"
            ),
            mark,
        )
    if problem.startswith("mapping values are not allowed"):
        written = _written(mark, text)
        if written.count(": ") + written.rstrip().endswith(":") == 1:  # one key: indented too far
            return (
                _("not valid YAML: this line is indented further than the key above it"),
                _(
                    "line it up with the key above (the same number of spaces): it reads as the rest of "
                    "that line"
                ),
                mark,
            )
        return (
            _("not valid YAML: a second `: ` on this line"),
            _(
                'a value with ": " in it, a title such as «Học tập: Nghị quyết», goes in quotes: '
                'title: "Học tập: Nghị quyết"'
            ),
            mark,
        )
    return message, _("check indentation, colons and quotes here"), mark


# a `{` or `[` left open, by the parser's words for it: its brackets and how one is written
_FLOWS = {
    "while parsing a flow mapping": ("{", "}", "due: {before: 20/11/2020}"),
    "while parsing a flow sequence": ("[", "]", "remind: [7d, 1d]"),
}
# libyaml's words for a line that does not line up (PyYAML's: "expected <block end>, but found ...")
_OFF_COLUMN = ("did not find expected '-' indicator", "did not find expected key")


def _written(mark: yaml.Mark | None, text: str) -> str:
    """The line of `text` a mark is on, as written."""
    lines = text.splitlines()
    return lines[mark.line] if mark is not None and mark.line < len(lines) else ""


def _node_budget(text: str) -> int:
    """Plain YAML has fewer nodes than characters; only `*alias` repetition can exceed that.
    Ten times allows ordinary reuse (a shared `fields:` block) and stops alias bombs early."""
    return 10 * len(text) + 10_000


class _TooLarge(Exception):
    pass


def _build(
    node: yaml.Node,
    path: Path,
    doc: Document,
    problems: list[Problem],
    ld: Any,
    budget: list[int],
    words: list[tuple[Any, Path, str]],
) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        ld.flatten_mapping(node)
        out: dict[Any, Any] = {}
        cut: list[str] | None = None  # a title in `{...}`, and the keys its commas made
        for key_node, value_node in node.value:
            key = ld.construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                key = str(key)
            child = (*path, key)
            if key in out:
                problems.append(
                    Problem(
                        doc.file,
                        key_node.start_mark.line + 1,
                        dotted(child),
                        _("the key `{key}` is written twice in the same block", key=key),
                        _("keep one; the first is on line {line}", line=doc.lines[child]),
                    )
                )
                continue
            doc.lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, doc, problems, ld, budget, words)
            if node.flow_style:
                cut = _cut_by_a_comma(cut, key, out[key], value_node, child, doc)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, i), doc, problems, ld, budget, words) for i, item in enumerate(node.value)
        ]
    value = ld.construct_object(node, deep=True)
    plain = isinstance(node, yaml.ScalarNode) and not node.style  # (libyaml: "", PyYAML: None)
    if plain and path and path[-1] in _WORDS_KEYS and isinstance(value, str):
        words.append((node, path, value))
    return value


# keys whose values are words people write, where a ` #` is more likely theirs than a comment's
_WORDS_KEYS = frozenset({"title", "name", "issued_by", "description"})
_COMMENT_AFTER = re.compile(r"[ \t]+#")


def _cut_by_a_comma(
    cut: list[str] | None, key: Any, value: Any, node: yaml.Node, path: Path, doc: Document
) -> list[str] | None:
    """In `{...}`, a comma ends a value: `{title: Số cán bộ, đảng viên dự}` is the title «Số cán
    bộ» and a key `đảng viên dự` with no value. Such keys after a title are noted in `doc.commas`,
    for the validator to say so; returns the title being cut, if the next key may be of it."""
    if isinstance(node, yaml.ScalarNode) and not node.style and isinstance(value, str) and key in _WORDS_KEYS:
        return [key, value]
    bare = isinstance(node, yaml.ScalarNode) and not node.style and not node.value and value is None
    if cut is None or not bare or not isinstance(key, str | int):  # (`Chi bộ ấp 1, 2`: the key 2)
        return None
    doc.commas[path] = cut if len(cut) == 2 else None
    cut.append(str(key))
    return cut


def yaml_quoted(text: str) -> str:
    """`text` as a YAML scalar in quotes: double, or single where it holds a double quote."""
    return f"'{text.replace(chr(39), chr(39) * 2)}'" if '"' in text else f'"{text}"'


def _cut_by_a_comment(lines: list[str], node: Any, path: Path, value: str, doc: Document) -> None:
    """A warning for a title that YAML ended at ` #` (the start of a comment): "Hội nghị #1"
    reads "Hội nghị", silently, in every notice and the summary."""
    end = node.end_mark
    if end.line >= len(lines) or not _COMMENT_AFTER.match(rest := lines[end.line][end.column :]):
        return
    key, written = path[-1], (value + rest).strip()
    quoted = yaml_quoted(written)
    doc.warnings.append(
        Problem(
            doc.file,
            node.start_mark.line + 1,
            dotted(path),
            _("the {key} ends at ` #`, which starts a comment: it reads «{value}»", key=key, value=value),
            _("to keep what follows, put the {key} in quotes: {key}: {quoted}", key=key, quoted=quoted),
            Severity.WARNING,
        )
    )


def text_encoding(start: bytes) -> str:
    """How a text file starting with `start` is read: UTF-16 after its byte-order mark (what
    Notepad calls "Unicode", the choice on older Windows that keeps Vietnamese), else UTF-8,
    with or without its mark."""
    return "utf-16" if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"


def decoded(raw: bytes) -> str:
    """A text file's bytes as text, in the encoding `text_encoding` tells from its start, its
    letters composed (NFC): a file typed with combining marks (Unikey's "Unicode tổ hợp", macOS)
    holds the names everyone else types."""
    text = raw.decode(text_encoding(raw[:2]))
    return (
        text
        if text.isascii() or unicodedata.is_normalized("NFC", text)
        else unicodedata.normalize("NFC", text)
    )


def read_text(path: FilePath, shown: str) -> str:
    try:
        return decoded(path.read_bytes())
    except FileNotFoundError:
        raise CampaignInvalid([Problem(shown, None, "", _("no such file"))]) from None
    except UnicodeDecodeError as exc:
        raise CampaignInvalid(
            [
                Problem(
                    shown,
                    None,
                    "",
                    _("not UTF-8 text ({reason})", reason=exc.reason),
                    _("save the file as UTF-8"),
                )
            ]
        ) from None
    except OSError as exc:
        raise CampaignInvalid(
            [Problem(shown, None, "", _("cannot read: {reason}", reason=os_reason(exc)))]
        ) from None
