"""How a conversation looks from outside: the customer's snapshot and the desk's queue line."""

from __future__ import annotations

from typing import Any

from bot.handoff.departments import Departments
from bot.handoff.models import Conversation, State, reason_text
from bot.handoff.phone_numbers import group_digits
from bot.handoff.queue import HandoffQueue, QueuePlace, waiting_seconds
from bot.handoff.store import GatewayStore


class ConversationViews:
    """Builds the JSON views of conversations.

    Args:
        store: messages and agents.
        queue: places and waits (pass a place already computed to skip reading the queue).
        departments: department names.
        callback_offer_minutes: expected waits longer than this offer a callback.
    """

    def __init__(
        self,
        store: GatewayStore,
        queue: HandoffQueue,
        departments: Departments,
        callback_offer_minutes: int,
    ) -> None:
        self._store = store
        self._queue = queue
        self._departments = departments
        self._callback_offer_minutes = callback_offer_minutes

    def offers(self, conversation: Conversation, place: QueuePlace | None) -> list[str]:
        """What a queued customer may choose: `callback` when nobody will come soon, `bot`."""
        if conversation.state != State.QUEUED:
            return []
        closed = not (conversation.handoff or {}).get("department_open", True)
        wait = place.wait_minutes if place else None
        long_wait = wait is None or wait > self._callback_offer_minutes
        return ["callback", "bot"] if closed or long_wait else ["bot"]

    def snapshot(
        self,
        conversation: Conversation,
        with_messages: bool = True,
        place: QueuePlace | None = None,
    ) -> dict[str, Any]:
        place = place or self._queue.place(conversation)
        agent = self._store.agent(conversation.agent_id) if conversation.agent_id else None
        view: dict[str, Any] = {
            "id": conversation.id,
            "channel": conversation.channel,
            "state": conversation.state.value,
            "queue": self._place_json(place),
            "offers": self.offers(conversation, place),
            "agent": agent.name if agent and conversation.state == State.AGENT else None,
        }
        if with_messages:
            view["messages"] = [m.to_json() for m in self._store.messages(conversation.id)]
        return view

    def snapshot_without_place(self, conversation: Conversation) -> dict[str, Any]:
        """The snapshot's shape from the conversation alone, when the database cannot be read
        for its queue place nor its agent's name."""
        return {
            "id": conversation.id,
            "channel": conversation.channel,
            "state": conversation.state.value,
            "queue": None,
            "offers": [],
            "agent": None,
        }

    def waiting_view(
        self, conversation: Conversation, place: QueuePlace | None = None
    ) -> dict[str, Any]:
        """A conversation as a line of the desk's queue."""
        place = place or self._queue.place(conversation)
        agent = self._store.agent(conversation.agent_id) if conversation.agent_id else None
        return {
            "id": conversation.id,
            "channel": conversation.channel,
            "state": conversation.state.value,
            "reason": conversation.reason,
            "reason_text": reason_text(conversation.reason),
            "priority": conversation.priority,
            "department": conversation.department,
            "department_name": self._departments.name(conversation.department),
            "waiting_s": waiting_seconds(conversation),
            "summary": (conversation.handoff or {}).get("summary", ""),
            "signals": frustration_signals(conversation.handoff),
            "position": place.position if place else None,
            "agent": agent.name if agent else None,
            "line": conversation.line,
            "transferred_to": (conversation.handoff or {}).get("transferred_to"),
            "caller": group_digits(conversation.caller) if conversation.caller else None,
        }

    def _place_json(self, place: QueuePlace | None) -> dict[str, Any] | None:
        if place is None:
            return None
        return {
            "department": self._departments.name(place.department),
            "position": place.position,
            "ahead": place.ahead,
            "wait_minutes": place.wait_minutes,
            "agents_online": place.agents_online,
        }


def frustration_signals(handoff: dict[str, Any] | None) -> str:
    """What the frustration meter saw, as the agent reads it: "repitió 3 veces lo mismo; subió
    la voz" (empty when it saw nothing)."""
    meter = (handoff or {}).get("frustration")
    reasons = meter.get("reasons") if isinstance(meter, dict) else None
    return "; ".join(str(r) for r in reasons) if isinstance(reasons, list) else ""
