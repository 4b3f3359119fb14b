"""The stores' engines: every statement its own transaction, whatever was lent before."""

from __future__ import annotations

import sqlalchemy as sa

from bot.db import open_engine


def _autocommit(engine: sa.engine.Engine) -> bool:
    with engine.connect() as connection:
        dbapi = connection.connection.dbapi_connection
        if engine.dialect.name == "sqlite":
            return dbapi.isolation_level is None
        return bool(dbapi.autocommit)


def test_a_connection_lent_for_a_transaction_comes_back_in_autocommit(database_url: str):
    """Migrations and copies borrow a connection in a transactional level; SQLAlchemy puts it
    back at the driver's default, and the next store statement must not silently open a
    transaction that nobody commits (the file or row would stay locked)."""
    engine = open_engine(database_url)
    try:
        assert _autocommit(engine)
        level = "SERIALIZABLE" if engine.dialect.name == "sqlite" else "READ COMMITTED"
        lent = engine.connect().execution_options(isolation_level=level)
        with lent as connection, connection.begin():
            connection.execute(sa.text("CREATE TABLE lent (id INTEGER PRIMARY KEY)"))

        assert _autocommit(engine)
        with engine.connect() as connection:
            connection.execute(sa.text("INSERT INTO lent (id) VALUES (1)"))
        # seen from another engine: the row was committed by the statement alone
        other = open_engine(database_url)
        try:
            with other.connect() as connection:
                assert connection.execute(sa.text("SELECT count(*) FROM lent")).scalar() == 1
        finally:
            other.dispose()
    finally:
        engine.dispose()
