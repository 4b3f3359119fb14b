"""Conversations the database could not take: locked, read-only or a full disk.

A customer whose message cannot be saved still gets a true answer: the apology and a person.
Their conversation is held here, in memory and in arrival order, as it is to be saved (queued
with reason `error` and high priority, or still with its agent) with the lines not saved yet.
The router writes it back, oldest first, once the database takes writes again, and only then
does it reach the desks' queue. A held conversation is lost only if the gateway itself stops
before the database comes back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bot.handoff.models import Conversation, Message


@dataclass
class HeldConversation:
    """One conversation waiting for the database.

    Attributes:
        conversation: as it is to be saved (the state the customer was told).
        handoff: the handoff to queue it with when written back (None: it keeps its state).
        lines: what was said and not saved yet, in order.
    """

    conversation: Conversation
    handoff: dict[str, Any] | None
    lines: list[Message] = field(default_factory=list)


class HeldConversations:
    """The held conversations, oldest first."""

    def __init__(self) -> None:
        self._held: dict[str, HeldConversation] = {}  # insertion order is arrival order

    def __len__(self) -> int:
        return len(self._held)

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation as the customer was told it is, while held."""
        held = self._held.get(conversation_id)
        return held.conversation if held else None

    def lines(self, conversation_id: str) -> list[Message]:
        """What was said while held and is not saved yet."""
        held = self._held.get(conversation_id)
        return list(held.lines) if held else []

    def hold(self, conversation: Conversation, handoff: dict[str, Any] | None) -> None:
        if conversation.id not in self._held:
            self._held[conversation.id] = HeldConversation(conversation, handoff)

    def add_line(self, conversation_id: str, author: str, text: str) -> Message:
        """A line said while held (unsaved: its id is None)."""
        line = Message(None, conversation_id, time.time(), author, text)
        self._held[conversation_id].lines.append(line)
        return line

    def oldest_first(self) -> list[HeldConversation]:
        return list(self._held.values())

    def release(self, conversation_id: str) -> None:
        """Written back: the database holds it again."""
        self._held.pop(conversation_id, None)
