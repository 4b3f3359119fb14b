"""Stopping a server process we started ourselves (the local PostgreSQL and Redis)."""

from __future__ import annotations

import contextlib
import signal
import subprocess


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM,
                 timeout: float = 10.0) -> None:  # fmt: skip
    """`sig` (the server's own clean shutdown), then SIGKILL if it is still there after
    `timeout` seconds; returns once the process is gone."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
