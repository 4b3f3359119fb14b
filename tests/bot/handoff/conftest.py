"""The router fixture shared by the handoff tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.router_env import RouterEnv


@pytest.fixture
def env(tmp_path: Path) -> Iterator[RouterEnv]:
    built = RouterEnv(tmp_path)
    yield built
    built.store.close()
