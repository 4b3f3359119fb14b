"""The schema migrations on both dialects: a fresh database gets exactly the tables the code
queries, a database made before migrations keeps its rows and gains what it lacks, and
instances starting at once on one PostgreSQL migrate one after the other."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import migrations
from actions.services.database import metadata as actions_metadata
from actions.services.database import open_database as open_actions_database
from bot.db import open_database, open_engine
from bot.handoff.store import GatewayStore

GATEWAY_TABLES = {
    "conversations", "messages", "callbacks", "agents", "sessions", "handoffs", "handle_times",
    "heartbeat", "inbox", "trainings",
}  # fmt: skip


def columns(engine: sa.engine.Engine) -> dict[str, set[tuple[str, bool]]]:
    inspector = sa.inspect(engine)
    return {
        table: {(c["name"], c["nullable"]) for c in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table in GATEWAY_TABLES
    }


def test_the_gateway_schema_is_the_same_on_both_dialects(tmp_path: Path, postgres_url: str):
    on_sqlite = open_database(tmp_path / "gw.db").engine
    on_postgres = open_database(postgres_url).engine

    assert set(columns(on_sqlite)) == GATEWAY_TABLES
    assert columns(on_sqlite) == columns(on_postgres)
    for engine in (on_sqlite, on_postgres):
        assert migrations.revision(engine, "gateway") == migrations.head("gateway")
        assert migrations.revision(engine, "actions") is None  # not this owner's branch


def test_the_actions_migrations_build_exactly_the_tables_the_actions_query(database_url: str):
    engine = open_actions_database(database_url)

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": lambda name, *_: name != migrations.VERSION_TABLE}
        )
        differences = compare_metadata(context, actions_metadata)

    assert differences == []
    assert migrations.revision(engine, "actions") == migrations.head("actions")


def test_both_branches_live_side_by_side_in_one_postgresql_database(postgres_url: str):
    GatewayStore(postgres_url).close()
    engine = open_actions_database(postgres_url)

    assert migrations.revision(engine, "gateway") == migrations.head("gateway")
    assert migrations.revision(engine, "actions") == migrations.head("actions")


# the gateway's tables as the first versions made them, before migrations (no line, caller)
PRE_MIGRATION_GATEWAY = """
CREATE TABLE conversations (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, channel TEXT NOT NULL, state TEXT NOT NULL,
    created_at REAL NOT NULL, department TEXT, priority TEXT NOT NULL DEFAULT 'normal',
    reason TEXT, handoff TEXT, queued_at REAL, accepted_at REAL, agent_id INTEGER);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, at REAL NOT NULL,
    author TEXT NOT NULL, text TEXT NOT NULL, buttons TEXT NOT NULL DEFAULT '[]', agent TEXT);
INSERT INTO conversations (id, token_hash, channel, state, created_at)
    VALUES ('old', 'hash', 'webchat', 'bot', 1.0);
INSERT INTO messages (conversation_id, at, author, text) VALUES ('old', 1.0, 'customer', 'hola');
"""


def test_a_database_made_before_migrations_keeps_its_rows_and_gains_what_it_lacks(
    tmp_path: Path,
):
    path = tmp_path / "gw.db"
    with sqlite3.connect(path) as old:
        old.executescript(PRE_MIGRATION_GATEWAY)

    store = GatewayStore(path)

    assert store.conversation("old").line is None  # the column was added
    assert [m.text for m in store.messages("old")] == ["hola"]
    assert store.add_message("old", "bot", "Buenos días.").id == 2
    assert set(columns(store.database.engine)) == GATEWAY_TABLES
    assert migrations.revision(store.database.engine, "gateway") == migrations.head("gateway")


def test_opening_an_up_to_date_database_keeps_its_rows(database_url: str):
    first = GatewayStore(database_url)
    first.add_callback("c1", "600123456", "mañana", None)
    first.close()

    again = GatewayStore(database_url)

    assert [c.phone for c in again.open_callbacks()] == ["600123456"]
    assert migrations.revision(again.database.engine, "gateway") == migrations.head("gateway")


def _open_gateway_store(url: str, barrier: Any) -> None:
    barrier.wait()
    GatewayStore(url).close()


def test_gateways_starting_at_once_on_one_postgresql_migrate_one_after_the_other(
    postgres_url: str,
):
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    starters = [
        context.Process(target=_open_gateway_store, args=(postgres_url, barrier)) for _ in range(4)
    ]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(timeout=120)

    assert [starter.exitcode for starter in starters] == [0, 0, 0, 0]
    assert migrations.revision(open_engine(postgres_url), "gateway") == migrations.head("gateway")


def test_threads_of_one_process_opening_stores_at_once_all_succeed(postgres_url: str):
    errors: list[BaseException] = []

    def start() -> None:
        try:
            GatewayStore(postgres_url).close()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    starters = [threading.Thread(target=start) for _ in range(4)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(timeout=60)

    assert errors == []
