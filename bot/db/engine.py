"""Engines for the two dialects the system runs on, tuned for queries made on an event loop:
short, and failing fast rather than waiting when the database is locked or away."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

# what every caller catches: locked or read-only file, full disk, PostgreSQL stopped or away
DatabaseError = SQLAlchemyError
__all__ = ["DatabaseError", "IntegrityError", "database_url", "open_engine", "upsert"]

BUSY_TIMEOUT_S = 2.0  # how long a write waits for another process's lock before it fails
CONNECT_TIMEOUT_S = 3  # a PostgreSQL that does not answer fails the query, not the conversation
STATEMENT_TIMEOUT_MS = 5000


def database_url(location: Path | str) -> str:
    """An SQLAlchemy URL from a URL, a SQLite file's path or ":memory:"."""
    text = str(location)
    if "://" in text:
        return text
    return "sqlite://" if text == ":memory:" else f"sqlite:///{text}"


def open_engine(location: Path | str) -> Engine:
    """An engine in autocommit: each statement is its own transaction, as the stores want (a
    connection given another isolation level groups statements that must be atomic).

    SQLite: one shared connection (what the file's single writer needs anyway), WAL so
    readers never wait for a writer, the folder created when missing. PostgreSQL: a pool whose
    connections are checked before use, so a restarted server costs no failed request."""
    url = sa.engine.make_url(database_url(location))
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
            isolation_level="AUTOCOMMIT",
            future=True,
        )
        sa.event.listen(engine, "connect", _tune_sqlite)
    else:
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_S,
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            },
            isolation_level="AUTOCOMMIT",
            future=True,
        )
    # Autocommit is set once per connection, not at every checkout (which doubled the cost of
    # each statement). A connection lent in a transactional level (migrations, copies) is put
    # back by SQLAlchemy at the driver's default level, not the engine's: it is returned to
    # autocommit here, after that reset, before the pool lends it again.
    sa.event.listen(engine.pool, "checkin", _back_to_autocommit)
    return engine


def _back_to_autocommit(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is None:  # invalidated: the pool opens a new one, in autocommit
        return
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
    elif not dbapi_connection.autocommit:  # psycopg2
        dbapi_connection.autocommit = True


def _tune_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def insert_ignoring_conflicts(engine: Engine, table: sa.Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING in the engine's dialect."""
    return _dialect(engine).insert(table).on_conflict_do_nothing()


def upsert(engine: Engine, table: sa.Table, keys: list[str], values: dict[str, Any]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE with `values`, in the engine's dialect."""
    statement = _dialect(engine).insert(table).values(values)
    changed = {name: value for name, value in values.items() if name not in keys}
    return statement.on_conflict_do_update(index_elements=keys, set_=changed)


def _dialect(engine: Engine) -> Any:
    return postgresql if engine.dialect.name == "postgresql" else sqlite
