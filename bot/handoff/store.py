"""SQLite storage of the gateway: conversations, transcripts, the queue, callbacks and agents.

One file (BOT_DATA_DIR/gateway.db), written at every change, so a restart of the gateway loses no
queued conversation or callback. The queue is the conversations in state `queued`. Queries are
small and indexed; each takes well under a millisecond, so they run on the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
from pathlib import Path

from bot.handoff.models import Agent, Callback, Conversation, Message, State

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, channel TEXT NOT NULL, state TEXT NOT NULL,
    created_at REAL NOT NULL, department TEXT, priority TEXT NOT NULL DEFAULT 'normal',
    reason TEXT, handoff TEXT, queued_at REAL, accepted_at REAL, agent_id INTEGER, line TEXT,
    caller TEXT);
CREATE INDEX IF NOT EXISTS conversations_state ON conversations (state, queued_at);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, at REAL NOT NULL,
    author TEXT NOT NULL, text TEXT NOT NULL, buttons TEXT NOT NULL DEFAULT '[]', agent TEXT);
CREATE INDEX IF NOT EXISTS messages_conversation ON messages (conversation_id, id);
CREATE TABLE IF NOT EXISTS callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, phone TEXT NOT NULL,
    when_text TEXT NOT NULL, department TEXT, created_at REAL NOT NULL, done_at REAL);
CREATE TABLE IF NOT EXISTS agents (
    id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    role TEXT NOT NULL, departments TEXT NOT NULL DEFAULT '[]', password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, agent_id INTEGER NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS handoffs (
    conversation_id TEXT NOT NULL, at REAL NOT NULL, reason TEXT NOT NULL, department TEXT);
CREATE TABLE IF NOT EXISTS handle_times (
    department TEXT, seconds REAL NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), at REAL NOT NULL);
"""

BUSY_TIMEOUT_MS = 2000  # how long a write waits for another process's lock before it fails


