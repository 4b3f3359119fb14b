"""Lint, format and types, as DESIGN.md's conventions ask (ruff and mypy from the lock file)."""

import subprocess
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT

TOOLS = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)


SOURCES = ("actions", "bot", "bench", "migrations", "tests")


def test_ruff_lint_and_format():
    lint = run(str(TOOLS / "ruff"), "check", *SOURCES)
    assert lint.returncode == 0, lint.stdout[-3000:]
    formatting = run(str(TOOLS / "ruff"), "format", "--check", *SOURCES)
    assert formatting.returncode == 0, formatting.stdout[-3000:]


def test_mypy():
    result = run(str(TOOLS / "mypy"), "actions", "bot", "bench", "migrations")
    assert result.returncode == 0, result.stdout[-3000:]
