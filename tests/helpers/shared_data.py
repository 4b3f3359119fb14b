"""The evaluation data kept outside the repository (../shared/data): its licence allows
evaluation only, so it is read in place and never copied here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

CANDIDATES = [
    Path(os.environ["BOT_SHARED_DATA"]) if os.environ.get("BOT_SHARED_DATA") else None,
    PROJECT_ROOT.parent / "shared" / "data",
    Path("/work/shared/data"),  # the team's machines, for a clone made elsewhere
]


def shared_file(relative: str) -> Path:
    """The file under the shared data folder; the test is skipped, saying why, without it."""
    for folder in filter(None, CANDIDATES):
        if (folder / relative).is_file():
            return folder / relative
    pytest.skip(
        f"{relative} is not here: the shared evaluation data (../shared/data, or "
        "BOT_SHARED_DATA) is absent, and its licence keeps it out of the repository"
    )
