"""Settings are read from the environment and fail clearly."""

import pytest

from actions.settings import ActionsSettings
from actions.settings import SettingsError as ActionsSettingsError
from bot.settings import Settings, SettingsError


def test_defaults_and_overrides():
    settings = Settings.from_env({"BOT_RASA_PORT": "6005"})
    assert settings.rasa_url == "http://127.0.0.1:6005" and settings.actions_port == 5055


def test_malformed_values_are_named():
    with pytest.raises(SettingsError, match="BOT_"):
        Settings.from_env({"BOT_RASA_PORT": "cinco"})
    with pytest.raises(ActionsSettingsError, match="ACTIONS_FIXED_NOW"):
        ActionsSettings.from_env({"ACTIONS_FIXED_NOW": "2026-03-02T09:00"})
    with pytest.raises(ActionsSettingsError, match="ACTIONS_BUSINESS_DIR"):
        ActionsSettings.from_env({"ACTIONS_BUSINESS_DIR": "/nonexistent"})
