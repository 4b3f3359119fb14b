"""Live updates: what each customer page, call and desk must be told, as it happens.

Each subscriber (a customer's socket, a call, an agent's desk) gets its own bounded queue of
events; one that stops reading is dropped rather than slowing everyone else down.

With several gateways, a conversation's page may be connected to one gateway while its agent's
desk is on another: every event is then also handed to a relay (Redis, `bot.edge.relay`),
which brings the events of the other gateways back through `deliver`. Events are delivered
here at once either way, so a gateway whose relay is down still serves its own subscribers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from bot.handoff.models import Agent

logger = logging.getLogger(__name__)

Event = dict[str, Any]
MAX_PENDING = 500  # events a subscriber may fall behind before it is dropped


class Subscription:
    """A subscriber's queue of events; `None` means the hub dropped it."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[Event | None] = asyncio.Queue(MAX_PENDING)

    def put(self, event: Event | None) -> bool:
        """Queues the event; a subscriber too far behind is told it was dropped (None)."""
        try:
            self.events.put_nowait(event)
            return True
        except asyncio.QueueFull:
            while not self.events.empty():
                self.events.get_nowait()
            self.events.put_nowait(None)
            return False


@dataclass(frozen=True)
class DeskAudience:
    """Which desks an event is for: those whose agent may see the department's conversations
    (supervisors see all), or one agent's; nothing set means every desk. Plain data, so that
    other gateways can apply it to their own desks."""

    department: str | None = None
    agent_id: int | None = None
    by_department: bool = False

    def admits(self, agent: Agent) -> bool:
        if self.agent_id is not None:
            return agent.id == self.agent_id
        if self.by_department:
            return agent.is_supervisor or agent.serves(self.department)
        return True

    def to_json(self) -> dict[str, Any]:
        return {"department": self.department, "agent_id": self.agent_id,
                "by_department": self.by_department}  # fmt: skip


EVERY_DESK = DeskAudience()


def desks_of(department: str | None) -> DeskAudience:
    return DeskAudience(department=department, by_department=True)


def desk_of(agent_id: int | None) -> DeskAudience:
    return DeskAudience(agent_id=agent_id if agent_id is not None else -1)


class Relay(Protocol):
    """Carries events to the other gateways (`bot.edge.relay.RedisRelay`)."""

    def publish(self, envelope: dict[str, Any]) -> None: ...


class EventHub:
    """Fans events out to the customers of a conversation and to the desks.

    Args:
        relay: set when gateways share the work: events also go to the other gateways.
    """

    def __init__(self, relay: Relay | None = None) -> None:
        self._customers: dict[str, set[Subscription]] = defaultdict(set)
        self._desks: dict[Subscription, Agent] = {}
        self.relay = relay

    def watch_conversation(self, conversation_id: str) -> Subscription:
        subscription = Subscription()
        self._customers[conversation_id].add(subscription)
        return subscription

    def unwatch_conversation(self, conversation_id: str, subscription: Subscription) -> None:
        watchers = self._customers.get(conversation_id)
        if watchers is not None:
            watchers.discard(subscription)
            if not watchers:
                del self._customers[conversation_id]

    def watch_desk(self, agent: Agent) -> Subscription:
        subscription = Subscription()
        self._desks[subscription] = agent
        return subscription

    def unwatch_desk(self, subscription: Subscription) -> None:
        self._desks.pop(subscription, None)

    def watched(self, conversation_id: str) -> bool:
        """Whether a page or a call of the conversation may be listening (events for it would
        be built for nobody otherwise); with other gateways, one of theirs may be."""
        return self.relay is not None or conversation_id in self._customers

    def watched_here(self) -> list[str]:
        """The conversations with a page or a call on this gateway."""
        return list(self._customers)

    def to_customer(self, conversation_id: str, event: Event) -> None:
        self._to_customer(conversation_id, event)
        if self.relay is not None:
            self.relay.publish({"to": "customer", "conversation": conversation_id, "event": event})

    def to_desks(self, event: Event, audience: DeskAudience = EVERY_DESK) -> None:
        self._to_desks(event, audience)
        if self.relay is not None:
            self.relay.publish({"to": "desks", "audience": audience.to_json(), "event": event})

    def here_to_customer(self, conversation_id: str, event: Event) -> None:
        """To this gateway's pages and calls of the conversation only."""
        self._to_customer(conversation_id, event)

    def here_to_desks(self, event: Event) -> None:
        """To this gateway's desks only."""
        self._to_desks(event, EVERY_DESK)

    def deliver(self, envelope: dict[str, Any]) -> None:
        """An event another gateway published, for the subscribers here."""
        if envelope.get("to") == "customer":
            self._to_customer(str(envelope["conversation"]), envelope["event"])
        elif envelope.get("to") == "desks":
            self._to_desks(envelope["event"], DeskAudience(**envelope["audience"]))

    def _to_customer(self, conversation_id: str, event: Event) -> None:
        for subscription in list(self._customers.get(conversation_id, ())):
            if not subscription.put(event):
                logger.warning("hub.customer_dropped conversation=%s", conversation_id)
                self.unwatch_conversation(conversation_id, subscription)

    def _to_desks(self, event: Event, audience: DeskAudience) -> None:
        for subscription, agent in list(self._desks.items()):
            if audience.admits(agent) and not subscription.put(event):
                logger.warning("hub.desk_dropped agent=%s", agent.id)
                self.unwatch_desk(subscription)
