"""The contract between the assistant (the Rasa server's `webchat` and `voice` channels) and
whoever talks to it: what a reply holds, how a paused conversation resumes, what is said and
handed over when the assistant cannot answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


# The assistant's first words: a chat shows its menu, a call is short (a fixed prompt).
CHAT_GREETING = (
    "Hola, soy el asistente virtual. Puedo ayudarle con horarios, citas, pedidos y "
    "reclamaciones, o pasarle con una persona. ¿En qué puedo ayudarle?"
)
VOICE_GREETING = "Hola, soy el asistente virtual. Dígame en qué puedo ayudarle."


def greeting(channel: str) -> str:
    return VOICE_GREETING if channel == "voice" else CHAT_GREETING


# What the customer hears or reads when the assistant cannot answer a turn, and the handoff
# that comes with it: a person takes over rather than silence. The spoken one is short (it is
# pre-rendered as a fixed prompt of the calls).
CHAT_APOLOGY = (
    "Disculpe, estoy teniendo un problema técnico y no puedo atenderle bien ahora mismo. "
    "Le paso con una persona."
)
VOICE_APOLOGY = "Disculpe, tengo un problema técnico. Le paso con una persona."


def apology(channel: str) -> str:
    """The apology for a turn the assistant could not answer, on this channel."""
    return VOICE_APOLOGY if channel == "voice" else CHAT_APOLOGY


def error_handoff() -> dict[str, Any]:
    """The contract's handoff message for a turn the assistant could not answer.

    The department is left to the gateway's default queue: no conversation facts are known.
    """
    return {
        "reason": "error",
        "department": None,
        "priority": "high",
        "summary": "El asistente no pudo responder (fallo técnico).",
        "intents": [],
        "slots": {},
    }


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
