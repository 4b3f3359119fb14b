"""`make run` and `python -m bot cluster` stop every server even when signalled twice."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, Settings
from bot.supervision.supervisor import Layout, rpc

# The launchers' shape (bot/cli/main.py `run`, bot/cli/cluster.py `run_cluster`): wait for the
# servers, stop them on leaving. The server takes 2 s to stop, as a Rasa server may.
LAUNCHER = """
import sys
from bot.cli.launcher import stop_on_first_signal
from bot.settings import Settings
from bot.supervision.programs import Program
from bot.supervision.supervisor import Supervisord

stop_on_first_signal()
settings = Settings.from_env({"BOT_DATA_DIR": sys.argv[1]})
supervisord = Supervisord(settings, [Program("slow", "a slow server", sys.argv[2], (), 10)])
supervisord.start()
print(supervisord._process.pid, flush=True)
try:
    supervisord.wait()
except KeyboardInterrupt:
    pass
finally:
    supervisord.stop()
"""
SLOW_SERVER = "#!/bin/sh\ntrap 'sleep 2; exit 0' TERM\nwhile :; do sleep 0.1; done\n"


def _running(layout: Layout, name: str) -> bool:
    try:
        return rpc(layout).supervisor.getProcessInfo(name)["statename"] == "RUNNING"
    except Exception:  # noqa: BLE001 - not up yet, whatever the reason
        return False


def test_a_second_signal_does_not_cut_the_stop_short_and_leave_servers_running(tmp_path: Path):
    """`timeout` passing on the SIGTERM it was sent, or Ctrl-C pressed twice: the second
    signal once left supervisord and every server running after the command had ended."""
    server = tmp_path / "slow-server"
    server.write_text(SLOW_SERVER)
    server.chmod(0o755)
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(tmp_path), str(server)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert launcher.stdout is not None
    supervisord = int(launcher.stdout.readline())
    try:
        layout = Layout.of(Settings.from_env({"BOT_DATA_DIR": str(tmp_path)}))
        deadline = time.monotonic() + 30
        while not _running(layout, "slow"):
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

        launcher.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the stop is under way
        launcher.send_signal(signal.SIGTERM)
        launcher.send_signal(signal.SIGINT)

        assert launcher.wait(timeout=60) == 0
        # it ended only after supervisord had stopped (and been reaped)
        with pytest.raises(ProcessLookupError):
            os.kill(supervisord, 0)
    finally:
        launcher.kill()
        _kill_group(supervisord)


def _kill_group(pid: int) -> None:
    """Cleans up after a failure: supervisord (and its server) must not outlive the test."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
