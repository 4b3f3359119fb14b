"""The servers under supervisord: its configuration, starting and stopping it, and asking it how
each server is doing (over its XML-RPC socket, as supervisorctl does)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from bot.settings import PROJECT_ROOT, Settings
from bot.supervision.programs import Program, by_name, environment
from bot.supervision.watch import restarts

START_SECONDS = 3  # a server alive this long has started; dying sooner counts as a failed start
START_RETRIES = 3  # failed starts (1 s, 2 s, 3 s apart) before supervisord gives up: FATAL
STOP_WAIT_S = 10  # SIGTERM, then SIGKILL after this long
LOG_BYTES = "20MB"
# Rasa's dependencies print pages of deprecation warnings at every start that are not ours to
# fix; they would bury the servers' own lines (an operator's environment still wins)
QUIET_DEPENDENCIES = {
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}  # each server's log is rotated at this size, 5 old files kept


@dataclass(frozen=True)
class Layout:
    """Where supervision keeps its files, under the data folder."""

    run_dir: Path
    log_dir: Path

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        return cls(settings.data_dir / "run", settings.data_dir / "log")

    @property
    def config(self) -> Path:
        return self.run_dir / "supervisord.conf"

    @property
    def socket(self) -> Path:
        return self.run_dir / "supervisord.sock"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "processes.json"

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"


def render_config(programs: list[Program], layout: Layout) -> str:
    """supervisord's configuration for these servers (no secrets: commands read the
    environment supervisord was started with)."""
    bin_dir = str(Path(sys.executable).parent)
    sections = [
        f"[unix_http_server]\nfile={layout.socket}\nchmod=0700\n",
        "[supervisord]\nnodaemon=true\nsilent=true\n"
        f"logfile={layout.log('supervisord')}\npidfile={layout.run_dir / 'supervisord.pid'}\n"
        f"childlogdir={layout.log_dir}\ndirectory={PROJECT_ROOT}\n",
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        f"[supervisorctl]\nserverurl=unix://{layout.socket}\n",
    ]
    for program in programs:
        sections.append(
            f"[program:{program.name}]\n"
            f"command={program.supervisord_command(bin_dir)}\n"
            # another account may not reach the project's folder (a clone in a private temporary
            # folder): supervisord changes to it after switching accounts
            f"directory={'/' if program.user else PROJECT_ROOT}\n"
            "autostart=true\nautorestart=true\n"
            f"startsecs={START_SECONDS}\nstartretries={START_RETRIES}\n"
            f"stopsignal=TERM\nstopwaitsecs={STOP_WAIT_S}\nstopasgroup=true\nkillasgroup=true\n"
            f"redirect_stderr=true\nstdout_logfile={layout.log(program.name)}\n"
            f"stdout_logfile_maxbytes={LOG_BYTES}\nstdout_logfile_backups=5\n"
            + _own_settings(program)
        )
    sections.append(
        "[eventlistener:watch]\n"
        f"command={bin_dir}/python -m bot.supervision.watch "
        f"--state {layout.state_file} --log-dir {layout.log_dir}\n"
        f"directory={PROJECT_ROOT}\nevents=PROCESS_STATE\nautorestart=true\n"
        f"stderr_logfile={layout.log('supervision')}\nstdout_logfile=NONE\n"
    )
    return "\n".join(sections).replace("%(ENV", "\0").replace("%", "%%").replace("\0", "%(ENV")


def _own_settings(program: Program) -> str:
    """A server's own variables and account, in supervisord's syntax."""
    lines = ""
    if program.environment:
        pairs = ",".join(f'{key}="{value}"' for key, value in program.environment)
        lines += f"environment={pairs}\n"
    if program.user:
        lines += f"user={program.user}\n"
    return lines


class Supervisord:
    """supervisord running the servers, started and stopped as one.

    Args:
        settings: ports and folders (handed to the servers as environment variables).
        programs: the servers to run.
        overrides: variables that win over those made from `settings` (the cluster's).
    """

    def __init__(
        self,
        settings: Settings,
        programs: list[Program],
        overrides: dict[str, str] | None = None,
    ) -> None:
        self.layout = Layout.of(settings)
        self._settings = settings
        self._programs = programs
        self._overrides = overrides or {}  # the cluster's variables win over the defaults
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.layout.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.layout.log_dir.mkdir(parents=True, exist_ok=True)
        self.layout.state_file.unlink(missing_ok=True)  # restart counts are per start
        self.layout.config.write_text(render_config(self._programs, self.layout))
        env = {
            **QUIET_DEPENDENCIES,
            **os.environ,
            **environment(self._settings),
            **self._overrides,
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        self._process = subprocess.Popen(
            [str(Path(sys.executable).with_name("supervisord")), "-c", str(self.layout.config)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.layout.log("supervisord-console")).open("ab"),
            start_new_session=True,
        )

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """SIGTERM: supervisord stops every server (SIGKILL after STOP_WAIT_S) and exits."""
        if not self.running():
            return
        assert self._process is not None
        try:
            self._process.send_signal(signal.SIGTERM)
            self._process.wait(timeout=STOP_WAIT_S + 20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def wait(self) -> int:
        return self._process.wait() if self._process else 0

    def pid_of(self, name: str) -> int:
        """The pid of a running server (0 when it is not running)."""
        return int(rpc(self.layout).supervisor.getProcessInfo(name)["pid"])


def rpc(layout: Layout) -> Any:
    """supervisord's XML-RPC interface over its socket (OSError when it is not running)."""
    transport = SupervisorTransport("", "", f"unix://{layout.socket}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


@dataclass(frozen=True)
class ProcessStatus:
    name: str
    title: str
    state: str  # RUNNING, STARTING, BACKOFF, EXITED, FATAL, STOPPED...
    pid: int
    uptime_s: float
    restarts: int
    log: Path


def process_table(layout: Layout) -> list[ProcessStatus]:
    """Every server with its state, uptime and restarts (OSError: supervisord is not running)."""
    restarted = restarts(layout.state_file)
    table = []
    for info in rpc(layout).supervisor.getAllProcessInfo():
        name = str(info["name"])
        if name == "watch":
            continue
        program = by_name(name)
        running = info["statename"] == "RUNNING"
        table.append(
            ProcessStatus(
                name=name,
                title=program.title if program else name,
                state=str(info["statename"]),
                pid=int(info["pid"]),
                uptime_s=float(info["now"] - info["start"]) if running else 0.0,
                restarts=restarted.get(name, 0),
                log=layout.log(name),
            )
        )
    return table


def wait_for_state(layout: Layout, name: str, states: set[str], timeout: float) -> str:
    """Polls until the server is in one of `states`; returns the last state seen."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, xmlrpc.client.Fault):
            state = str(rpc(layout).supervisor.getProcessInfo(name)["statename"])
            if state in states:
                break
        time.sleep(0.2)
    return state
