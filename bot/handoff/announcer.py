"""Telling people what changed: each new message and state to the customer's page or call and
to the desks, and every waiting customer their new place in the queue."""

from __future__ import annotations

import logging

from bot.handoff import notices
from bot.handoff.departments import Departments
from bot.handoff.hub import EventHub, desks_of
from bot.handoff.models import Conversation, Message, State
from bot.handoff.queue import HandoffQueue, QueuePlace
from bot.handoff.store import GatewayStore
from bot.handoff.views import ConversationViews

logger = logging.getLogger(__name__)


class Announcer:
    """Publishes conversation changes through the hub.

    Args:
        store: where announcements are written as system messages.
        hub: the live subscribers.
        queue: places and waits.
        views: the JSON views sent.
        departments: department names.
    """

    def __init__(
        self,
        store: GatewayStore,
        hub: EventHub,
        queue: HandoffQueue,
        views: ConversationViews,
        departments: Departments,
    ) -> None:
        self._store = store
        self._hub = hub
        self._queue = queue
        self._views = views
        self._departments = departments
        self._announced: dict[str, int] = {}  # queue position last told to each waiting customer

    def publish(
        self,
        conversation: Conversation,
        message: Message,
        state: bool = True,
        place: QueuePlace | None = None,
        customer: bool = True,
    ) -> None:
        """A new message to the customer and the desks, then the state (which may have moved;
        `place`: the conversation's queue place, when just computed; `customer`: False when
        the customer has it already, as a line held while the database was down)."""
        event = {"type": "message", "message": message.to_json()}
        if customer:
            self._hub.to_customer(conversation.id, event)
        # the desks follow conversations that are, or were just, in people's hands
        desks_follow = conversation.state != State.BOT or message.author != "customer"
        desks_follow = desks_follow and conversation.department is not None
        if desks_follow:
            self._hub.to_desks(
                {**event, "conversation": conversation.id}, desks_of(conversation.department)
            )
        if state:
            snapshot = self._views.snapshot(conversation, with_messages=False, place=place)
            if customer:
                self._hub.to_customer(conversation.id, {"type": "state", "conversation": snapshot})
            if desks_follow:
                event = {"type": "state", "conversation": snapshot}
                self._hub.to_desks(event, desks_of(conversation.department))

    def say(
        self, conversation: Conversation, author: str, text: str, place: QueuePlace | None = None
    ) -> Message:
        """Stores a line for the customer and publishes it."""
        message = self._store.add_message(conversation.id, author, text)
        self.publish(conversation, message, place=place)
        return message

    def queued(self, conversation: Conversation) -> Message:
        """The first thing a queued customer reads or hears: place and wait, told honestly."""
        handoff = conversation.handoff or {}
        place = self._queue.place(conversation)
        assert place is not None  # just queued
        self._announced[conversation.id] = place.position
        notice = notices.queued_notice(
            place,
            self._departments.name(conversation.department),
            notices.audience(conversation),
            bool(handoff.get("department_open", True)),
            "callback" in self._views.offers(conversation, place),
            handoff.get("department_hours"),
        )
        logger.info(
            "conversation.queued id=%s department=%s reason=%s position=%s",
            conversation.id, conversation.department, conversation.reason, place.position,
        )  # fmt: skip
        return self.say(conversation, "system", notice, place)

    def queue_changed(self, department: str | None) -> None:
        """Tells every waiting customer of the department (None: all) their place, with a
        message when they moved up, and the desks that the queue changed."""
        for conversation_id, place in self._queue.places(department).items():
            told = self._announced.get(conversation_id)
            self._announced[conversation_id] = place.position
            moved_up = told is not None and place.position < told
            # a queue of hundreds: only who moved up or has a page or call open is read again
            if not moved_up and not self._hub.watched(conversation_id):
                continue
            waiting = self._store.conversation(conversation_id)
            if waiting is None:
                continue
            if moved_up:
                update = self._store.add_message(waiting.id, "system", notices.place_update(place))
                self.publish(waiting, update, state=False)
            snapshot = self._views.snapshot(waiting, with_messages=False, place=place)
            self._hub.to_customer(waiting.id, {"type": "state", "conversation": snapshot})
        self._hub.to_desks({"type": "queue"})

    def forget(self, conversation_id: str) -> None:
        """The conversation left the queue."""
        self._announced.pop(conversation_id, None)
