"""The real Rasa server and action server, started once per test session on spare ports,
with a temporary database and the business clock fixed on Monday 2 March 2026, 09:00."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.launcher import Servers
from bot.rasa_client import RasaClient
from bot.settings import PROJECT_ROOT, Settings

FIXED_NOW = "2026-03-02T09:00:00+01:00"


def require_model() -> None:
    if not any((PROJECT_ROOT / "models").glob("*.tar.gz")):
        pytest.fail(
            "No trained model in models/: run `make test` (it trains first) or `make train`."
        )


@pytest.fixture(scope="session")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    require_model()
    data_dir = tmp_path_factory.mktemp("live")
    overrides = {
        "BOT_RASA_PORT": "15005",
        "BOT_ACTIONS_PORT": "15055",
        "BOT_DATA_DIR": str(data_dir),
        "ACTIONS_DATABASE_URL": f"sqlite:///{data_dir / 'actions.db'}",
        "ACTIONS_FIXED_NOW": FIXED_NOW,
    }
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    settings = Settings.from_env()
    servers = Servers(settings, log_file=data_dir / "servers.log")
    try:
        servers.start()
        yield settings
    finally:
        servers.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def live_client(live_settings: Settings) -> RasaClient:
    return RasaClient(live_settings.rasa_url, timeout=30, token=live_settings.rasa_token)


@pytest.fixture(scope="session")
def servers_log(live_settings: Settings) -> Path:
    return live_settings.data_dir / "servers.log"
