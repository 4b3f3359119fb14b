"""Tables of the action server and the engine that holds them: SQLite by default, PostgreSQL
with BOT_DATABASE_URL. The schema is the migrations' `actions` branch (`migrations/`); these
tables are what the queries use, and a test keeps the two the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

import migrations

metadata = MetaData()

bookings = Table(
    "bookings",
    metadata,
    Column("code", String(12), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("place", String(64), nullable=False),
    Column("starts_at", String(32), nullable=False),  # ISO local time with offset
    Column("customer_name", String(200), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("status", String(16), nullable=False),  # confirmed | cancelled
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    # which conversation made it, and when on the wall clock (the business clock may be fixed):
    # after a fault mid-turn, the customer is told whether the booking was made
    Column("conversation_id", String(128)),
    Column("recorded_at", Float),
    # the same for the latest change (cancelled, moved): which conversation, and when
    Column("changed_by", String(128)),
    Column("changed_at", Float),
)

# One row per (service, place, start) that has ever been booked; `booked` never exceeds the
# service's capacity because every booking increments it with a conditional UPDATE.
slot_usage = Table(
    "slot_usage",
    metadata,
    Column("service", String(64), nullable=False),
    Column("place", String(64), nullable=False),
    Column("starts_at", String(32), nullable=False),
    Column("booked", Integer, nullable=False),
    PrimaryKeyConstraint("service", "place", "starts_at"),
)

orders = Table(
    "orders",
    metadata,
    Column("number", String(16), primary_key=True),
    Column("postcode", String(8), nullable=False),
    Column("item", String(200), nullable=False),
    Column("carrier", String(100), nullable=False),
    Column("status", String(32), nullable=False),
    Column("estimated_delivery", String(10)),  # ISO date, None once delivered
    Column("history", Text, nullable=False),  # JSON list of {status, date, note}
)

seeds = Table(
    "seeds",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("reference", String(16), primary_key=True),
    Column("kind", String(16), nullable=False),  # complaint | incident
    Column("category", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("due_at", String(32), nullable=False),
    Column("conversation_id", String(128)),
)


def open_database(url: str) -> Engine:
    """Creates the engine and brings the tables up to date. SQLite files get their folder, WAL
    and a busy timeout so several action server workers can write at once without 'database is
    locked'; PostgreSQL connections are checked before use (a restarted server costs nothing)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, future=True)
        event.listen(engine, "connect", _tune_sqlite)
    else:
        engine = create_engine(url, pool_pre_ping=True, future=True)
    migrations.upgrade(engine, "actions")
    return engine


def _tune_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def insert_ignoring_duplicates(engine: Engine, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the engine's dialect."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()
