"""The statements of every chat message, compiled once and run at the driver's cost on SQLite.

Through SQLAlchemy, one small indexed statement on SQLite costs about 50 µs, of which SQLite
itself takes 8: the rest is SQLAlchemy lending a connection from the pool and taking it back,
looking the statement up in its compiled cache and wrapping the result. A chat message runs
four or five such statements, and that doubled the gateway's CPU per message against the raw
`sqlite3` store it replaced. A `Prepared` statement is compiled once; on SQLite it then runs on
the driver's connection (the one connection the engine's StaticPool shares) with the same
conversions of values that SQLAlchemy would apply. On PostgreSQL it runs through SQLAlchemy as
any other statement: its pool checks each connection before use and reconnects after a
restart, and there the round trip to the server outweighs SQLAlchemy's own work.

Errors are SQLAlchemy's in both cases (`DatabaseError`, `IntegrityError`), as callers expect.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.sql.expression import Executable

Row = dict[str, Any]
Convert = Callable[[Any], Any]


def bound(*names: str) -> dict[str, sa.sql.elements.BindParameter[Any]]:
    """Values of an insert or update given at each run: `table.insert().values(bound("a"))`."""
    return {name: sa.bindparam(name) for name in names}


class Prepared:
    """One statement whose values are all `sa.bindparam`s (or constants), compiled once.

    Args:
        engine: where it runs (an engine of `open_engine`: in autocommit).
        statement: a select, insert, update or delete; an insert's values must be given as
            bindparams (`table.insert().values(column=sa.bindparam("column"), ...)`).
    """

    def __init__(self, engine: Engine, statement: Executable) -> None:
        self._engine = engine
        self._statement = statement
        binds = statement.compile(dialect=engine.dialect).binds.values()
        if any(bind.expanding for bind in binds):
            raise ValueError("a Prepared statement takes single values, not lists (IN)")
        self._driver: _DriverStatement | None = None
        if engine.dialect.name == "sqlite":
            self._driver = _DriverStatement(engine.dialect, statement)

    def rows(self, values: Mapping[str, Any] | None = None) -> list[Row]:
        if self._driver is None:
            with self._engine.connect() as connection:
                result = connection.execute(self._statement, dict(values or {}))
                return [dict(row) for row in result.mappings()]
        return self._driver.execute(self._engine, values or {}).rows

    def row(self, values: Mapping[str, Any] | None = None) -> Row | None:
        found = self.rows(values)
        return found[0] if found else None

    def run(self, values: Mapping[str, Any] | None = None) -> int:
        """Runs an update or a delete; the number of rows it changed."""
        if self._driver is None:
            return int(self._through_sqlalchemy(values or {}).rowcount)
        return self._driver.execute(self._engine, values or {}).rowcount

    def insert(self, values: Mapping[str, Any]) -> int:
        """Runs an insert of one row; the row's new integer key."""
        if self._driver is None:
            return int(self._through_sqlalchemy(values).inserted_primary_key[0])
        key = self._driver.execute(self._engine, values).last_key
        assert key is not None  # (an insert of one row)
        return key

    def _through_sqlalchemy(self, values: Mapping[str, Any]) -> CursorResult:
        with self._engine.connect() as connection:
            return connection.execute(self._statement, dict(values))


@dataclass(frozen=True)
class _Outcome:
    rows: list[Row]
    rowcount: int
    last_key: int | None


class _DriverStatement:
    """The statement as SQLite's driver takes it: the SQL text, the order of its values and
    the conversions SQLAlchemy applies on the way in and out (a float column's values, say)."""

    def __init__(self, dialect: sa.engine.Dialect, statement: Executable) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.order: list[str] = list(compiled.positiontup or ())
        binds = compiled.binds
        self.constants = {
            name: bind.effective_value for name, bind in binds.items() if not bind.required
        }
        self.convert_in: dict[str, Convert] = {}
        for name in self.order:
            convert = binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                self.convert_in[name] = convert
        selected = list(getattr(statement, "selected_columns", ()))
        self.columns = [column.key for column in selected]
        self.convert_out: dict[str, Convert] = {}
        for column in selected:
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if convert is not None:
                self.convert_out[column.key] = convert

    def execute(self, engine: Engine, values: Mapping[str, Any]) -> _Outcome:
        given = {**self.constants, **values}
        parameters = tuple(self._value_in(name, given[name]) for name in self.order)
        lent = engine.raw_connection()
        try:
            cursor = lent.dbapi_connection.execute(self.sql, parameters)
            # read before the connection goes back to the pool (which ends any transaction)
            found = cursor.fetchall()
            return _Outcome([self._row(row) for row in found], cursor.rowcount, cursor.lastrowid)
        except sqlite3.Error as error:
            raise sa.exc.DBAPIError.instance(self.sql, parameters, error, sqlite3.Error) from error
        finally:
            lent.close()  # back to the pool: SQLite's one connection stays open there

    def _row(self, found: tuple[Any, ...]) -> Row:
        row = dict(zip(self.columns, found, strict=True))
        for name, convert in self.convert_out.items():
            row[name] = convert(row[name])
        return row

    def _value_in(self, name: str, value: Any) -> Any:
        convert = self.convert_in.get(name)
        return value if convert is None or value is None else convert(value)
