"""The scripted conversations of `tests/conversations/*.yml`: what the assistant must answer,
turn by turn. The test suite plays them against the live servers; a new model is played them
before it replaces the active one.

Each turn may check:
  bot:      phrases that must all appear in the assistant's replies (case-insensitive)
  not:      phrases that must not appear
  handoff:  fields the handoff message must have; without it, no handoff may happen
            (`reasons`: phrases that must appear in the frustration meter's reasons)
  as:       another customer's conversation id, for scenarios with several customers
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.assistant.contract import BotReply


@dataclass(frozen=True)
class Conversation:
    """One scripted conversation and where it is written."""

    file: str
    name: str
    turns: tuple[dict[str, Any], ...]

    @property
    def title(self) -> str:
        return f"{self.file}: {self.name}"


def load_conversations(folder: Path) -> list[Conversation]:
    """Every conversation of every `*.yml` in `folder`, in file order."""
    conversations = []
    for path in sorted(folder.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            conversations.append(Conversation(path.stem, item["name"], tuple(item["turns"])))
    return conversations


def turn_failures(turn: dict[str, Any], reply: BotReply) -> list[str]:
    """What is wrong with the assistant's `reply` to `turn` (empty: it passed)."""
    said = " ".join(reply.texts)
    failures = [] if said or reply.handoff else ["silence"]
    failures += [f"missing {p!r}" for p in turn.get("bot", []) if p.lower() not in said.lower()]
    failures += [f"unwanted {p!r}" for p in turn.get("not", []) if p.lower() in said.lower()]
    expected = turn.get("handoff")
    if expected is None:
        return failures + ([f"unexpected handoff {reply.handoff}"] if reply.handoff else [])
    if reply.handoff is None:
        return [*failures, "no handoff"]
    reasons = "; ".join((reply.handoff.get("frustration") or {}).get("reasons", []))
    failures += [f"reason {p!r} missing" for p in expected.get("reasons", []) if p not in reasons]
    failures += [
        f"handoff {key} is {reply.handoff.get(key)!r}, not {value!r}"
        for key, value in expected.items()
        if key != "reasons" and reply.handoff.get(key) != value
    ]
    return failures


def describe(number: int, turn: dict[str, Any], reply: BotReply, failures: list[str]) -> str:
    """One line for a failed turn, for developers and for the trainers' regression list."""
    said = " ".join(reply.texts)
    return f"turn {number} ({turn['user']!r}) answered {said!r}: {'; '.join(failures)}"
