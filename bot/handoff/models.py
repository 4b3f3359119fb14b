"""What the gateway keeps about a conversation: its state, messages, queue place and callbacks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class State(str, Enum):
    """Who holds the conversation. BOT → QUEUED → AGENT → BOT or CLOSED.

    While QUEUED or AGENT nothing goes to Rasa: the bot never answers over a person.
    """

    BOT = "bot"
    QUEUED = "queued"
    AGENT = "agent"
    CLOSED = "closed"


PHONE_LINES = ("twilio", "asterisk")

REASON_TEXTS = {
    "user_request": "Lo pidió el cliente",
    "frustration": "Cliente molesto",
    "repeated_fallback": "El asistente no le entendía",
    "complaint": "Reclamación",
    "error": "Fallo técnico",
}


def reason_text(reason: str | None) -> str:
    """A handoff reason as people read it: 'user_request' -> 'Lo pidió el cliente'."""
    return REASON_TEXTS.get(reason or "", reason or "")


def iso(timestamp: float | None) -> str | None:
    """Unix time as ISO 8601 in UTC, for the API."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Message:
    """One line of a conversation, as customers, agents and trainers read it.

    `id` is None for a line not saved yet (held while the database refuses writes)."""

    id: int | None
    conversation_id: str
    at: float
    author: str  # customer | bot | agent | system
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    agent: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author": self.author,
            "text": self.text,
            "buttons": self.buttons,
            "at": iso(self.at),
            "agent": self.agent,
        }


@dataclass
class Conversation:
    """A web chat or a call, from its first message to its end.

    Attributes:
        handoff: the contract's handoff message of the latest handoff (None before any).
        queued_at: when it joined the queue (the queue order within a priority).
        agent_id: the agent holding it (AGENT), or who held it last.
        line: how a call arrived: "browser", "twilio" or "asterisk" (None for chats).
        caller: the caller's number when the phone line gives it.
        gateway: the gateway it started on (BOT_GATEWAY_ID); a call lives in that process.
    """

    id: str
    channel: str
    state: State
    created_at: float
    department: str | None = None
    priority: str = "normal"
    reason: str | None = None
    handoff: dict[str, Any] | None = None
    queued_at: float | None = None
    accepted_at: float | None = None
    agent_id: int | None = None
    line: str | None = None
    caller: str | None = None
    gateway: str | None = None

    @property
    def on_the_phone(self) -> bool:
        """A call over a phone line: no page to show forms or buttons on."""
        return self.line in PHONE_LINES

    @property
    def high_priority(self) -> bool:
        return self.priority == "high"


@dataclass(frozen=True)
class Callback:
    """A customer's request to be called back, a task on the desk."""

    id: int
    conversation_id: str
    phone: str
    when: str
    department: str | None
    created_at: float
    done_at: float | None = None


@dataclass(frozen=True)
class Agent:
    """A person who takes conversations on the desk; supervisors also see the figures."""

    id: int
    username: str
    name: str
    role: str  # agent | supervisor | trainer
    departments: tuple[str, ...] = ()  # empty: every department

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    def serves(self, department: str | None) -> bool:
        return not self.departments or department in self.departments

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "role": self.role,
            "departments": list(self.departments),
        }
