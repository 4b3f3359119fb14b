"""The real system for integration and end-to-end tests: the Rasa server, the action server and
the gateway, started once per test session on spare ports, with a temporary database and the
business clock fixed on Monday 2 March 2026, 09:00 (every department open).

Browser calls are recognised by Whisper (the embedded base model) and answered in Pico's voice:
nothing in a call is scripted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.assistant.client import AssistantClient, BlockingAssistant
from bot.cli.launcher import Servers
from bot.settings import PROJECT_ROOT, Settings, variables_set

FIXED_NOW = "2026-03-02T09:00:00+01:00"
GATEWAY_PORT = 18000
AUDIOSOCKET_PORT = 18092
SUPERVISOR = ("supervisor", "supervisor-e2e-pass")


def require_model() -> None:
    if not any((PROJECT_ROOT / "models").glob("*.tar.gz")):
        pytest.fail(
            "No trained model in models/: run `make test` (it trains first) or `make train`."
        )


@pytest.fixture(scope="session")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    ports = {
        "rasa": 15005,
        "actions": 15055,
        "gateway": GATEWAY_PORT,
        "audiosocket": AUDIOSOCKET_PORT,
    }
    with system(tmp_path_factory.mktemp("live"), ports) as (settings, _):
        yield settings


@contextlib.contextmanager
def system(
    data_dir: Path, ports: dict[str, int], **environ: str
) -> Iterator[tuple[Settings, Servers]]:
    """The Rasa server, the action server and the gateway under supervisord, as `make run`
    starts them, on these ports and data folder, with the test supervisor's account and the
    fixed business clock; `environ` adds or overrides settings."""
    require_model()
    overrides = {
        "BOT_RASA_PORT": str(ports["rasa"]),
        "BOT_ACTIONS_PORT": str(ports["actions"]),
        "BOT_GATEWAY_PORT": str(ports["gateway"]),
        "BOT_AUDIOSOCKET_PORT": str(ports["audiosocket"]),
        "BOT_DATA_DIR": str(data_dir),
        "BOT_SUPERVISOR_USERNAME": SUPERVISOR[0],
        "BOT_SUPERVISOR_PASSWORD": SUPERVISOR[1],
        "BOT_STT_ENGINE": "whisper",
        "ACTIONS_DATABASE_URL": f"sqlite:///{data_dir / 'actions.db'}",
        "ACTIONS_FIXED_NOW": FIXED_NOW,
        **environ,
    }
    with environment(overrides):
        settings = Settings.from_env()
        gateway = f"http://{settings.host}:{ports['gateway']}"
        servers = Servers(settings, log_file=data_dir / "servers.log", gateway_url=gateway)
        try:
            servers.start()
            yield settings, servers
        finally:
            servers.stop()


# these environment variables while inside (the servers started then inherit them)
environment = variables_set


def add_account(username: str, name: str, password: str, *flags: str) -> None:
    """An account made the way operators make them: `python -m bot agents add`."""
    subprocess.run(
        [sys.executable, "-m", "bot", "agents", "add", username, "--name", name,
         "--password-stdin", *flags],
        input=f"{password}\n", text=True, check=True, cwd=PROJECT_ROOT, env=os.environ.copy(),
        capture_output=True,
    )  # fmt: skip


def blocking_assistant(url: str, channel: str = "webchat", token: str = "") -> BlockingAssistant:
    """The real assistant client, for tests that send one message at a time."""
    return BlockingAssistant(AssistantClient(url, token, timeout=30), channel)


@pytest.fixture(scope="session")
def live_client(live_settings: Settings) -> Iterator[BlockingAssistant]:
    client = blocking_assistant(live_settings.rasa_url, token=live_settings.rasa_token)
    yield client
    client.close()


@pytest.fixture(scope="session")
def servers_log(live_settings: Settings) -> Path:
    return live_settings.data_dir / "servers.log"


@pytest.fixture(scope="session")
def gateway_url(live_settings: Settings) -> str:
    return f"http://{live_settings.host}:{GATEWAY_PORT}"


@pytest.fixture(scope="session")
def agent_login(live_settings: Settings) -> tuple[str, str]:
    """An agent account made the way operators make them: `python -m bot agents add`."""
    username, password = "lucia", "lucia-e2e-password"
    add_account(username, "Lucía", password)
    return username, password


@contextlib.contextmanager
def second_gateway(live_settings: Settings, port: int, data: Path, **environ: str) -> Iterator[str]:
    """Another gateway process (`python -m bot serve`) on the live Rasa server, with its own
    database and settings (a caller script, phone lines…); yields its URL once it answers."""
    env = {
        **os.environ,
        "BOT_GATEWAY_PORT": str(port),
        "BOT_GATEWAY_DB": str(data / "gateway.db"),
        "BOT_AUDIOSOCKET_PORT": "0",  # the live gateway has its own
        **environ,
    }
    log = (data / "gateway.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://{live_settings.host}:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the gateway stopped at start"
        try:
            if requests.get(f"{url}/api/health/live", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError("the gateway did not start")


class GatewayProcess:
    """A gateway process of a test's own (`python -m bot serve`) on the live Rasa server, which
    the test may kill like a crash (SIGKILL, by its pid) and start again on the same port and
    database, as the supervisor would. The shared live gateway is never touched.

    Args:
        live_settings: the live system (its Rasa server answers this gateway too).
        port: this gateway's port.
        data: a folder of the test's for its database and log.
        environ: more BOT_* settings for it (a caller script, …).
    """

    def __init__(self, live_settings: Settings, port: int, data: Path, **environ: str) -> None:
        self.url = f"http://{live_settings.host}:{port}"
        self.log = data / "gateway.log"
        self._env = {
            **os.environ,
            "BOT_GATEWAY_PORT": str(port),
            "BOT_GATEWAY_DB": str(data / "gateway.db"),
            "BOT_AUDIOSOCKET_PORT": "0",  # the live gateway has its own
            **environ,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Starts it and returns once it answers: how long that took (s)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        started = time.monotonic()
        with self.log.open("a") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"],
                cwd=PROJECT_ROOT, env=self._env, stdout=log, stderr=log,
            )  # fmt: skip
        _wait_until_up(self.url, self.process)
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL: no shutdown, its sockets are simply gone."""
        assert self.process is not None and self.process.poll() is None, "not running"
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def restartable_gateway(
    live_settings: Settings, port: int, data: Path, **environ: str
) -> Iterator[GatewayProcess]:
    """A GatewayProcess, started; stopped afterwards whatever state the test left it in."""
    gateway = GatewayProcess(live_settings, port, data, **environ)
    try:
        gateway.start()
        yield gateway
    finally:
        gateway.stop()


def in_a_thread(coroutine: Any) -> Any:
    """Runs `coroutine` to completion on a loop of its own thread: Playwright's sync API (the
    end-to-end tests) may hold an event loop in the test's thread, where asyncio.run fails."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, coroutine).result()
