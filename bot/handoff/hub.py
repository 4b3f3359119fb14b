"""Live updates: what each customer page, call and desk must be told, as it happens.

Each subscriber (a customer's socket, a call, an agent's desk) gets its own bounded queue of
events; one that stops reading is dropped rather than slowing everyone else down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

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


class EventHub:
    """Fans events out to the customers of a conversation and to the desks."""

    def __init__(self) -> None:
        self._customers: dict[str, set[Subscription]] = defaultdict(set)
        self._desks: dict[Subscription, Agent] = {}

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
        """Whether a page or a call of the conversation is listening (events for it would be
        built for nobody otherwise)."""
        return conversation_id in self._customers

    def to_customer(self, conversation_id: str, event: Event) -> None:
        for subscription in list(self._customers.get(conversation_id, ())):
            if not subscription.put(event):
                logger.warning("hub.customer_dropped conversation=%s", conversation_id)
                self.unwatch_conversation(conversation_id, subscription)

    def to_desks(self, event: Event, allowed: Callable[[Agent], bool] = lambda _: True) -> None:
        for subscription, agent in list(self._desks.items()):
            if allowed(agent) and not subscription.put(event):
                logger.warning("hub.desk_dropped agent=%s", agent.id)
                self.unwatch_desk(subscription)
