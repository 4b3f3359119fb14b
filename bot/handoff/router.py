"""The conversation router: who answers each customer message, the assistant or a person.

State per conversation: BOT → QUEUED → AGENT → BOT or CLOSED. Only in BOT does a message go to
Rasa; while QUEUED or AGENT the bot never answers over a person. Every change is saved first and
then announced (to the customer's page or call, and to the desks). When the database refuses a
write during a customer's turn, the conversation is held in memory (`held.py`) and written back
once it takes writes again: the customer is answered either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
import weakref
from typing import Any, Protocol

from bot import metrics
from bot.assistant.client import AssistantClient
from bot.assistant.contract import (
    BotReply,
    DialogueUnavailable,
    apology,
    error_handoff,
)
from bot.assistant.contract import greeting as assistant_greeting
from bot.db import DatabaseError
from bot.errors import RequestError
from bot.handoff import notices
from bot.handoff.announcer import Announcer
from bot.handoff.departments import Departments
from bot.handoff.held import HeldConversations
from bot.handoff.hub import EventHub, desk_of
from bot.handoff.models import Agent, Callback, Conversation, Message, State
from bot.handoff.phone_numbers import digits_of, group_digits
from bot.handoff.queue import HandoffQueue, Presence, QueuePlace
from bot.handoff.store import GatewayStore
from bot.handoff.views import ConversationViews
from bot.settings import GatewaySettings

logger = logging.getLogger(__name__)

CHANNELS = ("webchat", "voice")
INTERRUPTED_TURN_WINDOW_S = 15 * 60  # older unanswered turns: the customer has gone
MAX_WHEN_CHARS = 100
BAD_PHONE = (
    "Ese teléfono no parece válido. Escríbalo solo con cifras, por ejemplo 600 123 456, y con "
    "su prefijo si es extranjero."
)


class UnsureTurns(Protocol):
    """Where the turns the assistant was unsure about go, and agents' word on them (the
    trainers' inbox)."""

    def consider(
        self,
        conversation: Conversation,
        message: Message,
        understanding: dict[str, Any] | None,
        handoff: dict[str, Any] | None,
    ) -> bool:
        """Keeps the customer's message if the assistant was unsure of it; True when kept."""

    def correct(self, conversation: Conversation, message: Message, intent: str) -> None:
        """An agent says which intent the customer's message meant."""


class RouterError(RequestError):
    """A request that does not fit the conversation's state (404, 409, 422, 502)."""


