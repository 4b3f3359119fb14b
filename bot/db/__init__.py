"""The databases of the system: SQLite files by default, PostgreSQL with BOT_DATABASE_URL.

`open_database` gives the gateway's store an engine whose schema the migrations (top-level
`migrations/`) have brought up to date, with the tables read back from the database: the
migrations are the one definition of the gateway's schema. Errors of either engine are
`DatabaseError`, what the routes turn into an apology and a person.
"""

from __future__ import annotations

from bot.db.engine import (
    DatabaseError,
    IntegrityError,
    database_url,
    insert_ignoring_conflicts,
    open_engine,
    upsert,
)
from bot.db.prepared import Prepared, bound
from bot.db.store import Database, open_database

__all__ = [
    "Database",
    "DatabaseError",
    "IntegrityError",
    "Prepared",
    "bound",
    "database_url",
    "insert_ignoring_conflicts",
    "open_database",
    "open_engine",
    "upsert",
]
