"""A real PostgreSQL server for the tests that run the stores on it: started once per test
session in a temporary folder (Debian's binaries, as an unprivileged user), a fresh database
for each test, stopped at the end."""

from __future__ import annotations

import contextlib
import itertools
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from bot.supervision.local_postgres import LocalPostgres

_names = itertools.count(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=Server)


@contextlib.contextmanager
def server_in_a_temporary_folder(make: Callable[[Path, int], S], name: str) -> Iterator[S]:
    """A server started on a free port in a folder of its own, stopped and removed after.
    Not under pytest's temporary folder: that one is private to us, and PostgreSQL runs as its
    own account, which must reach its folder."""
    folder = Path(tempfile.mkdtemp(prefix=f"bot-{name}-"))
    folder.chmod(0o755)
    server = make(folder, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _test_server(folder: Path, port: int) -> LocalPostgres:
    return LocalPostgres(folder, port, durable=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    with server_in_a_temporary_folder(_test_server, "postgres") as server:
        yield server


@pytest.fixture
def own_postgres() -> Iterator[LocalPostgres]:
    """A PostgreSQL server for this test alone (one it may stop and start again)."""
    with server_in_a_temporary_folder(_test_server, "postgres") as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: LocalPostgres) -> str:
    """The URL of a new, empty database for this test."""
    return postgres_server.create_database(f"test_{next(_names)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))
