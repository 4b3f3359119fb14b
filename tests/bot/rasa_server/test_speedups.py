"""The speed fixes change nothing Rasa does: same validation, same event classes."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

from bot.rasa_server import speedups


def test_validation_is_unchanged():
    speedups.apply()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [], "responses": [{"text": "Hola"}]})
    with pytest.raises(ValidationError, match="Failed to validate"):
        action._validate_action_result({"events": [{"event": 5}], "responses": "nope"})


def _rasa_resolve(type_name: str) -> type | None:
    """Rasa's own search, for comparison."""
    return next((c for c in all_subclasses(Event) if c.type_name == type_name), None)


def test_every_event_type_resolves_to_the_class_rasa_would_find():
    speedups.apply()
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert len(names) > 20
    for name in names:
        assert Event.resolve_by_type(name) is _rasa_resolve(name), name


def test_unknown_and_legacy_event_names_behave_as_in_rasa():
    speedups.apply()
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=Event) is Event
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")


def test_a_stored_conversation_loads_back_the_same():
    speedups.apply()
    stored = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "hola", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "slot", "name": "place", "value": "madrid_gran_via"},
        {"event": "bot", "text": "¡Hola!"},
        {"event": "pause"},
        {"event": "resume"},
    ]
    events = [Event.from_parameters(parameters) for parameters in stored]
    assert [type(e).__name__ for e in events] == [
        "ActionExecuted", "UserUttered", "SlotSet", "BotUttered", "ConversationPaused",
        "ConversationResumed",
    ]  # fmt: skip
