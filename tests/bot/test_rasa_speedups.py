"""The cached validator accepts what Rasa accepts and rejects what it rejects."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.channels import rasa_speedups


def test_validation_is_unchanged():
    rasa_speedups.apply()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [], "responses": [{"text": "Hola"}]})
    with pytest.raises(ValidationError, match="Failed to validate"):
        action._validate_action_result({"events": [{"event": 5}], "responses": "nope"})
