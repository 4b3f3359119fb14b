"""Moves an installation from one database to another (`python -m bot db copy`): typically the
embedded SQLite files into the PostgreSQL that several machines will share.

The target is first brought to the newest schema; then every table found in the sources is
copied row by row with its ids, in one transaction (all or nothing), and PostgreSQL's id
counters are moved past the copied ids so new rows never collide with them. Rasa's tracker
store (`events`), which Rasa creates itself, is created in the target from the source's shape
(its ids are a serial column on PostgreSQL, as Rasa makes them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

import migrations
from bot.db.engine import database_url, open_engine

BATCH_ROWS = 1000
NOT_COPIED = {migrations.VERSION_TABLE, "sqlite_sequence", "heartbeat"}


class CopyError(RuntimeError):
    """The copy cannot be made as asked; nothing was written. The message says why."""


@dataclass
class CopyReport:
    """Rows copied per table, in the order copied."""

    rows: dict[str, int] = field(default_factory=dict)


def copy_database(sources: list[str], target: str) -> CopyReport:
    """Copies every table of `sources` (URLs or SQLite paths) into `target`, which must hold no
    rows of those tables yet."""
    target_engine = open_engine(target)
    for branch in migrations.BRANCHES:
        migrations.upgrade(target_engine, branch)
    source_engines = [_open_existing(source) for source in sources]
    report = CopyReport()
    with _transaction(target_engine) as connection, connection.begin():
        existing = sa.MetaData()
        existing.reflect(connection)
        for engine in source_engines:
            tables = sa.MetaData()
            tables.reflect(engine)
            for table in tables.sorted_tables:
                if table.name in NOT_COPIED:
                    continue
                destination = existing.tables.get(table.name)
                if destination is None:  # Rasa's events: made in the target as in the source
                    destination = table.to_metadata(existing)
                    destination.create(connection)
                report.rows[table.name] = _copy_table(engine, table, connection, destination)
        if connection.dialect.name == "postgresql":
            _move_id_counters(connection, existing, list(report.rows))
    return report


def _open_existing(source: str) -> Engine:
    url = sa.engine.make_url(database_url(source))
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise CopyError(f"no such database file: {url.database}")
    return open_engine(source)


def _transaction(engine: Engine) -> Connection:
    level = "SERIALIZABLE" if engine.dialect.name == "sqlite" else "READ COMMITTED"
    return engine.connect().execution_options(isolation_level=level)


def _copy_table(source: Engine, table: sa.Table, target: Connection, into: sa.Table) -> int:
    already = target.execute(sa.select(sa.func.count()).select_from(into)).scalar_one()
    if already:
        raise CopyError(
            f"the target's table {into.name} already has {already} rows; copy into an empty "
            "database (nothing was copied)"
        )
    names = [column.name for column in table.columns if column.name in into.columns]
    copied = 0
    with source.connect() as reading:
        result = reading.execution_options(stream_results=True).execute(
            sa.select(*(table.c[name] for name in names))
        )
        while batch := result.mappings().fetchmany(BATCH_ROWS):
            target.execute(into.insert(), [dict(row) for row in batch])
            copied += len(batch)
    return copied


def _move_id_counters(connection: Connection, tables: sa.MetaData, copied: list[str]) -> None:
    """After rows came in with their ids, each serial counter continues past the largest."""
    for name in copied:
        table = tables.tables[name]
        if "id" not in table.columns or not isinstance(table.c.id.type, sa.Integer):
            continue
        largest = connection.execute(sa.select(sa.func.max(table.c.id))).scalar()
        if largest is None:
            continue
        sequence = connection.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": name}
        ).scalar()
        if sequence:
            connection.execute(sa.text("SELECT setval(:sequence, :value)"),
                               {"sequence": sequence, "value": largest})  # fmt: skip
