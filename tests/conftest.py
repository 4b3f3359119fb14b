"""Shared fixtures: services on a temporary database with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actions.services.registry import Services, use_services
from tests.helpers.actions import FakeClock, make_services

# the live system (Rasa, actions, gateway) for integration and end-to-end tests
pytest_plugins = ["tests.helpers.live", "tests.helpers.postgres", "tests.helpers.redis_server"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(tmp_path: Path, clock: FakeClock) -> Iterator[Services]:
    """The services every action uses, on a fresh SQLite file, for this test only."""
    built = make_services(tmp_path, clock)
    use_services(built)
    yield built
    use_services(None)
