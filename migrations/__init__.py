"""Versioned schema migrations (Alembic) of the gateway's and the action server's tables.

One Alembic environment with two independent branches, `gateway` and `actions`, in one version
table (`schema_version`). With the embedded default each branch lives in its own SQLite file
(var/gateway.db, var/actions.db); with BOT_DATABASE_URL both live in one PostgreSQL database,
next to Rasa's tracker store (whose `events` table Rasa creates itself).

Each process upgrades the branch it owns when it opens its database, so `make run` and a new
version need no extra step; `python -m bot db upgrade` applies both ahead of a rollout. On
PostgreSQL an advisory lock makes instances that start together migrate one after the other.

Top level rather than under `bot/`: the action server runs these too, and knows nothing of bot.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

VERSION_TABLE = "schema_version"
BRANCHES = ("gateway", "actions")
HERE = Path(__file__).resolve().parent
_IN_PROCESS = threading.Lock()
# constraint and index names the same on both dialects, so migrations can name them
NAMING_CONVENTION = {
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "pk": "%(table_name)s_pkey",
}


def upgrade(engine: Engine, branch: str) -> None:
    """Brings `branch`'s tables in the database up to date (nothing to do costs one query)."""
    if branch not in BRANCHES:
        raise ValueError(f"unknown schema branch {branch!r}; known: {', '.join(BRANCHES)}")
    if revision(engine, branch) == head(branch):
        return
    # Alembic's context is global to the process: one migration at a time in it
    with _IN_PROCESS, _migration_connection(engine) as connection, connection.begin():
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, f"{branch}@head")


def revision(engine: Engine, branch: str) -> str | None:
    """The revision of `branch` the database is at; None before its first migration."""
    with engine.connect() as connection:
        heads = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_heads()
    script = _script()
    # a revision carries the labels of its branch's base too
    return next((h for h in heads if branch in script.get_revision(h).branch_labels), None)


def head(branch: str) -> str | None:
    """The newest revision of `branch` this version of the code knows."""
    found = _script().get_revision(f"{branch}@head")
    return found.revision if found else None


def _migration_connection(engine: Engine) -> Connection:
    """A connection in a real transaction: the engines of the stores run in autocommit."""
    level = "SERIALIZABLE" if engine.dialect.name == "sqlite" else "READ COMMITTED"
    return engine.connect().execution_options(isolation_level=level)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_locations", " ".join(str(HERE / b) for b in BRANCHES))
    return config


@functools.lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    """The migration scripts, read once per process."""
    return ScriptDirectory.from_config(_config())


def create_missing(metadata: sa.MetaData) -> None:
    """For a baseline migration: creates the tables, columns and indexes of `metadata` that the
    database lacks. Databases made before migrations existed already hold some of them."""
    bind: Any = op.get_bind()
    inspector = sa.inspect(bind)
    present = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in present:
            table.create(bind)
            continue
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in columns:
                op.add_column(table.name, column.copy())
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(bind)
