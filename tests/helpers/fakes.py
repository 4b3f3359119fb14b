"""Test doubles for the gateway side."""

from __future__ import annotations

from typing import Any

from bot.assistant.contract import BotReply, DialogueUnavailable


class FakeAssistant:
    """Answers from a script of replies; records what it was sent."""

    def __init__(self, replies: list[BotReply | Exception]) -> None:
        self._replies = list(replies)
        self.sent: list[str] = []
        self.resumed: list[str] = []

    def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> BotReply:
        self.sent.append(text)
        reply = self._replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def resume(self, conversation_id: str) -> None:
        self.resumed.append(conversation_id)


UNAVAILABLE = DialogueUnavailable("connection refused")
