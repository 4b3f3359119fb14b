"""What the actions say: Spanish templates in replies.yml, with voice variants and buttons.

Rules speak through the domain's responses; actions compose answers from live data, so their
templates live here, next to the code that fills them, and `rasa data validate` stays clean.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

REPLIES_FILE = Path(__file__).with_name("replies.yml")
VOICE_CHANNELS = {"voice"}


@lru_cache(maxsize=1)
def _templates() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(REPLIES_FILE.read_text(encoding="utf-8"))


Button = dict[str, str]


def render(
    key: str, channel: str | None, buttons: list[Button] | None = None, /, **values: Any
) -> dict[str, Any]:
    """The message for `key` on `channel`: voice gets the short variant and never buttons.

    Args:
        buttons: buttons computed by the action, shown after the template's own ones.
    """
    template = _templates()[key]
    if channel in VOICE_CHANNELS:
        return {"text": _sentence(template.get("voice", template["text"]).format(**values))}
    message: dict[str, Any] = {"text": _sentence(template["text"].format(**values))}
    all_buttons = [
        {"title": b["title"].format(**values), "payload": b["payload"].format(**values)}
        for b in template.get("buttons", [])
    ] + (buttons or [])
    if all_buttons:
        message["buttons"] = all_buttons
    return message


def _sentence(text: str) -> str:
    """Trimmed, with a capital first letter ('mañana, la tienda…' -> 'Mañana, la tienda…')."""
    text = text.strip()
    return text[:1].upper() + text[1:]


def say(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    key: str,
    buttons: list[Button] | None = None,
    /,
    **values: Any,
) -> None:
    """Sends the reply `key` to the customer, in the variant of their channel."""
    message = render(key, tracker.get_latest_input_channel(), buttons, **values)
    if message["text"] or message.get("buttons"):
        dispatcher.utter_message(**message)


def is_voice(tracker: Tracker) -> bool:
    """Whether the customer listens rather than reads: times and lists are then said in words."""
    return tracker.get_latest_input_channel() in VOICE_CHANNELS


def template_keys() -> set[str]:
    return set(_templates())
