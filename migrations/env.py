"""Alembic's entry point: runs the migrations on the connection the caller passes
(`migrations.upgrade`); there is no offline mode and no alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from migrations import VERSION_TABLE

# any fixed number: the key of the advisory lock that serialises instances migrating at once
ADVISORY_LOCK_KEY = 7_204_513_001

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # held until the transaction ends; a second instance waits, then finds nothing to do
        connection.execute(text(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"))
    context.run_migrations()
