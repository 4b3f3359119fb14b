"""A database opened for one owner: engine, migrations applied, tables read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

import migrations
from bot.db.engine import open_engine
from bot.db.prepared import Prepared


class Database:
    """The engine and tables of one schema branch (`gateway`).

    Args:
        engine: an engine from `open_engine`.
        branch: the migrations' branch this owner keeps up to date.
    """

    def __init__(self, engine: Engine, branch: str) -> None:
        self.engine = engine
        migrations.upgrade(engine, branch)
        metadata = sa.MetaData()
        metadata.reflect(engine)
        self.tables = metadata.tables

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def run(self, statement: Any, values: dict[str, Any] | None = None) -> Any:
        """Runs one statement in its own transaction (the engine is in autocommit). `values`:
        the bound parameters of a statement built once with `sa.bindparam`, as the statements
        of every message are (building one costs more than running it on SQLite)."""
        with self.engine.connect() as connection:
            return connection.execute(statement, values)

    def rows(self, statement: Any, values: dict[str, Any] | None = None) -> list[RowMapping]:
        with self.engine.connect() as connection:
            return list(connection.execute(statement, values).mappings())

    def row(self, statement: Any, values: dict[str, Any] | None = None) -> RowMapping | None:
        with self.engine.connect() as connection:
            return connection.execute(statement, values).mappings().first()

    def prepare(self, statement: Any) -> Prepared:
        """A statement run at every message, compiled once (bot/db/prepared.py)."""
        return Prepared(self.engine, statement)

    def close(self) -> None:
        self.engine.dispose()


def open_database(location: Path | str | Database, branch: str = "gateway") -> Database:
    """`location` (URL, SQLite path or ":memory:") opened and brought up to date; a Database
    passes through, so stores can share one."""
    if isinstance(location, Database):
        return location
    return Database(open_engine(location), branch)
