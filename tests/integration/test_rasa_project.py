"""The Rasa project itself: data validation and the NLU quality gate on held-out sentences."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.launcher import RASA_PROJECT_ARGS
from bot.settings import PROJECT_ROOT
from tests.helpers.live import require_model

pytestmark = pytest.mark.integration

RASA = str(Path(sys.executable).with_name("rasa"))
REPORTS = PROJECT_ROOT / "var" / "reports" / "nlu"
MIN_MACRO_F1 = 0.90


def rasa(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [RASA, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_rasa_data_validate_has_no_warnings():
    result = rasa("data", "validate", *RASA_PROJECT_ARGS, "--fail-on-warnings")
    warnings = [line for line in result.stderr.splitlines() if "UserWarning" in line]
    assert result.returncode == 0 and not warnings, result.stderr[-3000:]


def test_held_out_macro_f1():
    """`python -m bot nlu report` on the trained model and tests/nlu/holdout.yml (never used for
    training); the report (per-intent scores, confusions with their sentences, the confusion
    matrix) stays in var/reports/nlu for trainers."""
    require_model()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "nlu", "report", "--model", "models",
         "--test", "tests/nlu/holdout.yml", "--out", str(REPORTS)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Evaluando con holdout.yml" in result.stderr
    report = json.loads((REPORTS / "report.json").read_text(encoding="utf-8"))
    macro_f1 = report["macro_f1"]
    weak = {i["intent"]: round(i["f1"], 2) for i in report["intents"] if i["f1"] < MIN_MACRO_F1}
    print(f"held-out macro F1 = {macro_f1:.3f}; intents below {MIN_MACRO_F1}: {weak}")
    assert macro_f1 >= MIN_MACRO_F1, f"macro F1 {macro_f1:.3f} < {MIN_MACRO_F1}; weak: {weak}"
    assert "Por intención" in (REPORTS / "report.md").read_text(encoding="utf-8")
    assert (REPORTS / "confusion.png").read_bytes().startswith(b"\x89PNG")
    assert "<table" in (REPORTS / "report.html").read_text(encoding="utf-8")
