"""The shape ARCHITECTURE.md describes, held against the code: imports point down the layers,
no module outgrows a reader's sitting, and only the settings module reads the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    p
    for top in ("cascade", "flows", "notifiers")
    for p in (ROOT / top).rglob("*.py")
    if "migrations" not in p.parts
)

# Lowest first: a module may import its own layer and the layers below it, never one above.
LAYERS = [
    ("cascade.i18n", "cascade.collector"),
    ("cascade.errors", "cascade.settings"),
    ("cascade.timing",),
    ("cascade.plan",),
    ("cascade.compile",),
    ("cascade.engine",),
    ("cascade.views", "cascade.reports"),
    ("notifiers",),
    ("cascade.web",),
    ("flows",),
    ("cascade.cli",),
]
MAX_LINES = 450


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def layer_of(module: str) -> int | None:
    for n, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return n
    return None


def statements(path: Path) -> list[tuple[str, list[str]]]:
    """Each import of `path` as (module, the names taken from it); `import m` takes none."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return found


def imports_of(path: Path) -> set[str]:
    """What `path` imports: modules, and for `from m import n`, `m.n` too (n may be a module)."""
    return {
        name for module, names in statements(path) for name in (module, *(f"{module}.{n}" for n in names))
    }


def module_edges(path: Path, modules: set[str]) -> set[str]:
    """The modules `path` loads: `from pkg import sub` loads `pkg.sub`, not (only) `pkg`'s names."""
    found: set[str] = set()
    for module, names in statements(path):
        subs = {f"{module}.{n}" for n in names} & modules
        found |= subs or ({module} & modules)
    return found


def test_every_source_module_has_a_layer() -> None:
    assert SOURCES
    assert [module_of(p) for p in SOURCES if layer_of(module_of(p)) is None] == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path: Path) -> None:
    here = layer_of(module_of(path))
    assert here is not None
    upward = sorted(
        name for name in imports_of(path) if (there := layer_of(name)) is not None and there > here
    )
    assert upward == [], f"{module_of(path)} (layer {here}) imports a higher layer"


def test_the_compiler_and_the_engine_share_only_the_plan_below_them() -> None:
    """The runtime never loads the file formats, the compiler never loads the runtime."""
    crossing = []
    for path in SOURCES:
        module = module_of(path)
        for name in imports_of(path):
            if module.startswith("cascade.compile") and name.startswith("cascade.engine"):
                crossing.append((module, name))
            if module.startswith("cascade.engine") and name.startswith("cascade.compile.format"):
                crossing.append((module, name))
    assert crossing == []


def test_no_import_circle_among_the_modules() -> None:
    modules = {module_of(p): p for p in SOURCES}
    graph = {m: module_edges(p, set(modules)) - {m} for m, p in modules.items()}
    seen: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        seen[m] = 1
        for n in sorted(graph[m]):
            if seen.get(n) == 1:
                raise AssertionError(" -> ".join([*path[path.index(n) :], n]))
            if n not in seen:
                visit(n, [*path, n])
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m, [m])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_over_450_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


# and the operator's language, which a command needs before anything else (its help texts are
# made in it) and reads without loading the settings (40 ms of every command's start): read as
# `ui.lang` reads it, which tests/test_settings.py holds
ENVIRONMENT_READERS = ("cascade.settings", "cascade.i18n")


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = []
    for path in SOURCES:
        if module_of(path) in ENVIRONMENT_READERS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            attribute = isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb")
            envvar = isinstance(node, ast.keyword) and node.arg == "envvar"
            if attribute or envvar:
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_that_speaks_never_names_a_variable_underscore(path: Path) -> None:
    """`_` is the operator's language (cascade.i18n): a loop's or unpacking's throwaway `_` in
    the same module would make the next message a call of a string."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    speaks = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "cascade.i18n"
        and any(a.name == "_" for a in node.names)
        for node in ast.walk(tree)
    )
    shadows = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store)
    ]
    assert not (speaks and shadows), f"`_` assigned on line(s) {shadows}: name it, e.g. `_sep`"
