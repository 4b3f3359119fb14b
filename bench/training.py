"""Training from scratch: `rasa train` with an empty cache, as on a fresh clone."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.cli.launcher import RASA_PROJECT_ARGS
from bot.settings import PROJECT_ROOT


def train_from_scratch() -> float:
    """Seconds to train the project's model with Rasa's training cache empty."""
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "PYTHONWARNINGS": "ignore",
            "RASA_CACHE_DIRECTORY": str(Path(folder) / "cache"),  # nothing reused
        }
        rasa = Path(sys.executable).with_name("rasa")
        command = [str(rasa), "train", *RASA_PROJECT_ARGS, "--out", folder, "--force", "--quiet"]
        start = time.perf_counter()
        subprocess.run(
            command, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True, timeout=900
        )
        return time.perf_counter() - start
