"""Starts the Rasa server and the action server (honcho runs the Procfile) and stops them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.settings import PROJECT_ROOT, Settings

# Where the Rasa project's parts are, for `rasa train`, `rasa data validate` and the like.
RASA_PROJECT_ARGS = (
    "--domain", "domain", "--data", "data/nlu", "data/rules", "--config", "config.yml",
)  # fmt: skip
READY_TIMEOUT = 120.0  # seconds; a cold start of both servers takes about 15 s here


class StartError(RuntimeError):
    """The servers could not be started; the message says why and where the log is."""


class Servers:
    """The Rasa server and the action server as one process group, ready or stopped together.

    Args:
        settings: ports and folders.
        log_file: where their output goes (None: this terminal).
    """

    def __init__(
        self, settings: Settings, log_file: Path | None = None, gateway_url: str | None = None
    ) -> None:
        self._settings = settings
        self._log_file = log_file
        self._gateway_url = gateway_url
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not any(self._settings.models_dir.glob("*.tar.gz")):
            raise StartError(f"No trained model in {self._settings.models_dir}: run `make train`.")
        env = {
            **os.environ,
            "BOT_HOST": self._settings.host,
            "BOT_RASA_PORT": str(self._settings.rasa_port),
            "BOT_RASA_PORT2": str(self._settings.rasa_port + 1),
            "BOT_ACTIONS_PORT": str(self._settings.actions_port),
            "BOT_MODELS_DIR": str(self._settings.models_dir),
            "BOT_DATA_DIR": str(self._settings.data_dir),
            "BOT_RASA_TOKEN": self._settings.rasa_token,
            "ACTION_SERVER_URL": f"{self._settings.actions_url}/webhook",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        self._settings.data_dir.mkdir(parents=True, exist_ok=True)
        output = None
        if self._log_file:
            self._log_file.parent.mkdir(parents=True, exist_ok=True)
            output = self._log_file.open("ab")
        honcho = Path(sys.executable).with_name("honcho")
        self._process = subprocess.Popen(
            [str(honcho), "-f", "Procfile", "start", *self.processes()],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_until_ready()
        self.warm_up()

    def processes(self) -> list[str]:
        """The Procfile's processes to run: the second Rasa server only when asked for."""
        second = ["rasa2"] if self._settings.rasa_servers == 2 else []
        gateway = ["gateway"] if self._gateway_url else []
        return ["rasa", *second, "actions", *gateway]

    def warm_up(self) -> None:
        """Sends one throwaway message through NLU, dialogue, a custom action and the tracker
        store, so the first real customer does not wait for their cold start (about 0.5 s)."""
        for url in self._settings.rasa_urls:
            with contextlib.suppress(requests.RequestException):  # only an optimisation
                requests.post(
                    f"{url}/webhooks/rest/webhook",
                    json={"sender": WARM_UP_SENDER, "message": "horario de la tienda de Gran Vía"},
                    timeout=30,
                )

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        checks = {"action server": f"{self._settings.actions_url}/health"}
        for number, url in enumerate(self._settings.rasa_urls, start=1):
            name = "Rasa server" if number == 1 else f"Rasa server {number}"
            checks[name] = f"{url}/status?token={self._settings.rasa_token}"
        if self._gateway_url:
            checks["gateway"] = f"{self._gateway_url}/api/health"
        for name, url in checks.items():
            while not _answers(url):
                if self._process and self._process.poll() is not None:
                    raise StartError(
                        f"The {name} stopped while starting; see {self._log_file or 'above'}."
                    )
                if time.monotonic() > deadline:
                    self.stop()
                    raise StartError(f"The {name} was not ready after {READY_TIMEOUT:.0f} s.")
                time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM to the whole group (honcho passes it on), then SIGKILL after 10 s."""
        if not self._process or self._process.poll() is not None:
            return
        try:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        except ProcessLookupError:
            pass

    def wait(self) -> int:
        return self._process.wait() if self._process else 0


WARM_UP_SENDER = "__warm-up__"  # the conversation of the start-up message, never a customer


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