def connect(path: Path | str, schema: str) -> sqlite3.Connection:
    """The gateway's SQLite file (created with its folder when missing, or ":memory:") with
    `schema` applied: autocommit, rows by column name, WAL so readers never wait for a writer."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # another process holding the file locks it at most this long before a write fails: the
    # queries run on the event loop, so a long wait would stall every conversation
    db = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(schema)
    return db


def token_hash(token: str) -> str:
    """Secrets (customer tokens, session cookies) are stored hashed: a copy of the database
    does not let anyone into a conversation or a desk session."""
    return hashlib.sha256(token.encode()).hexdigest()


class GatewayStore:
    """The gateway's database.

    Args:
        path: the SQLite file (created with its folder when missing), or ":memory:".
    """

    def __init__(self, path: Path | str) -> None:
        self._db = connect(path, SCHEMA)
        _add_missing_columns(self._db, "conversations", {"line": "TEXT", "caller": "TEXT"})

    def close(self) -> None:
        self._db.close()

    def check_writable(self) -> None:
        """One tiny real write, without waiting for a lock: raises sqlite3.Error at once when
        the file is locked, read-only or the disk is full (what a health check must notice
        before a customer does, and what tells when held conversations can be written back)."""
        self._db.execute("PRAGMA busy_timeout = 0")
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO heartbeat (id, at) VALUES (1, ?)", (time.time(),)
            )
        finally:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    # conversations

    def create_conversation(self, conversation: Conversation, token: str) -> None:
        self._db.execute(
            "INSERT INTO conversations (id, token_hash, channel, state, created_at, line, caller) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                conversation.id,
                token_hash(token),
                conversation.channel,
                conversation.state.value,
                conversation.created_at,
                conversation.line,
                conversation.caller,
            ),
        )

    def token_matches(self, conversation_id: str, token: str) -> bool:
        row = self._db.execute(
            "SELECT token_hash FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        return row is not None and hmac.compare_digest(row["token_hash"], token_hash(token))

    def conversation(self, conversation_id: str) -> Conversation | None:
        row = self._db.execute(
            "SELECT * FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        return _conversation(row) if row else None

    def save(self, conversation: Conversation) -> None:
        self._db.execute(
            "UPDATE conversations SET state = ?, department = ?, priority = ?, reason = ?, "
            "handoff = ?, queued_at = ?, accepted_at = ?, agent_id = ? WHERE id = ?",
            (
                conversation.state.value,
                conversation.department,
                conversation.priority,
                conversation.reason,
                json.dumps(conversation.handoff) if conversation.handoff is not None else None,
                conversation.queued_at,
                conversation.accepted_at,
                conversation.agent_id,
                conversation.id,
            ),
        )

    def in_state(self, state: State) -> list[Conversation]:
        rows = self._db.execute(
            "SELECT * FROM conversations WHERE state = ? ORDER BY queued_at, created_at",
            (state.value,),
        )
        return [_conversation(row) for row in rows]

    def queue_order(self) -> list[tuple[str, str | None]]:
        """(id, department) of every queued conversation in queue order: high priority first,
        then by arrival. Only what places need, so a queue of hundreds is cheap to re-read at
        every change."""
        rows = self._db.execute(
            "SELECT id, department FROM conversations WHERE state = ? "
            "ORDER BY priority != 'high', COALESCE(queued_at, 0), created_at",
            (State.QUEUED.value,),
        )
        return [(row["id"], row["department"]) for row in rows]

    def busy_agent_ids(self) -> set[int]:
        """Agents holding a conversation now."""
        rows = self._db.execute(
            "SELECT DISTINCT agent_id FROM conversations WHERE state = ?", (State.AGENT.value,)
        )
        return {row["agent_id"] for row in rows}

    def unanswered_chats(self, since: float) -> list[Conversation]:
        """Chats with the assistant whose last line is the customer's, said at or after `since`:
        turns a stopped gateway never answered."""
        rows = self._db.execute(
            "SELECT c.* FROM conversations AS c JOIN messages AS m ON m.id = "
            "(SELECT MAX(id) FROM messages WHERE conversation_id = c.id) "
            "WHERE c.state = ? AND c.channel = 'webchat' AND m.author = 'customer' AND m.at >= ?",
            (State.BOT.value, since),
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
        cursor = self._db.execute(
            "INSERT INTO messages (conversation_id, at, author, text, buttons, agent) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (conversation_id, at, author, text, json.dumps(buttons or []), agent),
        )
        return Message(
            int(cursor.lastrowid or 0), conversation_id, at, author, text, buttons or [], agent
        )

    def messages(self, conversation_id: str) -> list[Message]:
        rows = self._db.execute(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        )
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
        self._db.execute(
            "INSERT INTO handoffs VALUES (?, ?, ?, ?)",
            (conversation_id, time.time(), reason, department),
        )

    def reason_counts(self, since: float) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT reason, COUNT(*) AS n FROM handoffs WHERE at >= ? GROUP BY reason", (since,)
        )
        return {row["reason"]: row["n"] for row in rows}

    def record_handle_time(self, department: str | None, seconds: float) -> None:
        self._db.execute(
            "INSERT INTO handle_times VALUES (?, ?, ?)", (department, seconds, time.time())
        )

    def recent_handle_times(self, department: str | None, limit: int = 20) -> list[float]:
        rows = self._db.execute(
            "SELECT seconds FROM handle_times WHERE department IS ? ORDER BY at DESC LIMIT ?",
            (department, limit),
        )
        return [row["seconds"] for row in rows]

    # callbacks

    def add_callback(
        self, conversation_id: str, phone: str, when: str, department: str | None
    ) -> Callback:
        at = time.time()
        cursor = self._db.execute(
            "INSERT INTO callbacks (conversation_id, phone, when_text, department, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (conversation_id, phone, when, department, at),
        )
        return Callback(int(cursor.lastrowid or 0), conversation_id, phone, when, department, at)

    def open_callbacks(self) -> list[Callback]:
        rows = self._db.execute("SELECT * FROM callbacks WHERE done_at IS NULL ORDER BY id")
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
        cursor = self._db.execute(
            "UPDATE callbacks SET done_at = ? WHERE id = ? AND done_at IS NULL",
            (time.time(), callback_id),
        )
        return cursor.rowcount == 1

    # agents and their sessions

    def add_agent(
        self, username: str, name: str, role: str, departments: list[str], password_hash: str
    ) -> Agent:
        cursor = self._db.execute(
            "INSERT INTO agents (username, name, role, departments, password_hash) "
            "VALUES (?, ?, ?, ?, ?)",
            (username, name, role, json.dumps(departments), password_hash),
        )
        return Agent(int(cursor.lastrowid or 0), username, name, role, tuple(departments))

    def set_password_hash(self, agent_id: int, password_hash: str) -> None:
        self._db.execute(
            "UPDATE agents SET password_hash = ? WHERE id = ?", (password_hash, agent_id)
        )

    def agent_with_hash(self, username: str) -> tuple[Agent, str] | None:
        row = self._db.execute("SELECT * FROM agents WHERE username = ?", (username,)).fetchone()
        return (_agent(row), row["password_hash"]) if row else None

    def agent(self, agent_id: int) -> Agent | None:
        row = self._db.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
        return _agent(row) if row else None

    def agents(self) -> list[Agent]:
        return [_agent(row) for row in self._db.execute("SELECT * FROM agents ORDER BY name")]

    def add_session(self, token: str, agent_id: int, expires_at: float) -> None:
        self._db.execute(
            "INSERT INTO sessions VALUES (?, ?, ?)", (token_hash(token), agent_id, expires_at)
        )

    def session_agent(self, token: str) -> Agent | None:
        row = self._db.execute(
            "SELECT agent_id FROM sessions WHERE token_hash = ? AND expires_at > ?",
            (token_hash(token), time.time()),
        ).fetchone()
        return self.agent(row["agent_id"]) if row else None

    def delete_session(self, token: str) -> None:
        self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))
        self._db.execute("DELETE FROM sessions WHERE expires_at <= ?", (time.time(),))


def _conversation(row: sqlite3.Row) -> Conversation:
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
    )


def _add_missing_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """Columns added since a database was created (CREATE TABLE IF NOT EXISTS keeps old ones)."""
    present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns.items():
        if name not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _agent(row: sqlite3.Row) -> Agent:
    return Agent(
        row["id"], row["username"], row["name"], row["role"], tuple(json.loads(row["departments"]))
    )
