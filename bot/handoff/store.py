"""Storage of the gateway: conversations, transcripts, the queue, callbacks and agents.

SQLite by default (BOT_DATA_DIR/gateway.db), PostgreSQL when BOT_DATABASE_URL says so; the
schema is the migrations' `gateway` branch. Written at every change, so a restart of a gateway
loses no queued conversation or callback, and gateways sharing PostgreSQL share the queue. The
queue is the conversations in state `queued`. Queries are small and indexed (well under a
millisecond on SQLite, about one on PostgreSQL over loopback), so they run on the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.db import Database, DatabaseError, bound, open_database, upsert
from bot.db.engine import BUSY_TIMEOUT_S
from bot.handoff.last_known import LastKnown
from bot.handoff.models import Agent, Callback, Conversation, Message, State

# what `save` writes of a conversation (the rest is set once, when it starts)
SAVED = (
    "state", "department", "priority", "reason", "handoff", "queued_at", "accepted_at", "agent_id",
)  # fmt: skip
MESSAGE_FIELDS = ("conversation_id", "at", "author", "text", "buttons", "agent")


def token_hash(token: str) -> str:
    """Secrets (customer tokens, session cookies) are stored hashed: a copy of the database
    does not let anyone into a conversation or a desk session."""
    return hashlib.sha256(token.encode()).hexdigest()


class GatewayStore:
    """The gateway's database.

    Args:
        location: a URL (sqlite:///..., postgresql://...), a SQLite file's path (created with
            its folder when missing), ":memory:", or a Database already open.
    """

    def __init__(self, location: Path | str | Database) -> None:
        self.database = open_database(location)
        self._engine = self.database.engine
        tables = self.database.tables
        self._conversations = tables["conversations"]
        self._messages = tables["messages"]
        self._callbacks = tables["callbacks"]
        self._agents = tables["agents"]
        self._sessions = tables["sessions"]
        self._handoffs = tables["handoffs"]
        self._handle_times = tables["handle_times"]
        self.last_known = LastKnown()
        self._heartbeat = tables["heartbeat"]
        # the statements of every message, compiled once (bot/db/prepared.py)
        prepare = self.database.prepare
        conversations, messages = self._conversations, self._messages
        by_id = conversations.c.id == sa.bindparam("conversation_id")
        self._read_conversation = prepare(sa.select(conversations).where(by_id))
        self._read_token_hash = prepare(sa.select(conversations.c.token_hash).where(by_id))
        self._save_conversation = prepare(conversations.update().where(by_id).values(bound(*SAVED)))
        self._insert_message = prepare(messages.insert().values(bound(*MESSAGE_FIELDS)))
        c = conversations.c
        self._read_queue_order = prepare(  # (read again at every change of the queue)
            sa.select(c.id, c.department)
            .where(c.state == State.QUEUED.value)
            .order_by(
                sa.case((c.priority == "high", 0), else_=1),
                sa.func.coalesce(c.queued_at, 0),
                c.created_at,
            )
        )
        self._read_busy_agents = prepare(
            sa.select(c.agent_id).distinct().where(c.state == State.AGENT.value)
        )
        self._read_messages = prepare(
            sa.select(messages)
            .where(messages.c.conversation_id == sa.bindparam("conversation_id"))
            .order_by(messages.c.id)
        )

    def close(self) -> None:
        self.database.close()

    def check_writable(self) -> None:
        """One tiny real write, without waiting for a lock: raises DatabaseError at once when
        the file is locked, read-only or the disk is full, or PostgreSQL is away (what a health
        check must notice before a customer does, and what tells when held conversations can
        be written back)."""
        beat = upsert(self._engine, self._heartbeat, ["id"], {"id": 1, "at": time.time()})
        with self._engine.connect() as connection:
            if self.database.dialect != "sqlite":
                connection.execute(beat)
                return
            connection.exec_driver_sql("PRAGMA busy_timeout = 0")
            try:
                connection.execute(beat)
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

    # conversations

    def create_conversation(self, conversation: Conversation, token: str) -> None:
        self.database.run(
            self._conversations.insert().values(
                id=conversation.id,
                token_hash=token_hash(token),
                channel=conversation.channel,
                state=conversation.state.value,
                created_at=conversation.created_at,
                line=conversation.line,
                caller=conversation.caller,
                gateway=conversation.gateway,
            )
        )
        self.last_known.saw(conversation)
        self.last_known.saw_token(conversation.id, token_hash(token))

    def token_matches(self, conversation_id: str, token: str) -> bool:
        """Whether `token` is this conversation's; from what this gateway last read when the
        database cannot be read (raises DatabaseError if it read nothing of it)."""
        try:
            row = self._read_token_hash.row({"conversation_id": conversation_id})
        except DatabaseError:
            known = self.last_known.token_hash(conversation_id)
            if known is None:
                raise
            return hmac.compare_digest(known, token_hash(token))
        if row is None:
            return False
        self.last_known.saw_token(conversation_id, row["token_hash"])
        return hmac.compare_digest(row["token_hash"], token_hash(token))

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation; as this gateway last read it when the database cannot be read."""
        try:
            row = self._read_conversation.row({"conversation_id": conversation_id})
        except DatabaseError:
            known = self.last_known.conversation(conversation_id)
            if known is None:
                raise
            return known
        if row is None:
            return None
        conversation = _conversation(row)
        self.last_known.saw(conversation)
        return conversation

    def save(self, conversation: Conversation) -> None:
        self._save_conversation.run(
            {
                "conversation_id": conversation.id,
                "state": conversation.state.value,
                "department": conversation.department,
                "priority": conversation.priority,
                "reason": conversation.reason,
                "handoff": None
                if conversation.handoff is None
                else json.dumps(conversation.handoff),
                "queued_at": conversation.queued_at,
                "accepted_at": conversation.accepted_at,
                "agent_id": conversation.agent_id,
            }
        )
        self.last_known.saw(conversation)

    def move_to_gateway(self, conversation_id: str, gateway_id: str) -> None:
        """A call's line opened on this gateway (which may not be where it was started)."""
        c = self._conversations.c
        self.database.run(
            self._conversations.update().where(c.id == conversation_id).values(gateway=gateway_id)
        )

    def claim(self, conversation_id: str, agent_id: int, accepted_at: float) -> bool:
        """Gives a queued conversation to an agent in one conditional statement: of agents on
        several gateways accepting it at once, exactly one gets True."""
        c = self._conversations.c
        result = self.database.run(
            self._conversations.update()
            .where(c.id == conversation_id, c.state == State.QUEUED.value)
            .values(state=State.AGENT.value, agent_id=agent_id, accepted_at=accepted_at)
        )
        return bool(result.rowcount == 1)

    def in_state(self, state: State) -> list[Conversation]:
        table = self._conversations
        rows = self.database.rows(
            sa.select(table)
            .where(table.c.state == state.value)
            .order_by(table.c.queued_at, table.c.created_at)
        )
        return [_conversation(row) for row in rows]

    def queue_order(self) -> list[tuple[str, str | None]]:
        """(id, department) of every queued conversation in queue order: high priority first,
        then by arrival. Only what places need, so a queue of hundreds is cheap to re-read at
        every change."""
        rows = self._read_queue_order.rows()
        return [(row["id"], row["department"]) for row in rows]

    def busy_agent_ids(self) -> set[int]:
        """Agents holding a conversation now."""
        return {row["agent_id"] for row in self._read_busy_agents.rows()}

    def unanswered_chats(self, since: float, until: float) -> list[Conversation]:
        """Chats with the assistant whose last line is the customer's, said from `since` until
        `until`: turns a stopped gateway never answered."""
        conversations, messages = self._conversations, self._messages
        later = messages.alias("later")
        last_line = (
            sa.select(sa.func.max(later.c.id))
            .where(later.c.conversation_id == conversations.c.id)
            .correlate(conversations)
            .scalar_subquery()
        )
        rows = self.database.rows(
            sa.select(conversations)
            .select_from(conversations.join(messages, messages.c.id == last_line))
            .where(
                conversations.c.state == State.BOT.value,
                conversations.c.channel == "webchat",
                messages.c.author == "customer",
                messages.c.at >= since,
                messages.c.at <= until,
            )
        )
        return [_conversation(row) for row in rows]

    # messages

    def add_message(
        self,
        conversation_id: str,
        author: str,
        text: str,
        buttons: list[dict[str, str]] | None = None,
        agent: str | None = None,
        at: float | None = None,
    ) -> Message:
        at = at or time.time()
        message_id = self._insert_message.insert(
            {
                "conversation_id": conversation_id,
                "at": at,
                "author": author,
                "text": text,
                "buttons": json.dumps(buttons or []),
                "agent": agent,
            }
        )
        return Message(message_id, conversation_id, at, author, text, buttons or [], agent)

    def messages(self, conversation_id: str) -> list[Message]:
        rows = self._read_messages.rows({"conversation_id": conversation_id})
        return [
            Message(
                row["id"],
                row["conversation_id"],
                row["at"],
                row["author"],
                row["text"],
                json.loads(row["buttons"]),
                row["agent"],
            )
            for row in rows
        ]

    # handoff history and handling times (estimated waits, supervisor figures)

    def record_handoff(self, conversation_id: str, reason: str, department: str | None) -> None:
        self.database.run(
            self._handoffs.insert().values(
                conversation_id=conversation_id,
                at=time.time(),
                reason=reason,
                department=department,
            )
        )

    def reason_counts(self, since: float) -> dict[str, int]:
        c = self._handoffs.c
        rows = self.database.rows(
            sa.select(c.reason, sa.func.count().label("n")).where(c.at >= since).group_by(c.reason)
        )
        return {row["reason"]: row["n"] for row in rows}

    def record_handle_time(self, department: str | None, seconds: float) -> None:
        self.database.run(
            self._handle_times.insert().values(
                department=department, seconds=seconds, at=time.time()
            )
        )

    def recent_handle_times(self, department: str | None, limit: int = 20) -> list[float]:
        c = self._handle_times.c
        rows = self.database.rows(
            sa.select(c.seconds)
            .where(c.department.is_not_distinct_from(department))
            .order_by(c.at.desc())
            .limit(limit)
        )
        return [row["seconds"] for row in rows]

    # callbacks

    def add_callback(
        self, conversation_id: str, phone: str, when: str, department: str | None
    ) -> Callback:
        at = time.time()
        result = self.database.run(
            self._callbacks.insert().values(
                conversation_id=conversation_id,
                phone=phone,
                when_text=when,
                department=department,
                created_at=at,
            )
        )
        callback_id = int(result.inserted_primary_key[0])
        return Callback(callback_id, conversation_id, phone, when, department, at)

    def open_callbacks(self) -> list[Callback]:
        table = self._callbacks
        rows = self.database.rows(
            sa.select(table).where(table.c.done_at.is_(None)).order_by(table.c.id)
        )
        return [
            Callback(
                row["id"],
                row["conversation_id"],
                row["phone"],
                row["when_text"],
                row["department"],
                row["created_at"],
                row["done_at"],
            )
            for row in rows
        ]

    def finish_callback(self, callback_id: int) -> bool:
        c = self._callbacks.c
        result = self.database.run(
            self._callbacks.update()
            .where(c.id == callback_id, c.done_at.is_(None))
            .values(done_at=time.time())
        )
        return bool(result.rowcount == 1)

    # agents and their sessions

    def add_agent(
        self, username: str, name: str, role: str, departments: list[str], password_hash: str
    ) -> Agent:
        result = self.database.run(
            self._agents.insert().values(
                username=username,
                name=name,
                role=role,
                departments=json.dumps(departments),
                password_hash=password_hash,
            )
        )
        agent_id = int(result.inserted_primary_key[0])
        return Agent(agent_id, username, name, role, tuple(departments))

    def set_password_hash(self, agent_id: int, password_hash: str) -> None:
        c = self._agents.c
        self.database.run(
            self._agents.update().where(c.id == agent_id).values(password_hash=password_hash)
        )

    def agent_with_hash(self, username: str) -> tuple[Agent, str] | None:
        table = self._agents
        row = self.database.row(sa.select(table).where(table.c.username == username))
        return (_agent(row), row["password_hash"]) if row else None

    def agent(self, agent_id: int) -> Agent | None:
        table = self._agents
        row = self.database.row(sa.select(table).where(table.c.id == agent_id))
        return _agent(row) if row else None

    def agents(self) -> list[Agent]:
        table = self._agents
        return [_agent(row) for row in self.database.rows(sa.select(table).order_by(table.c.name))]

    def add_session(self, token: str, agent_id: int, expires_at: float) -> None:
        self.database.run(
            self._sessions.insert().values(
                token_hash=token_hash(token), agent_id=agent_id, expires_at=expires_at
            )
        )

    def session_agent(self, token: str) -> Agent | None:
        c = self._sessions.c
        row = self.database.row(
            sa.select(c.agent_id).where(
                c.token_hash == token_hash(token), c.expires_at > time.time()
            )
        )
        return self.agent(row["agent_id"]) if row else None

    def delete_session(self, token: str) -> None:
        c = self._sessions.c
        with self._engine.connect() as connection:
            connection.execute(self._sessions.delete().where(c.token_hash == token_hash(token)))
            connection.execute(self._sessions.delete().where(c.expires_at <= time.time()))


def _conversation(row: Mapping[str, Any]) -> Conversation:
    return Conversation(
        id=row["id"],
        channel=row["channel"],
        state=State(row["state"]),
        created_at=row["created_at"],
        department=row["department"],
        priority=row["priority"],
        reason=row["reason"],
        handoff=json.loads(row["handoff"]) if row["handoff"] else None,
        queued_at=row["queued_at"],
        accepted_at=row["accepted_at"],
        agent_id=row["agent_id"],
        line=row["line"],
        caller=row["caller"],
        gateway=row["gateway"],
    )


def _agent(row: Mapping[str, Any]) -> Agent:
    return Agent(
        row["id"], row["username"], row["name"], row["role"], tuple(json.loads(row["departments"]))
    )