class ConversationRouter:
    """Routes customer messages and agent actions, and keeps the queue announced.

    Args:
        store: conversations, messages, queue, callbacks.
        assistant: the Rasa server.
        hub: live updates to customers and desks.
        queue: places and waits.
        presence: agents online.
        departments: department names and the default queue.
        settings: callback threshold.
        inbox: where the turns the assistant was unsure about go for trainers (None: nowhere).
    """

    def __init__(
        self,
        store: GatewayStore,
        assistant: AssistantClient,
        hub: EventHub,
        queue: HandoffQueue,
        presence: Presence,
        departments: Departments,
        settings: GatewaySettings,
        inbox: UnsureTurns | None = None,
    ) -> None:
        self.store = store
        self.inbox = inbox
        self.hub = hub
        self.queue = queue
        self.presence = presence
        self.departments = departments
        self._assistant = assistant
        self._settings = settings
        self.views = ConversationViews(store, queue, departments, settings.callback_offer_minutes)
        self.announce = Announcer(store, hub, queue, self.views, departments)
        self.held = HeldConversations()
        # one lock per conversation in use; it goes away when nobody holds or waits for it
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        return lock

    def _save(self, conversation: Conversation) -> None:
        self.store.save(conversation)
        if conversation.state != State.QUEUED:
            self.announce.forget(conversation.id)

    def close_abandoned_calls(self) -> int:
        """At start-up: calls left queued or with an agent by this gateway before it stopped
        have nobody on the line any more (a call cannot outlive its process); chats wait on,
        and so do the calls of the other gateways sharing the database."""
        mine = (None, self._settings.gateway_id)  # (None: made before gateways were named)
        abandoned = [
            c for state in (State.QUEUED, State.AGENT) for c in self.store.in_state(state)
            if c.channel == "voice" and c.gateway in mine
        ]  # fmt: skip
        for conversation in abandoned:
            conversation.state = State.CLOSED
            self._save(conversation)
            self.store.add_message(conversation.id, "system", notices.CALL_LOST)
        return len(abandoned)

    def call_lives_here(self, conversation_id: str) -> None:
        """The call's line is on this gateway: the one that closes it if this gateway stops
        (behind a load balancer the line may open on another gateway than its start)."""
        self.store.move_to_gateway(conversation_id, self._settings.gateway_id)

    def answer_interrupted_turns(
        self, within_s: float = INTERRUPTED_TURN_WINDOW_S, said_before: float | None = None
    ) -> int:
        """At start-up: a chat turn the stopped gateway saved but never answered gets an apology
        and a request to say it again (sending it to the assistant again could repeat what it
        already did, a booking say); the page shows it when it reconnects, or at once if open.

        Args:
            said_before: only turns said before then (with other gateways: this one's start,
                checked once they have had the time to answer what they were answering).
        """
        now = time.time()
        unanswered = self.store.unanswered_chats(now - within_s, said_before or now)
        for conversation in unanswered:
            self.announce.say(conversation, "bot", notices.INTERRUPTED_TURN)
        return len(unanswered)

    # customers

    def start(
        self, channel: str, line: str | None = None, caller: str | None = None
    ) -> tuple[Conversation, str]:
        """A new conversation with its greeting; returns it and the customer's secret token.

        Args:
            channel: `webchat` or `voice`.
            line: how a call arrives (browser, twilio, asterisk).
            caller: the caller's number, when the phone line gives it.
        """
        if channel not in CHANNELS:
            raise RouterError(422, f"Canal desconocido: use {' o '.join(CHANNELS)}.")
        conversation = Conversation(
            uuid.uuid4().hex, channel, State.BOT, time.time(), line=line, caller=caller,
            gateway=self._settings.gateway_id,
        )  # fmt: skip
        token = secrets.token_urlsafe(24)
        self.store.create_conversation(conversation, token)
        greeting = assistant_greeting(channel)
        self.store.add_message(conversation.id, "bot", greeting)
        logger.info("conversation.started id=%s channel=%s", conversation.id, channel)
        return conversation, token

    def get(self, conversation_id: str) -> Conversation:
        conversation = self.held.conversation(conversation_id)
        conversation = conversation or self.store.conversation(conversation_id)
        if conversation is None:
            raise RouterError(404, "No existe esa conversación.")
        return conversation

    async def customer_message(
        self,
        conversation_id: str,
        text: str,
        to_assistant: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> list[Message]:
        """Stores what the customer said and gets the answer, if the assistant holds it.

        Args:
            text: as the customer typed or said it (stored, shown as text).
            to_assistant: the cleaned text for Rasa (default: `text`).
            metadata: facts about the turn for the assistant (how a caller said it).

        Returns the messages it produced (the assistant's answers, the queue notice)."""
        async with self._lock(conversation_id):
            if self.held.conversation(conversation_id) is not None:
                line = self.held.add_line(conversation_id, "customer", text)
                self._publish_held(self.get(conversation_id), [line])
                return [line]
            conversation = self.get(conversation_id)
            said: Message | None = None
            try:
                said = self.announce.say(conversation, "customer", text)
                if conversation.state == State.CLOSED:
                    await self._reopen(conversation)
                if conversation.state != State.BOT:
                    return []  # a person holds it (or will): never the bot over a human
                return await self._ask_assistant(
                    conversation, to_assistant or text, metadata or {}, said
                )
            except DatabaseError as error:
                return self._hold(conversation, error, unsaved=None if said else text)

    def inbox_correction(self, conversation: Conversation, message: Message, intent: str) -> None:
        """An agent's word on what a customer meant, for the trainers."""
        if self.inbox is not None:
            self.inbox.correct(conversation, message, intent)

    async def technical_handoff(self, conversation_id: str) -> None:
        """The conversation's own machinery failed (a call's recogniser or voice): the customer
        gets the apology and a person, as when the assistant does not answer."""
        async with self._lock(conversation_id):
            conversation = self.get(conversation_id)
            if conversation.state != State.BOT:
                return  # already with people: they carry on
            logger.error("conversation.technical_handoff id=%s", conversation_id)
            try:
                apologised = self.store.add_message(
                    conversation.id, "bot", apology(conversation.channel)
                )
                self.announce.publish(conversation, apologised)
                self._enqueue(conversation, error_handoff())
            except DatabaseError as error:
                self._hold(conversation, error, unsaved=None)
                return
        self.announce.queue_changed(conversation.department)

    async def back_to_bot(self, conversation_id: str) -> Conversation:
        """The customer would rather go on with the assistant than wait."""
        async with self._lock(conversation_id):
            conversation = self.get(conversation_id)
            if conversation.state != State.QUEUED:
                raise RouterError(409, "Su conversación no está en la cola.")
            await self._resume_assistant(conversation)
            self.announce.say(conversation, "bot", notices.BACK_TO_BOT)
        self.announce.queue_changed(conversation.department)
        return conversation

    async def request_callback(self, conversation_id: str, phone: str, when: str) -> Callback:
        """The customer leaves a number instead of waiting: a task on the desk, the chat ends."""
        digits = digits_of(phone)
        if digits is None:
            raise RouterError(422, BAD_PHONE)
        when = " ".join((when or "").split())[:MAX_WHEN_CHARS] or "lo antes posible"
        async with self._lock(conversation_id):
            conversation = self.get(conversation_id)
            if conversation.state == State.AGENT:
                raise RouterError(409, "Ya le está atendiendo una persona.")
            if conversation.state != State.QUEUED:
                raise RouterError(409, "Su conversación no está esperando a una persona.")
            callback = self.store.add_callback(
                conversation.id, digits, when, conversation.department
            )
            conversation.state = State.CLOSED
            self._save(conversation)
            confirmed = notices.callback_confirmed(conversation.channel, group_digits(digits), when)
            self.announce.say(conversation, "system", confirmed)
        logger.info("callback.requested conversation=%s", conversation.id)
        self.announce.queue_changed(conversation.department)
        return callback

    async def caller_hung_up(self, conversation_id: str) -> None:
        """A call ended while waiting or with an agent: it leaves the queue and the desk."""
        async with self._lock(conversation_id):
            conversation = self.get(conversation_id)
            if conversation.state not in (State.QUEUED, State.AGENT) or _transferred(conversation):
                return  # (a transferred call goes on elsewhere: it waits for the desk's agent)
            if conversation.state == State.AGENT:
                self._record_handling(conversation)
            conversation.state = State.CLOSED
            self._save(conversation)
            self.announce.say(conversation, "system", notices.HUNG_UP)
        self.announce.queue_changed(conversation.department)

    async def transferred(self, conversation_id: str, destination: str) -> None:
        """A queued phone call goes to another phone or PBX queue: it stays on the desk, marked
        (not in the transcript: the caller would hear it), so whoever answers there finds what
        was said."""
        async with self._lock(conversation_id):
            conversation = self.get(conversation_id)
            conversation.handoff = {**(conversation.handoff or {}), "transferred_to": destination}
            self._save(conversation)
        logger.info("conversation.transferred id=%s", conversation_id)
        self.announce.queue_changed(conversation.department)

    async def transfer_failed(self, conversation_id: str) -> None:
        """The provider refused the transfer: the call stays in the desk's queue, on the line."""
        async with self._lock(conversation_id):
            conversation = self.get(conversation_id)
            handoff = dict(conversation.handoff or {})
            handoff.pop("transferred_to", None)
            conversation.handoff = handoff
            self._save(conversation)
            self.announce.say(conversation, "system", notices.TRANSFER_FAILED)
        self.announce.queue_changed(conversation.department)

    # agents

    async def accept(self, conversation_id: str, agent: Agent) -> Conversation:
        async with self._lock(conversation_id):
            conversation = self.get(conversation_id)
            if conversation.state == State.AGENT and conversation.agent_id == agent.id:
                return conversation
            taken = RouterError(409, "Otra persona ya la ha aceptado o ya no está en la cola.")
            if conversation.state != State.QUEUED:
                raise taken
            accepted_at = time.time()
            # the database decides, not this gateway's memory: an agent on another gateway may
            # have accepted it a moment ago
            if not self.store.claim(conversation.id, agent.id, accepted_at):
                raise taken
            conversation.state, conversation.agent_id = State.AGENT, agent.id
            conversation.accepted_at = accepted_at
            self.announce.forget(conversation.id)
            if conversation.queued_at:
                waited = conversation.accepted_at - conversation.queued_at
                metrics.QUEUE_WAIT_SECONDS.observe(waited)
            accepted = notices.ACCEPTED.format(agent=agent.name)
            self.announce.say(conversation, "system", accepted)
        logger.info("conversation.accepted id=%s agent=%s", conversation.id, agent.id)
        self.announce.queue_changed(conversation.department)
        return conversation

    async def agent_message(self, conversation_id: str, agent: Agent, text: str) -> Message:
        async with self._lock(conversation_id):
            conversation = self._held_by(conversation_id, agent)
            message = self.store.add_message(conversation.id, "agent", text, agent=agent.name)
            self.announce.publish(conversation, message)
            return message

    async def hand_back(self, conversation_id: str, agent: Agent) -> Conversation:
        """The agent returns the conversation to the assistant, which goes on with its context."""
        async with self._lock(conversation_id):
            conversation = self._held_by(conversation_id, agent)
            await self._resume_assistant(conversation)
            self._record_handling(conversation)
            self.announce.say(conversation, "bot", notices.HANDED_BACK)
        self.announce.queue_changed(conversation.department)
        return conversation

    async def close(self, conversation_id: str, agent: Agent) -> Conversation:
        async with self._lock(conversation_id):
            conversation = self.get(conversation_id)
            if conversation.state == State.AGENT:
                conversation = self._held_by(conversation_id, agent)
                self._record_handling(conversation)
            elif conversation.state != State.QUEUED:
                raise RouterError(409, "Esta conversación no está en la cola ni la atiende usted.")
            conversation.state = State.CLOSED
            self._save(conversation)
            closed = notices.CLOSED.format(agent=agent.name)
            self.announce.say(conversation, "system", closed)
        self.announce.queue_changed(conversation.department)
        return conversation

    def resync_here(self) -> None:
        """After live updates between gateways were interrupted (Redis restarted): every page
        and call on this gateway gets its conversation afresh, every desk re-reads the queue."""
        for conversation_id in self.hub.watched_here():
            try:
                conversation = self.get(conversation_id)
                snapshot = self.views.snapshot(conversation)
            except (RouterError, DatabaseError):
                continue
            self.hub.here_to_customer(
                conversation_id, {"type": "snapshot", "conversation": snapshot}
            )
        self.hub.here_to_desks({"type": "queue"})

    async def agents_changed(self) -> None:
        """An agent came online or left: every estimate may change."""
        self.announce.queue_changed(None)

    def customer_typing(self, conversation: Conversation) -> None:
        if conversation.state == State.AGENT:
            event = {"type": "typing", "conversation": conversation.id, "active": True}
            self.hub.to_desks(event, desk_of(conversation.agent_id))

    def agent_typing(self, conversation: Conversation, agent: Agent) -> None:
        if conversation.state == State.AGENT and conversation.agent_id == agent.id:
            event = {"type": "typing", "author": "agent", "active": True, "agent": agent.name}
            self.hub.to_customer(conversation.id, event)

    def offers(self, conversation: Conversation, place: QueuePlace | None) -> list[str]:
        return self.views.offers(conversation, place)

    def snapshot(
        self,
        conversation: Conversation,
        with_messages: bool = True,
        place: QueuePlace | None = None,
    ) -> dict[str, Any]:
        try:
            view = self.views.snapshot(conversation, with_messages, place)
        except DatabaseError:
            if with_messages or self.held.conversation(conversation.id) is None:
                raise
            # not even readable (PostgreSQL stopped): held, as the customer was told, with no
            # queue place to give yet
            view = self.views.snapshot_without_place(conversation)
        if with_messages:
            view["messages"] += [line.to_json() for line in self.held.lines(conversation.id)]
        return view

    def waiting_view(
        self, conversation: Conversation, place: QueuePlace | None = None
    ) -> dict[str, Any]:
        return self.views.waiting_view(conversation, place)

    # the assistant

    async def _ask_assistant(
        self,
        conversation: Conversation,
        text: str,
        metadata: dict[str, Any],
        said: Message | None = None,
    ) -> list[Message]:
        self.hub.to_customer(conversation.id, {"type": "typing", "author": "bot", "active": True})
        metrics.TURNS.labels(conversation.channel).inc()
        started = time.perf_counter()
        try:
            reply = await self._assistant.send(
                conversation.id,
                text,
                conversation.channel,
                {**metadata, "channel": conversation.channel},
            )
        except DialogueUnavailable as error:
            logger.error("assistant.unavailable conversation=%s error=%s", conversation.id, error)
            metrics.ERRORS.labels("assistant_unavailable").inc()
            reply = BotReply([], handoff=error_handoff())
        else:
            metrics.TURN_SECONDS.labels("assistant").observe(time.perf_counter() - started)
        if not reply.texts and reply.handoff is None:
            logger.error("assistant.empty_answer conversation=%s", conversation.id)
            metrics.ERRORS.labels("assistant_empty_answer").inc()
            reply = BotReply([], handoff=error_handoff())
        if reply.handoff and reply.handoff.get("reason") == "error" and not reply.texts:
            reply = BotReply([apology(conversation.channel)], handoff=reply.handoff)
        self.hub.to_customer(conversation.id, {"type": "typing", "author": "bot", "active": False})
        if said is not None and self.inbox is not None:
            self.inbox.consider(conversation, said, reply.understanding, reply.handoff)
        produced = []
        for index, answer in enumerate(reply.texts):
            last = index == len(reply.texts) - 1
            buttons = reply.buttons if last and conversation.channel == "webchat" else []
            produced.append(self.store.add_message(conversation.id, "bot", answer, buttons))
        for message in produced:
            self.announce.publish(conversation, message)
        if reply.handoff is not None:
            produced.append(self._enqueue(conversation, reply.handoff))
            self.announce.queue_changed(conversation.department)
        return produced

    async def _resume_assistant(self, conversation: Conversation) -> None:
        try:
            await self._assistant.resume(conversation.id)
        except DialogueUnavailable as error:
            logger.error("assistant.resume_failed conversation=%s error=%s", conversation.id, error)
            raise RouterError(
                502, "El asistente no responde ahora mismo; inténtelo de nuevo en unos segundos."
            ) from error
        conversation.state = State.BOT
        self._save(conversation)

    async def _reopen(self, conversation: Conversation) -> None:
        """A customer writes again after the end: the assistant takes it up afresh."""
        # on failure, the message that follows meets it too and hands off with reason `error`
        with contextlib.suppress(DialogueUnavailable):
            await self._assistant.resume(conversation.id)
        conversation.state = State.BOT
        self._save(conversation)

    # the database refusing writes

    def _hold(
        self, conversation: Conversation, error: DatabaseError, unsaved: str | None
    ) -> list[Message]:
        """The database refused a write in the customer's turn (locked, read-only, disk full):
        the customer still gets the apology and a person, held in memory until it is back.

        Args:
            unsaved: the customer's words, when they were not saved either.

        Returns the lines for the customer (their own, then the answer)."""
        logger.error(
            "gateway.database_unavailable conversation=%s error=%s (held in memory until the "
            "database takes writes again)", conversation.id, error,
        )  # fmt: skip
        metrics.ERRORS.labels("database").inc()
        with_person = conversation.state in (State.QUEUED, State.AGENT)
        if with_person:
            handoff, answer = None, notices.HELD_FOR_PERSON
        else:
            handoff, answer = error_handoff(), apology(conversation.channel)
            department = self.departments.resolve(None)
            conversation.state, conversation.department = State.QUEUED, department
            conversation.priority, conversation.reason = "high", "error"
            conversation.handoff = {**handoff, "department": department}
            conversation.queued_at = time.time()
        self.held.hold(conversation, handoff)
        lines = []
        if unsaved is not None:
            lines.append(self.held.add_line(conversation.id, "customer", unsaved))
        author = "system" if with_person else "bot"
        lines.append(self.held.add_line(conversation.id, author, answer))
        self._publish_held(conversation, lines)
        return lines

    def _publish_held(self, conversation: Conversation, lines: list[Message]) -> None:
        for line in lines:
            self.hub.to_customer(conversation.id, {"type": "message", "message": line.to_json()})
        with contextlib.suppress(DatabaseError):  # a locked file may refuse reads as well
            snapshot = self.views.snapshot(conversation, with_messages=False)
            self.hub.to_customer(conversation.id, {"type": "state", "conversation": snapshot})

    async def write_back_held(self) -> int:
        """Saves the held conversations, oldest first, and queues those handed off, once the
        database takes writes again; returns how many are still held."""
        try:
            self.store.check_writable()  # without waiting: the event loop must not stall
        except DatabaseError:
            return len(self.held)
        for held in self.held.oldest_first():
            conversation = held.conversation
            async with self._lock(conversation.id):
                written = []
                try:
                    while held.lines:
                        line = held.lines[0]
                        written.append(
                            self.store.add_message(
                                conversation.id, line.author, line.text, at=line.at
                            )
                        )
                        held.lines.pop(0)
                    saved = self.store.conversation(conversation.id)
                    reopened = saved and saved.state in (State.BOT, State.CLOSED)
                    if held.handoff is not None and saved and reopened:
                        self._enqueue(saved, held.handoff)
                except DatabaseError:
                    return len(self.held)  # still refused: the next attempt goes on from here
                finally:
                    for line in written:  # the desks see them now; the customer saw them
                        self.announce.publish(conversation, line, state=False, customer=False)
                self.held.release(conversation.id)
            logger.info("gateway.held_written_back conversation=%s", conversation.id)
            self.announce.queue_changed(conversation.department)
        return 0

    # the queue

    def _enqueue(self, conversation: Conversation, handoff: dict[str, Any]) -> Message:
        department = self.departments.resolve(handoff.get("department"))
        conversation.state, conversation.department = State.QUEUED, department
        conversation.priority = "high" if handoff.get("priority") == "high" else "normal"
        conversation.reason = str(handoff.get("reason") or "user_request")
        conversation.handoff = {**handoff, "department": department}
        conversation.queued_at = time.time()
        self._save(conversation)
        self.store.record_handoff(conversation.id, conversation.reason, department)
        metrics.HANDOFFS.labels(conversation.reason).inc()
        return self.announce.queued(conversation)

    def _record_handling(self, conversation: Conversation) -> None:
        if conversation.accepted_at:
            self.store.record_handle_time(
                conversation.department, time.time() - conversation.accepted_at
            )

    def _held_by(self, conversation_id: str, agent: Agent) -> Conversation:
        conversation = self.get(conversation_id)
        if conversation.state != State.AGENT or conversation.agent_id != agent.id:
            raise RouterError(409, "Esta conversación no la está atendiendo usted.")
        return conversation


def _transferred(conversation: Conversation) -> bool:
    return bool((conversation.handoff or {}).get("transferred_to"))
