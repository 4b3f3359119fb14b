"""The architecture as a contract (docs/architecture.md): the import-linter contracts of
pyproject.toml hold, and no module of `bot` takes part in an import cycle."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp

from bot.settings import PROJECT_ROOT

TOOLS = Path(sys.executable).parent


def import_cycles(imports: Mapping[str, Iterable[str]]) -> list[set[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan's
    strongly connected components of more than one module, or one importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in imports.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1 or module in imports.get(module, ()):
                cycles.append(group)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in list(imports):
        if module not in index:
            visit(module)
    return cycles


def test_the_import_contracts_hold():
    result = subprocess.run(
        [str(TOOLS / "lint-imports")], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "0 broken" in result.stdout and "3 kept" in result.stdout


def test_no_module_of_bot_is_in_an_import_cycle():
    graph = grimp.build_graph("bot")
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    assert import_cycles(imports) == []


def test_the_cycle_finder_finds_cycles():
    imports = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(map(sorted, import_cycles(imports))) == [["a", "b", "c"], ["e"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
