"""Talking to the Rasa server over HTTP: one message in, the assistant's replies out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from bot.channels.cleaning import MAX_CHARS
from bot.settings import Settings


@dataclass(frozen=True)
class BotReply:
    """What the assistant answered to one message."""

    texts: list[str] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)
    handoff: dict[str, Any] | None = None
    # what the NLU made of the customer's words: intent, confidence, guess, guess_confidence
    understanding: dict[str, Any] | None = None


# Handing a paused conversation back to the assistant. The handoff paused it right after
# `action_handoff`, before Rasa's usual `action_listen`; without one, the rules do not recognise
# the next message's context and the customer would be handed off again.
RESUME_EVENTS = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]


class DialogueUnavailable(RuntimeError):
    """The Rasa server did not answer."""


class RasaClient:
    """Sends customer messages to a Rasa channel and reads the replies.

    Args:
        base_url: the Rasa server, e.g. http://127.0.0.1:5005.
        channel: the Rasa input channel (`webchat` or `voice`).
        timeout: seconds to wait for one answer.
        token: the Rasa server's API token, needed to resume a conversation.
    """

    def __init__(
        self, base_url: str, channel: str = "webchat", timeout: float = 15, token: str = ""
    ) -> None:
        self._url = f"{base_url}/webhooks/{channel}/webhook"
        self._base_url = base_url
        self._token = token
        self._timeout = timeout
        self._session = requests.Session()

    @classmethod
    def from_settings(cls, settings: Settings, channel: str = "webchat") -> RasaClient:
        return cls(settings.rasa_url, channel, settings.reply_timeout, settings.rasa_token)

    def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> BotReply:
        payload: dict[str, Any] = {
            "sender": conversation_id,
            "message": text[: MAX_CHARS * 2],
            "metadata": metadata or {},
        }
        try:
            answer = self._session.post(self._url, json=payload, timeout=self._timeout)
            answer.raise_for_status()
            messages = answer.json()
        except (requests.RequestException, ValueError) as error:
            raise DialogueUnavailable(str(error)) from error
        return parse_reply(messages if isinstance(messages, list) else [])

    def resume(self, conversation_id: str) -> None:
        """Hands a paused conversation back to the assistant (see RESUME_EVENTS)."""
        url = f"{self._base_url}/conversations/{conversation_id}/tracker/events"
        try:
            self._session.post(
                url, json=RESUME_EVENTS, params={"token": self._token}, timeout=self._timeout
            ).raise_for_status()
        except requests.RequestException as error:
            raise DialogueUnavailable(str(error)) from error


def parse_reply(messages: list[dict[str, Any]]) -> BotReply:
    """Splits Rasa's list of bot messages into texts, buttons and a handoff request."""
    reply = BotReply()
    handoff = understanding = None
    for message in messages:
        if message.get("text"):
            reply.texts.append(message["text"])
        reply.buttons.extend(message.get("buttons") or [])
        custom = message.get("custom") or {}
        if isinstance(custom, dict) and "handoff" in custom:
            handoff = custom["handoff"]
        if isinstance(custom, dict) and isinstance(custom.get("understanding"), dict):
            understanding = custom["understanding"]
    return BotReply(reply.texts, reply.buttons, handoff, understanding)
