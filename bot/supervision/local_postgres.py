"""A PostgreSQL server of our own, in a folder of ours: for `python -m bot cluster` and the
tests that run the stores on PostgreSQL. Debian's server binaries, its own data folder, run as
an unprivileged user (PostgreSQL refuses to run as root), listening on loopback only.

Not for production: there the operator's PostgreSQL (with its backups and high availability)
is named by BOT_DATABASE_URL.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg2

from bot.supervision.processes import stop_process

logger = logging.getLogger(__name__)

USER = "bot"  # the database role the cluster's processes connect as
SERVICE_ACCOUNT = "postgres"  # Debian's package creates it; used when we are root
READY_TIMEOUT_S = 30.0


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's programs are missing or the server would not start; the message says why."""


def server_binaries() -> Path:
    """The folder with initdb and postgres: on the PATH, or Debian's newest version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not versions:
        raise PostgresUnavailable(
            "PostgreSQL is not installed: `make setup` installs Debian's `postgresql` package"
        )
    return Path(versions[-1]).parent


class LocalPostgres:
    """One PostgreSQL server in `folder` on 127.0.0.1:`port`.

    Args:
        folder: holds the data (created by initdb on first start) and the server's socket.
        port: the TCP port on loopback.
        durable: False turns off fsync (tests: faster, and a crash loses nothing they need).
    """

    def __init__(self, folder: Path, port: int, durable: bool = True) -> None:
        self.folder = folder
        self.port = port
        self._durable = durable
        self._bin = server_binaries()
        self._process: subprocess.Popen[bytes] | None = None
        self.owner = _unprivileged_owner()

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "bot") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Creates the data folder on first use, starts the server and waits until it answers;
        makes the `bot` database when missing."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.data / "PG_VERSION").is_file():
            self._initdb()
        self._process = self._spawn()
        self._wait_until_ready()
        self.create_database("bot", exist_ok=True)

    def command(self) -> list[str]:
        """The server's command line (run it as `owner`)."""
        settings = [
            "listen_addresses=127.0.0.1",
            f"unix_socket_directories={self.folder}",
            "max_connections=200",
            f"fsync={'on' if self._durable else 'off'}",
        ]
        options = [part for setting in settings for part in ("-c", setting)]
        return [str(self._bin / "postgres"), "-D", str(self.data), "-p", str(self.port), *options]

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back, committed data is kept."""
        if self._process is None:
            return
        stop_process(self._process, signal.SIGINT, timeout=20)
        self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def create_database(self, name: str, exist_ok: bool = False) -> str:
        """A new, empty database on this server; its URL."""
        connection = psycopg2.connect(self.url("postgres"))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{name}"')
                elif not exist_ok:
                    raise PostgresUnavailable(f"database {name} already exists")
        finally:
            connection.close()
        return self.url(name)

    def _initdb(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self._give_to_owner(self.folder)
        self._give_to_owner(self.data)
        result = subprocess.run(
            [str(self._bin / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8"],
            capture_output=True, text=True, user=self.owner, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {result.stderr.strip()[-500:]}")

    def _spawn(self) -> subprocess.Popen[bytes]:
        log = (self.folder / "postgres.log").open("ab")
        self._give_to_owner(self.folder / "postgres.log")
        return subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, user=self.owner,
            start_new_session=True,
        )  # fmt: skip

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise PostgresUnavailable(
                    f"PostgreSQL stopped at start; see {self.folder / 'postgres.log'}"
                )
            try:
                psycopg2.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise PostgresUnavailable(
                        f"PostgreSQL did not answer within {READY_TIMEOUT_S:.0f} s"
                    ) from None
                time.sleep(0.2)

    def _give_to_owner(self, path: Path) -> None:
        if self.owner is not None:
            account = pwd.getpwnam(self.owner)
            os.chown(path, account.pw_uid, account.pw_gid)


def _unprivileged_owner() -> str | None:
    """Who runs the server: ourselves, or Debian's `postgres` account when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        raise PostgresUnavailable(
            "running as root and there is no `postgres` account to run PostgreSQL as "
            "(Debian's `postgresql` package creates it)"
        ) from None
    return SERVICE_ACCOUNT
