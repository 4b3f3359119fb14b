"""`python -m bot nlu check`: every problem as file:line, and the exit status CI relies on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.settings import PROJECT_ROOT


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for part in ("domain", "data/nlu", "data/rules"):
        shutil.copytree(PROJECT_ROOT / part, tmp_path / part)
    shutil.copy(PROJECT_ROOT / "config.yml", tmp_path / "config.yml")
    return tmp_path


def test_clean_data_passes(project: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["nlu", "check", "--no-rasa", "--project", str(project)]) == 0
    assert "0 errores" in capsys.readouterr().err


def test_an_example_under_two_intents_fails_with_its_place(
    project: Path, capsys: pytest.CaptureFixture[str]
):
    hours = project / "data" / "nlu" / "hours.yml"
    hours.write_text(hours.read_text(encoding="utf-8") + "    - dónde está mi pedido\n", "utf-8")
    line = len(hours.read_text(encoding="utf-8").splitlines())

    assert main(["nlu", "check", "--no-rasa", "--project", str(project)]) == 1
    out = capsys.readouterr()
    [error] = [row for row in out.out.splitlines() if ": error: " in row]
    assert error.startswith("data/nlu/orders.yml:10: error: ")  # the later of the two files
    assert f"data/nlu/hours.yml:{line}" in error and "1 error y" in out.err


def test_a_report_needs_a_test_file_that_exists(tmp_path: Path, capsys):
    missing = tmp_path / "nada.yml"
    assert main(["nlu", "report", "--test", str(missing)]) == 2
    assert "No encuentro el archivo de prueba" in capsys.readouterr().err
