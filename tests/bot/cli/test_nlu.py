"""`python -m bot nlu check`: every problem as file:line, and the exit status CI relies on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.cli.nlu import write_sample
from bot.settings import PROJECT_ROOT
from bot.training.evaluation import load_held_out


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


def test_spoken_sentences_need_a_test_file_and_a_known_voice(capsys):
    assert main(["nlu", "report", "--spoken"]) == 2
    assert "--spoken necesita --test" in capsys.readouterr().err
    holdout = str(PROJECT_ROOT / "tests" / "nlu" / "holdout.yml")
    assert main(["nlu", "report", "--test", holdout, "--spoken", "--voices", "loquendo"]) == 2
    assert "Voz desconocida: loquendo" in capsys.readouterr().err


def test_a_sample_is_an_nlu_file_spread_over_the_original(tmp_path: Path):
    holdout = PROJECT_ROOT / "tests" / "nlu" / "holdout.yml"
    sample = load_held_out(write_sample(holdout, 20, tmp_path))
    everything = load_held_out(holdout)
    assert len(sample) == 20 and set(sample) <= set(everything)
    assert len({item.intent for item in sample}) >= 10  # spread, not the first intents only
