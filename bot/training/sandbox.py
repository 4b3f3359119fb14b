"""A scratch copy of the assistant for testing models side by side, away from customers.

One Rasa server and one action server on a temporary database per model, on free ports, with
trackers in memory and the business clock fixed: the conversation tests book appointments and
file complaints, which must never reach the company's real data, and they were written for a
Monday morning when every department is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from bot.settings import PROJECT_ROOT
from bot.supervision.programs import ACTIONS

TEST_CLOCK = "2026-03-02T09:00:00+01:00"  # Monday 09:00: the conversation tests' business time
READY_TIMEOUT_S = 180.0
RASA = Path(sys.executable).with_name("rasa")


class SandboxError(RuntimeError):
    """A scratch server did not start; the message says which and where its log is."""


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (held open together while chosen, so none comes twice)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


class Sandbox:
    """Starts the scratch servers on entry and stops them on exit.

    Args:
        project: the Rasa project (credentials.yml, data/business).
        work: a folder for the database, the endpoints file and the logs.
        models: a name for each model file to serve.

    Attributes:
        urls: each model's Rasa server, by the name given.
        token: their API token.
    """

    def __init__(self, project: Path, work: Path, models: dict[str, Path]) -> None:
        self._project = project
        self._work = work
        self._models = models
        self._processes: list[asyncio.subprocess.Process] = []
        self.urls: dict[str, str] = {}
        self.token = secrets.token_urlsafe(16)

    async def __aenter__(self) -> Sandbox:
        self._work.mkdir(parents=True, exist_ok=True)
        try:
            ports = iter(free_ports(2 * len(self._models)))
            waits = [
                await self._serve(name, model, next(ports), next(ports))
                for name, model in self._models.items()
            ]
            await asyncio.gather(*waits)
        except BaseException:
            await self.stop()
            raise
        return self

    async def _serve(
        self, name: str, model: Path, actions_port: int, rasa_port: int
    ) -> Awaitable[Any]:
        """Starts a model's Rasa server and its own action server (its own database: every
        model meets the same free appointment slots); returns the wait until both answer."""
        endpoints = self._work / f"endpoints-{name}.yml"
        endpoints.write_text(
            f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n", "utf-8"
        )
        actions = ACTIONS.argv(RASA.parent, {"BOT_ACTIONS_PORT": str(actions_port)})
        await self._start(f"actions-{name}", actions, cwd=PROJECT_ROOT)
        self.urls[name] = f"http://127.0.0.1:{rasa_port}"
        await self._start(name, [
            # "=": a token may start with "-", which argparse would take for an option
            str(RASA), "run", "--enable-api", f"--auth-token={self.token}", "-i", "127.0.0.1",
            "-p", str(rasa_port), "--model", str(model), "--credentials",
            str(self._project / "credentials.yml"), "--endpoints", str(endpoints),
        ], cwd=self._project)  # fmt: skip
        return asyncio.gather(
            self._ready(f"actions-{name}", f"http://127.0.0.1:{actions_port}/health"),
            self._ready(name, f"{self.urls[name]}/status?token={self.token}"),
        )

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _start(self, name: str, command: list[str], cwd: Path) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "PYTHONWARNINGS": "ignore",
            "BOT_DATA_DIR": str(self._work),
            "BOT_TRACKER_URL": f"sqlite:///{self._work / 'conversations.db'}",
            "ACTIONS_DATABASE_URL": f"sqlite:///{self._work / (name + '.db')}",
            "ACTIONS_BUSINESS_DIR": str(self._project / "data" / "business"),
            "ACTIONS_FIXED_NOW": TEST_CLOCK,
        }
        log = (self._work / f"{name}.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            *command, cwd=cwd, env=env, stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        self._processes.append(process)

    async def _ready(self, name: str, url: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as answer:
                        if answer.status == 200:
                            return
                if any(p.returncode is not None for p in self._processes):
                    break
                await asyncio.sleep(0.5)
        raise SandboxError(f"The scratch server {name} did not start; see {self._work}/{name}.log")

    async def stop(self) -> None:
        for process in self._processes:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                await asyncio.wait_for(process.wait(), 10)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        self._processes.clear()
