"""Building trackers, running actions and giving them services on a temporary database."""

from __future__ import annotations

import asyncio
import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.services.registry import Services, build_services
from actions.settings import PROJECT_ROOT, ActionsSettings

MADRID = ZoneInfo("Europe/Madrid")
# A Monday at 09:00 in Madrid, no public holiday that week: every test sees the same calendar.
FIXED_NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=MADRID)


class FakeClock:
    """A clock the test can move."""

    def __init__(self, now: dt.datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def make_services(
    folder: Path, clock: FakeClock | None = None, database_url: str | None = None
) -> Services:
    """The actions' services on `database_url`, by default a SQLite file in `folder`."""
    settings = ActionsSettings(
        business_dir=PROJECT_ROOT / "data" / "business",
        database_url=database_url or f"sqlite:///{folder / 'actions.db'}",
    )
    return build_services(settings, clock or FakeClock())


@lru_cache(maxsize=1)
def domain() -> dict[str, Any]:
    """The domain files merged, as the action server receives them."""
    merged: dict[str, Any] = {
        "slots": {},
        "forms": {},
        "responses": {},
        "actions": [],
        "intents": [],
    }
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in ("slots", "forms", "responses"):
            merged[key].update(part.get(key) or {})
        for key in ("actions", "intents"):
            merged[key] += part.get(key) or []
    return merged


def tracker_for(
    text: str = "",
    intent: str | None = "inform",
    confidence: float = 0.95,
    slots: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    channel: str = "webchat",
    active_loop: str | None = None,
) -> Tracker:
    """A tracker whose latest message is `text` classified as `intent`."""
    parse = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []}
    events = [*(history or []), user_event(text, intent, channel)]
    all_slots = {name: None for name in domain()["slots"]}
    all_slots.update(slots or {})
    loop = {"name": active_loop} if active_loop else {}
    return Tracker(
        "test-conversation", all_slots, parse, events, False, None, loop, "action_listen"
    )


def user_event(text: str, intent: str | None, channel: str = "webchat") -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "input_channel": channel,
        "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.95}},
    }


def bot_event(text: str) -> dict[str, Any]:
    return {"event": "bot", "text": text}


def run_action(
    action: Action, tracker: Tracker
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs `action` as the action server would; returns (messages sent, events returned)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain()))
    return dispatcher.messages, events


def texts(messages: list[dict[str, Any]]) -> str:
    return " ".join(m.get("text") or "" for m in messages)


BOOKKEEPING_SLOTS = {"failed_answers"}


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Slots the events set, without the forms' failure counter."""
    return {
        e["name"]: e["value"]
        for e in events
        if e.get("event") == "slot" and e["name"] not in BOOKKEEPING_SLOTS
    }
