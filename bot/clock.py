"""The call's timeline: seconds since the call began.

A live call (or a recording replayed in real time) follows the wall clock. A recording replayed
with `--fast` follows the audio itself: time is how much caller audio has been fed, so the
recording and its timings line up although the replay takes a fraction of the time.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds on the call's timeline."""

    def now(self) -> float: ...


class WallClock:
    """Real time since the call started."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start


class MediaClock:
    """Time as far as the caller's audio has been fed."""

    def __init__(self) -> None:
        self._now = 0.0

    def advance_to(self, at: float) -> None:
        self._now = max(self._now, at)

    def now(self) -> float:
        return self._now
