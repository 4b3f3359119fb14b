"""The gateway's tables as they were before migrations: conversations, transcripts, the queue,
callbacks, agents, sessions, handoff history, handling times, the trainers' inbox and trainings.

Revision ID: gateway_0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import CheckConstraint, Column, Float, Index, Integer, Table, Text, UniqueConstraint

from migrations import NAMING_CONVENTION, create_missing

revision = "gateway_0001"
down_revision = None
branch_labels = ("gateway",)
depends_on = None

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
Table(
    "conversations", metadata,
    Column("id", Text, primary_key=True),
    Column("token_hash", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("department", Text),
    Column("priority", Text, nullable=False, server_default="normal"),
    Column("reason", Text),
    Column("handoff", Text),
    Column("queued_at", Float),
    Column("accepted_at", Float),
    Column("agent_id", Integer),
    Column("line", Text),
    Column("caller", Text),
    Index("conversations_state", "state", "queued_at"),
)  # fmt: skip
Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", Text, nullable=False),
    Column("at", Float, nullable=False),
    Column("author", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("buttons", Text, nullable=False, server_default="[]"),
    Column("agent", Text),
    Index("messages_conversation", "conversation_id", "id"),
    sqlite_autoincrement=True,
)  # fmt: skip
Table(
    "callbacks", metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("when_text", Text, nullable=False),
    Column("department", Text),
    Column("created_at", Float, nullable=False),
    Column("done_at", Float),
    sqlite_autoincrement=True,
)  # fmt: skip
Table(
    "agents", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("departments", Text, nullable=False, server_default="[]"),
    Column("password_hash", Text, nullable=False),
    sqlite_autoincrement=True,
)  # fmt: skip
Table(
    "sessions", metadata,
    Column("token_hash", Text, primary_key=True),
    Column("agent_id", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)  # fmt: skip
Table(
    "handoffs", metadata,
    Column("conversation_id", Text, nullable=False),
    Column("at", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("department", Text),
)  # fmt: skip
Table(
    "handle_times", metadata,
    Column("department", Text),
    Column("seconds", Float, nullable=False),
    Column("at", Float, nullable=False),
)  # fmt: skip
Table(
    "heartbeat", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", Float, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)  # fmt: skip
Table(
    "inbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", Text, nullable=False),
    Column("message_id", Integer),
    Column("at", Float, nullable=False),
    Column("channel", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("intent", Text),
    Column("confidence", Float, nullable=False, server_default="0"),
    Column("reason", Text, nullable=False),
    Column("suggested_intent", Text),
    Column("status", Text, nullable=False, server_default="open"),
    UniqueConstraint("message_id"),
    Index("inbox_open", "status", "at"),
    sqlite_autoincrement=True,
)  # fmt: skip
Table(
    "trainings", metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("status", Text, nullable=False),
    Column("progress", Float, nullable=False, server_default="0"),
    Column("step", Text, nullable=False, server_default=""),
    Column("model", Text),
    Column("summary", Text, nullable=False, server_default=""),
    Column("regressions", Text, nullable=False, server_default="[]"),
    Column("scores", Text),
    Column("baseline", Text),
    Column("report", Text),
    sqlite_autoincrement=True,
)  # fmt: skip


def upgrade() -> None:
    create_missing(metadata)
