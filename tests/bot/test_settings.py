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


def test_one_or_two_rasa_servers_on_consecutive_ports():
    from bot.supervision.programs import programs

    one = Settings.from_env({"BOT_RASA_PORT": "6005"})
    two = Settings.from_env({"BOT_RASA_PORT": "6005", "BOT_RASA_SERVERS": "2"})
    assert one.rasa_urls == ["http://127.0.0.1:6005"]
    assert two.rasa_urls == ["http://127.0.0.1:6005", "http://127.0.0.1:6006"]
    assert [p.name for p in programs(one, with_gateway=False)] == ["rasa", "actions"]
    assert [p.name for p in programs(two)] == ["rasa", "rasa2", "actions", "gateway"]
    with pytest.raises(SettingsError, match="BOT_RASA_SERVERS"):
        Settings.from_env({"BOT_RASA_SERVERS": "3"})
