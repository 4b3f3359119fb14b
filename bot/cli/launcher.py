"""Starts the Rasa server, the action server and the gateway under supervisord, waits until
each serves, and stops them."""

from __future__ import annotations

import contextlib
import signal
import sys
import time
import xmlrpc.client
from pathlib import Path

import requests

from bot.settings import Settings
from bot.supervision.logs import LogFollower
from bot.supervision.programs import Program, programs, title
from bot.supervision.supervisor import Layout, Supervisord, rpc

# Where the Rasa project's parts are, for `rasa train`, `rasa data validate` and the like.
RASA_PROJECT_ARGS = (
    "--domain", "domain", "--data", "data/nlu", "data/rules", "--config", "config.yml",
)  # fmt: skip
READY_TIMEOUT = 120.0  # seconds; a cold start of both servers takes about 15 s here


def stop_on_first_signal() -> None:
    """Ctrl-C or SIGTERM ends the command as KeyboardInterrupt, and every later one is ignored.
    A second signal would otherwise raise again while the first one unwinds, before or during
    the servers' stop, and leave supervisord and every server running without us: a second
    Ctrl-C, or `timeout` and a service manager passing on the SIGTERM they were sent. The stop
    cannot hang: supervisord kills what is left after its stop wait. Ctrl-C works even when the
    command was started in the background, where SIGINT starts out ignored."""

    def first(*_: object) -> None:
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt

    for number in STOP_SIGNALS:
        signal.signal(number, first)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StartError(RuntimeError):
    """The servers could not be started; the message says why and where the log is."""


class Servers:
    """The Rasa server, the action server and the gateway under supervisord: each restarted
    when it crashes while the others keep serving, all stopped together.

    Args:
        settings: ports and folders.
        log_file: where the servers' lines go, each prefixed with its name (None: this
            terminal); each server also keeps its own file under the data folder's log/.
        gateway_url: the gateway's address, when the gateway runs too.
        running: the servers to run (default: `make run`'s, from the settings).
        overrides: variables that win over those made from the settings (the cluster's).
    """

    def __init__(
        self,
        settings: Settings,
        log_file: Path | None = None,
        gateway_url: str | None = None,
        running: list[Program] | None = None,
        overrides: dict[str, str] | None = None,
    ) -> None:
        self._settings = settings
        self._log_file = log_file
        self._gateway_url = gateway_url
        self.programs = running or programs(settings, bool(gateway_url))
        self.supervisord = Supervisord(settings, self.programs, overrides)
        self._follower: LogFollower | None = None

    @property
    def layout(self) -> Layout:
        return self.supervisord.layout

    def start(self) -> None:
        if not any(self._settings.models_dir.glob("*.tar.gz")):
            raise StartError(f"No trained model in {self._settings.models_dir}: run `make train`.")
        self._settings.data_dir.mkdir(parents=True, exist_ok=True)
        if self._log_file:
            self._log_file.parent.mkdir(parents=True, exist_ok=True)
        output = self._log_file.open("ab") if self._log_file else sys.stdout.buffer
        names = [program.name for program in self.programs]
        files = {name: self.layout.log(name) for name in [*names, "supervision"]}
        self._follower = LogFollower(files, output)
        self._follower.start()
        self.supervisord.start()
        self.wait_until_ready()
        self.warm_up()

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

    def readiness_checks(self) -> dict[str, str]:
        """Each server's name and the URL that answers 200 once it serves."""
        checks = {"actions": f"{self._settings.actions_url}/health"}
        for number, url in enumerate(self._settings.rasa_urls, start=1):
            checks["rasa" if number == 1 else f"rasa{number}"] = (
                f"{url}/status?token={self._settings.rasa_token}"
            )
        if self._gateway_url:
            checks["gateway"] = f"{self._gateway_url}/api/health/live"
        return checks

    def wait_until_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        for name, url in self.readiness_checks().items():
            while not _answers(url):
                if not self.supervisord.running():
                    raise StartError(f"supervisord stopped; see {self.layout.log_dir}.")
                state = _state(self.layout, name)
                if state in ("FATAL", "STOPPED", "EXITED"):
                    self.stop()
                    raise StartError(
                        f"{title(name)} could not start ({state}); see {self.layout.log(name)}. "
                        f"Its last lines:\n{_last_lines(self.layout.log(name))}"
                    )
                if time.monotonic() > deadline:
                    self.stop()
                    raise StartError(f"{title(name)} was not ready after {timeout:.0f} s.")
                time.sleep(0.5)

    def pid_of(self, name: str) -> int:
        """The pid of a running server ("rasa", "actions", "gateway"); 0 when it is not."""
        return self.supervisord.pid_of(name)

    def stop(self) -> None:
        """Stops every server (supervisord sends SIGTERM, then SIGKILL after 10 s)."""
        self.supervisord.stop()
        if self._follower:
            self._follower.stop()
            self._follower = None

    def wait(self) -> int:
        return self.supervisord.wait()


WARM_UP_SENDER = "__warm-up__"  # the conversation of the start-up message, never a customer


def _state(layout: Layout, name: str) -> str:
    with contextlib.suppress(OSError, xmlrpc.client.Fault):
        return str(rpc(layout).supervisor.getProcessInfo(name)["statename"])
    return ""


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _last_lines(log: Path, count: int = 15) -> str:
    """The end of a server's log, shown with a failed start (the folder may be gone after)."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-count:])
    except OSError:
        return "(no log)"
