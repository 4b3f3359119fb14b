"""Speed fixes for Rasa 3.6, applied when the Rasa server loads our channels.

1. Rasa validates every action server response with `jsonschema.validate(result, spec)`, which
   re-checks the spec against the JSON Schema meta-schema on every call. With the jsonschema
   version Rasa pins (4.17) that costs about 90 ms per custom action on these machines, more
   than everything else in a turn together. The same validation against a validator built once
   costs well under a millisecond, with the same errors for invalid responses.
2. Loading a conversation from the tracker store turns each stored event back into its class
   with `Event.resolve_by_type`, which walks the whole tree of event classes (and asks
   `inspect.isabstract` of each) for every single event. A conversation of 20 turns holds a
   few hundred events, so this grows with the conversation and was about 40% of a turn's time
   under load. A table of type names built once gives the same classes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

_EVENT_CLASSES: dict[str, type[Event]] = {}


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    spec = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(spec)
    validator_class.check_schema(spec)  # once, not per response
    return validator_class(spec)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    try:
        _response_validator().validate(result)
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid."
        )
        raise
    return True


def _resolve_event_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """`Event.resolve_by_type` from a table; the first class in Rasa's own search order wins,
    and a name not in the table rebuilds it once (an event class imported later)."""
    found = _EVENT_CLASSES.get(type_name)
    if found is None:
        _EVENT_CLASSES.clear()
        for cls in all_subclasses(Event):
            _EVENT_CLASSES.setdefault(cls.type_name, cls)
        found = _EVENT_CLASSES.get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None  # as Rasa: old TopicSet events are skipped
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_event_type)  # type: ignore[method-assign,assignment]
