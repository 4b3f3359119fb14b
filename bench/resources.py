"""Resident memory and CPU time of the system's processes while a load runs."""

from __future__ import annotations

import contextlib
import threading
import time
from types import TracebackType

import psutil

MB = 1024 * 1024


def _family(process: psutil.Process) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return [process, *process.children(recursive=True)]
    return []


def rss_mb(processes: dict[str, psutil.Process]) -> dict[str, float]:
    """Resident memory of each role (with any child processes it started), in MB."""
    sizes: dict[str, float] = {}
    for role, process in processes.items():
        total = 0
        for member in _family(process):
            with contextlib.suppress(psutil.Error):
                total += member.memory_info().rss
        sizes[role] = round(total / MB, 1)
    return sizes


def cpu_s(processes: dict[str, psutil.Process]) -> dict[str, float]:
    """CPU time (user + system) used so far by each role and by this benchmark process."""
    used: dict[str, float] = {}
    for role, process in processes.items():
        used[role] = sum(_cpu(member) for member in _family(process))
    used["benchmark client"] = _cpu(psutil.Process())  # not its children: they are the system
    return used


def _cpu(process: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):
        times = process.cpu_times()
        return times.user + times.system
    return 0.0


class ResourceWatch:
    """Peak resident memory (sampled every `every_s`) and CPU time of each role while inside.

    Args:
        processes: the system's processes by role.
        every_s: sampling period of the memory.
    """

    def __init__(self, processes: dict[str, psutil.Process], every_s: float = 0.5) -> None:
        self._processes = processes
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak_rss_mb: dict[str, float] = {}
        self.cpu_s: dict[str, float] = {}
        self.wall_s = 0.0

    def __enter__(self) -> ResourceWatch:
        self._cpu_before = cpu_s(self._processes)
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.wall_s = time.perf_counter() - self._started
        after = cpu_s(self._processes)
        self.cpu_s = {
            role: round(after[role] - self._cpu_before.get(role, 0.0), 2) for role in after
        }

    def _sample(self) -> None:
        while not self._stop.is_set():
            for role, size in rss_mb(self._processes).items():
                self.peak_rss_mb[role] = max(size, self.peak_rss_mb.get(role, 0.0))
            self._stop.wait(self._every_s)
