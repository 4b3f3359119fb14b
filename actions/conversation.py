"""Reading a tracker: what the customer said, which intents came up, which form is running."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

# Intents that interrupt a form instead of answering its question.
DIGRESSIONS = frozenset({"request_human", "express_frustration"})
DIGRESSION_CONFIDENCE = 0.6
# Slots that drive the dialogue itself, not facts the customer gave.
INTERNAL_SLOTS = frozenset(
    {
        "requested_slot",
        "handoff_offered",
        "verification_failures",
        "failed_answers",
        "session_started_metadata",
        "hours_question",
        "hours_place_asked",
        "hours_asked",
        "alternatives",
        "part_of_day",
    }
)


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def is_follow_up(tracker: Tracker, topic: str) -> bool:
    """True when the Rasa channel read the latest message as a follow-up of a `topic` question
    ("¿y el domingo?", "no, perdón, en Valencia"): what it leaves out carries over."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    follow_up = metadata.get("follow_up")
    return isinstance(follow_up, dict) and follow_up.get("topic") == topic


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def is_digression(tracker: Tracker) -> bool:
    """True when the latest message asks for something else (a person, or shows anger)."""
    name, confidence = latest_intent(tracker)
    return name in DIGRESSIONS and confidence >= DIGRESSION_CONFIDENCE


def intents_seen(tracker: Tracker) -> list[str]:
    """Every intent of the customer's messages, in order of first appearance."""
    seen: list[str] = []
    for event in tracker.events:
        if event.get("event") == "user":
            name = (event.get("parse_data") or {}).get("intent", {}).get("name")
            if name and name not in seen:
                seen.append(name)
    return seen


def filled_slots(tracker: Tracker) -> dict[str, Any]:
    """Facts the customer gave, without the dialogue's own bookkeeping."""
    return {
        name: value
        for name, value in tracker.current_slot_values().items()
        if value not in (None, "", [], False) and name not in INTERNAL_SLOTS
    }


def trailing_intent_count(tracker: Tracker, intent: str) -> int:
    """How many of the latest customer messages in a row had `intent`."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") in ("pause", "resume"):
            break  # a person took over in between: start counting afresh
        if event.get("event") != "user":
            continue
        if (event.get("parse_data") or {}).get("intent", {}).get("name") != intent:
            break
        count += 1
    return count


def bot_spoke_this_turn(tracker: Tracker) -> bool:
    """True when the assistant already said something since the customer's latest message,
    e.g. a form's validation explained a problem and asked again."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot":
            return True
    return False
