"""Follows each server's log file and copies new lines, prefixed with the server's name, to one
stream: the terminal of `make run` (or one combined file in tests), while each server keeps its
own file under var/log/."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import BinaryIO

POLL_S = 0.2


class LogFollower:
    """A thread that copies `name | line` from the files to `output` until stopped.

    Args:
        files: each server's name and log file (files may appear later, and be rotated).
        output: where the prefixed lines go.
    """

    def __init__(self, files: dict[str, Path], output: BinaryIO) -> None:
        self._files = files
        self._output = output
        self._width = max(map(len, files), default=0)
        self._offsets = {name: _size(path) for name, path in files.items()}  # only what is new
        self._partial: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._copy_new_lines()  # the last words of servers that just stopped

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self._copy_new_lines()

    def _copy_new_lines(self) -> None:
        for name, path in self._files.items():
            size = _size(path)
            offset = self._offsets[name]
            if size < offset:  # rotated: the new file starts from the beginning
                offset = 0
            if size == offset:
                continue
            with path.open("rb") as log:
                log.seek(offset)
                chunk = self._partial.pop(name, b"") + log.read(size - offset)
            self._offsets[name] = size
            *lines, rest = chunk.split(b"\n")
            if rest:
                self._partial[name] = rest
            prefix = f"{name:<{self._width}} | ".encode()
            try:
                self._output.write(b"".join(prefix + line + b"\n" for line in lines))
                self._output.flush()
            except (OSError, ValueError):  # the terminal is gone (Ctrl-C ended `| tee`)
                return


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
