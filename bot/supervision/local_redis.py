"""A Redis server of our own, for `python -m bot cluster` and the tests of what gateways share
in real time: Debian's `redis-server` on loopback, its own folder, nothing written to disk
(Redis holds only live state here; the truth is in the database)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from bot.supervision.processes import stop_process

READY_TIMEOUT_S = 10.0


class RedisUnavailable(RuntimeError):
    """redis-server is missing or would not start; the message says why."""


class LocalRedis:
    """One Redis server on 127.0.0.1:`port`, its log in `folder`."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable(
                "redis-server is not installed: `make setup` installs Debian's `redis-server`"
            )
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            self._binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.folder), "--save", "", "--appendonly", "no",
        ]  # fmt: skip

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "redis.log").open("ab")
        self._process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        while True:
            try:
                client.ping()
                client.close()
                return
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RedisUnavailable(
                        f"Redis did not start; see {self.folder / 'redis.log'}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process is None:
            return
        stop_process(self._process)
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()
